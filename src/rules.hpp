// rules: the three ways the paper sends a signal back to the input.
//
// They differ only at the ReLU (see relu_backward in relu.hpp, which is the one
// place a Rule acts). Convolution and max-pool backward are the same for all
// three. Training always uses backprop, the true gradient.
#pragma once
#include <string>

namespace allconv {

enum class Rule { backprop, deconvnet, guided };

const char* rule_name(Rule r); // "backprop", "deconvnet", "guided"
// Parses those names; throws std::invalid_argument naming the bad word.
Rule parse_rule(const std::string& name);

} // namespace allconv
