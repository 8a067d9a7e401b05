// conv: 2-D convolution, the only layer with parameters in an All-CNN.
//
// Paper, claim 1: a convolution with stride s subsamples like a pooling layer
// does, with a learned window instead of a fixed max. These are the readable
// reference loops; fast/conv_fast.hpp holds the fast path, and tests compare the two.
//
// Conventions (PyTorch / ONNX): cross-correlation (no kernel flip), square
// kernel k, symmetric zero padding `pad`, the same stride both ways.
//   x is (N, C, H, W)        input
//   w is (O, C, k, k)        weights, "OIHW"
//   b is (O)                 bias
//   y is (N, O, OH, OW)      output, OH = floor((H + 2*pad - k) / stride) + 1
#pragma once
#include "../tensor.hpp"

namespace allconv {

// Output size along one axis; throws std::invalid_argument when it would be < 1
// or the configuration is impossible (k < 1, stride < 1, pad < 0).
int conv_out_size(int in, int k, int stride, int pad);

// Everything the loops need, computed and checked once.
struct ConvGeom {
    int batch = 1, in_c = 1, in_h = 1, in_w = 1;
    int out_c = 1, k = 1, stride = 1, pad = 0;
    int out_h = 1, out_w = 1;
    Shape in_shape() const { return {batch, in_c, in_h, in_w}; }
    Shape out_shape() const { return {batch, out_c, out_h, out_w}; }
    Shape weight_shape() const { return {out_c, in_c, k, k}; }
};
ConvGeom conv_geom(Shape in, int out_c, int k, int stride, int pad);

// y = conv(x, w) + b.  Overwrites y.
template <class T>
void conv_forward(const ConvGeom& g, const T* x, const T* w, const T* b, T* y);

// dx = the transposed convolution of dy: the gradient of <y, dy> with respect
// to x. Deconvnet, backprop and guided backprop all use this. Overwrites dx.
template <class T>
void conv_backward_input(const ConvGeom& g, const T* dy, const T* w, T* dx);

// dw += gradient of <y, dy> with respect to w;  db += the same for b.
// Accumulates (+=), like llm.c, so gradients of several calls add up;
// zero them first for a fresh gradient.
template <class T>
void conv_backward_weights(const ConvGeom& g, const T* x, const T* dy, T* dw, T* db);

} // namespace allconv
