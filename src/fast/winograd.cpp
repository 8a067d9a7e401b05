// winograd: F(2x2, 3x3) (winograd.hpp says what it computes).
#include "winograd.hpp"

#include <algorithm>
#include <cstddef>

#include "gemm.hpp"
#include "parallel.hpp"
#include "phase_copy.hpp"
#include "runs.hpp"

namespace allconv {

bool winograd_fits(const ConvGeom& g) {
    return g.k == 3 && g.stride == 1 && g.pad >= 0 && g.pad <= 2 && g.out_h > 0 && g.out_w > 0;
}

// Few channels do not pay: the transforms move every value of V and M
// through memory once per tile and channel, and the multiplies are only C
// deep. Measured on Zen 4, one thread, against the direct fast path:
// All-CNN-C's layers of 96 and 192 channels (batch 16) 1.2-1.7x faster, the
// shipped model's of 64 (batch 64) 0.4-0.8x as fast.
bool winograd_pays_off(const ConvGeom& g) { return winograd_fits(g) && g.in_c >= 96 && g.out_c >= 96; }

// (All-CNN-C's conv7, 6 x 6 outputs, 9 tiles an image of which 5 hang over
// the edge: its weight gradients 0.7-1.0x as fast this way.)
bool winograd_pays_off_for_weights(const ConvGeom& g) { return winograd_pays_off(g) && g.out_h >= 8 && g.out_w >= 8; }

namespace {

// From one of 16 matrices (U_xi, V_xi, M_xi, E_xi) to the next, `size`
// values each: a cache line more than that, so that the 16 are never a
// multiple of 4 KB apart. (They were for 96 and 192 channels, and the 16
// values a transform writes or reads, one in each, fell in one set of L1:
// transforming conv5's weights took 1.2 ms instead of 0.3.)
template <class T>
long apart(long size) { return size + 64 / long(sizeof(T)); }

// The pitch of the 16 U_xi in a pack of winograd_weights (rows x depth, packed).
template <class T>
std::size_t matrix_pitch(int rows, int depth) { return std::size_t(apart<T>(long(padded_rows<T>(rows)) * depth)); }

// U = G k G^T for one 3 x 3 kernel k (row-major): u[4 i + j].
template <class T>
void transform_kernel(const T* k, T* u) {
    T t[4][3]; // G k
    for (int j = 0; j < 3; ++j) {
        t[0][j] = k[j];
        t[1][j] = (k[j] + k[3 + j] + k[6 + j]) * T(0.5);
        t[2][j] = (k[j] - k[3 + j] + k[6 + j]) * T(0.5);
        t[3][j] = k[6 + j];
    }
    for (int i = 0; i < 4; ++i) {
        u[4 * i + 0] = t[i][0];
        u[4 * i + 1] = (t[i][0] + t[i][1] + t[i][2]) * T(0.5);
        u[4 * i + 2] = (t[i][0] - t[i][1] + t[i][2]) * T(0.5);
        u[4 * i + 3] = t[i][2];
    }
}

// The output's tiles: th x tw per image, row after row, image after image;
// a block of work is `rows` consecutive rows of tiles (of any images).
struct TileGrid {
    int th, tw, rows;
    long all_rows; // batch x th
};

TileGrid tile_grid(const ConvGeom& g, int threads) {
    const int th = (g.out_h + 1) / 2, tw = (g.out_w + 1) / 2;
    const long all = long(g.batch) * th;
    // About 64 tiles a block (the block's V and M then stay in L2), fewer
    // rows when there would not be a block per thread.
    const int rows = int(std::max<long>(1, std::min<long>(std::max(1, 64 / tw), (all + threads - 1) / threads)));
    return {th, tw, rows, all};
}

constexpr int CHUNK = 32; // tiles transformed at a time along a row (local arrays the compiler vectorises)

// dst[j] = src[j], j < n: a run of a few values, 8 at a time through a
// local array (so that no compiler need fear src and dst overlap: clang 14
// copied them one by one) and then one by one. (As std::copy_n, g++ called
// memmove for each run: 11-13% of the weight gradients' time.)
template <class T>
void copy_few(const T* src, long n, T* dst) {
    long j = 0;
    for (; j + 8 <= n; j += 8) {
        T eight[8];
        for (int q = 0; q < 8; ++q) eight[q] = src[j + q];
        for (int q = 0; q < 8; ++q) dst[j + q] = eight[q];
    }
    for (; j < n; ++j) dst[j] = src[j];
}

// V = B^T d B for the tiles of `rows` rows of tiles from row0 on, channels
// c0 .. c1 - 1, written where where(c, xi, q) says, for tile q (its row r x
// tw + tx among them) and the ones after it up to a multiple of `seg`. In two passes
// of plain loops that every compiler vectorises: B^T down the four input
// rows a row of tiles reads, giving four combined rows (zeros in the
// padding), then B along them, tile t reading columns 2t .. 2t + 3.
template <class T, class Where>
void transform_input(const ConvGeom& g, const TileGrid& grid, const T* x, long row0, int rows, int c0, int c1, long seg,
                     Where where) {
    const int C = g.in_c;
    thread_local std::vector<T> zeros; // a row of the padding above and below
    zeros.assign(std::size_t(g.in_w), T(0));
    for (int c = c0; c < c1; ++c)
        for (int r = 0; r < rows; ++r) {
            const long R = row0 + r, image = R / grid.th;
            const int ty = int(R % grid.th);
            const T* const plane = x + (image * C + c) * g.in_h * g.in_w;
            const T* in[4];
            for (int i = 0; i < 4; ++i) {
                const int iy = 2 * ty - g.pad + i;
                in[i] = iy >= 0 && iy < g.in_h ? plane + long(iy) * g.in_w : zeros.data();
            }
            for (int t0 = 0; t0 < grid.tw; t0 += CHUNK) {
                const int n = std::min(CHUNK, grid.tw - t0), len = 2 * n + 2, base = 2 * t0 - g.pad;
                // column j of the chunk is input column base + j: inside for lo <= j < hi
                const int lo = std::clamp(-base, 0, len), hi = std::clamp(g.in_w - base, lo, len);
                T b0[2 * CHUNK + 2], b1[2 * CHUNK + 2], b2[2 * CHUNK + 2], b3[2 * CHUNK + 2]; // B^T d, row by row
                for (int j = 0; j < lo; ++j) b0[j] = b1[j] = b2[j] = b3[j] = T(0);
                const T *i0 = in[0] + base, *i1 = in[1] + base, *i2 = in[2] + base, *i3 = in[3] + base;
                for (int j = lo; j < hi; ++j) {
                    b0[j] = i0[j] - i2[j];
                    b1[j] = i1[j] + i2[j];
                    b2[j] = i2[j] - i1[j];
                    b3[j] = i1[j] - i3[j];
                }
                for (int j = hi; j < len; ++j) b0[j] = b1[j] = b2[j] = b3[j] = T(0);
                const T* const b[4] = {b0, b1, b2, b3};
                for (int ts = 0; ts < n;) { // straight into place, segment by segment
                    const long q = long(r) * grid.tw + t0 + ts;
                    const int te = int(std::min<long>(n, ts + seg - q % seg));
                    for (int k = 0; k < 4; ++k) { // (B^T d) B: row k of the tile's 4 x 4
                        T *const v0 = where(c, 4 * k, q), *const v1 = where(c, 4 * k + 1, q);
                        T *const v2 = where(c, 4 * k + 2, q), *const v3 = where(c, 4 * k + 3, q);
                        const T* const e = b[k] + 2 * ts;
                        for (int t = 0; t < te - ts; ++t) {
                            v0[t] = e[2 * t] - e[2 * t + 2];
                            v1[t] = e[2 * t + 1] + e[2 * t + 2];
                            v2[t] = e[2 * t + 2] - e[2 * t + 1];
                            v3[t] = e[2 * t + 1] - e[2 * t + 3];
                        }
                    }
                    ts = te;
                }
            }
        }
}

// Where V_xi's value for channel c and tile q goes in the macro-kernel's B
// strips: slice p0 = c rounded down to KC holds kc = min(KC, C - p0) rows,
// strip q / NR of them from v + xi * vs + p0 * cols on, row c - p0, column
// q % NR (pack_b's layout); the next tiles after it up to the strip's end.
template <class T>
T* in_strips(int C, long cols, long vs, T* v, int c, int xi, long q) {
    constexpr int NR = Tiles<T>::NR;
    const int p0 = c / KC * KC, kc = std::min(KC, C - p0);
    return v + xi * vs + p0 * cols + long(c - p0) * NR + q / NR * NR * kc + q % NR;
}

// A^T M A for the block's tiles, plus the bias, into y (and its ReLU): M_xi
// at m + xi * ms, row o, column q.
template <class T>
void transform_output(const ConvGeom& g, const TileGrid& grid, const T* m, long ldm, long ms, long row0, int rows, const T* b,
                      T* y, T* relu) {
    const int O = g.out_c;
    const long P = long(g.out_h) * g.out_w;
    for (int o = 0; o < O; ++o)
        for (int r = 0; r < rows; ++r) {
            const long R = row0 + r, image = R / grid.th;
            const int ty = int(R % grid.th);
            for (int t0 = 0; t0 < grid.tw; t0 += CHUNK) {
                const int n = std::min(CHUNK, grid.tw - t0);
                T top[2 * CHUNK], bottom[2 * CHUNK];
                const T* const at = m + long(o) * ldm + long(r) * grid.tw + t0;
                const long plane = ms;
                for (int t = 0; t < n; ++t) {
                    T f[2][4]; // A^T M
                    for (int j = 0; j < 4; ++j) {
                        const T m0 = at[j * plane + t], m1 = at[(4 + j) * plane + t], m2 = at[(8 + j) * plane + t],
                                m3 = at[(12 + j) * plane + t];
                        f[0][j] = m0 + m1 + m2;
                        f[1][j] = m1 - m2 - m3;
                    }
                    top[2 * t] = f[0][0] + f[0][1] + f[0][2];
                    top[2 * t + 1] = f[0][1] - f[0][2] - f[0][3];
                    bottom[2 * t] = f[1][0] + f[1][1] + f[1][2];
                    bottom[2 * t + 1] = f[1][1] - f[1][2] - f[1][3];
                }
                const int len = std::min(2 * n, g.out_w - 2 * t0);
                for (int i = 0; i < 2 && 2 * ty + i < g.out_h; ++i) {
                    const long to = (image * O + o) * P + long(2 * ty + i) * g.out_w + 2 * t0;
                    copy_out(i == 0 ? top : bottom, 1, len, &b[o], y + to, relu ? relu + to : nullptr);
                }
            }
        }
}

// E = A e A^T for the tiles of dY (e: a 2 x 2 tile, zeros past the edge),
// output channel o, `rows` rows of tiles from row0 on: et[xi * step + q].
// A row of tiles at a time from two rows of dY padded to 2 tw, CHUNK tiles
// into local arrays (so that compilers vectorise), then copied out.
template <class T>
void transform_dy(const ConvGeom& g, const TileGrid& grid, const T* dy, int o, long row0, int rows, long step, T* et) {
    const long P = long(g.out_h) * g.out_w;
    thread_local std::vector<T> two_rows;
    grow(two_rows, std::size_t(4) * grid.tw);
    T* const top = two_rows.data();
    T* const bottom = top + 2 * grid.tw;
    for (int r = 0; r < rows; ++r) {
        const long R = row0 + r, image = R / grid.th;
        const int ty = int(R % grid.th);
        const T* const src = dy + (image * g.out_c + o) * P + long(2 * ty) * g.out_w;
        copy_few(src, g.out_w, top);
        zero_few(top, g.out_w, 2 * grid.tw);
        if (2 * ty + 1 < g.out_h) {
            copy_few(src + g.out_w, g.out_w, bottom);
            zero_few(bottom, g.out_w, 2 * grid.tw);
        } else {
            zero_few(bottom, 0, 2 * grid.tw);
        }
        for (int t0 = 0; t0 < grid.tw; t0 += CHUNK) {
            const int n = std::min(CHUNK, grid.tw - t0);
            T out[16][CHUNK];
            for (int t = 0; t < n; ++t) {
                const int j = 2 * (t0 + t);
                const T a[4][2] = {{top[j], top[j + 1]}, // A e
                                   {top[j] + bottom[j], top[j + 1] + bottom[j + 1]},
                                   {top[j] - bottom[j], top[j + 1] - bottom[j + 1]},
                                   {-bottom[j], -bottom[j + 1]}};
                for (int i = 0; i < 4; ++i) {
                    out[4 * i + 0][t] = a[i][0];
                    out[4 * i + 1][t] = a[i][0] + a[i][1];
                    out[4 * i + 2][t] = a[i][0] - a[i][1];
                    out[4 * i + 3][t] = -a[i][1];
                }
            }
            for (int xi = 0; xi < 16; ++xi) copy_few(out[xi], n, et + xi * step + long(r) * grid.tw + t0);
        }
    }
}

// dw (3 x 3) += G^T M G, M the 4 x 4 sums m[xi * step].
template <class T>
void add_kernel_gradient(const T* m, long step, T* dw) {
    T h[3][4]; // G^T M
    for (int j = 0; j < 4; ++j) {
        const T m0 = m[j * step], m1 = m[(4 + j) * step], m2 = m[(8 + j) * step], m3 = m[(12 + j) * step];
        h[0][j] = m0 + (m1 + m2) * T(0.5);
        h[1][j] = (m1 - m2) * T(0.5);
        h[2][j] = (m1 + m2) * T(0.5) + m3;
    }
    for (int i = 0; i < 3; ++i) {
        dw[3 * i + 0] += h[i][0] + (h[i][1] + h[i][2]) * T(0.5);
        dw[3 * i + 1] += (h[i][1] - h[i][2]) * T(0.5);
        dw[3 * i + 2] += (h[i][1] + h[i][2]) * T(0.5) + h[i][3];
    }
}

} // namespace

template <class T>
void winograd_weights(const ConvGeom& g, const T* w, bool turned, std::vector<T>& dst) {
    constexpr int MR = Tiles<T>::MR;
    const int rows = turned ? g.in_c : g.out_c, depth = turned ? g.out_c : g.in_c, Rp = padded_rows<T>(rows);
    const std::size_t per = matrix_pitch<T>(rows, depth);
    grow(dst, 16 * per);
    // Straight into pack_a's layout: row i, column p of a matrix at slice p0
    // = p rounded down to KC (depth kc), strip i / MR, step p - p0, lane i % MR;
    // the last strip's lanes past `rows` zeros.
    if (rows % MR)
        for (std::size_t xi = 0; xi < 16; ++xi)
            for (int p0 = 0; p0 < depth; p0 += KC) {
                const int kc = std::min(KC, depth - p0);
                T* const strip = dst.data() + xi * per + std::size_t(p0) * Rp + std::size_t(rows / MR) * MR * kc;
                for (int p = 0; p < kc; ++p) std::fill_n(strip + std::size_t(p) * MR + rows % MR, MR - rows % MR, T(0));
            }
    for (int o = 0; o < g.out_c; ++o)
        for (int c = 0; c < g.in_c; ++c) {
            const T* const src = w + (std::size_t(o) * g.in_c + c) * 9;
            T k[9], u[16];
            for (int r = 0; r < 9; ++r) k[r] = turned ? src[8 - r] : src[r];
            transform_kernel(k, u);
            const int i = turned ? c : o, p = turned ? o : c, p0 = p / KC * KC, kc = std::min(KC, depth - p0);
            T* const at = dst.data() + std::size_t(p0) * Rp + std::size_t(i / MR) * MR * kc + std::size_t(p - p0) * MR + i % MR;
            for (int xi = 0; xi < 16; ++xi) at[xi * per] = u[xi];
        }
}

template <class T>
void conv_forward_winograd(const ConvGeom& g, const T* x, const T* u, const T* b, T* y, T* relu, int threads) {
    constexpr int NR = Tiles<T>::NR;
    const int O = g.out_c, C = g.in_c, Op = padded_rows<T>(O);
    const TileGrid grid = tile_grid(g, threads);
    const int blocks = int((grid.all_rows + grid.rows - 1) / grid.rows);
    parallel_for(blocks, threads, [&](int blk) {
        const long row0 = long(blk) * grid.rows;
        const int rows = int(std::min<long>(grid.rows, grid.all_rows - row0)), n = rows * grid.tw;
        const long cols = long(n + NR - 1) / NR * NR, ldm = apart<T>(cols), vs = apart<T>(C * cols), ms = apart<T>(O * ldm);
        thread_local std::vector<T> v, m;
        grow(v, std::size_t(16 * vs));
        grow(m, std::size_t(16 * ms));
        if (n % NR) // the last strip's columns past n: zeros
            for (int xi = 0; xi < 16; ++xi)
                for (int p0 = 0; p0 < C; p0 += KC)
                    for (int c = 0; c < std::min(KC, C - p0); ++c)
                        std::fill_n(v.data() + xi * vs + p0 * cols + (cols - NR) * std::min(KC, C - p0) +
                                        long(c) * NR + n % NR,
                                    NR - n % NR, T(0));
        transform_input<T>(g, grid, x, row0, rows, 0, C, NR,
                           [&](int c, int xi, long q) { return in_strips(C, cols, vs, v.data(), c, xi, q); });
        for (int xi = 0; xi < 16; ++xi)
            for (int p0 = 0; p0 < C; p0 += KC)
                macro_kernel(O, n, std::min(KC, C - p0), u + std::size_t(xi) * matrix_pitch<T>(O, C) + std::size_t(p0) * Op,
                             v.data() + xi * vs + p0 * cols, m.data() + xi * ms, ldm, p0 == 0);
        transform_output(g, grid, m.data(), ldm, ms, row0, rows, b, y, relu);
    });
}

// dW[o][c] = sum over the tiles of G^T [(A e A^T) . (B^T d B)] G (the
// forward's algorithm turned around: winograd.hpp), so for each xi
// M_xi (C x O) = V_xi (C x tiles) * E_xi^T (tiles x O), summed over slices of
// whole rows of tiles (at most KC tiles, unless one row is longer) in order.
// A task owns a block of input channels (its rows of V and of dW) over every
// tile, as the direct path's tasks do.
template <class T>
void conv_backward_weights_winograd(const ConvGeom& g, const T* x, const T* dy, T* dw, int threads) {
    constexpr int MR = Tiles<T>::MR, NR = Tiles<T>::NR;
    const int O = g.out_c, C = g.in_c;
    const TileGrid grid = tile_grid(g, 1);
    const int per_slice = std::max(1, KC / grid.tw); // rows of tiles
    const int strips = padded_rows<T>(C) / MR, per = std::max(1, (strips + threads - 1) / threads);
    parallel_for((strips + per - 1) / per, threads, [&](int task) {
        const int c0 = task * per * MR, c1 = std::min(C, c0 + per * MR), m = c1 - c0, Mp = padded_rows<T>(m);
        const long ld = long(per_slice) * grid.tw;
        const long vs = apart<T>(m * ld), es = apart<T>(O * ld), ss = apart<T>(long(m) * O);
        thread_local std::vector<T> vt, et, a_pack, b_pack, sums;
        grow(vt, std::size_t(16 * vs));
        grow(et, std::size_t(16 * es));
        grow(a_pack, std::size_t(Mp) * ld);
        grow(b_pack, std::size_t((O + NR - 1) / NR) * NR * std::min<long>(ld, KC));
        grow(sums, std::size_t(16 * ss));
        for (long row0 = 0; row0 < grid.all_rows; row0 += per_slice) {
            const int rows = int(std::min<long>(per_slice, grid.all_rows - row0)), K = rows * grid.tw;
            transform_input<T>(g, grid, x, row0, rows, c0, c1, ld,
                               [&](int c, int xi, long q) { return vt.data() + xi * vs + (c - c0) * ld + q; });
            for (int o = 0; o < O; ++o) transform_dy(g, grid, dy, o, row0, rows, es, et.data() + o * ld);
            for (int xi = 0; xi < 16; ++xi) {
                pack_a(m, K, vt.data() + xi * vs, ld, 1L, a_pack.data());
                for (int p0 = 0; p0 < K; p0 += KC) {
                    const int kc = std::min(KC, K - p0);
                    pack_b(kc, O, et.data() + xi * es + p0, 1L, ld, b_pack.data());
                    macro_kernel(m, O, kc, a_pack.data() + std::size_t(p0) * Mp, b_pack.data(),
                                 sums.data() + xi * ss, long(O), row0 == 0 && p0 == 0);
                }
            }
        }
        for (int c = c0; c < c1; ++c)
            for (int o = 0; o < O; ++o)
                add_kernel_gradient(sums.data() + long(c - c0) * O + o, ss, dw + (long(o) * C + c) * 9);
    });
}

template void winograd_weights<float>(const ConvGeom&, const float*, bool, std::vector<float>&);
template void winograd_weights<double>(const ConvGeom&, const double*, bool, std::vector<double>&);
template void conv_forward_winograd<float>(const ConvGeom&, const float*, const float*, const float*, float*, float*,
                                           int);
template void conv_forward_winograd<double>(const ConvGeom&, const double*, const double*, const double*, double*,
                                            double*, int);
template void conv_backward_weights_winograd<float>(const ConvGeom&, const float*, const float*, float*, int);
template void conv_backward_weights_winograd<double>(const ConvGeom&, const double*, const double*, double*, int);

} // namespace allconv
