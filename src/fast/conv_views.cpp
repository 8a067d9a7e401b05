// conv_views: the forward convolution with the im2col matrix read in place,
// never packed.
//
// Copy x once, with its zero padding, split into stride x stride "phases":
// phase (a, b) of channel c is the padded image's pixels (i*s + a, j*s + b),
// hq x wq of them per image, hq = out_h + (k-1)/s and wq = out_w + (k-1)/s.
// Number the output pixels in the same wider grid, j = (image*hq + oy)*wq + ox.
// Output pixel (oy, ox) meets kernel offset (ky, kx) at padded pixel
// (oy*s + ky, ox*s + kx) = phase (ky%s, kx%s), position (oy + ky/s, ox + kx/s),
// so im2col row (c, ky, kx) is the copy itself, read from a fixed offset:
//     col[(c, ky, kx)][j] = copy[offset(c, ky, kx) + j]
//     offset(c, ky, kx) = plane(c, ky%s, kx%s) + (ky/s)*wq + kx/s
// The matrix multiply reads its B strips there (macro_kernel_views). The
// columns with ox >= out_w or oy >= out_h are computed and dropped: the price
// of reading in place, worth paying when they are few (views_pay_off).
// Each output is the same sum in the same order as with packed strips, so
// the two ways give the same bits (a test checks it).
#include "conv_views.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "gemm.hpp"
#include "parallel.hpp"

