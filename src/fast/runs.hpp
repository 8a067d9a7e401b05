// runs: the columns of the im2col matrix (output pixels, image after image)
// cut into runs along output rows, for the fast path's packing and scatter;
// and the copy of a forward convolution's outputs from the tile they were
// computed in.
#pragma once
#include <algorithm>
#include <vector>

#include "../layers/conv.hpp"
#include "gemm.hpp"

namespace allconv {

// Consecutive columns of the im2col matrix (output pixels) in one image and
// one output row: column p0 + q is output pixel (oy, ox0 + q) and reads input
// columns ix0 + q * stride. A run never crosses a strip of NR columns.
struct Run {
    int p0, len;
    long image; // offset of its image in x (or of its row block in dy)
    int pixel;  // oy * OW + ox0 within the image
    int iy0, ix0;
};

// ceil(a / s) for any sign of a (s > 0).
inline int ceil_div(int a, int s) { return a <= 0 ? -(-a / s) : (a + s - 1) / s; }

// The q in lo .. hi - 1 of 0 .. len - 1 for which first + q * step (step > 0)
// lies inside 0 .. size - 1: where a run of output columns reads inside an
// input row of `size` pixels, and not in its padding (lo = hi: nowhere).
struct Inside {
    int lo, hi;
};
inline Inside inside_row(int first, int step, int size, int len) {
    const int lo = std::clamp(ceil_div(-first, step), 0, len);
    return {lo, std::clamp(ceil_div(size - first, step), lo, len)};
}

// The runs of columns j0 .. j0 + n - 1 (j = image * OH * OW + oy * OW + ox).
template <class T>
void runs_of(const ConvGeom& g, long j0, int n, std::vector<Run>& runs) {
    constexpr int NR = Tiles<T>::NR;
    const long P = long(g.out_h) * g.out_w;
    runs.clear();
    for (int p = 0; p < n;) {
        const long j = j0 + p, image = j / P;
        const int pixel = int(j % P), oy = pixel / g.out_w, ox = pixel % g.out_w;
        const int len = std::min({g.out_w - ox, n - p, NR - p % NR});
        runs.push_back(Run{p, len, image, pixel, oy * g.stride - g.pad, ox * g.stride - g.pad});
        p += len;
    }
}

// dst[q] = src[q * step] for q < n, or src[q] + *bias when a bias is given
// (step is then 1): outputs of a forward convolution copied from its tile to
// y; and, when relu is given, relu[q] = dst[q] > 0 ? dst[q] : 0 in the same
// loop: the ReLU layer after the convolution (net.cpp), as layers/relu.cpp
// computes it. (A ReLU pass of its own read the outputs back from memory:
// 1.3% of All-CNN-C's forward.)
template <class T>
void copy_out(const T* src, long step, int n, const T* bias, T* dst, T* relu) {
    const auto each = [&](auto value) { // value(q): output q
        if (relu) {
            for (int q = 0; q < n; ++q) {
                const T v = value(q);
                dst[q] = v;
                relu[q] = v > T(0) ? v : T(0);
            }
        } else {
            for (int q = 0; q < n; ++q) dst[q] = value(q);
        }
    };
    const T add = bias ? *bias : T(0); // (read through bias in the loop, clang copied one value at a time: dst might be bias)
    if (bias) each([&](int q) { return src[q] + add; });
    else if (step == 1) each([&](int q) { return src[q]; });
    else each([&](int q) { return src[q * step]; });
}

} // namespace allconv
