// conv_fast: the fast path for convolution, the same results as conv.hpp's
// reference loops up to floating-point rounding (tests compare the two).
//
// Convolution is a matrix multiply in disguise. Let col be the "im2col"
// matrix: one row per (input channel c, ky, kx), one column per output pixel
// (image, oy, ox), holding the input pixel that weight meets there:
//     col[(c*k + ky)*k + kx][(n, oy, ox)] = x[n][c][oy*stride - pad + ky][ox*stride - pad + kx]
// (0 in the padding). Then
//     forward             Y   = W (O x C*k*k) * col            (+ bias)
//     backward to input   col' = W^T * dY, scattered back onto dX ("col2im")
//     backward to weights dW  = dY * col^T
// col is never built whole: gemm.hpp packs its operands slice by slice, and
// here the slices of col are packed straight from the image. (Wide 3x3
// stride-1 layers skip col altogether: winograd.hpp.)
// Every output element is summed in a fixed order, so results are
// bit-identical for any `threads`.
#pragma once
#include "../layers/conv.hpp"
#include "packed_weights.hpp"

namespace allconv {

// How the forward pass reads im2col: packed into strips (conv_fast.cpp), in
// place from a padded copy (conv_views.cpp), or whichever costs less for the
// layer. Those ways give the same bits; the tests pick each in turn.
// `winograd`: no im2col at all but Winograd's F(2x2, 3x3) (winograd.hpp),
// for layers it fits (3x3, stride 1; others go packed), which rounds
// differently; `cheaper` takes it where it pays.
enum class Im2col { cheaper, packed, in_place, winograd };

// `packs`: the weights packed once and kept there (packed_weights.hpp), or
// packed for this call when null. `relu`: when given, also relu = the ReLU
// of y (the layer after the convolution), computed while y is in cache.
template <class T>
void conv_forward_fast(const ConvGeom& g, const T* x, const T* w, const T* b, T* y, int threads,
                       Im2col how = Im2col::cheaper, WeightPacks* packs = nullptr,
                       T* relu = nullptr); // overwrites y (and relu)

// Backward to the input (conv_backward_input.cpp): `packed` multiplies W^T dY
// and scatters it onto dX (col2im); `in_place` runs it, for stride 1, as a
// forward convolution of dY reading im2col in place, and for stride 2 and
// more as one small convolution of dY per phase of the stride; `cheaper` picks.
template <class T>
void conv_backward_input_fast(const ConvGeom& g, const T* dy, const T* w, T* dx, int threads,
                              Im2col how = Im2col::cheaper, WeightPacks* packs = nullptr); // overwrites dx

// Whether conv_backward_input_fast runs by phases for this layer and `how`.
bool phases_pay_off(const ConvGeom& g, Im2col how);

// Backward to the weights: im2col packed into strips, or read in place.
template <class T>
void conv_backward_weights_fast(const ConvGeom& g, const T* x, const T* dy, T* dw, T* db, int threads,
                                Im2col how = Im2col::cheaper); // +=

} // namespace allconv
