// conv_views (weights): the weight gradients with the im2col matrix read in
// place from the padded, phase-split copy (phase_copy.hpp) as A.
#include "conv_views.hpp"

#include <algorithm>
#include <vector>

#include "gemm.hpp"
#include "parallel.hpp"
#include "phase_copy.hpp"

namespace allconv {

namespace {

// The slices of columns the weight gradients sum over, in order: each image's
// columns oy < out_h, KC at a time; for images of fewer than KC such columns,
// all the images' columns KC at a time instead (dropped rows and all). Either
// way the order depends on the layer's shape alone.
std::vector<Block> weight_slices(const ConvGeom& g, const Views& v) {
    const long columns = long(g.out_h) * v.wq, all = long(g.batch - 1) * v.per_image + columns;
    std::vector<Block> slices;
    const bool each = columns >= KC;
    for (int image = 0; image < (each ? g.batch : 1); ++image) {
        const long first = each ? image * v.per_image : 0, end = first + (each ? columns : all);
        for (long j0 = first; j0 < end; j0 += KC) slices.push_back(Block{j0, int(std::min<long>(KC, end - j0))});
    }
    return slices;
}

// B (kc x O, packed in strips of NR) = dY^T at columns j0 .. j0 + kc - 1 of the
// wider grid: dY's value where the column is an output pixel, 0 where it is dropped.
template <class T>
void pack_dy(const ConvGeom& g, const Views& v, const T* dy, Block slice, T* dst) {
    constexpr int NR = Tiles<T>::NR;
    const int O = g.out_c, Op = (O + NR - 1) / NR * NR, P = g.out_h * g.out_w;
    for (int p = 0; p < slice.n;) { // a run of columns within one row of the grid
        const long j = slice.j0 + p, image = j / v.per_image;
        const int oy = int(j % v.per_image / v.wq), ox = int(j % v.wq), len = std::min(v.wq - ox, slice.n - p);
        const int real = oy < g.out_h ? std::max(0, std::min(len, g.out_w - ox)) : 0;
        for (int o = 0; o < Op; ++o) {
            T* col = dst + std::size_t(o / NR) * NR * slice.n + std::size_t(p) * NR + o % NR;
            const T* src = dy + (image * O + std::min(o, O - 1)) * P + oy * g.out_w + ox;
            const int valid = o < O ? real : 0;
            for (int q = 0; q < valid; ++q) col[std::size_t(q) * NR] = src[q];
            for (int q = valid; q < len; ++q) col[std::size_t(q) * NR] = T(0);
        }
        p += len;
    }
}

// Rows i < m of A, row i the kc values at base + offset[i], packed into
// strips of MR (column p of a strip: its MR rows' values at p); zeros past m.
template <class T>
void pack_rows(const T* base, const std::ptrdiff_t* offset, int m, int kc, T* dst) {
    constexpr int MR = Tiles<T>::MR;
    for (int row = 0; row < m; row += MR, dst += std::size_t(MR) * kc)
        for (int i = 0; i < MR; ++i) {
            const T* src = row + i < m ? base + offset[row + i] : nullptr;
            for (int p = 0; p < kc; ++p) dst[std::size_t(p) * MR + i] = src ? src[p] : T(0);
        }
}

} // namespace

bool views_pay_off_for_weights(const ConvGeom& g) {
    if (!copy_fits(g)) return false;
    long work = 0;
    for (const Block& slice : weight_slices(g, views_of<float>(g))) work += slice.n;
    // A column computes R x O multiply-adds, dropped or not; packing a real
    // one instead (R values of im2col in short runs, O of dY) costs about
    // what 128 x R of them do. So in place pays while work / real columns
    // stays under 1 + 128 / O. Measured, one thread: All-CNN-C (O = 192) at
    // batch 16, conv6 (1.26) a tie, conv7 (1.75) 3% slower in place; the
    // shipped model (O = 64) at batch 64, 1.3-1.9x faster in place for every
    // layer, conv7 (1.95) too.
    const long O = g.out_c;
    return O * work <= (O + 128) * long(g.batch) * g.out_h * g.out_w;
}

// dW^T (R x O) = im2col (R x columns) * dY^T, im2col's rows read in place
// (or packed from the copy: see below) as A and dY^T packed as B (zeros at the dropped columns, so they add nothing),
// summed over weight_slices in order; a task owns a block of rows (weights
// of some input channels), so the thread count changes no sum.
template <class T>
void conv_backward_weights_views(const ConvGeom& g, const T* x, const T* dy, T* dw, int threads) {
    constexpr int MR = Tiles<T>::MR, NR = Tiles<T>::NR;
    const int O = g.out_c, R = g.in_c * g.k * g.k;
    const Views v = views_of<T>(g);
    thread_local std::vector<T> copy;
    thread_local std::vector<std::ptrdiff_t> offset;
    const T* const view = make_views(g, v, x, threads, copy, offset);
    const std::ptrdiff_t* const off = offset.data(); // (inside the tasks, `offset` would be another thread's)
    const std::vector<Block> slices = weight_slices(g, v);
    const int strips = padded_rows<T>(R) / MR, per = std::max(1, (strips + threads - 1) / threads);
    parallel_for((strips + per - 1) / per, threads, [&](int t) {
        const int r0 = t * per * MR, m = std::min(R - r0, per * MR);
        thread_local std::vector<T> a_pack, b_pack, c_tile;
        if (!Tiles<T>::apart) grow(a_pack, std::size_t(padded_rows<T>(m)) * KC);
        grow(b_pack, std::size_t((O + NR - 1) / NR) * NR * KC);
        grow(c_tile, std::size_t(m) * O);
        for (std::size_t s = 0; s < slices.size(); ++s) {
            pack_dy(g, v, dy, slices[s], b_pack.data());
            // A read in place where the AVX-512 tiles are used; elsewhere packed
            // from the copy's rows (a plain transpose): clang 14 made the AVX2
            // kernel with A in place 1.6x slower (training step 44% of peak, 72% packed).
            if constexpr (Tiles<T>::apart) {
                macro_kernel_views(m, O, slices[s].n, view + slices[s].j0, off + r0, b_pack.data(), nullptr,
                                   c_tile.data(), O, s == 0);
            } else {
                pack_rows(view + slices[s].j0, off + r0, m, slices[s].n, a_pack.data());
                macro_kernel(m, O, slices[s].n, a_pack.data(), b_pack.data(), c_tile.data(), O, s == 0);
            }
        }
        for (int i = 0; i < m; ++i)
            for (int o = 0; o < O; ++o) dw[long(o) * R + r0 + i] += c_tile[std::size_t(i) * O + o];
    });
}

template void conv_backward_weights_views<float>(const ConvGeom&, const float*, const float*, float*, int);
template void conv_backward_weights_views<double>(const ConvGeom&, const double*, const double*, double*, int);

} // namespace allconv