namespace allconv {

namespace {

struct Views {
    int s, hq, wq;
    long per_image, plane; // hq * wq values; the distance from one (channel, phase) plane of every image to the next
};

// The planes are `plane` values apart: whole cache lines of 64 bytes, an odd
// number of them. (A B strip reads rows from up to KC planes; were they a
// multiple of 4 KiB apart, or even an even number of lines, the rows would
// crowd into a few sets of the L1 cache and evict each other: measured, a
// multiply with rows 4 KiB apart ran at 155 instead of 203 GFLOP/s.)
template <class T>
Views views_of(const ConvGeom& g) {
    const int s = g.stride, hq = g.out_h + (g.k - 1) / s, wq = g.out_w + (g.k - 1) / s;
    const long line = 64 / long(sizeof(T)), lines = (long(g.batch) * hq * wq + line - 1) / line;
    return Views{s, hq, wq, long(hq) * wq, (lines | 1) * line};
}

// ceil(a / s) for any sign of a (s > 0).
int ceil_div(int a, int s) { return a <= 0 ? -(-a / s) : (a + s - 1) / s; }

// A block of consecutive columns j0 .. j0 + n - 1 of the wider grid.
struct Block {
    long j0;
    int n;
};

// Whether every strip of NR columns can lie within one row of the output
// (out_w a multiple of NR) or two (out_w = NR / 2): then the strips skip the
// dropped columns, and the multiply writes straight into y, bias and all
// (forward_group).
template <class T>
bool by_rows(const ConvGeom& g) { return g.out_w % Tiles<T>::NR == 0 || 2 * g.out_w == Tiles<T>::NR; }

// The columns to compute, in blocks of at most nc: each image's rows
// oy < out_h, or (when that rounds to fewer strips) every column from the
// first image's to the last one's. `work` = the columns the strips cover.
// By rows, a block is whole rows of one image: from column j0 (a row's start),
// n = its rows * out_w real columns.
template <class T>
std::vector<Block> blocks_of(const ConvGeom& g, const Views& v, int nc, long& work) {
    constexpr int NR = Tiles<T>::NR;
    std::vector<Block> blocks;
    if (by_rows<T>(g)) {
        const int per = std::max(1, nc / g.out_w);
        for (int image = 0; image < g.batch; ++image)
            for (int r0 = 0; r0 < g.out_h; r0 += per)
                blocks.push_back(Block{image * v.per_image + long(r0) * v.wq, std::min(per, g.out_h - r0) * g.out_w});
        work = long(g.batch) * g.out_h * g.out_w;
        return blocks;
    }
    const long rows = long(g.out_h) * v.wq, strips_each = (rows + NR - 1) / NR;
    const long all = long(g.batch - 1) * v.per_image + rows, strips_all = (all + NR - 1) / NR;
    const bool each = strips_each * g.batch <= strips_all;
    for (int image = 0; image < (each ? g.batch : 1); ++image) {
        const long first = each ? image * v.per_image : 0, end = first + (each ? rows : all);
        for (long j0 = first; j0 < end; j0 += nc) blocks.push_back(Block{j0, int(std::min<long>(nc, end - j0))});
    }
    work = (each ? strips_each * g.batch : strips_all) * NR;
    return blocks;
}

// dst[j] = src[j * s] for j < n, the stride a constant for s = 1 and 2, so
// that compilers vectorise (measured: the copy took 19% of conv3 otherwise).
template <class T>
void copy_strided(const T* src, int s, int n, T* dst) {
    if (s == 1)
        for (int j = 0; j < n; ++j) dst[j] = src[j];
    else if (s == 2)
        for (int j = 0; j < n; ++j) dst[j] = src[2 * j];
    else
        for (int j = 0; j < n; ++j) dst[j] = src[s * j];
}

// The padded, phase-split copy of x (layout: channel, phase a, phase b,
// image, i, j), plus `slack` zeros that the last strips may read past it.
template <class T>
void fill_views(const ConvGeom& g, const Views& v, const T* x, T* copy, long slack, int threads) {
    const int s = v.s, rows_total = g.in_c * s * s * g.batch;
    const long size = long(g.batch) * g.in_c * g.in_h * g.in_w;
    const auto fill = [&](int t) { // t = ((c*s + a)*s + b)*batch + image
        const int image = t % g.batch, b = t / g.batch % s, a = t / g.batch / s % s, c = t / g.batch / s / s;
        const long plane = (long(image) * g.in_c + c) * g.in_h * g.in_w;
        T* dst = copy + long(t / g.batch) * v.plane + long(image) * v.per_image;
        // Row i of the phase: pixel ix = j*s + shift of input row iy, 0 in the padding (j < lo, j >= hi).
        const int shift = b - g.pad, lo = std::clamp(ceil_div(-shift, s), 0, v.wq);
        const int hi = std::clamp(ceil_div(g.in_w - shift, s), lo, v.wq);
        for (int i = 0; i < v.hq; ++i, dst += v.wq) {
            const int iy = i * s + a - g.pad;
            const long first = plane + long(iy) * g.in_w + shift, last = first + long(s) * (v.wq - 1);
            if (iy < 0 || iy >= g.in_h) {
                for (int j = 0; j < v.wq; ++j) dst[j] = T(0);
            } else if (first >= 0 && last < size) {
                // The whole row copied, padding and all (neighbours' pixels, inside x),
                // then the padding zeroed: 2-3x faster than choosing per value,
                // whatever the compiler (rows are short: wq = 6-34 values).
                copy_strided(x + first, s, v.wq, dst);
                for (int j = 0; j < lo; ++j) dst[j] = T(0);
                for (int j = hi; j < v.wq; ++j) dst[j] = T(0);
            } else { // x's first or last row: read only what is inside
                for (int j = 0; j < v.wq; ++j) dst[j] = j >= lo && j < hi ? x[first + long(s) * j] : T(0);
            }
        }
    };
    // A few runs of planes per thread, not a task per plane: with small
    // images the tasks' shared counter cost more than the copying.
    const int tasks = std::min(rows_total, 4 * threads);
    parallel_for(tasks, threads, [&](int task) {
        for (int t = int(long(rows_total) * task / tasks); t < int(long(rows_total) * (task + 1) / tasks); ++t) fill(t);
    });
    std::fill_n(copy + long(rows_total / g.batch) * v.plane, slack, T(0));
}

// The copy of x in `copy` (from a cache line on, with its slack) and where
// each row of im2col starts in it in `offset`; returns the copy's start.
template <class T>
const T* make_views(const ConvGeom& g, const Views& v, const T* x, int threads, std::vector<T>& copy,
                    std::vector<std::ptrdiff_t>& offset) {
    const long slack = long((g.k - 1) / v.s) * (v.wq + 1) + Tiles<T>::NR;
    constexpr std::size_t line = 64 / sizeof(T);
    grow(copy, std::size_t(g.in_c) * v.s * v.s * v.plane + std::size_t(slack) + line);
    T* const start = copy.data() + (line - reinterpret_cast<std::uintptr_t>(copy.data()) / sizeof(T) % line) % line;
    fill_views(g, v, x, start, slack, threads);
    const std::size_t rows = std::size_t(g.in_c) * g.k * g.k;
    grow(offset, rows);
    for (std::size_t r = 0; r < rows; ++r) {
        const int c = int(r) / (g.k * g.k), ky = int(r) / g.k % g.k, kx = int(r) % g.k;
        offset[r] = ((long(c) * v.s + ky % v.s) * v.s + kx % v.s) * v.plane + long(ky / v.s) * v.wq + kx / v.s;
    }
    return start;
}

// Images per group: a group's copy within half of L2, so that the strips of
// every block are read from L2 at worst; fewer when the groups would not keep
// every thread busy. (Groups never change a sum: each output is computed by
// one task over the same rows in the same order.)
int group_size(const ConvGeom& g, std::size_t bytes_per_value, int threads) {
    const Views v = views_of<float>(g);
    const std::size_t per_image = std::size_t(g.in_c) * v.s * v.s * std::size_t(v.per_image) * bytes_per_value;
    const int by_cache = int(std::clamp<std::size_t>(l2_cache_bytes() / 2 / per_image, 1, std::size_t(g.batch)));
    return std::max(1, std::min(by_cache, g.batch / threads));
}

// One group of images (g.batch of them, at x and y), its weights packed as A.
template <class T>
void forward_group(const ConvGeom& g, const T* x, const T* a, const T* b, T* y, int threads) {
    constexpr int MR = Tiles<T>::MR;
    const int M = g.out_c, K = g.in_c * g.k * g.k, P = g.out_h * g.out_w, nc = blocking().nc;
    const Views v = views_of<T>(g);
    long work = 0;
    const std::vector<Block> blocks = blocks_of<T>(g, v, nc, work);
    const int col_blocks = int(blocks.size()), strips = padded_rows<T>(M) / MR;
    const int row_blocks = std::min(strips, std::max(1, (2 * threads + col_blocks - 1) / col_blocks));
    const int rows_per = (strips + row_blocks - 1) / row_blocks * MR;

    thread_local std::vector<T> copy;
    thread_local std::vector<std::ptrdiff_t> offset;
    const T* const view = make_views(g, v, x, threads, copy, offset);
    const std::ptrdiff_t* const off = offset.data();
    parallel_for(col_blocks * row_blocks, threads, [&](int t) {
        const Block blk = blocks[std::size_t(t / row_blocks)];
        const int i0 = t % row_blocks * rows_per, m = std::min(rows_per, M - i0);
        if (m <= 0) return;
        if (by_rows<T>(g)) { // straight into y, the bias added after the last slice
            const long image = blk.j0 / v.per_image, r0 = blk.j0 % v.per_image / v.wq;
            T* const c = y + (image * M + i0) * P + r0 * g.out_w;
            for (int p0 = 0; p0 < K; p0 += KC) {
                const int kc = std::min(KC, K - p0);
                macro_kernel_rows(m, blk.n, kc, a + std::size_t(p0) * padded_rows<T>(M) + std::size_t(i0) * kc,
                                  view + blk.j0, off + p0, g.out_w, v.wq, c, P, p0 == 0, p0 + kc == K ? b + i0 : nullptr);
            }
            return;
        }
        thread_local std::vector<T> c_tile;
        grow(c_tile, std::size_t(rows_per) * nc);
        for (int p0 = 0; p0 < K; p0 += KC) {
            const int kc = std::min(KC, K - p0);
            macro_kernel_views(m, blk.n, kc, a + std::size_t(p0) * padded_rows<T>(M) + std::size_t(i0) * kc, nullptr,
                               view + blk.j0, off + p0, c_tile.data(), nc, p0 == 0);
        }
        for (long j = blk.j0; j < blk.j0 + blk.n;) { // the real columns back to NCHW, plus the bias
            const long image = j / v.per_image;
            const int oy = int(j % v.per_image / v.wq), ox = int(j % v.wq);
            const int len = int(std::min<long>(v.wq - ox, blk.j0 + blk.n - j)), real = std::min(len, g.out_w - ox);
            if (oy < g.out_h && real > 0)
                for (int o = i0; o < i0 + m; ++o) {
                    T* dst = y + (image * M + o) * P + oy * g.out_w + ox;
                    const T* src = c_tile.data() + std::size_t(o - i0) * nc + (j - blk.j0);
                    const T bias = b[o]; // (a local: see conv_forward_packed)
                    for (int q = 0; q < real; ++q) dst[q] = src[q] + bias;
                }
            j += len;
        }
    });
}

// Whether the padded copy is no bigger than the layer's input and output
// together, twice over. It holds stride x stride phase planes; with a stride
// beyond the kernel most are never read, and a crafted layer (stride
// 67108863 on a 5x4 input, found by the fuzzer) asked for 2^58 bytes.
bool copy_fits(const ConvGeom& g) {
    const Views v = views_of<float>(g);
    const double copy = double(g.in_c) * v.s * v.s * double(v.plane);
    const double tensors = double(g.batch) * (double(g.in_c) * g.in_h * g.in_w + double(g.out_c) * g.out_h * g.out_w);
    return copy <= 2 * tensors + 4096;
}

} // namespace

bool views_pay_off(const ConvGeom& g, int threads) {
    constexpr int NR = Tiles<float>::NR;
    ConvGeom group = g;
    group.batch = group_size(g, sizeof(float), threads);
    if (!copy_fits(group)) return false;
    const int nc = blocking().nc;
    long work = 0;
    blocks_of<float>(group, views_of<float>(group), nc, work);
    // Packed strips compute whole strips too: blocks of nc columns, each
    // rounded up to strips of NR.
    const long real = long(group.batch) * g.out_h * g.out_w;
    const long packed = real / nc * ((nc + NR - 1) / NR * NR) + (real % nc + NR - 1) / NR * NR;
    // A column computed costs M multiply-adds per value (M rows of weights),
    // dropped or not; packing a real column costs about what 32 of them do.
    // (Measured on All-CNN-C, one thread: in place 3-10% faster at batch 16
    // for conv3, conv4 and conv5, with 12.5% of the columns dropped and 96,
    // 192, 192 rows; 10% slower for conv6, with 28% dropped and 192 rows; and
    // at batch 1 faster for conv7 and conv8, whose 36 columns either way
    // fill two strips.)
    const long M = g.out_c;
    return M * work <= M * packed + 32 * real;
}

// The weights come packed, shared by all the groups. (Read in place, 12 rows
// at a time, they made even batch 1 slower: 1.04 -> 1.25 ms for conv2.)
template <class T>
void conv_forward_views(const ConvGeom& g, const T* x, const T* a, const T* b, T* y, int threads) {
    const int M = g.out_c, G = group_size(g, sizeof(T), threads);
    const int groups = (g.batch + G - 1) / G;
    const auto group = [&](int t, int inner_threads) {
        ConvGeom sub = g;
        sub.batch = std::min(G, g.batch - t * G);
        forward_group(sub, x + long(t) * G * g.in_c * g.in_h * g.in_w, a, b, y + long(t) * G * M * g.out_h * g.out_w,
                      inner_threads);
    };
    if (groups >= threads) parallel_for(groups, threads, [&](int t) { group(t, 1); });
    else
        for (int t = 0; t < groups; ++t) group(t, threads);
}

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
template void conv_forward_views<float>(const ConvGeom&, const float*, const float*, const float*, float*, int);
template void conv_forward_views<double>(const ConvGeom&, const double*, const double*, const double*, double*, int);

} // namespace allconv
