// tensor: shape formatting (the tensor type itself is header-only).
#include "tensor.hpp"

namespace allconv {

std::string to_string(const Shape& s) {
    return std::to_string(s.n) + "x" + chw_string(s);
}

std::string chw_string(const Shape& s) {
    return std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w);
}

std::vector<long> nchw(const Shape& s) { return {s.n, s.c, s.h, s.w}; }

Shape batch_shape(Shape one, int n) {
    one.n = n;
    return one;
}

} // namespace allconv
