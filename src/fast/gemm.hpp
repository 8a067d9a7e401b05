// gemm: the matrix multiply under the fast convolution path.
//
//   C (M x N) = (accumulate ? C : 0) + A (M x K) * B (K x N)
//
// The classic scheme (Goto and van de Geijn, "Anatomy of high-performance
// matrix multiplication", 2008), in plain C++ that compilers vectorise:
//   - A is "packed" into strips of MR rows and B into strips of NR columns,
//     slice by slice of KC along K, so the innermost loop reads both
//     contiguously whatever their layout (the convolution packs its operands
//     straight from the image: conv_fast.cpp);
//   - a micro-kernel multiplies one MR x KC strip by one KC x NR strip into an
//     MR x NR block of accumulators that lives in vector registers;
//   - the macro-kernel walks the strips so that a B strip stays in L1 while
//     the A strips stream from L2.
// Each element of C is summed over k = 0..K-1 in the same order, in slices of
// the fixed depth KC, whatever the thread count, the tile sizes or the
// machine's caches: only the blocking of M and N (which never changes a sum)
// follows the cache sizes the machine reports.
#pragma once
#include <cstddef>
#include <vector>

namespace allconv {

// Register tile: MR rows x NR columns of accumulators, by the vector width
// the compiler targets. With AVX-512, 12 x 32 floats = 24 of the 32 vector
// registers: each step's 2 loads of B serve 24 multiply-adds (8 rows: 16;
// measured 5-10% faster forward when B is read in place).
template <class T>
struct Tiles;
// `apart`: the micro-kernel is called as a function of its own rather than
// inlined (gemm.cpp says why; measured with clang 13-19 and g++ 11-12).
#if defined(__AVX512F__)
template <> struct Tiles<float> { static constexpr int MR = 12, NR = 32; static constexpr bool apart = true; };
template <> struct Tiles<double> { static constexpr int MR = 8, NR = 16; static constexpr bool apart = true; };
#elif defined(__AVX__)
template <> struct Tiles<float> { static constexpr int MR = 4, NR = 24; static constexpr bool apart = false; };
template <> struct Tiles<double> { static constexpr int MR = 4, NR = 8; static constexpr bool apart = false; };
#else
template <> struct Tiles<float> { static constexpr int MR = 4, NR = 8; static constexpr bool apart = false; };
template <> struct Tiles<double> { static constexpr int MR = 4, NR = 4; static constexpr bool apart = false; };
#endif

// Depth of one packed slice. Fixed: a different KC would change where partial
// sums are rounded, and so the last bits.
constexpr int KC = 256;

// How many rows of A (a multiple of every MR) and columns of B (a multiple of
// every NR) to handle per block, from the L2 size the machine reports
// (/sys/devices/system/cpu/cpu0/cache; 1 MiB when it reports none).
struct Blocking {
    int mc, nc;
};
Blocking blocking();
std::size_t l2_cache_bytes();

// Makes v hold at least n elements, keeping what it has: the fast path's
// buffers live from call to call and never shrink (resize would zero again
// whatever grows back: a memset of megabytes per pass, as layers alternate).
template <class T>
void grow(std::vector<T>& v, std::size_t n) {
    if (v.size() < n) v.resize(n);
}

// Rows rounded up to whole strips of MR.
template <class T>
constexpr int padded_rows(int m) { return (m + Tiles<T>::MR - 1) / Tiles<T>::MR * Tiles<T>::MR; }

// A (M x K, A(i, p) = A[i*a_row + p*a_col]) packed slice by slice: slice s
// (rows p0 = s*KC ..) starts at dst + p0 * padded_rows(M) and holds the
// padded_rows(M) / MR strips of MR rows, each kc x MR, zeros past row M.
template <class T>
void pack_a(int M, int K, const T* A, long a_row, long a_col, T* dst);

// kc rows and the `n` columns j0.. of B (B(p, j) = B[p*b_row + j*b_col]) packed
// into strips of NR columns, each kc x NR, zeros past column n.
template <class T>
void pack_b(int kc, int n, const T* B, long b_row, long b_col, T* dst);

// C (m x n, row stride ldc) = or += a x b, for m rows of one packed A slice
// (strips of MR rows, starting at the first) and n columns of a packed B slice.
template <class T>
void macro_kernel(int m, int n, int kc, const T* a, const T* b, T* C, long ldc, bool overwrite);

// The same with B read in place rather than packed: row p of B is the n
// contiguous values at b + b_offset[p] (and the NR - 1 after them must be
// readable: a partial last strip reads a whole strip and stores only n).
template <class T>
void macro_kernel_views(int m, int n, int kc, const T* a, const T* b, const std::ptrdiff_t* b_offset, T* C, long ldc,
                        bool overwrite);

// The same with A read in place and K in `pieces` runs of `len`: row i of A
// is at a + a_offset[i], its run t the len values from t * a_step on; B
// packed, pieces * len rows.
template <class T>
void macro_kernel_pieces(int m, int n, int pieces, int len, long a_step, const T* a, const std::ptrdiff_t* a_offset,
                         const T* b, T* C, long ldc, bool overwrite);

// The same with B read in place as the columns of an image with rows:
// row_len columns to a row (a multiple of NR, or NR / 2: a strip is then two
// rows), rows row_pitch columns apart from b on; column j of row p of B is at
// b + b_offset[p] + (j / row_len) * row_pitch + j % row_len (with NR / 2, a
// partial last strip reads one row past the last: it must be readable).
// `bias` (one value per row of C, or null): added to C after the sum, as an
// addition of its own (for the last slice of K).
template <class T>
void macro_kernel_rows(int m, int n, int kc, const T* a, const T* b, const std::ptrdiff_t* b_offset, int row_len,
                       long row_pitch, T* C, long ldc, bool overwrite, const T* bias);

// The whole product, for operands in any layout (A and B read through strides).
template <class T>
void gemm(int M, int N, int K, const T* A, long a_row, long a_col, const T* B, long b_row, long b_col, T* C,
          long ldc, bool accumulate, int threads);

// The same product by three plain loops: the oracle the tests compare with.
template <class T>
void gemm_reference(int M, int N, int K, const T* A, long a_row, long a_col, const T* B, long b_row, long b_col,
                    T* C, long ldc, bool accumulate);

} // namespace allconv
