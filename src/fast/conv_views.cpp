// conv_views: the forward convolution with the im2col matrix read in place
// from the padded, phase-split copy of the input (phase_copy.hpp), never packed.
// The matrix multiply reads its B strips there (macro_kernel_rows,
// macro_kernel_views). Each output is the same sum in the same order as with
// packed strips, so the two ways give the same bits (a test checks it).
#include "conv_views.hpp"

#include <algorithm>
#include <vector>

#include "gemm.hpp"
#include "parallel.hpp"
#include "phase_copy.hpp"
#include "runs.hpp"

namespace allconv {

namespace {

// Whether strips of NR columns fit rows of the grid `row_len` real columns
// long: each strip within one row (row_len a multiple of NR) or covering two
// (row_len = NR / 2). Then the strips skip the dropped columns.
template <class T>
bool rows_fit(long row_len) { return row_len % Tiles<T>::NR == 0 || 2 * row_len == Tiles<T>::NR; }

// How conv_forward_views splits a batch: groups of `size` images, each with
// a copy of its own, within half of L2 so that the strips of every block are
// read from L2 at worst, and fewer when the groups would not keep every
// thread busy. `lanes` > 1: the group's images side by side (phase_copy.hpp),
// where one image's rows do not fit strips and `lanes` of them do (All-CNN-C:
// conv6 and conv7, rows of 8 and 6 pixels, with 28% and 78% of the columns
// dropped otherwise). Such a group's copy may be up to twice L2. (Groups never
// change a sum: each output is computed by one task over the same rows in the same order.)
struct Grouping {
    int size, lanes;
};
template <class T>
Grouping grouping(const ConvGeom& g, int threads) {
    const Views v = views_of<T>(g);
    const std::size_t per_image = std::size_t(g.in_c) * v.s * v.s * std::size_t(v.per_image) * sizeof(T);
    const int by_cache = int(std::clamp<std::size_t>(l2_cache_bytes() / 2 / per_image, 1, std::size_t(g.batch)));
    const int size = std::max(1, std::min(by_cache, g.batch / threads));
    if (rows_fit<T>(g.out_w) || g.k <= g.stride) return {size, 1}; // (k <= stride: no column dropped)
    // Side by side: the most images whose rows fit, with a copy up to twice
    // L2 (measured, conv6 at batch 16: 2, 4, 8, 16 images side by side, 140,
    // 157, 169, 155 GFLOP/s; one after another with dropped columns, 138),
    // as many groups as threads if that can be.
    const int cap = int(std::min<long>(g.batch, 4L * by_cache));
    for (int n = std::min(cap, std::max(2, g.batch / threads)); n >= 2; --n)
        if (rows_fit<T>(long(n) * g.out_w)) return {n, n};
    for (int n = cap; n > g.batch / threads; --n)
        if (rows_fit<T>(long(n) * g.out_w)) return {n, n};
    return {size, 1};
}

// The columns to compute, in blocks of at most nc. Where rows fit strips, a
// block is whole rows of the grid (of one image, or of the images side by
// side): from column j0 (a row's start), n = its real columns. Otherwise each
// image's rows oy < out_h, or (when that rounds to fewer strips) every column
// from the first image's to the last one's. `work` = the columns the strips cover.
template <class T>
std::vector<Block> blocks_of(const ConvGeom& g, const Views& v, int nc, long& work) {
    constexpr int NR = Tiles<T>::NR;
    std::vector<Block> blocks;
    const long row_len = long(g.out_w) * v.lanes;
    if (rows_fit<T>(row_len)) {
        const int per = int(std::max<long>(1, nc / row_len));
        for (int image = 0; image < g.batch / v.lanes; ++image)
            for (int r0 = 0; r0 < g.out_h; r0 += per)
                blocks.push_back(Block{image * v.per_image + r0 * v.row_pitch(), int(std::min(per, g.out_h - r0) * row_len)});
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

// What one task of forward_group computes: rows i0 .. i0 + m - 1 of the
// output channels over one block of columns.
template <class T>
struct Task {
    const ConvGeom& g;
    const Views& v;
    const T* view;              // the copy
    const std::ptrdiff_t* off;  // where each row of im2col starts in it
    const T* a;                 // the weights, packed
    const T* b;                 // the bias
    T* y;
    T* relu;                    // the ReLU of y too, when given
    Block blk;
    int i0, m;
};

// A block of whole rows: the multiply writes into a tile, bias and all, that
// is then copied to y with the ReLU after it when asked (the images side by
// side: back to NCHW). The tile's rows lie blk.n values and 64 bytes apart,
// never a multiple of 4 KB (blk.n is a multiple of NR / 2): straight into y,
// the 12 rows a micro-kernel adds to lay 4 KB apart for 32 x 32 images, in 2
// of L1's 64 sets, and conv2 of All-CNN-C ran at 88% of the peak; through
// the tile, copy included, at 91% (its backward to the input alike).
template <class T>
void block_by_rows(const Task<T>& t) {
    const int M = t.g.out_c, K = t.g.in_c * t.g.k * t.g.k, P = t.g.out_h * t.g.out_w, lanes = t.v.lanes;
    const long span = t.v.per_image * lanes; // the grid of one image, or of the images side by side
    const long image = t.blk.j0 / span, r0 = t.blk.j0 % span / t.v.row_pitch();
    const long ldc = t.blk.n + 64 / long(sizeof(T));
    thread_local std::vector<T> c_tile;
    grow(c_tile, std::size_t(t.m) * ldc);
    T* const c = c_tile.data();
    for (int p0 = 0; p0 < K; p0 += KC) {
        const int kc = std::min(KC, K - p0);
        macro_kernel_rows(t.m, t.blk.n, kc, t.a + std::size_t(p0) * padded_rows<T>(M) + std::size_t(t.i0) * kc,
                          t.view + t.blk.j0, t.off + p0, t.g.out_w * lanes, t.v.row_pitch(), c, ldc, p0 == 0,
                          p0 + kc == K ? t.b + t.i0 : nullptr);
    }
    const int pixels = t.blk.n / lanes; // column q of the tile: pixel r0 * out_w + q / lanes of image q % lanes
    for (int o = 0; o < t.m; ++o)
        for (int n = 0; n < lanes; ++n) {
            const long at = ((image * lanes + n) * M + t.i0 + o) * P + r0 * t.g.out_w;
            copy_out<T>(c + o * ldc + n, lanes, pixels, nullptr, t.y + at, t.relu ? t.relu + at : nullptr);
        }
}

// Any other block: every column computed into a tile, the real ones then
// copied to y, plus the bias.
template <class T>
void block_with_drops(const Task<T>& t) {
    const int M = t.g.out_c, K = t.g.in_c * t.g.k * t.g.k, P = t.g.out_h * t.g.out_w, nc = blocking().nc;
    thread_local std::vector<T> c_tile;
    grow(c_tile, std::size_t(t.m) * nc);
    for (int p0 = 0; p0 < K; p0 += KC) {
        const int kc = std::min(KC, K - p0);
        macro_kernel_views(t.m, t.blk.n, kc, t.a + std::size_t(p0) * padded_rows<T>(M) + std::size_t(t.i0) * kc,
                           t.view + t.blk.j0, t.off + p0, c_tile.data(), nc, p0 == 0);
    }
    // A run: the rest of a row of the grid, or of the image where the grid
    // drops no column (k <= stride: conv8 of All-CNN-C, runs of 36 values
    // instead of 6; its copy-out had taken 14% of the layer's time).
    const bool whole = t.v.wq == t.g.out_w && t.v.hq == t.g.out_h;
    for (long j = t.blk.j0; j < t.blk.j0 + t.blk.n;) {
        const long image = j / t.v.per_image, at = j % t.v.per_image;
        const int oy = int(at / t.v.wq), ox = int(at % t.v.wq);
        const int len = int(std::min<long>(whole ? t.v.per_image - at : t.v.wq - ox, t.blk.j0 + t.blk.n - j));
        const int real = whole ? len : std::min(len, t.g.out_w - ox);
        if (oy < t.g.out_h && real > 0)
            for (int o = t.i0; o < t.i0 + t.m; ++o) {
                const long at = (image * M + o) * P + oy * t.g.out_w + ox;
                copy_out(c_tile.data() + std::size_t(o - t.i0) * nc + (j - t.blk.j0), 1, real, &t.b[o], t.y + at,
                         t.relu ? t.relu + at : nullptr);
            }
        j += len;
    }
}

// One group of images (g.batch of them, at x and y), its weights packed as A.
template <class T>
void forward_group(const ConvGeom& g, int lanes, const T* x, const T* a, const T* b, T* y, T* relu, int threads) {
    constexpr int MR = Tiles<T>::MR;
    const int M = g.out_c;
    const Views v = views_of<T>(g, lanes);
    long work = 0;
    const std::vector<Block> blocks = blocks_of<T>(g, v, blocking().nc, work);
    const int col_blocks = int(blocks.size()), strips = padded_rows<T>(M) / MR;
    const int row_blocks = std::min(strips, std::max(1, (2 * threads + col_blocks - 1) / col_blocks));
    const int rows_per = (strips + row_blocks - 1) / row_blocks * MR;
    const bool by_rows = rows_fit<T>(long(g.out_w) * lanes);

    thread_local std::vector<T> copy;
    thread_local std::vector<std::ptrdiff_t> offset;
    const T* const view = make_views(g, v, x, threads, copy, offset);
    const std::ptrdiff_t* const off = offset.data(); // (inside the tasks, `offset` would be another thread's)
    parallel_for(col_blocks * row_blocks, threads, [&](int t) {
        const int i0 = t % row_blocks * rows_per, m = std::min(rows_per, M - i0);
        if (m <= 0) return;
        const Task<T> task{g, v, view, off, a, b, y, relu, blocks[std::size_t(t / row_blocks)], i0, m};
        if (by_rows) block_by_rows(task);
        else block_with_drops(task);
    });
}

} // namespace

bool views_pay_off(const ConvGeom& g, int threads) {
    constexpr int NR = Tiles<float>::NR;
    const Grouping grouped = grouping<float>(g, threads);
    ConvGeom group = g;
    group.batch = grouped.size;
    if (!copy_fits(group)) return false;
    const int nc = blocking().nc;
    long work = 0;
    blocks_of<float>(group, views_of<float>(group, grouped.lanes), nc, work);
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
void conv_forward_views(const ConvGeom& g, const T* x, const T* a, const T* b, T* y, int threads, T* relu) {
    const int M = g.out_c;
    const Grouping grouped = grouping<T>(g, threads);
    const int G = grouped.size, groups = (g.batch + G - 1) / G;
    const auto group = [&](int t, int inner_threads) {
        ConvGeom sub = g;
        sub.batch = std::min(G, g.batch - t * G);
        // (a last, smaller group keeps its images one after another unless its rows fit strips too)
        const bool side_by_side = grouped.lanes > 1 && rows_fit<T>(long(sub.batch) * g.out_w);
        const long out = long(t) * G * M * g.out_h * g.out_w;
        forward_group(sub, side_by_side ? sub.batch : 1, x + long(t) * G * g.in_c * g.in_h * g.in_w, a, b, y + out,
                      relu ? relu + out : nullptr, inner_threads);
    };
    if (groups >= threads) parallel_for(groups, threads, [&](int t) { group(t, 1); });
    else
        for (int t = 0; t < groups; ++t) group(t, threads);
}

template void conv_forward_views<float>(const ConvGeom&, const float*, const float*, const float*, float*, int, float*);
template void conv_forward_views<double>(const ConvGeom&, const double*, const double*, const double*, double*, int,
                                         double*);

} // namespace allconv
