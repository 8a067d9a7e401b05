// conv_backward_input: the fast path's backward to the input, dX = col2im(W^T * dY),
// or for stride 1 a forward convolution of dY.
#include <algorithm>
#include <numeric>
#include <vector>

#include "conv_fast.hpp"
#include "conv_views.hpp"
#include "gemm.hpp"
#include "packed_weights.hpp"
#include "parallel.hpp"
#include "phase_copy.hpp"
#include "runs.hpp"

namespace allconv {

namespace {

// B (kc x n, packed in strips of NR, zeros past n) = rows 0 .. kc - 1 of dY
// (from dy on, O rows of P per image) for the n columns of consecutive
// images: column j is pixel j % P of image j / P (stepped along, not divided
// out per value).
template <class T>
void pack_b_images(int kc, int n, const T* dy, int O, int P, T* dst) {
    constexpr int NR = Tiles<T>::NR;
    for (int s = 0; s * NR < n; ++s) {
        long at[NR]; // where each column of the strip starts in dy (row p: + p * P)
        for (int q = 0, j = s * NR; q < NR; ++q, ++j) at[q] = j < n ? long(j / P) * O * P + j % P : -1;
        for (int p = 0; p < kc; ++p) {
            T* const row = dst + (std::size_t(s) * kc + p) * NR;
            for (int q = 0; q < NR; ++q) row[q] = at[q] >= 0 ? dy[at[q] + long(p) * P] : T(0);
        }
    }
}

// "col2im": row i of the tile (im2col row r0 + i = (c, ky, kx)), column by
// column, added where that im2col entry was read from, in the padded,
// phase-split layout of phase_copy.hpp (acc, `first`'s image at 0; offset:
// where each row starts in it). There a run of output pixels along a row
// meets consecutive positions whatever the stride: a plain loop compilers
// vectorise, where dX itself would take every s-th value (with stride 2 the
// scatter was 37% of conv3's backward). Row by row, run by run, block by
// block: every element receives its terms in the same order whatever the
// cache sizes or the thread count.
template <class T>
void col2im(const ConvGeom& g, const Views& v, const std::vector<Run>& runs, long first, const T* ctile, long ldc,
            const std::ptrdiff_t* offset, int m, T* acc) {
    thread_local std::vector<long> at; // per run: its first position in the grid
    at.clear();
    for (const Run& run : runs)
        at.push_back((run.image - first) * v.per_image + long(run.pixel / g.out_w) * v.wq + run.pixel % g.out_w);
    for (int i = 0; i < m; ++i) {
        const T* const crow = ctile + long(i) * ldc;
        for (std::size_t u = 0; u < runs.size(); ++u) {
            T* const dst = acc + offset[i] + at[u];
            const T* const src = crow + runs[u].p0;
            for (int q = 0; q < runs[u].len; ++q) dst[q] += src[q];
        }
    }
}

// The same straight into dx (images from `first` on, zeroed beforehand),
// for layers whose phase-split buffer would be too large (copy_fits: a
// stride far beyond the kernel). A run meets every s-th value of a row of
// dX, within the image.
template <class T>
void col2im_direct(const ConvGeom& g, const std::vector<Run>& runs, long first, const T* ctile, long ldc, int r0, int m,
                   T* dx) {
    for (int i = 0; i < m; ++i) {
        const int r = r0 + i, c = r / (g.k * g.k), ky = r / g.k % g.k, kx = r % g.k;
        for (const Run& run : runs) {
            const int iy = run.iy0 + ky;
            if (iy < 0 || iy >= g.in_h) continue;
            T* const row = dx + ((run.image - first) * g.in_c + c) * g.in_h * g.in_w + long(iy) * g.in_w;
            const T* const src = ctile + long(i) * ldc + run.p0;
            for (int q = 0; q < run.len; ++q) {
                const long ix = long(run.ix0) + kx + long(q) * g.stride;
                if (ix >= 0 && ix < g.in_w) row[ix] += src[q];
            }
        }
    }
}

// With stride 1, backward to the input is itself a forward convolution: of
// dY, padded by k - 1 - pad, with the kernels turned half a turn and input and
// output channels swapped,  dX[c] = sum over o of dY[o] (*) W[o][c] rotated.
// It then runs as fast as the forward pass, reading im2col in place; used
// only where that pays, and not for few input channels: they would be the
// rows of the multiply, too few to fill a tile of MR.
template <class T>
bool backward_as_forward(const ConvGeom& g, const T* dy, const T* w, T* dx, int threads, Im2col how,
                         WeightPacks* packs) {
    if (how == Im2col::packed || g.stride != 1 || g.pad > g.k - 1) return false;
    if (how == Im2col::cheaper && g.in_c < 2 * Tiles<T>::MR) return false;
    // Not where dX has more pixels than dY (padding below k - 1): the turned
    // convolution computes every pixel of dX, the scatter every one of dY
    // (conv7 of All-CNN-C: 64 against 36, 1.78x the multiply-adds).
    if (how == Im2col::cheaper && long(g.in_h) * g.in_w * 8 > long(g.out_h) * g.out_w * 9) return false;
    const ConvGeom t = conv_geom({g.batch, g.out_c, g.out_h, g.out_w}, g.in_c, g.k, 1, g.k - 1 - g.pad);
    // Small images padded wide: most of the columns would be padding, and
    // the scatter is faster.
    if (how == Im2col::cheaper && !views_pay_off(t, threads)) return false;
    thread_local std::vector<T> turned, zeros;
    zeros.assign(std::size_t(g.in_c), T(0));
    conv_forward_views(t, dy, packed_weights(packs, g, w, Packing::turned, turned), zeros.data(), dx, threads);
    return true;
}

// How conv_backward_input_fast splits the work: `per_task` images (a few
// small ones, or one) and `block` input channels a task.
struct Split {
    int per_task, groups, block, blocks;
};

// Channel blocks start on a strip of MR rows: a multiple of MR / gcd(MR, k*k)
// channels; enough blocks for the threads, and a tile of rows x nc within
// half of L2. (Blocks never change a sum: each owns its channels of dX.)
// Small images a few at a time, up to nc columns, where one image's P
// columns alone would round up to whole strips (conv7 of All-CNN-C: 36 to
// 64; 1.2x faster so, though B is then gathered from several images).
template <class T>
Split split_of(const ConvGeom& g, int threads) {
    constexpr int MR = Tiles<T>::MR, NR = Tiles<T>::NR;
    const int kk = g.k * g.k, R = g.in_c * kk, P = g.out_h * g.out_w, nc = blocking().nc;
    const int unit = MR / std::gcd(MR, kk), units = (g.in_c + unit - 1) / unit;
    const std::size_t rows_in_l2 = std::max<std::size_t>(1, l2_cache_bytes() / 2 / (std::size_t(nc) * sizeof(T)));
    const int by_cache = int((std::size_t(R) + rows_in_l2 - 1) / rows_in_l2);
    const int G = P < nc && P % NR ? std::max(1, std::min(g.batch, nc / P)) : 1, groups = (g.batch + G - 1) / G;
    const int per_group = std::max(1, std::min(units, std::max(by_cache, (4 * threads + groups - 1) / groups)));
    const int block = (units + per_group - 1) / per_group * unit;
    return Split{G, groups, block, (g.in_c + block - 1) / block};
}

// One task: images first .. first + count - 1, channels c0 .. c1 - 1, their
// terms summed in the phase-split layout and then written into dx.
template <class T>
void backward_task(const ConvGeom& g, const T* dy, const T* a, int first, int count, int c0, int c1, T* dx) {
    constexpr int NR = Tiles<T>::NR;
    const int O = g.out_c, kk = g.k * g.k, R = g.in_c * kk, P = g.out_h * g.out_w, nc = blocking().nc;
    const int N = count * P, r0 = c0 * kk, m = (c1 - c0) * kk;
    ConvGeom group = g;
    group.batch = count;
    const Views v = views_of<T>(group);
    const bool phases = copy_fits(group);
    T* const x = dx + long(first) * g.in_c * g.in_h * g.in_w;
    thread_local std::vector<T> b_pack, c_tile, acc;
    thread_local std::vector<std::ptrdiff_t> offset;
    thread_local std::vector<Run> runs;
    if (phases) {
        grow(offset, std::size_t(m));
        view_offsets(g, v, c1 - c0, offset.data());
        grow(acc, std::size_t(c1 - c0) * v.s * v.s * v.plane);
        std::fill_n(acc.data(), std::size_t(c1 - c0) * v.s * v.s * v.plane, T(0));
    } else {
        for (int n = 0; n < count; ++n)
            std::fill(x + (long(n) * g.in_c + c0) * g.in_h * g.in_w, x + (long(n) * g.in_c + c1) * g.in_h * g.in_w, T(0));
    }
    for (int j0 = 0; j0 < N; j0 += nc) { // (several images: N <= nc, one block)
        const int n = std::min(nc, N - j0);
        grow(b_pack, std::size_t((n + NR - 1) / NR) * NR * KC);
        grow(c_tile, std::size_t(m) * nc);
        for (int p0 = 0; p0 < O; p0 += KC) { // B: rows p0.. of dY, columns j0.. of these images
            const int kc = std::min(KC, O - p0);
            if (count == 1) pack_b(kc, n, dy + (long(first) * O + p0) * P + j0, long(P), 1L, b_pack.data());
            else pack_b_images(kc, n, dy + (long(first) * O + p0) * P, O, P, b_pack.data());
            macro_kernel(m, n, kc, a + std::size_t(p0) * padded_rows<T>(R) + std::size_t(r0) * kc, b_pack.data(),
                         c_tile.data(), nc, p0 == 0);
        }
        runs_of<T>(g, long(first) * P + j0, n, runs);
        if (phases) col2im(g, v, runs, first, c_tile.data(), nc, offset.data(), m, acc.data());
        else col2im_direct(g, runs, first, c_tile.data(), nc, r0, m, x);
    }
    if (phases) unsplit_views(group, v, acc.data(), c0, c1 - c0, x);
}

} // namespace

// Otherwise dX = col2im(W^T * dY). A task is one image (or a few small ones)
// and one block of input channels: the rows of W^T * dY it computes scatter
// only onto its own channels of its own images, in a fixed order of column
// blocks.
template <class T>
void conv_backward_input_fast(const ConvGeom& g, const T* dy, const T* w, T* dx, int threads, Im2col how,
                              WeightPacks* packs) {
    if (backward_as_forward(g, dy, w, dx, threads, how, packs)) return;
    thread_local std::vector<T> a_pack; // W^T: R rows x O
    const T* const a = packed_weights(packs, g, w, Packing::transposed, a_pack);
    const Split split = split_of<T>(g, threads);
    parallel_for(split.groups * split.blocks, threads, [&](int t) {
        const int first = t / split.blocks * split.per_task, count = std::min(split.per_task, g.batch - first);
        const int c0 = t % split.blocks * split.block, c1 = std::min(g.in_c, c0 + split.block);
        backward_task(g, dy, a, first, count, c0, c1, dx);
    });
}

template void conv_backward_input_fast<float>(const ConvGeom&, const float*, const float*, float*, int, Im2col,
                                              WeightPacks*);
template void conv_backward_input_fast<double>(const ConvGeom&, const double*, const double*, double*, int, Im2col,
                                               WeightPacks*);

} // namespace allconv
