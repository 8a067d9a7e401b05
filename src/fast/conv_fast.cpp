// conv_fast: convolution as matrix multiplies, with the im2col matrix packed
// slice by slice straight from the image (never built whole).
#include "conv_fast.hpp"

#include <algorithm>
#include <vector>

#include "conv_views.hpp"
#include "gemm.hpp"
#include "packed_weights.hpp"
#include "parallel.hpp"
#include "runs.hpp"
#include "winograd.hpp"

namespace allconv {

namespace {

// row[q] = the input row `src` at ix_first + q * stride for q < len, 0 where that is padding.
template <class T>
void gather_row(const ConvGeom& g, const T* src, int ix_first, int len, T* row, long step) {
    const auto [lo, hi] = inside_row(ix_first, g.stride, g.in_w, len);
    for (int q = 0; q < lo; ++q) row[q * step] = T(0);
    for (int q = lo; q < hi; ++q) row[q * step] = src[ix_first + q * g.stride];
    for (int q = hi; q < len; ++q) row[q * step] = T(0);
}

// Rows p0 .. p0 + kc - 1 of im2col, the tile's columns, in the packed B layout
// of gemm.hpp: strip s holds columns s*NR .. +NR, row by row; zeros past n.
// Run by run: where a kernel offset (ky, kx) falls inside the image depends
// only on the run, so it is worked out once per run, not once per row.
template <class T>
void pack_b_im2col(const ConvGeom& g, const T* x, const std::vector<Run>& runs, int n, int p0, int kc, T* dst) {
    constexpr int NR = Tiles<T>::NR;
    const int last = n / NR * NR, kk = g.k * g.k; // zero the padding columns of the last strip
    if (n % NR)
        for (int p = 0; p < kc; ++p) std::fill_n(dst + std::size_t(last) * kc + std::size_t(p) * NR + n % NR, NR - n % NR, T(0));
    const long plane = long(g.in_h) * g.in_w;
    thread_local std::vector<Inside> inside; // per kx: the valid q of the run
    grow(inside, std::size_t(g.k));
    for (const Run& run : runs) {
        for (int kx = 0; kx < g.k; ++kx) inside[kx] = inside_row(run.ix0 + kx, g.stride, g.in_w, run.len);
        T* const base = dst + std::size_t(run.p0 / NR * NR) * kc + run.p0 % NR;
        const T* const image = x + run.image * g.in_c * plane;
        // Row r is (c, ky, kx) = (r / kk, r / k % k, r % k), stepped along
        // rather than divided out for every row of every run.
        int c = p0 / kk, ky = p0 / g.k % g.k, kx = p0 % g.k;
        for (int r = p0; r < p0 + kc; ++r) {
            const int iy = run.iy0 + ky;
            T* row = base + std::size_t(r - p0) * NR;
            if (iy < 0 || iy >= g.in_h) {
                for (int q = 0; q < run.len; ++q) row[q] = T(0);
            } else if (g.stride == 1) { // one loop, no calls: runs are short (memmove and memset took 17% of conv7)
                const T* src = image + c * plane + long(iy) * g.in_w + run.ix0 + kx;
                const int l = inside[kx].lo, h = inside[kx].hi;
                for (int q = 0; q < run.len; ++q) row[q] = q >= l && q < h ? src[q] : T(0);
            } else {
                const T* src = image + c * plane + long(iy) * g.in_w + run.ix0 + kx;
                const int l = inside[kx].lo, h = inside[kx].hi;
                for (int q = 0; q < l; ++q) row[q] = T(0);
                for (int q = l; q < h; ++q) row[q] = src[q * g.stride];
                for (int q = h; q < run.len; ++q) row[q] = T(0);
            }
            if (++kx == g.k) {
                kx = 0;
                if (++ky == g.k) ky = 0, ++c;
            }
        }
    }
}

// The same rows as A (MR-row strips over kc columns, for backward to the
// weights): rows r0 .. r0 + m - 1 of im2col over the columns of `runs`.
template <class T>
void pack_a_im2col(const ConvGeom& g, const T* x, const std::vector<Run>& runs, int r0, int m, int kc, T* dst) {
    constexpr int MR = Tiles<T>::MR;
    for (int i = 0; i < padded_rows<T>(m); ++i) {
        T* strip = dst + std::size_t(i / MR) * MR * kc + i % MR;
        const int r = r0 + i, c = r / (g.k * g.k), ky = r / g.k % g.k, kx = r % g.k;
        for (const Run& run : runs) {
            T* at = strip + std::size_t(run.p0) * MR;
            const int iy = run.iy0 + ky;
            if (i >= m || iy < 0 || iy >= g.in_h) {
                for (int q = 0; q < run.len; ++q) at[q * MR] = T(0);
                continue;
            }
            gather_row(g, x + run.image * g.in_c * g.in_h * g.in_w + (long(c) * g.in_h + iy) * g.in_w, run.ix0 + kx,
                       run.len, at, MR);
        }
    }
}

// Y = W * im2col + b: A (the weights) packed once, shared by every task; a
// task owns a block of columns (output pixels, across images) and a block of
// output channels (split only when there are too few column blocks for the
// threads; either way every element is summed alike).
template <class T>
void conv_forward_packed(const ConvGeom& g, const T* x, const T* a, const T* b, T* y, int threads, T* relu) {
    constexpr int MR = Tiles<T>::MR, NR = Tiles<T>::NR;
    const int M = g.out_c, K = g.in_c * g.k * g.k, P = g.out_h * g.out_w, nc = blocking().nc;
    const long N = long(g.batch) * P;
    const int col_blocks = int((N + nc - 1) / nc), strips = padded_rows<T>(M) / MR;
    const int row_blocks = std::min(strips, std::max(1, (2 * threads + col_blocks - 1) / col_blocks));
    const int rows_per = (strips + row_blocks - 1) / row_blocks * MR;
    parallel_for(col_blocks * row_blocks, threads, [&](int t) {
        const long j0 = long(t / row_blocks) * nc;
        const int n = int(std::min<long>(nc, N - j0)), i0 = t % row_blocks * rows_per, m = std::min(rows_per, M - i0);
        if (m <= 0) return;
        thread_local std::vector<T> b_pack, c_tile;
        thread_local std::vector<Run> runs;
        grow(b_pack, std::size_t((n + NR - 1) / NR) * NR * KC);
        grow(c_tile, std::size_t(rows_per) * nc);
        runs_of<T>(g, j0, n, runs);
        for (int p0 = 0; p0 < K; p0 += KC) {
            const int kc = std::min(KC, K - p0);
            pack_b_im2col(g, x, runs, n, p0, kc, b_pack.data());
            macro_kernel(m, n, kc, a + std::size_t(p0) * padded_rows<T>(M) + std::size_t(i0) * kc, b_pack.data(),
                         c_tile.data(), nc, p0 == 0);
        }
        for (const Run& run : runs) // the tile back to NCHW, plus the bias
            for (int o = i0; o < i0 + m; ++o) {
                const long at = (run.image * M + o) * P + run.pixel;
                copy_out(c_tile.data() + std::size_t(o - i0) * nc + run.p0, 1, run.len, &b[o], y + at,
                         relu ? relu + at : nullptr);
            }
    });
}

} // namespace

template <class T>
void conv_forward_fast(const ConvGeom& g, const T* x, const T* w, const T* b, T* y, int threads, Im2col how,
                       WeightPacks* packs, T* relu) {
    thread_local std::vector<T> a_pack;
    if (by_winograd(g, how == Im2col::winograd, how == Im2col::cheaper, winograd_pays_off(g))) {
        const T* const u = packed_weights(packs, g, w, Packing::winograd, a_pack);
        conv_forward_winograd(g, x, u, b, y, relu, threads);
        return;
    }
    const T* const a = packed_weights(packs, g, w, Packing::forward, a_pack);
    if (how == Im2col::in_place || (how == Im2col::cheaper && views_pay_off(g, threads)))
        conv_forward_views(g, x, a, b, y, threads, relu);
    else
        conv_forward_packed(g, x, a, b, y, threads, relu);
}

namespace {

// dW += dY * im2col^T, computed as its transpose im2col * dY^T (R x O) with
// im2col packed into A strips: a task owns a block of rows (weights of some
// input channels) and sums over every image and pixel in order.
template <class T>
void weights_packed(const ConvGeom& g, const T* x, const T* dy, T* dw, int threads) {
    constexpr int MR = Tiles<T>::MR, NR = Tiles<T>::NR;
    const int O = g.out_c, R = g.in_c * g.k * g.k, P = g.out_h * g.out_w;
    const long N = long(g.batch) * P;
    const int strips = padded_rows<T>(R) / MR, per = std::max(1, (strips + threads - 1) / threads);
    parallel_for((strips + per - 1) / per, threads, [&](int t) {
        const int r0 = t * per * MR, m = std::min(R - r0, per * MR);
        thread_local std::vector<T> a_pack, b_pack, c_tile;
        thread_local std::vector<Run> runs;
        grow(a_pack, std::size_t(padded_rows<T>(m)) * KC);
        grow(b_pack, std::size_t((O + NR - 1) / NR) * NR * KC);
        grow(c_tile, std::size_t(m) * O);
        for (long k0 = 0; k0 < N; k0 += KC) {
            const int kc = int(std::min<long>(KC, N - k0));
            runs_of<T>(g, k0, kc, runs);
            pack_a_im2col(g, x, runs, r0, m, kc, a_pack.data());
            for (int s = 0; s * NR < O; ++s) // B = dY^T: B(k, o) = dY[image][o][pixel], zeros past O
                for (int q = 0; q < NR; ++q) {
                    T* col = b_pack.data() + std::size_t(s) * NR * kc + q;
                    const int o = s * NR + q;
                    for (const Run& run : runs)
                        for (int i = 0; i < run.len; ++i)
                            col[std::size_t(run.p0 + i) * NR] = o < O ? dy[(run.image * O + o) * P + run.pixel + i] : T(0);
                }
            macro_kernel(m, O, kc, a_pack.data(), b_pack.data(), c_tile.data(), O, k0 == 0);
        }
        for (int i = 0; i < m; ++i)
            for (int o = 0; o < O; ++o) dw[long(o) * R + r0 + i] += c_tile[std::size_t(i) * O + o];
    });
}

// db[o] += the sum of dY[.][o] over every image and pixel, in 16 lanes: lane
// j sums pixels j, j + 16, ... of every image in order, then the lanes are
// added in order. A fixed order, so the same bits for any thread count; and
// one that vectorises (a single running sum is a chain of dependent additions:
// 6% of conv2's weight gradients). A task per run of channels: each db[o]
// is one task's.
template <class T>
void bias_gradient(const ConvGeom& g, const T* dy, T* db, int threads) {
    constexpr int L = 16;
    const int O = g.out_c, P = g.out_h * g.out_w, tasks = std::min(O, 4 * threads);
    const auto channel = [&](int o) {
        T lane[L] = {};
        for (int n = 0; n < g.batch; ++n) {
            const T* row = dy + (long(n) * O + o) * P;
            int p = 0;
            for (; p + L <= P; p += L)
                for (int j = 0; j < L; ++j) lane[j] += row[p + j];
            for (; p < P; ++p) lane[p % L] += row[p];
        }
        T sum = T(0);
        for (int j = 0; j < L; ++j) sum += lane[j];
        db[o] += sum;
    };
    parallel_for(tasks, threads, [&](int t) {
        for (int o = int(long(O) * t / tasks); o < int(long(O) * (t + 1) / tasks); ++o) channel(o);
    });
}

} // namespace

// dW as above or from the padded copy (conv_views_weights.cpp); then db.
template <class T>
void conv_backward_weights_fast(const ConvGeom& g, const T* x, const T* dy, T* dw, T* db, int threads, Im2col how) {
    if (by_winograd(g, how == Im2col::winograd, how == Im2col::cheaper, winograd_pays_off_for_weights(g)))
        conv_backward_weights_winograd(g, x, dy, dw, threads);
    else if (how == Im2col::in_place || (how == Im2col::cheaper && views_pay_off_for_weights(g)))
        conv_backward_weights_views(g, x, dy, dw, threads);
    else
        weights_packed(g, x, dy, dw, threads);
    bias_gradient(g, dy, db, threads);
}

template void conv_forward_fast<float>(const ConvGeom&, const float*, const float*, const float*, float*, int, Im2col,
                                       WeightPacks*, float*);
template void conv_forward_fast<double>(const ConvGeom&, const double*, const double*, const double*, double*, int,
                                        Im2col, WeightPacks*, double*);
template void conv_backward_weights_fast<float>(const ConvGeom&, const float*, const float*, float*, float*, int,
                                               Im2col);
template void conv_backward_weights_fast<double>(const ConvGeom&, const double*, const double*, double*, double*, int,
                                                Im2col);

} // namespace allconv
