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

// A slice of the columns the weight gradients sum over: `pieces` runs of
// `len` output pixels, run t from column j0 + t * v.row_pitch() of the grid.
struct Slice {
    long j0;
    int pieces, len;
};

// Images side by side where output rows are short (under 12 pixels) and
// the grid drops columns: a row of the grid then holds every image's pixels
// of that row, long runs for the multiply. One after another otherwise.
// (Measured, one thread: side by side, conv6 and conv7 of All-CNN-C at batch
// 16 1.05x and 1.2x faster, of the shipped model at batch 64 1.03x and
// 1.3-1.8x; conv3, rows of 14 and 16, 1.3-1.5x slower: the copy, gathered
// from every image, then costs more than short runs do.)
int weight_lanes(const ConvGeom& g) { return g.out_w < 12 && g.k > g.stride ? g.batch : 1; }

// The slices, in order: whole rows of the grid, as many as fit KC columns
// (rows longer than KC in pieces of KC); where the grid drops no column at
// all (k <= stride), every image's columns in one run, KC at a time. Only
// real columns: the dropped ones are stepped over. The order depends on the
// layer's shape alone.
std::vector<Slice> weight_slices(const ConvGeom& g, const Views& v) {
    std::vector<Slice> slices;
    if (v.wq == g.out_w && v.hq == g.out_h && v.lanes == 1) {
        const long all = long(g.batch) * v.per_image;
        for (long j0 = 0; j0 < all; j0 += KC) slices.push_back(Slice{j0, 1, int(std::min<long>(KC, all - j0))});
        return slices;
    }
    const long row_len = long(g.out_w) * v.lanes, pitch = v.row_pitch();
    for (int image = 0; image < g.batch / v.lanes; ++image) {
        const long first = image * v.per_image;
        if (row_len <= KC) {
            const int per = int(KC / row_len);
            for (int y = 0; y < g.out_h; y += per)
                slices.push_back(Slice{first + y * pitch, std::min(per, g.out_h - y), int(row_len)});
            continue;
        }
        for (int y = 0; y < g.out_h; ++y)
            for (long q = 0; q < row_len; q += KC)
                slices.push_back(Slice{first + y * pitch + q, 1, int(std::min<long>(KC, row_len - q))});
    }
    return slices;
}

// Where column p of a slice reads dY: dy[at[p] + o * P] for output channel o.
// Divided out once per run and then stepped along (a division per column
// cost as much as the packing).
void dy_columns(const ConvGeom& g, const Views& v, Slice slice, std::vector<long>& at) {
    const long P = long(g.out_h) * g.out_w, image_size = long(g.out_c) * P, pitch = v.row_pitch();
    at.clear();
    for (int t = 0; t < slice.pieces; ++t) {
        const long j = slice.j0 + t * pitch;
        if (v.lanes > 1) { // (oy, ox, image) of the one grid
            long ox = j % pitch / v.lanes, n = j % v.lanes;
            const long row = j / pitch * g.out_w;
            for (int q = 0; q < slice.len; ++q) {
                at.push_back(n * image_size + row + ox);
                if (++n == v.lanes) n = 0, ++ox;
            }
        } else { // a run of real columns: within one row, or (no column dropped) across rows and images
            long image = j / v.per_image, pixel = j % v.per_image / v.wq * g.out_w + j % v.wq;
            for (int q = 0; q < slice.len; ++q) {
                at.push_back(image * image_size + pixel);
                if (++pixel == P) pixel = 0, ++image;
            }
        }
    }
}

// B (kc x O, packed in strips of NR, zeros past O) = dY^T at the slice's
// columns, 16 columns at a time: the 16 x NR block of a strip they fill
// stays in L1 while every output channel's values are read along a row of
// dY. (A column at a time over all of O, each value went to a cache line of
// its own; a channel at a time over all of kc, B outgrew L1 for O = 192.)
template <class T>
void pack_dy(const ConvGeom& g, const std::vector<long>& at, const T* dy, T* dst) {
    constexpr int NR = Tiles<T>::NR, W = 16;
    const int O = g.out_c, Op = (O + NR - 1) / NR * NR, kc = int(at.size());
    const long P = long(g.out_h) * g.out_w;
    for (int p0 = 0; p0 < kc; p0 += W) {
        const int w = std::min(W, kc - p0);
        for (int o = 0; o < Op; ++o) {
            T* const col = dst + (std::size_t(o / NR) * kc + p0) * NR + o % NR;
            if (o >= O) {
                for (int q = 0; q < w; ++q) col[std::size_t(q) * NR] = T(0);
                continue;
            }
            const T* const src = dy + o * P;
            for (int q = 0; q < w; ++q) col[std::size_t(q) * NR] = src[at[std::size_t(p0 + q)]];
        }
    }
}

