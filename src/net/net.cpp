// net: forward and backward through a whole architecture, layer by layer.
#include "net.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "../layers/dropout.hpp"
#include "../layers/gap.hpp"
#include "../layers/softmax.hpp"

namespace allconv {

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

// ---- forward: one layer ------------------------------------------------------

// relu: for a conv layer, the output of the ReLU layer after it, computed in
// the same call (dispatch.hpp), or null.
template <class T>
void layer_forward(const Layer& l, std::size_t i, const Params<T>& params, const Tensor<T>& in, Tape<T>& tape,
                   const Compute& c, Rng* dropout_rng, Tensor<T>* relu) {
    const int n = in.shape.n;
    Tensor<T>& out = tape.out[i];
    out.resize(batch_shape(l.out, n));
    switch (l.kind) {
    case LayerKind::conv:
        if (relu) relu->resize(out.shape);
        dispatch::conv_forward(c, conv_geom(in.shape, l.out_c, l.k, l.stride, l.pad), in.ptr(), params.weight[i].ptr(),
                               params.bias[i].ptr(), out.ptr(), relu ? relu->ptr() : nullptr);
        break;
    case LayerKind::relu: dispatch::relu_forward(c, n * l.in.c, in.size(), in.ptr(), out.ptr()); break;
    case LayerKind::maxpool:
        tape.switches[i].resize(out.size());
        dispatch::maxpool_forward(c, pool_geom(in.shape, l.k, l.stride, l.pad), in.ptr(), out.ptr(),
                                  tape.switches[i].data());
        break;
    case LayerKind::dropout:
        if (dropout_rng) { // training: a fresh mask, kept for backward
            tape.masks[i].resize(out.shape);
            dropout_mask(*dropout_rng, l.p, out.size(), tape.masks[i].ptr());
            dropout_apply(out.size(), tape.masks[i].ptr(), in.ptr(), out.ptr());
        } else { // the identity at test time
            tape.masks[i] = Tensor<T>();
            out.data = in.data;
        }
        break;
    case LayerKind::gap: gap_forward(in.shape, in.ptr(), out.ptr()); break;
    case LayerKind::softmax: softmax_forward(n, l.out.c, in.ptr(), out.ptr()); break;
    }
}

// ---- backward: one layer -----------------------------------------------------

// What a walk down the tape computes besides the signal itself.
template <class T>
struct Down {
    Rule rule = Rule::backprop;
    Params<T>* grads = nullptr; // parameter gradients to add to, or none
    bool to_input = false;      // carry the signal through layer 0 to the input
};

// signal: what arrives from above layer i; below: what it passes down (when needed).
template <class T>
void layer_backward(const Layer& l, std::size_t i, const Params<T>& params, const Tape<T>& tape,
                    const Tensor<T>& signal, Tensor<T>& below, bool need_below, const Down<T>& down,
                    const Compute& c) {
    const Tensor<T>& in = i > 0 ? tape.out[i - 1] : tape.input; // the layer's forward input
    const int n = in.shape.n;
    below.resize(in.shape);
    switch (l.kind) {
    case LayerKind::conv: {
        const ConvGeom g = conv_geom(in.shape, l.out_c, l.k, l.stride, l.pad);
        if (down.grads)
            dispatch::conv_backward_weights(c, g, in.ptr(), signal.ptr(), down.grads->weight[i].ptr(),
                                            down.grads->bias[i].ptr());
        if (need_below) dispatch::conv_backward_input(c, g, signal.ptr(), params.weight[i].ptr(), below.ptr());
        break;
    }
    case LayerKind::relu: // the only step where the three rules differ
        dispatch::relu_backward(c, down.rule, n * l.in.c, in.size(), in.ptr(), signal.ptr(), below.ptr());
        break;
    case LayerKind::maxpool:
        dispatch::maxpool_backward(c, pool_geom(in.shape, l.k, l.stride, l.pad), signal.ptr(), tape.switches[i].data(),
                                   below.ptr());
        break;
    case LayerKind::dropout:
        if (tape.masks[i].size() == below.size()) dropout_apply(below.size(), tape.masks[i].ptr(), signal.ptr(), below.ptr());
        else below.data = signal.data;
        break;
    case LayerKind::gap: gap_backward(in.shape, signal.ptr(), below.ptr()); break;
    case LayerKind::softmax: softmax_backward(n, l.out.c, tape.out[i].ptr(), signal.ptr(), below.ptr()); break;
    }
}

// The tape must hold layers 0..from of one input, shaped as the architecture
// says, and the seed must be shaped like layer `from`'s output.
template <class T>
void check_tape(const Arch& arch, const Tape<T>& tape, int from, const Tensor<T>& seed) {
    if (from < 0 || from >= int(arch.layers.size()))
        throw std::invalid_argument("backward from layer " + std::to_string(from) + ": no such layer");
    const std::string& name = arch.layers[from].name;
    if (tape.out.size() != arch.layers.size() || tape.valid < 0)
        throw std::invalid_argument("backward from " + name + ": the tape is empty (run the forward pass first)");
    if (from > tape.valid)
        throw std::invalid_argument("backward from " + name + ": the tape holds only layers up to " +
                                    arch.layers[tape.valid].name + " of its input (run the forward pass through " + name +
                                    " first)");
    const int n = tape.input.shape.n;
    for (int i = 0; i <= from; ++i)
        if (tape.out[i].shape != batch_shape(arch.layers[i].out, n))
            throw std::invalid_argument("backward from " + name + ": the tape was made by another network (" +
                                        arch.layers[i].name + " is " + to_string(tape.out[i].shape) + ")");
    if (seed.shape != tape.out[from].shape)
        throw std::invalid_argument("seed of shape " + to_string(seed.shape) + " does not match " + name + "'s output " +
                                    to_string(tape.out[from].shape));
}

// From layer `from` down to layer 0 (and to the input when down.to_input).
template <class T>
Tensor<T> walk_down(const Arch& arch, const Params<T>& params, const Tape<T>& tape, int from, const Tensor<T>& seed,
                    const Down<T>& down, const Compute& c) {
    check_tape(arch, tape, from, seed);
    // signal: arriving from above; below: passed down. Kept from call to call
    // (per thread), so a backward pass does not allocate its activations anew.
    thread_local Tensor<T> signal, below;
    signal.shape = seed.shape;
    signal.data.assign(seed.data.begin(), seed.data.end());
    for (int i = from; i >= 0; --i) {
        layer_backward(arch.layers[i], std::size_t(i), params, tape, signal, below, i > 0 || down.to_input, down, c);
        std::swap(signal, below);
    }
    return signal;
}

} // namespace

