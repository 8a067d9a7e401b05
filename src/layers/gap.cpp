// gap: global average pooling, forward and backward.
#include "gap.hpp"

namespace allconv {

template <class T>
void gap_forward(Shape in, const T* x, T* y) {
    const std::size_t plane = in.plane();
    for (std::size_t p = 0; p < std::size_t(in.n) * in.c; ++p) {
        T sum = T(0);
        for (std::size_t i = 0; i < plane; ++i) sum += x[p * plane + i];
        y[p] = sum / T(plane);
    }
}

template <class T>
void gap_backward(Shape in, const T* dy, T* dx) {
    const std::size_t plane = in.plane();
    for (std::size_t p = 0; p < std::size_t(in.n) * in.c; ++p)
        for (std::size_t i = 0; i < plane; ++i) dx[p * plane + i] = dy[p] / T(plane);
}

template void gap_forward<float>(Shape, const float*, float*);
template void gap_forward<double>(Shape, const double*, double*);
template void gap_backward<float>(Shape, const float*, float*);
template void gap_backward<double>(Shape, const double*, double*);

} // namespace allconv