// Rows i < m of A, row i's runs at base + offset[i] + t * step (t < pieces,
// len values each), packed into strips of MR (column p of a strip: its MR
// rows' values at p); zeros past m.
template <class T>
void pack_rows(const T* base, const std::ptrdiff_t* offset, int m, Slice slice, long step, T* dst) {
    constexpr int MR = Tiles<T>::MR;
    const int kc = slice.pieces * slice.len;
    for (int row = 0; row < m; row += MR, dst += std::size_t(MR) * kc)
        for (int i = 0; i < MR; ++i) {
            const T* src = row + i < m ? base + offset[row + i] : nullptr;
            for (int t = 0; t < slice.pieces; ++t)
                for (int q = 0; q < slice.len; ++q)
                    dst[std::size_t(t * slice.len + q) * MR + i] = src ? src[t * step + q] : T(0);
        }
}

} // namespace

bool views_pay_off_for_weights(const ConvGeom& g) {
    // In place, the multiply runs over the real columns only and reads im2col
    // unpacked: never more work than packing it (measured, one thread,
    // All-CNN-C at batch 16 and the shipped model at batch 64: every layer
    // as fast or faster), as long as the copy is of a sensible size.
    return copy_fits(g);
}

// dW^T (R x O) = im2col (R x columns) * dY^T, im2col's rows read in place
// (or packed from the copy: see below) as A and dY^T packed as B, summed
// over weight_slices in order; a task owns a block of rows (weights of some
// input channels), so the thread count changes no sum. Each task packs the
// slices of dY^T it multiplies by, just before, while they stay in L1 and
// L2: on two threads that is the packing twice over, yet measured faster
// than packing every slice once up front and sharing it (0.94-0.99x on two
// threads for conv2-conv5 of All-CNN-C, conv1 0.65x: the packed slices then
// come back from L3 or memory).
template <class T>
void conv_backward_weights_views(const ConvGeom& g, const T* x, const T* dy, T* dw, int threads) {
    constexpr int MR = Tiles<T>::MR, NR = Tiles<T>::NR;
    const int O = g.out_c, R = g.in_c * g.k * g.k;
    const Views v = views_of<T>(g, weight_lanes(g));
    thread_local std::vector<T> copy;
    thread_local std::vector<std::ptrdiff_t> offset;
    const T* const view = make_views(g, v, x, threads, copy, offset);
    const std::ptrdiff_t* const off = offset.data(); // (inside the tasks, `offset` would be another thread's)
    const std::vector<Slice> slices = weight_slices(g, v);
    const int strips = padded_rows<T>(R) / MR, per = std::max(1, (strips + threads - 1) / threads);
    parallel_for((strips + per - 1) / per, threads, [&](int t) {
        const int r0 = t * per * MR, m = std::min(R - r0, per * MR);
        thread_local std::vector<T> a_pack, b_pack, c_tile;
        thread_local std::vector<long> at;
        if (!Tiles<T>::apart) grow(a_pack, std::size_t(padded_rows<T>(m)) * KC);
        grow(b_pack, std::size_t((O + NR - 1) / NR) * NR * KC);
        grow(c_tile, std::size_t(m) * O);
        for (std::size_t s = 0; s < slices.size(); ++s) {
            const Slice slice = slices[s];
            dy_columns(g, v, slice, at);
            pack_dy(g, at, dy, b_pack.data());
            // A read in place where the AVX-512 tiles are used; elsewhere packed
            // from the copy's rows (a plain transpose): clang 14 made the AVX2
            // kernel with A in place 1.6x slower (training step 44% of peak, 72% packed).
            if constexpr (Tiles<T>::apart) {
                macro_kernel_pieces(m, O, slice.pieces, slice.len, v.row_pitch(), view + slice.j0, off + r0,
                                    b_pack.data(), c_tile.data(), O, s == 0);
            } else {
                pack_rows(view + slice.j0, off + r0, m, slice, v.row_pitch(), a_pack.data());
                macro_kernel(m, O, slice.pieces * slice.len, a_pack.data(), b_pack.data(), c_tile.data(), O, s == 0);
            }
        }
        for (int i = 0; i < m; ++i)
            for (int o = 0; o < O; ++o) dw[long(o) * R + r0 + i] += c_tile[std::size_t(i) * O + o];
    });
}

template void conv_backward_weights_views<float>(const ConvGeom&, const float*, const float*, float*, int);
template void conv_backward_weights_views<double>(const ConvGeom&, const double*, const double*, double*, int);

} // namespace allconv
