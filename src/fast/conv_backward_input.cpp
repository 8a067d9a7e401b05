// conv_backward_input: the fast path's backward to the input, dX = col2im(W^T * dY),
// or for stride 1 a forward convolution of dY, or for stride 2 and more one
// small convolution of dY per phase of the stride.
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
#include "winograd.hpp"

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
    const ConvGeom t = conv_geom({g.batch, g.out_c, g.out_h, g.out_w}, g.in_c, g.k, 1, g.k - 1 - g.pad);
    // By Winograd where it fits and pays (winograd.hpp); otherwise reading im2col in place, where that pays.
    const bool winograd = by_winograd(t, how == Im2col::winograd, how == Im2col::cheaper, winograd_pays_off(t));
    if (!winograd && how == Im2col::cheaper) {
        if (g.in_c < 2 * Tiles<T>::MR) return false;
        // Not where dX has more pixels than dY (padding below k - 1): the turned
        // convolution computes every pixel of dX, the scatter every one of dY
        // (conv7 of All-CNN-C: 64 against 36, 1.78x the multiply-adds).
        if (long(g.in_h) * g.in_w * 8 > long(g.out_h) * g.out_w * 9) return false;
        // Small images padded wide: most of the columns would be padding, and
        // the scatter is faster.
        if (!views_pay_off(t, threads)) return false;
    }
    thread_local std::vector<T> turned, zeros;
    zeros.assign(std::size_t(g.in_c), T(0));
    if (winograd)
        conv_forward_winograd(t, dy, packed_weights(packs, g, w, Packing::winograd_turned, turned), zeros.data(), dx,
                              static_cast<T*>(nullptr), threads);
    else
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

// ---- by phases: stride 2 and more -------------------------------------------
// Input pixel iy meets only the kernel rows ky = a, a + s, ..., where a =
// (iy + pad) % s is its phase (phase_copy.hpp). So phase (a, b) of dX, at
// position (qy, qx) of the grid (input pixel (qy s + a - pad, qx s + b - pad)), is
//   sum over o, ty < Ta, tx < Tb of W[o][c][a + s ty][b + s tx] * dY[o][qy - ty][qx - tx]
// (dY zero outside): a small convolution of dY by those taps alone, every
// multiply-add one the scatter does too (plus the grid's few positions
// outside dX), written straight into the phase-split layout, each position
// once: no col2im, no zeroing. Its B is read in place from a copy of dY with
// t = (k - 1) / s zero rows and columns before each image's, in the same grid
// of hq x wq positions (hq = out_h + t):
//   B row (o, ty, tx), column j = dcopy[o * plane + j + (t - ty) * wq + (t - tx)]
// (a position past an image's last column or row reads the next row's or
// image's leading zeros, or those after the last image).

} // namespace

// Whether that pays: stride 2 or more, every phase with a tap, a grid not
// much larger than dY, and a scatter that would cost more. The scatter's
// multiply-adds are exact, but each of its products then goes through col2im:
// dear where few output channels sum into each (O small), or where its runs
// of out_w values are not whole vectors. Measured, one thread, k = 3, s = 2,
// batch 16 (by phases against the scatter): O = C = 32: 1.20-1.54x; 48: 1.13x;
// 64 and 96 with out_w = 14 or 7: 1.24-1.33x, with 16 or 8: 0.96-1.00x; 128
// and 192: 0.86-0.99x; O = 96, C = 32: 0.80-0.86x. The shipped model's conv3
// and conv6 at batch 64: 1.46x and 1.27x; All-CNN-C's keep the scatter.
// (Not where the copy of dY would be far larger than the tensors: a kernel
// far beyond the output, whose grid then dwarfs dY, as copy_fits says for
// the phase-split layout.)
bool phases_pay_off(const ConvGeom& g, Im2col how) {
    if (how == Im2col::packed || g.stride < 2 || g.k < g.stride || !copy_fits(g)) return false;
    const Views v = views_of<float>(g);
    if (!fits_beside_tensors(g, double(g.out_c) * double(v.plane))) return false;
    if (how == Im2col::in_place) return true;
    return v.per_image * 3 <= long(g.out_h) * g.out_w * 4 && (g.out_c <= 48 || (g.out_c <= 96 && g.out_w % 8 != 0));
}

