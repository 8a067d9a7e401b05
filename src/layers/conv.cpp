// conv: reference loops for strided, padded 2-D convolution and its gradients.
//
// The one index formula to understand: output pixel (oy, ox) looks at input
// pixel
//     iy = oy * stride - pad + ky,   ix = ox * stride - pad + kx
// for every kernel offset (ky, kx). Pixels outside the input are the zero
// padding, so they are skipped. Every function below is that formula inside a
// different nesting of loops.
#include "conv.hpp"

#include <stdexcept>
#include <string>

namespace allconv {

int conv_out_size(int in, int k, int stride, int pad) {
    if (k < 1) throw std::invalid_argument("kernel size " + std::to_string(k) + " must be at least 1");
    if (stride < 1) throw std::invalid_argument("stride " + std::to_string(stride) + " must be at least 1");
    if (pad < 0) throw std::invalid_argument("padding " + std::to_string(pad) + " must not be negative");
    if (in < 1) throw std::invalid_argument("input size " + std::to_string(in) + " must be at least 1");
    const long long span = (long long)in + 2LL * pad - k; // 64-bit: sizes from a file may be large
    if (span < 0)
        throw std::invalid_argument("kernel " + std::to_string(k) + " does not fit input " + std::to_string(in) +
                                    " with padding " + std::to_string(pad));
    if (span / stride + 1 > 0x7fffffffLL) throw std::invalid_argument("output size does not fit an int");
    return int(span / stride + 1);
}

ConvGeom conv_geom(Shape in, int out_c, int k, int stride, int pad) {
    if (out_c < 1) throw std::invalid_argument("output channels " + std::to_string(out_c) + " must be at least 1");
    if (in.n < 1 || in.c < 1) throw std::invalid_argument("input shape " + to_string(in) + " is empty");
    ConvGeom g;
    g.batch = in.n;
    g.in_c = in.c;
    g.in_h = in.h;
    g.in_w = in.w;
    g.out_c = out_c;
    g.k = k;
    g.stride = stride;
    g.pad = pad;
    g.out_h = conv_out_size(in.h, k, stride, pad);
    g.out_w = conv_out_size(in.w, k, stride, pad);
    return g;
}

template <class T>
void conv_forward(const ConvGeom& g, const T* x, const T* w, const T* b, T* y) {
    for (int n = 0; n < g.batch; ++n)
        for (int o = 0; o < g.out_c; ++o)
            for (int oy = 0; oy < g.out_h; ++oy)
                for (int ox = 0; ox < g.out_w; ++ox) {
                    T sum = b[o];
                    for (int c = 0; c < g.in_c; ++c)
                        for (int ky = 0; ky < g.k; ++ky)
                            for (int kx = 0; kx < g.k; ++kx) {
                                int iy = oy * g.stride - g.pad + ky;
                                int ix = ox * g.stride - g.pad + kx;
                                if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w) continue; // zero padding
                                T xv = x[((n * g.in_c + c) * g.in_h + iy) * g.in_w + ix];
                                T wv = w[((o * g.in_c + c) * g.k + ky) * g.k + kx];
                                sum += xv * wv;
                            }
                    y[((n * g.out_c + o) * g.out_h + oy) * g.out_w + ox] = sum;
                }
}

// Forward sends x[iy][ix] * w into y[oy][ox]; backward sends dy[oy][ox] * w
// back to the same x[iy][ix]. Several outputs can reach one input pixel
// (whenever k > stride), so the contributions add up.
template <class T>
void conv_backward_input(const ConvGeom& g, const T* dy, const T* w, T* dx) {
    for (std::size_t i = 0; i < g.in_shape().size(); ++i) dx[i] = T(0);
    for (int n = 0; n < g.batch; ++n)
        for (int o = 0; o < g.out_c; ++o)
            for (int oy = 0; oy < g.out_h; ++oy)
                for (int ox = 0; ox < g.out_w; ++ox) {
                    T d = dy[((n * g.out_c + o) * g.out_h + oy) * g.out_w + ox];
                    for (int c = 0; c < g.in_c; ++c)
                        for (int ky = 0; ky < g.k; ++ky)
                            for (int kx = 0; kx < g.k; ++kx) {
                                int iy = oy * g.stride - g.pad + ky;
                                int ix = ox * g.stride - g.pad + kx;
                                if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w) continue;
                                dx[((n * g.in_c + c) * g.in_h + iy) * g.in_w + ix] +=
                                    d * w[((o * g.in_c + c) * g.k + ky) * g.k + kx];
                            }
                }
}

// y[o] = b[o] + sum w[o][c][ky][kx] * x[c][iy][ix], so the gradient for one
// weight is the sum over every output pixel and image of dy * the input pixel
// that weight met there.
template <class T>
void conv_backward_weights(const ConvGeom& g, const T* x, const T* dy, T* dw, T* db) {
    for (int n = 0; n < g.batch; ++n)
        for (int o = 0; o < g.out_c; ++o)
            for (int oy = 0; oy < g.out_h; ++oy)
                for (int ox = 0; ox < g.out_w; ++ox) {
                    T d = dy[((n * g.out_c + o) * g.out_h + oy) * g.out_w + ox];
                    db[o] += d;
                    for (int c = 0; c < g.in_c; ++c)
                        for (int ky = 0; ky < g.k; ++ky)
                            for (int kx = 0; kx < g.k; ++kx) {
                                int iy = oy * g.stride - g.pad + ky;
                                int ix = ox * g.stride - g.pad + kx;
                                if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w) continue;
                                dw[((o * g.in_c + c) * g.k + ky) * g.k + kx] +=
                                    d * x[((n * g.in_c + c) * g.in_h + iy) * g.in_w + ix];
                            }
                }
}

template void conv_forward<float>(const ConvGeom&, const float*, const float*, const float*, float*);
template void conv_forward<double>(const ConvGeom&, const double*, const double*, const double*, double*);
template void conv_backward_input<float>(const ConvGeom&, const float*, const float*, float*);
template void conv_backward_input<double>(const ConvGeom&, const double*, const double*, double*);
template void conv_backward_weights<float>(const ConvGeom&, const float*, const float*, float*, float*);
template void conv_backward_weights<double>(const ConvGeom&, const double*, const double*, double*, double*);

} // namespace allconv
