// net: wires the layers of an Arch together. It holds no layer math and no
// threads: each step calls a whole-tensor function of fast/dispatch.hpp (conv,
// ReLU, max-pool: reference loops or fast path) or a layer of src/layers/.
//
// Forward keeps on a Tape what backward needs: every layer's output (a ReLU's
// input is the previous output), the max-pool switches, the dropout masks.
// Two ways back down, from any layer and any seed signal there:
//   net_signal     what the paper visualizes: the seed sent to the input under
//                  a Rule (backprop, deconvnet or guided backprop);
//   net_gradients  what training needs: the true gradient (backprop) of
//                  <seed, that layer's output> for every parameter.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "../fast/dispatch.hpp"
#include "../layers/relu.hpp"
#include "../rng.hpp"
#include "../tensor.hpp"
#include "arch.hpp"

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

template <class T>
struct Tape {
    Tensor<T> input;
    std::vector<Tensor<T>> out;                      // out[i] = output of layer i
    std::vector<std::vector<std::int32_t>> switches; // max-pool layers
    std::vector<Tensor<T>> masks;                    // dropout layers, when training
    int valid = -1; // out[0..valid] belong to `input`; anything above is stale
};

// Runs layers 0..last (all when last < 0) on a batch x of shape (N, C, H, W)
// matching arch.input. Dropout is active only when dropout_rng is given.
// Throws std::invalid_argument when x does not fit the architecture.
template <class T>
void net_forward(const Arch& arch, const Params<T>& params, const Tensor<T>& x, Tape<T>& tape,
                 const Compute& compute = {}, Rng* dropout_rng = nullptr, int last = -1);

// The input-space signal of `seed` (shaped like the output of layer `from`)
// under `rule`. Throws std::invalid_argument when the tape does not hold
// layer `from` of its current input (run the forward pass that far first).
template <class T>
Tensor<T> net_signal(const Arch& arch, const Params<T>& params, const Tape<T>& tape, int from, const Tensor<T>& seed,
                     Rule rule, const Compute& compute = {});

// Adds to `grads` the gradient of <seed, output of layer `from`> with respect
// to every weight and bias (backprop: the true gradient). Same tape checks.
template <class T>
void net_gradients(const Arch& arch, const Params<T>& params, const Tape<T>& tape, int from, const Tensor<T>& seed,
                   Params<T>& grads, const Compute& compute = {});

} // namespace allconv
