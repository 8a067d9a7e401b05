// dropout: inverted dropout, used only while training.
// Paper: 20% on the input, 50% after each pooling layer (or the layer that
// replaced it). "Inverted": kept units are scaled by 1/(1-p) at training time,
// so at test time dropout is the identity and nothing needs rescaling.
#pragma once
#include <cstddef>

#include "../rng.hpp"

namespace allconv {

// mask[i] = 0 with probability p, else 1/(1-p).  0 <= p < 1.
template <class T>
void dropout_mask(Rng& rng, double p, std::size_t count, T* mask);

// The same rule from given uniform numbers u in [0, 1): mask[i] = u[i] < p ? 0 : 1/(1-p).
template <class T>
void dropout_mask_from_uniform(double p, std::size_t count, const double* u, T* mask);

// y = x * mask (forward) and dx = dy * mask (backward) are the same product.
template <class T>
void dropout_apply(std::size_t count, const T* mask, const T* in, T* out);

} // namespace allconv
