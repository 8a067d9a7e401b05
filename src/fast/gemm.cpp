// gemm: packing, the register-tiled micro-kernel, the cache-blocked macro-kernel.
#include "gemm.hpp"

#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>

#include "parallel.hpp"

namespace allconv {

namespace {

// One row of accumulators: r[0..NR) += a * b[0..NR).
template <class T, int NR>
[[gnu::always_inline]] inline void row_update(T* r, T a, const T* b) {
    for (int j = 0; j < NR; ++j) r[j] += a * b[j];
}

// acc += column p of the A strip (MR values) outer bp (a row of NR), one
// row_update per row. The rows are spelled out by the fold rather than left
// to a loop: given a loop over i, clang vectorises across the rows (a gather
// and a scatter per multiply-add, 3 GFLOP/s) instead of along them.
template <class T, int MR, int NR, class A, std::size_t... I>
[[gnu::always_inline]] inline void rank1_update(T (&acc)[MR][NR], const A& a, int p, const T* bp,
                                                std::index_sequence<I...>) {
    (row_update<T, NR>(acc[I], a(p, int(I)), bp), ...);
}

// Where the micro-kernel finds its operands. A packed A strip holds column p
// (MR values) at a + p * MR; read in place, row i of the strip is a row of a
// larger array (conv_views.cpp). A packed B strip holds row p (NR contiguous
// values) at b + p * NR; read in place, a table says where each row starts.
template <class T, int MR>
struct PackedColumns {
    static constexpr bool apart = Tiles<T>::apart; // (see micro_kernel_apart)
    const T* a;
    T operator()(int p, int i) const { return a[p * MR + i]; }
};
template <class T, int MR>
struct ColumnsInPlace {
    static constexpr bool apart = false;
    const T* row[MR];
    T operator()(int p, int i) const { return row[i][p]; }
};
template <class T, int NR>
struct PackedRows {
    const T* b;
    const T* operator()(int p) const { return b + p * NR; }
};
template <class T>
struct RowsInPlace {
    const T* b;
    const std::ptrdiff_t* offset;
    const T* operator()(int p) const { return b + offset[p]; }
};

// A row of C = (or +=) the first n values of a row of accumulators, then +
// *bias when given: the bias read once into a local (read through the
// pointer on every step, clang stored the row one value at a time, for fear
// that c might be the bias). N > 0: n is N, a constant, so the stores vectorise.
template <class T, int N = 0>
[[gnu::always_inline]] inline void store_row(T* c, const T* acc, int n, bool overwrite, const T* bias) {
    if (N > 0) n = N;
    if (bias) {
        const T add = *bias;
        for (int j = 0; j < n; ++j) c[j] = (overwrite ? acc[j] : c[j] + acc[j]) + add;
    } else {
        for (int j = 0; j < n; ++j) c[j] = overwrite ? acc[j] : c[j] + acc[j];
    }
}

// acc (MR x NR) = sum over p of column p of A outer row p of B; then C = or +=
// acc for the mr x nr part that lies inside C, and then C += bias[i] on row i
// when a bias is given (the last slice of a forward convolution). The sum over
// p runs in order, from 0, however A and B are laid out.
template <class T, int MR, int NR>
[[gnu::always_inline]] inline void store_tile(const T (&acc)[MR][NR], T* c, long ldc, int mr, int nr, bool overwrite,
                                              const T* bias) {
    if (mr == MR && nr == NR) { // a whole tile: fixed bounds, so the stores vectorise too
        for (int i = 0; i < MR; ++i)
            store_row<T, NR>(c + i * ldc, acc[i], NR, overwrite, bias ? &bias[i] : nullptr);
        return;
    }
    for (int i = 0; i < mr; ++i) store_row<T>(c + i * ldc, acc[i], nr, overwrite, bias ? &bias[i] : nullptr);
}

template <class T, int MR, int NR, class A, class B>
[[gnu::always_inline]] inline void micro_kernel(int kc, A a, B b, T* c, long ldc, int mr, int nr, bool overwrite,
                                                const T* bias) {
    T acc[MR][NR] = {};
    for (int p = 0; p < kc; ++p) rank1_update<T, MR, NR>(acc, a, p, b(p), std::make_index_sequence<MR>());
    store_tile<T, MR, NR>(acc, c, ldc, mr, nr, overwrite, bias);
}

// micro_kernel over K in `pieces` runs of `len` steps, with A read in place:
// run t reads A's columns from t * a_step on and B's rows from t * len on
// (the weight gradients sum over output rows, whose columns in the copy lie
// a row pitch apart with dropped ones between them).
template <class T, int MR, int NR, class A>
[[gnu::always_inline]] inline void micro_kernel_pieces(int pieces, int len, long a_step, A a, const T* b, T* c,
                                                       long ldc, int mr, int nr, bool overwrite) {
    T acc[MR][NR] = {};
    for (int t = 0; t < pieces; ++t) {
        const int a0 = int(t * a_step);
        const T* const bt = b + std::size_t(t) * len * NR;
        // Not unrolled: clang 14 unrolled the steps four times, ran out of
        // registers and read B back from the stack (weight gradients 5% slower
        // than g++'s, conv4 and conv5 of All-CNN-C at 74-78% of peak, not 86%).
#if defined(__clang__)
#pragma clang loop unroll(disable)
#endif
        for (int q = 0; q < len; ++q) rank1_update<T, MR, NR>(acc, a, a0 + q, bt + q * NR, std::make_index_sequence<MR>());
    }
    store_tile<T, MR, NR>(acc, c, ldc, mr, nr, overwrite, nullptr);
}

// The micro-kernel as a function of its own, for A packed and the AVX-512
// tiles (Tiles::apart). Inlined into the macro-kernel, clang 13 kept a row of
// accumulators on the stack (20-28% of peak); apart, every compiler keeps them
// in registers. With the AVX2 tile it is the other way round (apart, clang 14
// shuffled the accumulators: training step 44% of peak instead of 72%), and
// with A read in place (12 row pointers, passed in memory) clang 14-19 keep
// all the accumulators in memory when apart: those stay inlined.
template <class T, int MR, int NR, class A, class B>
[[gnu::noinline]] void micro_kernel_apart(int kc, A a, B b, T* c, long ldc, int mr, int nr, bool overwrite,
                                          const T* bias) {
    micro_kernel<T, MR, NR>(kc, a, b, c, ldc, mr, nr, overwrite, bias);
}

// Each row p of a B strip in two halves of NR/2 columns, read in place: at
// b + offset[p] and `pitch` after it (two rows of an output image NR/2
// pixels wide: macro_kernel_rows).
template <class T>
struct HalvesInPlace {
    const T* b;
    const std::ptrdiff_t* offset;
    long pitch;
};

// r[0..N) += a * b[0..N) as a loop g++ vectorises: left to itself, g++ 11-12
// unroll the N = NR/2 steps first and then vectorise them badly (the 12 x 32
// tile in halves at 55-120 GFLOP/s instead of 205-215); clang vectorises it
// either way, and does worse with the hint (48).
template <class T, int N>
[[gnu::always_inline]] inline void half_row_update(T* r, T a, const T* b) {
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 1
#endif
    for (int j = 0; j < N; ++j) r[j] += a * b[j];
}

template <class T, int MR, int H, class A, std::size_t... I>
[[gnu::always_inline]] inline void rank1_halves(T (&left)[MR][H], T (&right)[MR][H], const A& a, int p, const T* b0,
                                                const T* b1, std::index_sequence<I...>) {
    ((half_row_update<T, H>(left[I], a(p, int(I)), b0), half_row_update<T, H>(right[I], a(p, int(I)), b1)), ...);
}

// micro_kernel with B in halves: the same sums in the same order. The halves
// have accumulators of their own (halves of one array ran clang 19 at 168
// GFLOP/s instead of 213), and B comes as plain arguments: passed as a
// struct of three members (in memory), clang 15-22 made the whole kernel
// scalar (5 GFLOP/s).
template <class T, int MR, int NR, class A>
[[gnu::noinline]] void micro_kernel_halves(int kc, A a, const T* b, const std::ptrdiff_t* offset, long pitch, T* c,
                                           long ldc, int mr, int nr, bool overwrite, const T* bias) {
    constexpr int H = NR / 2;
    T left[MR][H] = {}, right[MR][H] = {};
    for (int p = 0; p < kc; ++p)
        rank1_halves<T, MR, H>(left, right, a, p, b + offset[p], b + offset[p] + pitch, std::make_index_sequence<MR>());
    for (int i = 0; i < mr; ++i) {
        const T* const add = bias ? &bias[i] : nullptr;
        if (nr == NR) {
            store_row<T, H>(c + i * ldc, left[i], H, overwrite, add);
            store_row<T, H>(c + i * ldc + H, right[i], H, overwrite, add);
        } else {
            store_row<T>(c + i * ldc, left[i], std::min(nr, H), overwrite, add);
            store_row<T>(c + i * ldc + H, right[i], nr - H, overwrite, add);
        }
    }
}

// f(std::integral_constant<int, R>) with R the rows of the tile for a strip
// with mr rows of C: MR, or for a last strip of fewer, mr rounded up to 4
// (32 output channels: 12 + 12 + 8 rows rather than 3 x 12, whose last 4
// rows would be multiply-adds of zeros; 64: 5 x 12 + 4). The tile reads the
// strip's first R rows as they are laid out: the sums do not change.
template <int MR, class F>
[[gnu::always_inline]] inline void by_tile_rows(int mr, F f) {
    if constexpr (MR % 4 == 0 && MR > 4) {
        if (mr <= 4) return f(std::integral_constant<int, 4>());
        if constexpr (MR > 8)
            if (mr <= 8) return f(std::integral_constant<int, 8>());
    }
    f(std::integral_constant<int, MR>());
}

// The macro-kernel over A strips that `a_strip(row)` (the strip starting at
// that row) and B strips that `b_strip(sn)` give as accessors.
template <class T, class AStrip, class BStrip>
void macro_kernel_over(int m, int n, int kc, AStrip a_strip, BStrip b_strip, T* C, long ldc, bool overwrite,
                       const T* bias = nullptr) {
    constexpr int MR = Tiles<T>::MR, NR = Tiles<T>::NR;
    const int mc = blocking().mc;
    for (int i0 = 0; i0 < m; i0 += mc) // a block of A that stays in L2
        for (int sn = 0; sn * NR < n; ++sn) // one B strip, from L1, against every A strip of the block
            for (int row = i0; row < std::min(m, i0 + mc); row += MR) {
                T* const c = C + long(row) * ldc + long(sn) * NR;
                const int mr = std::min(MR, m - row), nr = std::min(NR, n - sn * NR);
                const T* const add = bias ? bias + row : nullptr;
                by_tile_rows<MR>(mr, [&](auto rows) {
                    constexpr int R = decltype(rows)::value;
                    if constexpr (std::is_same_v<decltype(b_strip(sn)), HalvesInPlace<T>>)
                        micro_kernel_halves<T, R, NR>(kc, a_strip(row), b_strip(sn).b, b_strip(sn).offset,
                                                      b_strip(sn).pitch, c, ldc, mr, nr, overwrite, add);
                    else if constexpr (decltype(a_strip(row))::apart)
                        micro_kernel_apart<T, R, NR>(kc, a_strip(row), b_strip(sn), c, ldc, mr, nr, overwrite, add);
                    else
                        micro_kernel<T, R, NR>(kc, a_strip(row), b_strip(sn), c, ldc, mr, nr, overwrite, add);
                });
            }
}

// dst[p * W + q] = M(p, q) = src[p * p_stride + q * q_stride] for p < kc, q < valid; 0 for q >= valid.
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
void pack_a(int M, int K, const T* A, long a_row, long a_col, T* dst) {
    constexpr int MR = Tiles<T>::MR;
    const int Mr = padded_rows<T>(M);
    for (int p0 = 0; p0 < K; p0 += KC) {
        const int kc = std::min(KC, K - p0);
        for (int s = 0; s < Mr / MR; ++s) {
            const int row = s * MR;
            pack_strip<T, MR>(A + long(row) * a_row + long(p0) * a_col, a_col, a_row, kc, std::min(MR, M - row),
                              dst + std::size_t(p0) * Mr + std::size_t(s) * MR * kc);
        }
    }
}

template <class T>
void pack_b(int kc, int n, const T* B, long b_row, long b_col, T* dst) {
    constexpr int NR = Tiles<T>::NR;
    for (int s = 0; s * NR < n; ++s)
        pack_strip<T, NR>(B + long(s) * NR * b_col, b_row, b_col, kc, std::min(NR, n - s * NR),
                          dst + std::size_t(s) * NR * kc);
}

template <class T>
void macro_kernel(int m, int n, int kc, const T* a, const T* b, T* C, long ldc, bool overwrite) {
    constexpr int MR = Tiles<T>::MR, NR = Tiles<T>::NR;
    const auto a_strip = [&](int row) { return PackedColumns<T, MR>{a + std::size_t(row) * kc}; };
    const auto b_strip = [&](int sn) { return PackedRows<T, NR>{b + std::size_t(sn) * NR * kc}; };
    macro_kernel_over<T>(m, n, kc, a_strip, b_strip, C, ldc, overwrite);
}

template <class T>
void macro_kernel_views(int m, int n, int kc, const T* a, const T* b, const std::ptrdiff_t* b_offset, T* C, long ldc,
                        bool overwrite) {
    constexpr int MR = Tiles<T>::MR, NR = Tiles<T>::NR;
    const auto packed_a = [&](int row) { return PackedColumns<T, MR>{a + std::size_t(row) * kc}; };
    const auto b_in_place = [&](int sn) { return RowsInPlace<T>{b + std::size_t(sn) * NR, b_offset}; };
    macro_kernel_over<T>(m, n, kc, packed_a, b_in_place, C, ldc, overwrite);
}

// Every strip on the whole tile (by_tile_rows here, the shorter tiles inlined
// beside it, ran the shipped model's weight gradients 3-4% slower with g++ 12).
template <class T>
void macro_kernel_pieces(int m, int n, int pieces, int len, long a_step, const T* a, const std::ptrdiff_t* a_offset,
                         const T* b, T* C, long ldc, bool overwrite) {
    constexpr int MR = Tiles<T>::MR, NR = Tiles<T>::NR;
    const int mc = blocking().mc, kc = pieces * len;
    for (int i0 = 0; i0 < m; i0 += mc) // as macro_kernel_over
        for (int sn = 0; sn * NR < n; ++sn)
            for (int row = i0; row < std::min(m, i0 + mc); row += MR) { // whole tiles: see below
                ColumnsInPlace<T, MR> strip;
                for (int i = 0; i < MR; ++i) strip.row[i] = a + a_offset[std::min(row + i, m - 1)]; // rows past m: any row
                micro_kernel_pieces<T, MR, NR>(pieces, len, a_step, strip, b + std::size_t(sn) * NR * kc,
                                               C + long(row) * ldc + long(sn) * NR, ldc, std::min(MR, m - row),
                                               std::min(NR, n - sn * NR), overwrite);
            }
}

template <class T>
void macro_kernel_rows(int m, int n, int kc, const T* a, const T* b, const std::ptrdiff_t* b_offset, int row_len,
                       long row_pitch, T* C, long ldc, bool overwrite, const T* bias) {
    constexpr int MR = Tiles<T>::MR, NR = Tiles<T>::NR;
    const auto packed_a = [&](int row) { return PackedColumns<T, MR>{a + std::size_t(row) * kc}; };
    const auto b_rows = [&](int sn) {
        const long j = long(sn) * NR; // the strip's first column: row j / row_len, at j % row_len in it
        return RowsInPlace<T>{b + j / row_len * row_pitch + j % row_len, b_offset};
    };
    const auto b_halves = [&](int sn) { return HalvesInPlace<T>{b + 2L * sn * row_pitch, b_offset, row_pitch}; };
    if (row_len % NR == 0) macro_kernel_over<T>(m, n, kc, packed_a, b_rows, C, ldc, overwrite, bias);
    else macro_kernel_over<T>(m, n, kc, packed_a, b_halves, C, ldc, overwrite, bias);
}

template <class T>
void gemm(int M, int N, int K, const T* A, long a_row, long a_col, const T* B, long b_row, long b_col, T* C,
          long ldc, bool accumulate, int threads) {
    constexpr int NR = Tiles<T>::NR;
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (!accumulate)
            for (int i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, T(0));
        return;
    }
    std::vector<T> a_pack(std::size_t(padded_rows<T>(M)) * K);
    pack_a(M, K, A, a_row, a_col, a_pack.data());
    const int nc = blocking().nc, tiles = (N + nc - 1) / nc;
    parallel_for(tiles, threads, [&](int t) { // one task per block of columns: no two tasks share an element of C
        const int j0 = t * nc, n = std::min(nc, N - j0);
        thread_local std::vector<T> b_pack;
        grow(b_pack, std::size_t((n + NR - 1) / NR) * NR * KC);
        for (int p0 = 0; p0 < K; p0 += KC) {
            const int kc = std::min(KC, K - p0);
            pack_b(kc, n, B + long(p0) * b_row + long(j0) * b_col, b_row, b_col, b_pack.data());
            macro_kernel(M, n, kc, a_pack.data() + std::size_t(p0) * padded_rows<T>(M), b_pack.data(), C + j0, ldc,
                         p0 == 0 && !accumulate);
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

template void pack_a<float>(int, int, const float*, long, long, float*);
template void pack_a<double>(int, int, const double*, long, long, double*);
template void pack_b<float>(int, int, const float*, long, long, float*);
template void pack_b<double>(int, int, const double*, long, long, double*);
template void macro_kernel<float>(int, int, int, const float*, const float*, float*, long, bool);
template void macro_kernel<double>(int, int, int, const double*, const double*, double*, long, bool);
template void macro_kernel_views<float>(int, int, int, const float*, const float*, const std::ptrdiff_t*, float*, long,
                                        bool);
template void macro_kernel_views<double>(int, int, int, const double*, const double*, const std::ptrdiff_t*, double*,
                                         long, bool);
template void macro_kernel_pieces<float>(int, int, int, int, long, const float*, const std::ptrdiff_t*, const float*,
                                         float*, long, bool);
template void macro_kernel_pieces<double>(int, int, int, int, long, const double*, const std::ptrdiff_t*,
                                          const double*, double*, long, bool);
template void macro_kernel_rows<float>(int, int, int, const float*, const float*, const std::ptrdiff_t*, int, long,
                                       float*, long, bool, const float*);
template void macro_kernel_rows<double>(int, int, int, const double*, const double*, const std::ptrdiff_t*, int, long,
                                        double*, long, bool, const double*);
template void gemm<float>(int, int, int, const float*, long, long, const float*, long, long, float*, long, bool, int);
template void gemm<double>(int, int, int, const double*, long, long, const double*, long, long, double*, long, bool,
                           int);
template void gemm_reference<float>(int, int, int, const float*, long, long, const float*, long, long, float*, long,
                                    bool);
template void gemm_reference<double>(int, int, int, const double*, long, long, const double*, long, long, double*,
                                     long, bool);

} // namespace allconv
