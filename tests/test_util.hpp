// Helpers shared by the test suites: random tensors and finite differences.
#pragma once
#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "rng.hpp"
#include "tensor.hpp"

namespace allconv::testing {

// Uniform values in [-1, 1) rounded to float, so float and double agree.
template <class T>
Tensor<T> random_tensor(Shape s, std::uint64_t seed, double scale = 1.0) {
    Tensor<T> t(s);
    Rng rng(seed);
    for (T& v : t.data) v = T(float(scale * (2.0 * rng.uniform() - 1.0)));
    return t;
}

template <class T>
std::vector<T> random_vector(std::size_t n, std::uint64_t seed) {
    return random_tensor<T>(Shape{1, 1, 1, int(n)}, seed).data;
}

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}

// Normwise relative error in the infinity norm: max |a - e| / max |e|.
// This is the metric every gradient check here reports and bounds.
inline double relative_error(const std::vector<double>& actual, const std::vector<double>& expected) {
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < actual.size(); ++i) {
        diff = std::max(diff, std::fabs(actual[i] - expected[i]));
        scale = std::max(scale, std::fabs(expected[i]));
    }
    return scale > 0 ? diff / scale : diff;
}

// Central differences (f(v + h) - f(v - h)) / 2h, h = 1e-6 (PyTorch gradcheck's
// choice), at up to `max_points` coordinates of `values` spread evenly (all if 0).
// Returns the indices checked and the numeric derivatives.
inline void numeric_gradient(std::vector<double>& values, const std::function<double()>& f, std::size_t max_points,
                             std::vector<std::size_t>& indices, std::vector<double>& numeric) {
    const double h = 1e-6;
    indices.clear();
    numeric.clear();
    std::size_t n = values.size();
    std::size_t step = (max_points == 0 || n <= max_points) ? 1 : n / max_points;
    for (std::size_t i = 0; i < n; i += step) {
        double saved = values[i];
        values[i] = saved + h;
        double up = f();
        values[i] = saved - h;
        double down = f();
        values[i] = saved;
        indices.push_back(i);
        numeric.push_back((up - down) / (2 * h));
    }
}

// The analytic values at the given indices.
inline std::vector<double> pick(const std::vector<double>& v, const std::vector<std::size_t>& indices) {
    std::vector<double> out;
    for (std::size_t i : indices) out.push_back(v[i]);
    return out;
}

} // namespace allconv::testing