template <class T>
void net_forward(const Arch& arch, const Params<T>& params, const Tensor<T>& x, Tape<T>& tape, const Compute& compute,
                 Rng* dropout_rng, int last) {
    const Shape want = arch.input;
    if (x.shape.c != want.c || x.shape.h != want.h || x.shape.w != want.w || x.shape.n < 1)
        throw std::invalid_argument("input of shape " + to_string(x.shape) + " does not fit the network's input " +
                                    chw_string(want));
    for (const Layer& l : arch.layers) // a batch must keep every tensor within the index limit
        if (std::uint64_t(x.shape.n) * std::max(l.out.size(), l.in.size()) > max_tensor_elements)
            throw std::invalid_argument("a batch of " + std::to_string(x.shape.n) + " images is too large for " + l.name +
                                        " (more than " + std::to_string(max_tensor_elements) + " values)");
    const std::size_t count = arch.layers.size();
    if (last < 0 || last >= int(count)) last = int(count) - 1;
    tape.valid = -1; // until the pass is done
    tape.input = x;
    tape.out.resize(count);
    tape.switches.resize(count);
    tape.masks.resize(count);
    for (int i = 0; i <= last; ++i) {
        // A conv layer and the ReLU layer after it in one call: the same
        // values, but the fast path need not read the conv's outputs back
        // from memory for the ReLU.
        const bool with_relu =
            i < last && arch.layers[i].kind == LayerKind::conv && arch.layers[i + 1].kind == LayerKind::relu;
        layer_forward(arch.layers[i], std::size_t(i), params, i > 0 ? tape.out[i - 1] : tape.input, tape, compute,
                      dropout_rng, with_relu ? &tape.out[i + 1] : nullptr);
        if (with_relu) ++i;
    }
    tape.valid = last;
}

template <class T>
Tensor<T> net_signal(const Arch& arch, const Params<T>& params, const Tape<T>& tape, int from, const Tensor<T>& seed,
                     Rule rule, const Compute& compute) {
    Down<T> down;
    down.rule = rule;
    down.to_input = true;
    return walk_down(arch, params, tape, from, seed, down, compute);
}

template <class T>
void net_gradients(const Arch& arch, const Params<T>& params, const Tape<T>& tape, int from, const Tensor<T>& seed,
                   Params<T>& grads, const Compute& compute) {
    Down<T> down;
    down.grads = &grads;
    walk_down(arch, params, tape, from, seed, down, compute);
}

template Params<float> zero_params<float>(const Arch&);
template Params<double> zero_params<double>(const Arch&);
template Params<float> init_params<float>(const Arch&, std::uint64_t);
template Params<double> init_params<double>(const Arch&, std::uint64_t);
template void net_forward<float>(const Arch&, const Params<float>&, const Tensor<float>&, Tape<float>&, const Compute&,
                                 Rng*, int);
template void net_forward<double>(const Arch&, const Params<double>&, const Tensor<double>&, Tape<double>&,
                                  const Compute&, Rng*, int);
template Tensor<float> net_signal<float>(const Arch&, const Params<float>&, const Tape<float>&, int, const Tensor<float>&,
                                         Rule, const Compute&);
template Tensor<double> net_signal<double>(const Arch&, const Params<double>&, const Tape<double>&, int,
                                           const Tensor<double>&, Rule, const Compute&);
template void net_gradients<float>(const Arch&, const Params<float>&, const Tape<float>&, int, const Tensor<float>&,
                                   Params<float>&, const Compute&);
template void net_gradients<double>(const Arch&, const Params<double>&, const Tape<double>&, int, const Tensor<double>&,
                                    Params<double>&, const Compute&);

} // namespace allconv
