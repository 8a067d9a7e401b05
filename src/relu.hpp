// relu: the rectifier, and the backward step where the three rules differ.
//   f is the ReLU's input from the forward pass, y = max(f, 0).
//   r is the signal arriving from above, out the signal passed below.
#pragma once
#include <cstddef>

#include "rules.hpp"

namespace allconv {

// y = max(f, 0).  Overwrites y (may alias f).
template <class T>
void relu_forward(std::size_t count, const T* f, T* y);

// The paper's table. Overwrites out (may alias r).
template <class T>
void relu_backward(Rule rule, std::size_t count, const T* f, const T* r, T* out);

} // namespace allconv
