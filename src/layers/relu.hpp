// relu: the rectifier, and its backward step, the one place where the paper's
// three ways of sending a signal back to the input differ. Convolution and
// max-pool backward are the same for all three; training always uses backprop.
//
// With f the ReLU's input in the forward pass (y = max(f, 0)) and R the signal
// arriving from above, the signal passed below is:
//
//   backpropagation (the true gradient)   R * [f > 0]
//   deconvnet (Zeiler and Fergus 2014)     R * [R > 0]       (ignores the forward pass)
//   guided backpropagation                 R * [f > 0] * [R > 0]
//
// At f == 0 the ReLU has no derivative; like PyTorch we take 0 there.
#pragma once
#include <cstddef>
#include <string>

namespace allconv {

enum class Rule { backprop, deconvnet, guided };

const char* rule_name(Rule r); // "backprop", "deconvnet", "guided"
// Parses those names; throws std::invalid_argument naming the bad word.
Rule parse_rule(const std::string& name);

// y = max(f, 0), count values.  Overwrites y (may alias f).
template <class T>
void relu_forward(std::size_t count, const T* f, T* y);

// out = the rule's signal below the ReLU, as in the table above, count values.
// Overwrites out (may alias r).
template <class T>
void relu_backward(Rule rule, std::size_t count, const T* f, const T* r, T* out);

} // namespace allconv
