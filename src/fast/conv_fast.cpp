// conv_fast: im2col + blocked GEMM convolution, forward and backward.
#include "conv_fast.hpp"

#include <algorithm>
#include <functional>
#include <vector>

#include "gemm.hpp"
#include "parallel.hpp"

namespace allconv {

namespace {

// Sizes of one group of images, and the group size itself.
struct Grouping {
    int rows;        // C * k * k: one row of col per (channel, ky, kx)
    int pixels;      // OH * OW: output pixels of one image
    int group;       // images per group
};

Grouping grouping(const ConvGeom& g) {
    Grouping gr;
    gr.rows = g.in_c * g.k * g.k;
    gr.pixels = g.out_h * g.out_w;
    const long budget = 1L << 18; // elements of col per group (1 MB of float: stays in L2)
    long per_image = long(gr.rows) * gr.pixels;
    gr.group = int(std::max(1L, std::min(long(g.batch), budget / std::max(1L, per_image))));
    return gr;
}

// The output columns ox whose input column ix = ox * stride - pad + kx lies
// inside the image: [lo, hi). Outside it the zero padding is read.
void valid_columns(const ConvGeom& g, int kx, int& lo, int& hi) {
    lo = 0;
    while (lo < g.out_w && lo * g.stride - g.pad + kx < 0) ++lo;
    hi = g.out_w;
    while (hi > lo && (hi - 1) * g.stride - g.pad + kx >= g.in_w) --hi;
}

// col[r][j * pixels + p] for images first..first+count-1, r = (c*k + ky)*k + kx,
// p = oy * OW + ox: the input pixel (iy, ix) that weight r meets at output p.
// The same index formula as conv.cpp, with the bounds test hoisted out of the
// inner loop (valid_columns), since this copy is a large part of the work.
template <class T>
void im2col(const ConvGeom& g, const Grouping& gr, const T* x, int first, int count, T* col, int threads) {
    const long ld = long(count) * gr.pixels;
    parallel_for(g.in_c, threads, [&](int c) { // one task per input channel: its k*k rows of col
        for (int j = 0; j < count; ++j) {
            const T* xn = x + std::size_t(first + j) * g.in_c * g.in_h * g.in_w;
            for (int ky = 0; ky < g.k; ++ky)
                for (int kx = 0; kx < g.k; ++kx) {
                    T* dst = col + long((c * g.k + ky) * g.k + kx) * ld + long(j) * gr.pixels;
                    int lo, hi;
                    valid_columns(g, kx, lo, hi);
                    for (int oy = 0; oy < g.out_h; ++oy) {
                        T* row = dst + oy * g.out_w;
                        int iy = oy * g.stride - g.pad + ky;
                        if (iy < 0 || iy >= g.in_h) {
                            std::fill(row, row + g.out_w, T(0));
                            continue;
                        }
                        const T* src = xn + (c * g.in_h + iy) * g.in_w; // the input row iy
                        const int shift = kx - g.pad;                   // ix = ox * stride + shift
                        std::fill(row, row + lo, T(0));
                        for (int ox = lo; ox < hi; ++ox) row[ox] = src[ox * g.stride + shift];
                        std::fill(row + hi, row + g.out_w, T(0));
                    }
                }
        }
    });
}

// The inverse scatter: dx[image][c][iy][ix] += col[r][j * pixels + p].
template <class T>
void col2im(const ConvGeom& g, const Grouping& gr, const T* col, int first, int count, T* dx, int threads) {
    const long ld = long(count) * gr.pixels;
    parallel_for(g.in_c, threads, [&](int c) { // one task per input channel: its planes of dx
        for (int j = 0; j < count; ++j) {
            T* dxn = dx + std::size_t(first + j) * g.in_c * g.in_h * g.in_w;
            std::fill(dxn + std::size_t(c) * g.in_h * g.in_w, dxn + std::size_t(c + 1) * g.in_h * g.in_w, T(0));
            for (int ky = 0; ky < g.k; ++ky)
                for (int kx = 0; kx < g.k; ++kx) {
                    const T* src = col + long((c * g.k + ky) * g.k + kx) * ld + long(j) * gr.pixels;
                    int lo, hi;
                    valid_columns(g, kx, lo, hi);
                    for (int oy = 0; oy < g.out_h; ++oy) {
                        int iy = oy * g.stride - g.pad + ky;
                        if (iy < 0 || iy >= g.in_h) continue;
                        T* dst = dxn + (c * g.in_h + iy) * g.in_w;
                        const T* row = src + oy * g.out_w;
                        const int shift = kx - g.pad;
                        for (int ox = lo; ox < hi; ++ox) dst[ox * g.stride + shift] += row[ox];
                    }
                }
        }
    });
}

// Between NCHW (image, channel, pixel) and the GEMM's (channel, image * pixel).
template <class T>
void gather_channels(const ConvGeom& g, const Grouping& gr, const T* dy, int first, int count, T* out) {
    const long ld = long(count) * gr.pixels;
    for (int j = 0; j < count; ++j)
        for (int o = 0; o < g.out_c; ++o)
            std::copy_n(dy + (std::size_t(first + j) * g.out_c + o) * gr.pixels, gr.pixels, out + o * ld + long(j) * gr.pixels);
}

// Runs fn(first, count, inner_threads) for every group of images. With at
// least as many groups as threads, whole groups go to threads (one task each,
// no synchronisation inside); otherwise the groups run in turn and each one
// splits its own work. Either way every output value gets the same arithmetic.
void for_each_group(const ConvGeom& g, const Grouping& gr, int threads,
                    const std::function<void(int index, int first, int count, int inner_threads)>& fn) {
    const int groups = (g.batch + gr.group - 1) / gr.group;
    auto run = [&](int i, int inner) { fn(i, i * gr.group, std::min(gr.group, g.batch - i * gr.group), inner); };
    if (groups >= threads) parallel_for(groups, threads, [&](int i) { run(i, 1); });
    else
        for (int i = 0; i < groups; ++i) run(i, threads);
}

} // namespace

template <class T>
void conv_forward_fast(const ConvGeom& g, const T* x, const T* w, const T* b, T* y, int threads) {
    const Grouping gr = grouping(g);
    for_each_group(g, gr, threads, [&](int, int first, int count, int inner) {
        thread_local std::vector<T> col, out; // per thread, reused across calls
        const long ld = long(count) * gr.pixels;
        col.resize(std::size_t(gr.rows) * ld);
        out.resize(std::size_t(g.out_c) * ld);
        im2col(g, gr, x, first, count, col.data(), inner);
        // out (O x count*pixels) = W (O x rows) * col (rows x count*pixels)
        gemm(g.out_c, int(ld), gr.rows, w, gr.rows, 1, col.data(), ld, 1, out.data(), ld, false, inner);
        for (int j = 0; j < count; ++j)
            for (int o = 0; o < g.out_c; ++o) {
                T* dst = y + (std::size_t(first + j) * g.out_c + o) * gr.pixels;
                const T* src = out.data() + o * ld + long(j) * gr.pixels;
                for (int p = 0; p < gr.pixels; ++p) dst[p] = src[p] + b[o];
            }
    });
}

template <class T>
void conv_backward_input_fast(const ConvGeom& g, const T* dy, const T* w, T* dx, int threads) {
    const Grouping gr = grouping(g);
    for_each_group(g, gr, threads, [&](int, int first, int count, int inner) {
        thread_local std::vector<T> col, dyg;
        const long ld = long(count) * gr.pixels;
        col.resize(std::size_t(gr.rows) * ld);
        dyg.resize(std::size_t(g.out_c) * ld);
        gather_channels(g, gr, dy, first, count, dyg.data());
        // col (rows x count*pixels) = W^T (rows x O) * dY (O x count*pixels)
        gemm(gr.rows, int(ld), g.out_c, w, 1, gr.rows, dyg.data(), ld, 1, col.data(), ld, false, inner);
        col2im(g, gr, col.data(), first, count, dx, inner);
    });
}

// Each group's gradient goes to its own slot, then the slots are added in
// group order: the sum does not depend on which thread computed which group.
template <class T>
void conv_backward_weights_fast(const ConvGeom& g, const T* x, const T* dy, T* dw, T* db, int threads) {
    const Grouping gr = grouping(g);
    const int groups = (g.batch + gr.group - 1) / gr.group;
    const std::size_t wsize = std::size_t(g.out_c) * gr.rows, slot = wsize + g.out_c;
    thread_local std::vector<T> buffer; // the calling thread's; the tasks below use it through `partial`
    buffer.resize(slot * groups);
    T* const partial = buffer.data();
    for_each_group(g, gr, threads, [&](int index, int first, int count, int inner) {
        thread_local std::vector<T> col, dyg;
        const long ld = long(count) * gr.pixels;
        col.resize(std::size_t(gr.rows) * ld);
        dyg.resize(std::size_t(g.out_c) * ld);
        im2col(g, gr, x, first, count, col.data(), inner);
        gather_channels(g, gr, dy, first, count, dyg.data());
        T* pw = partial + slot * index;
        // dW_group (O x rows) = dY (O x count*pixels) * col^T (count*pixels x rows)
        gemm(g.out_c, gr.rows, int(ld), dyg.data(), ld, 1, col.data(), 1, ld, pw, gr.rows, false, inner);
        for (int o = 0; o < g.out_c; ++o) {
            T sum = T(0);
            for (long q = 0; q < ld; ++q) sum += dyg[o * ld + q];
            pw[wsize + o] = sum;
        }
    });
    const int chunks = std::max(1, std::min<int>(int(slot / 4096) + 1, 4 * threads));
    parallel_for(chunks, threads, [&](int c) {
        const std::size_t lo = slot * c / chunks, hi = slot * (c + 1) / chunks;
        for (int i = 0; i < groups; ++i) {
            const T* pw = partial + slot * i;
            for (std::size_t e = lo; e < hi; ++e) {
                if (e < wsize) dw[e] += pw[e];
                else db[e - wsize] += pw[e];
            }
        }
    });
}

template void conv_forward_fast<float>(const ConvGeom&, const float*, const float*, const float*, float*, int);
template void conv_forward_fast<double>(const ConvGeom&, const double*, const double*, const double*, double*, int);
template void conv_backward_input_fast<float>(const ConvGeom&, const float*, const float*, float*, int);
template void conv_backward_input_fast<double>(const ConvGeom&, const double*, const double*, double*, int);
template void conv_backward_weights_fast<float>(const ConvGeom&, const float*, const float*, float*, float*, int);
template void conv_backward_weights_fast<double>(const ConvGeom&, const double*, const double*, double*, double*, int);

} // namespace allconv
