// net: forward and backward through a whole architecture.
#include "net.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>

#include "conv.hpp"
#include "conv_fast.hpp"
#include "dropout.hpp"
#include "gap.hpp"
#include "parallel.hpp"
#include "pool.hpp"
#include "relu.hpp"
#include "softmax.hpp"

namespace allconv {

Shape batch_shape(Shape one, int n) {
    one.n = n;
    return one;
}

template <class T>
Params<T> zero_params(const Arch& arch) {
    Params<T> p;
    p.weight.resize(arch.layers.size());
    p.bias.resize(arch.layers.size());
    for (std::size_t i = 0; i < arch.layers.size(); ++i) {
        const Layer& l = arch.layers[i];
        if (l.kind != LayerKind::conv) continue;
        p.weight[i] = Tensor<T>(Shape{l.out_c, l.in.c, l.k, l.k});
        p.bias[i] = Tensor<T>(Shape{1, l.out_c, 1, 1});
    }
    return p;
}

template <class T>
Params<T> init_params(const Arch& arch, std::uint64_t seed) {
    Params<T> p = zero_params<T>(arch);
    Rng rng(seed);
    for (std::size_t i = 0; i < arch.layers.size(); ++i) {
        const Layer& l = arch.layers[i];
        if (l.kind != LayerKind::conv) continue;
        const double std_dev = std::sqrt(2.0 / (double(l.in.c) * l.k * l.k));
        for (T& w : p.weight[i].data) w = T(float(rng.normal() * std_dev)); // float-representable in both types
    }
    return p;
}

namespace {

// The one place where the fast path or the reference loops are chosen.
template <class T>
void conv_fwd(const Compute& c, const ConvGeom& g, const T* x, const T* w, const T* b, T* y) {
    if (c.reference) conv_forward(g, x, w, b, y);
    else conv_forward_fast(g, x, w, b, y, c.threads);
}
template <class T>
void conv_bwd_input(const Compute& c, const ConvGeom& g, const T* dy, const T* w, T* dx) {
    if (c.reference) conv_backward_input(g, dy, w, dx);
    else conv_backward_input_fast(g, dy, w, dx, c.threads);
}
template <class T>
void conv_bwd_weights(const Compute& c, const ConvGeom& g, const T* x, const T* dy, T* dw, T* db) {
    if (c.reference) conv_backward_weights(g, x, dy, dw, db);
    else conv_backward_weights_fast(g, x, dy, dw, db, c.threads);
}

// Per-plane layers (ReLU, max-pool) are split over threads by whole planes
// (one channel of one image): planes are independent, so any split gives the
// same bits.
void over_planes(const Compute& c, int planes, const std::function<void(int first, int count)>& f) {
    const int tasks = c.reference ? 1 : std::min(planes, 4 * std::max(1, c.threads));
    parallel_for(tasks, c.threads, [&](int t) {
        const int first = int(long(planes) * t / tasks), last = int(long(planes) * (t + 1) / tasks);
        if (last > first) f(first, last - first);
    });
}

} // namespace

template <class T>
void net_forward(const Arch& arch, const Params<T>& params, const Tensor<T>& x, Tape<T>& tape, const Compute& compute,
                 Rng* dropout_rng, int last) {
    const Shape want = arch.input;
    if (x.shape.c != want.c || x.shape.h != want.h || x.shape.w != want.w || x.shape.n < 1)
        throw std::invalid_argument("input of shape " + to_string(x.shape) + " does not fit the network's input " +
                                    chw_string(want));
    const int n = x.shape.n;
    const std::size_t count = arch.layers.size();
    if (last < 0 || last >= int(count)) last = int(count) - 1;
    tape.input = x;
    tape.out.resize(count);
    tape.switches.resize(count);
    tape.masks.resize(count);
    const Tensor<T>* in = &tape.input;
    for (int i = 0; i <= last; ++i) {
        const Layer& l = arch.layers[i];
        Tensor<T>& out = tape.out[i];
        out.resize(batch_shape(l.out, n));
        const Shape in_shape = batch_shape(l.in, n);
        switch (l.kind) {
        case LayerKind::conv:
            conv_fwd(compute, conv_geom(in_shape, l.out_c, l.k, l.stride, l.pad), in->ptr(), params.weight[i].ptr(),
                     params.bias[i].ptr(), out.ptr());
            break;
        case LayerKind::relu: {
            const std::size_t plane = l.out.plane();
            over_planes(compute, n * l.out.c, [&](int first, int count) {
                relu_forward(count * plane, in->ptr() + first * plane, out.ptr() + first * plane);
            });
            break;
        }
        case LayerKind::maxpool: {
            tape.switches[i].resize(out.size());
            const std::size_t in_plane = l.in.plane(), out_plane = l.out.plane();
            over_planes(compute, n * l.out.c, [&](int first, int count) {
                maxpool_forward(pool_geom({1, count, l.in.h, l.in.w}, l.k, l.stride, l.pad), in->ptr() + first * in_plane,
                                out.ptr() + first * out_plane, tape.switches[i].data() + first * out_plane);
            });
            break;
        }
        case LayerKind::dropout:
            if (dropout_rng) {
                tape.masks[i].resize(out.shape);
                dropout_mask(*dropout_rng, l.p, out.size(), tape.masks[i].ptr());
                dropout_apply(out.size(), tape.masks[i].ptr(), in->ptr(), out.ptr());
            } else {
                tape.masks[i] = Tensor<T>();
                out.data = in->data; // identity at test time
            }
            break;
        case LayerKind::gap: gap_forward(in_shape, in->ptr(), out.ptr()); break;
        case LayerKind::softmax: softmax_forward(n, l.out.c, in->ptr(), out.ptr()); break;
        }
        in = &out;
    }
}

template <class T>
void net_backward(const Arch& arch, const Params<T>& params, const Tape<T>& tape, int from, const Tensor<T>& seed,
                  Rule rule, Tensor<T>* dx, Params<T>* grads, const Compute& compute) {
    if (from < 0 || from >= int(arch.layers.size()))
        throw std::invalid_argument("backward from layer " + std::to_string(from) + ": no such layer");
    if (tape.out.size() != arch.layers.size() || tape.out[from].size() == 0)
        throw std::invalid_argument("backward from " + arch.layers[from].name + ": run the forward pass that far first");
    if (seed.shape != tape.out[from].shape)
        throw std::invalid_argument("seed of shape " + to_string(seed.shape) + " does not match " +
                                    arch.layers[from].name + "'s output " + to_string(tape.out[from].shape));
    const int n = seed.shape.n;
    Tensor<T> signal = seed, below; // signal: arriving from above; below: passed down
    for (int i = from; i >= 0; --i) {
        const Layer& l = arch.layers[i];
        const Tensor<T>& layer_in = i > 0 ? tape.out[i - 1] : tape.input;
        const Shape in_shape = batch_shape(l.in, n);
        const bool need_below = i > 0 || dx != nullptr;
        below.resize(in_shape);
        switch (l.kind) {
        case LayerKind::conv: {
            ConvGeom g = conv_geom(in_shape, l.out_c, l.k, l.stride, l.pad);
            if (grads)
                conv_bwd_weights(compute, g, layer_in.ptr(), signal.ptr(), grads->weight[i].ptr(),
                                 grads->bias[i].ptr());
            if (need_below) conv_bwd_input(compute, g, signal.ptr(), params.weight[i].ptr(), below.ptr());
            break;
        }
        case LayerKind::relu: { // the only step where the three rules differ
            const std::size_t plane = l.out.plane();
            over_planes(compute, n * l.out.c, [&](int first, int count) {
                relu_backward(rule, count * plane, layer_in.ptr() + first * plane, signal.ptr() + first * plane,
                              below.ptr() + first * plane);
            });
            break;
        }
        case LayerKind::maxpool: {
            const std::size_t in_plane = l.in.plane(), out_plane = l.out.plane();
            over_planes(compute, n * l.out.c, [&](int first, int count) {
                maxpool_backward(pool_geom({1, count, l.in.h, l.in.w}, l.k, l.stride, l.pad), signal.ptr() + first * out_plane,
                                 tape.switches[i].data() + first * out_plane, below.ptr() + first * in_plane);
            });
            break;
        }
        case LayerKind::dropout:
            if (tape.masks[i].size() == below.size()) dropout_apply(below.size(), tape.masks[i].ptr(), signal.ptr(), below.ptr());
            else below.data = signal.data;
            break;
        case LayerKind::gap: gap_backward(in_shape, signal.ptr(), below.ptr()); break;
        case LayerKind::softmax: softmax_backward(n, l.out.c, tape.out[i].ptr(), signal.ptr(), below.ptr()); break;
        }
        std::swap(signal, below);
    }
    if (dx) *dx = std::move(signal);
}

template Params<float> zero_params<float>(const Arch&);
template Params<double> zero_params<double>(const Arch&);
template Params<float> init_params<float>(const Arch&, std::uint64_t);
template Params<double> init_params<double>(const Arch&, std::uint64_t);
template void net_forward<float>(const Arch&, const Params<float>&, const Tensor<float>&, Tape<float>&,
                                 const Compute&, Rng*, int);
template void net_forward<double>(const Arch&, const Params<double>&, const Tensor<double>&, Tape<double>&,
                                  const Compute&, Rng*, int);
template void net_backward<float>(const Arch&, const Params<float>&, const Tape<float>&, int, const Tensor<float>&,
                                  Rule, Tensor<float>*, Params<float>*, const Compute&);
template void net_backward<double>(const Arch&, const Params<double>&, const Tape<double>&, int,
                                   const Tensor<double>&, Rule, Tensor<double>*, Params<double>*, const Compute&);

} // namespace allconv
