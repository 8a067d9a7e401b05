// gemm: the matrix multiply under the fast convolution path.
//
//   C (M x N) = (accumulate ? C : 0) + A (M x K) * B (K x N)
//
// A and B are read through strides, so a transposed operand is only a
// different pair of strides: A(i, p) = A[i*a_row + p*a_col], likewise B.
// C is row-major with row stride ldc.
//
// Blocked and register-tiled (see gemm.cpp). Each element of C is summed over
// p = 0..K-1 in the same order whatever the thread count, so results are
// bit-identical for any `threads`.
#pragma once

namespace allconv {

template <class T>
void gemm(int M, int N, int K, const T* A, long a_row, long a_col, const T* B, long b_row, long b_col, T* C,
          long ldc, bool accumulate, int threads);

// The same product by three plain loops: the oracle the tests compare with.
template <class T>
void gemm_reference(int M, int N, int K, const T* A, long a_row, long a_col, const T* B, long b_row, long b_col,
                    T* C, long ldc, bool accumulate);

} // namespace allconv