namespace {

// dY, each output channel a plane of the grid as above (v: the whole batch).
template <class T>
const T* padded_dy(const ConvGeom& g, const Views& v, const T* dy, int threads, std::vector<T>& copy) {
    const int t = (g.k - 1) / g.stride, P = g.out_h * g.out_w;
    const long slack = long(t) * v.wq + t + Tiles<T>::NR; // what a strip reads past the last image
    T* const d = on_a_line(copy, std::size_t(g.out_c) * v.plane + std::size_t(slack));
    parallel_for(g.out_c, threads, [&](int o) {
        T* p = d + long(o) * v.plane;
        for (int n = 0; n < g.batch; ++n) {
            const T* src = dy + (long(n) * g.out_c + o) * P;
            p = std::fill_n(p, long(t) * v.wq, T(0));
            for (int y = 0; y < g.out_h; ++y, src += g.out_w, p += v.wq) { // (plain loops: no call per row)
                zero_few(p, 0, t);
                for (int q = 0; q < g.out_w; ++q) p[t + q] = src[q];
            }
        }
        std::fill(p, d + long(o + 1) * v.plane, T(0)); // up to the next plane
    });
    std::fill_n(d + long(g.out_c) * v.plane, slack, T(0));
    return d;
}

// Where each row (o, ty, tx) of phase (a, b)'s B starts in the copy of dY
// (relative to a column's own position); phase after phase, row-major in a.
std::vector<std::vector<std::ptrdiff_t>> phase_offsets(const ConvGeom& g, const Views& all) {
    const int s = g.stride, t = (g.k - 1) / s;
    std::vector<std::vector<std::ptrdiff_t>> offsets(std::size_t(s) * s);
    for (int pa = 0; pa < s; ++pa)
        for (int pb = 0; pb < s; ++pb)
            for (int o = 0; o < g.out_c; ++o)
                for (int ty = 0; ty < phase_taps(g, pa); ++ty)
                    for (int tx = 0; tx < phase_taps(g, pb); ++tx)
                        offsets[std::size_t(pa * s + pb)].push_back(o * all.plane + long(t - ty) * all.wq + (t - tx));
    return offsets;
}

// One task: images first .. first + count - 1, channels c0 .. c1 - 1 (c0 on a
// strip of MR), every phase into the phase-split layout, then into dx.
template <class T>
void phases_task(const ConvGeom& g, const Views& all, const T* dcopy,
                 const std::vector<std::vector<std::ptrdiff_t>>& offsets, const T* a, int first, int count, int c0,
                 int c1, T* dx) {
    const int s = g.stride, Cp = padded_rows<T>(g.in_c);
    ConvGeom group = g;
    group.batch = count;
    const Views v = views_of<T>(group);
    thread_local std::vector<T> planes;
    T* const acc = on_a_line(planes, std::size_t(c1 - c0) * s * s * v.plane);
    for (int pa = 0; pa < s; ++pa)
        for (int pb = 0; pb < s; ++pb) {
            const std::vector<std::ptrdiff_t>& offset = offsets[std::size_t(pa * s + pb)];
            const T* const phase_a = a + phase_start<T>(g, pa, pb); // this phase's weights
            const int K = int(offset.size());
            for (int p0 = 0; p0 < K; p0 += KC) {
                const int kc = std::min(KC, K - p0);
                macro_kernel_views(c1 - c0, int(count * v.per_image), kc,
                                   phase_a + std::size_t(p0) * Cp + std::size_t(c0) * kc, dcopy + first * all.per_image,
                                   offset.data() + p0,
                                   acc + (pa * s + pb) * v.plane, long(s) * s * v.plane, p0 == 0);
            }
        }
    unsplit_views(group, v, acc, c0, c1 - c0, dx + long(first) * g.in_c * g.in_h * g.in_w);
}

// Tasks: enough images for 16 strips of columns, and channels in as few
// blocks of whole strips as keep the threads busy: each block reads every
// strip of B again, and the fewer the blocks the more A strips share it.
// (Neither changes a sum.)
template <class T>
void phases_backward(const ConvGeom& g, const T* dy, const T* w, T* dx, int threads, WeightPacks* packs) {
    constexpr int MR = Tiles<T>::MR, NR = Tiles<T>::NR;
    thread_local std::vector<T> a_pack, copy;
    const T* const a = packed_weights(packs, g, w, Packing::phases, a_pack);
    const Views all = views_of<T>(g);
    const T* const dcopy = padded_dy(g, all, dy, threads, copy);
    const std::vector<std::vector<std::ptrdiff_t>> offsets = phase_offsets(g, all);
    const int G = int(std::clamp<long>((16L * NR + all.per_image - 1) / all.per_image, 1, g.batch));
    const int groups = (g.batch + G - 1) / G, units = (g.in_c + MR - 1) / MR;
    const int wanted = std::min(units, (2 * threads + groups - 1) / groups);
    const int block = (units + wanted - 1) / wanted * MR, blocks = (g.in_c + block - 1) / block;
    parallel_for(groups * blocks, threads, [&](int task) {
        const int first = task / blocks * G, c0 = task % blocks * block;
        phases_task(g, all, dcopy, offsets, a, first, std::min(G, g.batch - first), c0, std::min(g.in_c, c0 + block),
                    dx);
    });
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
    if (phases_pay_off(g, how)) {
        phases_backward(g, dy, w, dx, threads, packs);
        return;
    }
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
