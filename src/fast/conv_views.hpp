// conv_views: the forward convolution and the weight gradients with im2col
// read in place from a padded, phase-split copy of the input (phase_copy.hpp
// explains how), for the layers where that computes few columns it then
// drops (conv_views.cpp, conv_views_weights.cpp).
#pragma once
#include "../layers/conv.hpp"

namespace allconv {

// Whether reading in place beats packing for this layer, on `threads` threads.
bool views_pay_off(const ConvGeom& g, int threads);

// y = conv(x, w) + b, the same bits as conv_forward_fast's packed path; the
// weights w come packed as A (packed_weights.hpp, Packing::forward); relu,
// when given, = the ReLU of y.
template <class T>
void conv_forward_views(const ConvGeom& g, const T* x, const T* a, const T* b, T* y, int threads, T* relu = nullptr);

// Whether reading im2col in place pays for the weight gradients.
bool views_pay_off_for_weights(const ConvGeom& g);

// dw += the gradient of <y, dy> with respect to w (the bias: conv_fast.cpp).
template <class T>
void conv_backward_weights_views(const ConvGeom& g, const T* x, const T* dy, T* dw, int threads);

} // namespace allconv
