// winograd: F(2x2, 3x3) (winograd.hpp says what it computes).
#include "winograd.hpp"

#include <algorithm>
#include <cstddef>

#include "gemm.hpp"
#include "parallel.hpp"
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

namespace {

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

// V for the block's tiles, packed as the macro-kernel's B: for channel c and
// position q of the block (q = its r-th row of tiles x tw + tx), slice p0 = c
// rounded down to KC holds kc = min(KC, C - p0) rows, strip q / NR of them
// from v + (xi * C + p0) * cols on, row c - p0, column q % NR (pack_b's layout).
template <class T>
void transform_input(const ConvGeom& g, const TileGrid& grid, const T* x, long row0, int rows, long cols, T* v) {
    constexpr int NR = Tiles<T>::NR;
    const int C = g.in_c, pw = 2 * grid.tw + 2;
    thread_local std::vector<T> padded; // the 4 rows of the padded input a row of tiles reads
    grow(padded, std::size_t(4) * pw);
    T* const pad = padded.data();
    for (int c = 0; c < C; ++c) {
        const int p0 = c / KC * KC, kc = std::min(KC, C - p0);
        for (int r = 0; r < rows; ++r) {
            const long R = row0 + r, image = R / grid.th;
            const int ty = int(R % grid.th);
            const T* const plane = x + (image * C + c) * g.in_h * g.in_w;
            for (int i = 0; i < 4; ++i) {
                const int iy = 2 * ty - g.pad + i;
                T* const row = pad + i * pw;
                std::fill_n(row, pw, T(0));
                if (iy >= 0 && iy < g.in_h) std::copy_n(plane + long(iy) * g.in_w, g.in_w, row + g.pad);
            }
            for (int t0 = 0; t0 < grid.tw; t0 += CHUNK) {
                const int n = std::min(CHUNK, grid.tw - t0);
                T out[16][CHUNK];
                for (int t = 0; t < n; ++t) { // B^T d B, d the 4 x 4 patch at column 2 (t0 + t)
                    const T* p = pad + 2 * (t0 + t);
                    T e[4][4]; // B^T d
                    for (int j = 0; j < 4; ++j) {
                        e[0][j] = p[j] - p[2 * pw + j];
                        e[1][j] = p[pw + j] + p[2 * pw + j];
                        e[2][j] = p[2 * pw + j] - p[pw + j];
                        e[3][j] = p[pw + j] - p[3 * pw + j];
                    }
                    for (int i = 0; i < 4; ++i) {
                        out[4 * i + 0][t] = e[i][0] - e[i][2];
                        out[4 * i + 1][t] = e[i][1] + e[i][2];
                        out[4 * i + 2][t] = e[i][2] - e[i][1];
                        out[4 * i + 3][t] = e[i][1] - e[i][3];
                    }
                }
                for (int xi = 0; xi < 16; ++xi) { // into the strips, a run per strip
                    T* const slice = v + (long(xi) * C + p0) * cols + long(c - p0) * NR;
                    for (long q = long(r) * grid.tw + t0, end = q + n; q < end;) {
                        const long stop = std::min(end, (q / NR + 1) * NR);
                        T* const dst = slice + q / NR * NR * kc + q % NR;
                        const T* const src = out[xi] + (q - long(r) * grid.tw - t0);
                        for (long j = 0; j < stop - q; ++j) dst[j] = src[j];
                        q = stop;
                    }
                }
            }
        }
    }
}

// A^T M A for the block's tiles, plus the bias, into y (and its ReLU): M_xi
// at m + xi * O * ldm, row o, column q.
template <class T>
void transform_output(const ConvGeom& g, const TileGrid& grid, const T* m, long ldm, long row0, int rows, const T* b,
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
                const long plane = long(O) * ldm;
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

} // namespace

template <class T>
void winograd_weights(const ConvGeom& g, const T* w, bool turned, std::vector<T>& dst) {
    const int rows = turned ? g.in_c : g.out_c, depth = turned ? g.out_c : g.in_c;
    const std::size_t one = std::size_t(rows) * depth, per = std::size_t(padded_rows<T>(rows)) * depth;
    std::vector<T> u(16 * one); // u[xi][row][col]
    for (int o = 0; o < g.out_c; ++o)
        for (int c = 0; c < g.in_c; ++c) {
            const T* const src = w + (std::size_t(o) * g.in_c + c) * 9;
            T k[9], t[16];
            for (int r = 0; r < 9; ++r) k[r] = turned ? src[8 - r] : src[r];
            transform_kernel(k, t);
            const std::size_t at = turned ? std::size_t(c) * depth + o : std::size_t(o) * depth + c;
            for (int xi = 0; xi < 16; ++xi) u[xi * one + at] = t[xi];
        }
    grow(dst, 16 * per);
    for (int xi = 0; xi < 16; ++xi) pack_a(rows, depth, u.data() + xi * one, long(depth), 1L, dst.data() + xi * per);
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
        const long cols = long(n + NR - 1) / NR * NR, ldm = cols + 64 / long(sizeof(T));
        thread_local std::vector<T> v, m;
        grow(v, std::size_t(16) * C * cols);
        grow(m, std::size_t(16) * O * ldm);
        if (n % NR) // the last strip's columns past n: zeros
            for (int xi = 0; xi < 16; ++xi)
                for (int p0 = 0; p0 < C; p0 += KC)
                    for (int c = 0; c < std::min(KC, C - p0); ++c)
                        std::fill_n(v.data() + (long(xi) * C + p0) * cols + (cols - NR) * std::min(KC, C - p0) +
                                        long(c) * NR + n % NR,
                                    NR - n % NR, T(0));
        transform_input(g, grid, x, row0, rows, cols, v.data());
        for (int xi = 0; xi < 16; ++xi)
            for (int p0 = 0; p0 < C; p0 += KC)
                macro_kernel(O, n, std::min(KC, C - p0), u + std::size_t(xi) * Op * C + std::size_t(p0) * Op,
                             v.data() + (long(xi) * C + p0) * cols, m.data() + long(xi) * O * ldm, ldm, p0 == 0);
        transform_output(g, grid, m.data(), ldm, row0, rows, b, y, relu);
    });
}

template void winograd_weights<float>(const ConvGeom&, const float*, bool, std::vector<float>&);
template void winograd_weights<double>(const ConvGeom&, const double*, bool, std::vector<double>&);
template void conv_forward_winograd<float>(const ConvGeom&, const float*, const float*, const float*, float*, float*,
                                           int);
template void conv_forward_winograd<double>(const ConvGeom&, const double*, const double*, const double*, double*,
                                            double*, int);

} // namespace allconv
