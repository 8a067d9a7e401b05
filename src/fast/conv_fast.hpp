// conv_fast: the fast path for convolution, same results as conv.hpp's
// reference loops up to floating-point rounding (tests compare the two).
//
// im2col: the input pixels every output pixel looks at are copied into the
// columns of a matrix, col (C*k*k rows, one column per output pixel), so the
// whole convolution becomes one matrix multiply, W (O x C*k*k) * col.
// Backward to the input is W^T * dY followed by col2im (the scatter-add
// inverse of im2col); backward to the weights is dY * col^T.
// Images are processed in groups of fixed size (set by the layer's geometry,
// never by the thread count), so results are bit-identical for any `threads`.
#pragma once
#include "../layers/conv.hpp"

namespace allconv {

template <class T>
void conv_forward_fast(const ConvGeom& g, const T* x, const T* w, const T* b, T* y, int threads);

template <class T>
void conv_backward_input_fast(const ConvGeom& g, const T* dy, const T* w, T* dx, int threads); // overwrites dx

template <class T>
void conv_backward_weights_fast(const ConvGeom& g, const T* x, const T* dy, T* dw, T* db, int threads); // +=

} // namespace allconv
