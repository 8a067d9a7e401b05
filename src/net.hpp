// net: wires the layers of an Arch together. It holds no layer math itself:
// each step calls the layer's own forward or backward function.
//
// Forward keeps on a Tape what backward needs: every layer's output (a ReLU's
// input is the previous output), the max-pool switches, the dropout masks.
// Backward starts at any layer from any seed signal (one neuron, a channel, a
// class logit) and runs down to the input under a Rule.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "arch.hpp"
#include "rng.hpp"
#include "rules.hpp"
#include "tensor.hpp"

namespace allconv {

// Parameters, indexed by layer: weight[i] and bias[i] are empty unless layer i
// is a conv. Named like a PyTorch state_dict: "conv3.weight", "conv3.bias".
template <class T>
struct Params {
    std::vector<Tensor<T>> weight, bias;
};

// He (Kaiming) normal weights, std = sqrt(2 / (in_channels * k * k)), zero
// biases, drawn layer by layer in OIHW order from Rng(seed).
template <class T>
Params<T> init_params(const Arch& arch, std::uint64_t seed);
// Same shapes, all zeros (gradients, momentum buffers).
template <class T>
Params<T> zero_params(const Arch& arch);

// How to compute: the fast path (default) or the reference loops, and how many
// threads the fast path may use. Results never depend on `threads`.
struct Compute {
    bool reference = false;
    int threads = 1;
};

template <class T>
struct Tape {
    Tensor<T> input;
    std::vector<Tensor<T>> out;                  // out[i] = output of layer i
    std::vector<std::vector<std::int32_t>> switches; // max-pool layers
    std::vector<Tensor<T>> masks;                // dropout layers, when training
};

// Runs layers 0..last (all when last < 0) on a batch x of shape (N, C, H, W)
// matching arch.input. Dropout is active only when dropout_rng is given.
// Throws std::invalid_argument when x does not fit the architecture.
template <class T>
void net_forward(const Arch& arch, const Params<T>& params, const Tensor<T>& x, Tape<T>& tape,
                 const Compute& compute = {}, Rng* dropout_rng = nullptr, int last = -1);

// Sends `seed` (shaped like the output of layer `from`) down to the input.
// Writes the input-space signal to *dx when dx is given. Adds parameter
// gradients to *grads when grads is given (meaningful for Rule::backprop).
template <class T>
void net_backward(const Arch& arch, const Params<T>& params, const Tape<T>& tape, int from, const Tensor<T>& seed,
                  Rule rule, Tensor<T>* dx, Params<T>* grads, const Compute& compute = {});

// Layer i's output shape for a batch of n.
Shape batch_shape(Shape one, int n);

} // namespace allconv
