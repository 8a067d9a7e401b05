// gemm: a cache-blocked, register-tiled matrix multiply in plain C++.
//
// The classic scheme (Goto & van de Geijn, "Anatomy of high-performance matrix
// multiplication", 2008), written so that compilers vectorise it:
//   1. C is cut into MC x NC tiles; each tile is one task for one thread.
//   2. For each slice of KC columns of A / rows of B, the tile's part of A is
//      copied ("packed") into MR-row strips and B into NR-column strips, so the
//      inner loop reads both contiguously, whatever the original strides.
//   3. A micro-kernel multiplies one MR x KC strip by one KC x NR strip into
//      an MR x NR block of accumulators that fits in vector registers.
// MR and NR follow the vector width the compiler targets.
#include "gemm.hpp"

#include <algorithm>
#include <vector>

#include "parallel.hpp"

namespace allconv {

namespace {

template <class T>
struct Tiles;
#if defined(__AVX512F__)
template <> struct Tiles<float> { static constexpr int MR = 8, NR = 32; };
template <> struct Tiles<double> { static constexpr int MR = 8, NR = 16; };
#elif defined(__AVX__)
template <> struct Tiles<float> { static constexpr int MR = 6, NR = 16; };
template <> struct Tiles<double> { static constexpr int MR = 6, NR = 8; };
#else
template <> struct Tiles<float> { static constexpr int MR = 4, NR = 8; };
template <> struct Tiles<double> { static constexpr int MR = 4, NR = 4; };
#endif

constexpr int KC = 256; // depth of one packed slice
constexpr int MC = 192; // rows of C per task (a multiple of every MR above)
constexpr int NC = 256; // columns of C per task (a multiple of every NR above)

// acc (MR x NR) = sum over p of a[p][0..MR) outer b[p][0..NR); then C = or += acc
// for the mr x nr part that lies inside C.
template <class T, int MR, int NR>
void micro_kernel(int kc, const T* a, const T* b, T* c, long ldc, int mr, int nr, bool overwrite) {
    T acc[MR][NR] = {};
    for (int p = 0; p < kc; ++p) {
        const T* ap = a + p * MR;
        const T* bp = b + p * NR;
        for (int i = 0; i < MR; ++i)
            for (int j = 0; j < NR; ++j) acc[i][j] += ap[i] * bp[j];
    }
    if (mr == MR && nr == NR) { // a whole tile: fixed bounds, so the stores vectorise too
        for (int i = 0; i < MR; ++i)
            for (int j = 0; j < NR; ++j) c[i * ldc + j] = overwrite ? acc[i][j] : c[i * ldc + j] + acc[i][j];
        return;
    }
    for (int i = 0; i < mr; ++i)
        for (int j = 0; j < nr; ++j) c[i * ldc + j] = overwrite ? acc[i][j] : c[i * ldc + j] + acc[i][j];
}

// Copies the width x kc block of a matrix M(p, q) = src[p * p_stride + q * q_stride]
// (p = 0..kc-1, q = 0..width-1, only q < valid exists) into dst[p * W + q],
// zero-filling q >= valid. This is both packings: B strips (q = column) and
// A strips (q = row of A, read through its transpose).
template <class T, int W>
void pack_strip(const T* src, long p_stride, long q_stride, int kc, int valid, T* dst) {
    if (valid == W && q_stride == 1) { // rows already contiguous: plain copies
        for (int p = 0; p < kc; ++p)
            for (int q = 0; q < W; ++q) dst[p * W + q] = src[p * p_stride + q];
        return;
    }
    for (int q = 0; q < W; ++q) { // walk along p, the contiguous direction when p_stride == 1
        if (q >= valid) {
            for (int p = 0; p < kc; ++p) dst[p * W + q] = T(0);
            continue;
        }
        for (int p = 0; p < kc; ++p) dst[p * W + q] = src[p * p_stride + q * q_stride];
    }
}

} // namespace

template <class T>
void gemm(int M, int N, int K, const T* A, long a_row, long a_col, const T* B, long b_row, long b_col, T* C,
          long ldc, bool accumulate, int threads) {
    constexpr int MR = Tiles<T>::MR, NR = Tiles<T>::NR;
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (!accumulate)
            for (int i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, T(0));
        return;
    }
    const int m_tiles = (M + MC - 1) / MC, n_tiles = (N + NC - 1) / NC;
    parallel_for(m_tiles * n_tiles, threads, [&](int task) {
        const int i0 = (task / n_tiles) * MC, j0 = (task % n_tiles) * NC;
        const int mc = std::min(MC, M - i0), nc = std::min(NC, N - j0);
        const int m_strips = (mc + MR - 1) / MR, n_strips = (nc + NR - 1) / NR;
        thread_local std::vector<T> a_pack, b_pack; // reused: no allocation per call once warm
        a_pack.resize(std::size_t(m_strips) * MR * KC);
        b_pack.resize(std::size_t(n_strips) * NR * KC);
        for (int p0 = 0; p0 < K; p0 += KC) {
            const int kc = std::min(KC, K - p0);
            // Pack B: strip s holds columns j0 + s*NR .. +NR, row by row, zero beyond N.
            for (int s = 0; s < n_strips; ++s) {
                const int col = j0 + s * NR;
                pack_strip<T, NR>(B + p0 * b_row + col * b_col, b_row, b_col, kc, std::min(NR, N - col),
                                  b_pack.data() + std::size_t(s) * NR * kc);
            }
            // Pack A: strip s holds rows i0 + s*MR .. +MR, column by column, zero beyond M.
            for (int s = 0; s < m_strips; ++s) {
                const int row = i0 + s * MR;
                pack_strip<T, MR>(A + row * a_row + p0 * a_col, a_col, a_row, kc, std::min(MR, M - row),
                                  a_pack.data() + std::size_t(s) * MR * kc);
            }
            const bool overwrite = p0 == 0 && !accumulate;
            for (int sn = 0; sn < n_strips; ++sn)
                for (int sm = 0; sm < m_strips; ++sm) {
                    const int row = i0 + sm * MR, col = j0 + sn * NR;
                    micro_kernel<T, MR, NR>(kc, a_pack.data() + std::size_t(sm) * MR * kc,
                                            b_pack.data() + std::size_t(sn) * NR * kc, C + row * ldc + col, ldc,
                                            std::min(MR, M - row), std::min(NR, N - col), overwrite);
                }
        }
    });
}

template <class T>
void gemm_reference(int M, int N, int K, const T* A, long a_row, long a_col, const T* B, long b_row, long b_col,
                    T* C, long ldc, bool accumulate) {
    for (int i = 0; i < M; ++i)
        for (int j = 0; j < N; ++j) {
            T sum = T(0);
            for (int p = 0; p < K; ++p) sum += A[i * a_row + p * a_col] * B[p * b_row + j * b_col];
            C[i * ldc + j] = accumulate ? C[i * ldc + j] + sum : sum;
        }
}

template void gemm<float>(int, int, int, const float*, long, long, const float*, long, long, float*, long, bool, int);
template void gemm<double>(int, int, int, const double*, long, long, const double*, long, long, double*, long, bool,
                           int);
template void gemm_reference<float>(int, int, int, const float*, long, long, const float*, long, long, float*, long,
                                    bool);
template void gemm_reference<double>(int, int, int, const double*, long, long, const double*, long, long, double*,
                                     long, bool);

} // namespace allconv
