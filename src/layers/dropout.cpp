// dropout: masks from the portable generator, so a seed fixes them everywhere.
#include "dropout.hpp"

#include <stdexcept>
#include <vector>

namespace allconv {

template <class T>
void dropout_mask_from_uniform(double p, std::size_t count, const double* u, T* mask) {
    if (!(p >= 0.0 && p < 1.0)) throw std::invalid_argument("dropout probability must be in [0, 1)");
    const T keep_scale = T(1.0 / (1.0 - p)); // inverted dropout: kept units are scaled up while training
    for (std::size_t i = 0; i < count; ++i) mask[i] = u[i] < p ? T(0) : keep_scale;
}

template <class T>
void dropout_mask(Rng& rng, double p, std::size_t count, T* mask) {
    std::vector<double> u(count);
    for (double& v : u) v = rng.uniform();
    dropout_mask_from_uniform(p, count, u.data(), mask);
}

template <class T>
void dropout_apply(std::size_t count, const T* mask, const T* in, T* out) {
    for (std::size_t i = 0; i < count; ++i) out[i] = in[i] * mask[i];
}

template void dropout_mask<float>(Rng&, double, std::size_t, float*);
template void dropout_mask<double>(Rng&, double, std::size_t, double*);
template void dropout_mask_from_uniform<float>(double, std::size_t, const double*, float*);
template void dropout_mask_from_uniform<double>(double, std::size_t, const double*, double*);
template void dropout_apply<float>(std::size_t, const float*, const float*, float*);
template void dropout_apply<double>(std::size_t, const double*, const double*, double*);

} // namespace allconv
