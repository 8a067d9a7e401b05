// pool: reference loops for max-pooling with switches.
#include "pool.hpp"

#include <stdexcept>
#include <string>

#include "conv.hpp"

namespace allconv {

PoolGeom pool_geom(Shape in, int k, int stride, int pad) {
    if (pad > k / 2 + 1 || pad * 2 > k) // (the first test keeps pad * 2 from overflowing)
        throw std::invalid_argument("pool padding " + std::to_string(pad) + " is more than half the window " +
                                    std::to_string(k));
    PoolGeom g;
    g.batch = in.n;
    g.channels = in.c;
    g.in_h = in.h;
    g.in_w = in.w;
    g.k = k;
    g.stride = stride;
    g.pad = pad;
    g.out_h = conv_out_size(in.h, k, stride, pad); // same size formula as convolution
    g.out_w = conv_out_size(in.w, k, stride, pad);
    return g;
}

template <class T>
void maxpool_forward(const PoolGeom& g, const T* x, T* y, std::int32_t* switches) {
    const int planes = g.batch * g.channels;
    for (int p = 0; p < planes; ++p) {
        const T* xp = x + std::size_t(p) * g.in_h * g.in_w;
        for (int oy = 0; oy < g.out_h; ++oy)
            for (int ox = 0; ox < g.out_w; ++ox) {
                int best = -1;
                T best_value = T(0);
                for (int ky = 0; ky < g.k; ++ky)
                    for (int kx = 0; kx < g.k; ++kx) {
                        int iy = oy * g.stride - g.pad + ky;
                        int ix = ox * g.stride - g.pad + kx;
                        if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w) continue; // padding: never chosen
                        T v = xp[iy * g.in_w + ix];
                        if (best < 0 || v > best_value) { // strict >: the first of equal values wins
                            best = iy * g.in_w + ix;
                            best_value = v;
                        }
                    }
                std::size_t out = (std::size_t(p) * g.out_h + oy) * g.out_w + ox;
                y[out] = best_value;
                switches[out] = best;
            }
    }
}

template <class T>
void maxpool_backward(const PoolGeom& g, const T* dy, const std::int32_t* switches, T* dx) {
    for (std::size_t i = 0; i < g.in_shape().size(); ++i) dx[i] = T(0);
    const int planes = g.batch * g.channels;
    const std::size_t out_plane = std::size_t(g.out_h) * g.out_w;
    for (int p = 0; p < planes; ++p) {
        T* dxp = dx + std::size_t(p) * g.in_h * g.in_w;
        for (std::size_t o = 0; o < out_plane; ++o) {
            std::size_t out = std::size_t(p) * out_plane + o;
            dxp[switches[out]] += dy[out]; // += : overlapping windows may share a switch
        }
    }
}

template void maxpool_forward<float>(const PoolGeom&, const float*, float*, std::int32_t*);
template void maxpool_forward<double>(const PoolGeom&, const double*, double*, std::int32_t*);
template void maxpool_backward<float>(const PoolGeom&, const float*, const std::int32_t*, float*);
template void maxpool_backward<double>(const PoolGeom&, const double*, const std::int32_t*, double*);

} // namespace allconv
