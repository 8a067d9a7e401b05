// packed_weights: a conv layer's weights packed as the matrix multiply's A
// operand (gemm.hpp), either now for one call or once for many.
//
// Every fast conv call multiplies by the layer's weights, and packing them
// (a transposition into strips of MR rows) reads and writes every weight: for
// one image that is 10-15% of a forward pass, the weights coming from L3.
// When whoever holds the weights keeps them fixed for a while (inference:
// visualizations, evaluation, the bench's forward rows), a WeightPacks packs
// each layer's weights the first time and hands the same strips to every
// later call. Training, whose weights change every step, packs per call.
//
// Packed once or per call, the strips are the same values in the same places,
// so results are the same bits (a test checks it).
#pragma once
#include <cstddef>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "../layers/conv.hpp"

namespace allconv {

// The three ways the fast path multiplies by a layer's weights W (O x C x k x k):
//   forward     A = W as an O x C*k*k matrix          (Y = W * im2col)
//   transposed  A = W^T, C*k*k x O                     (backward to the input, col2im)
//   turned      A = W turned half a turn, input and output channels swapped,
//               C x O*k*k                              (backward to the input as a forward convolution)
//   phases      for each phase (a, b) of the stride s in turn, the taps
//               (a + s ty, b + s tx) alone: A(c, (o, ty, tx)) = W[o][c][a + s ty][b + s tx],
//               C x O*Ta*Tb                            (backward to the input by phases)
//   winograd    the 16 matrices G g G^T of winograd.hpp (O x C each), or of
//   winograd_turned  the turned kernels (C x O each)
enum class Packing { forward, transposed, turned, phases, winograd, winograd_turned };

// The kernel rows (or columns) a, a + s, a + 2s, ... < k: how many there are.
inline int phase_taps(const ConvGeom& g, int a) { return a < g.k ? (g.k - 1 - a) / g.stride + 1 : 0; }

// Where phase (a, b)'s A starts in a pack of Packing::phases: after the
// phases before it, each padded_rows(C) x O*Ta*Tb.
template <class T>
std::size_t phase_start(const ConvGeom& g, int a, int b);

// dst = W packed as A for `packing` (resized to fit).
template <class T>
void pack_weights(const ConvGeom& g, const T* w, Packing packing, std::vector<T>& dst);

// Packed weights kept from call to call, keyed by where the weights are, how
// they are packed and the layer's shape. The holder promises that the weights
// at that address do not change while it uses the WeightPacks (or calls
// clear() when they do). As a guard against a broken promise, each call also
// compares 16 weights spread over the layer with those it packed, and packs
// again when any differ: a training step or another model at the same address
// changes them, but this is a guard, not a proof. Safe to share between threads.
class WeightPacks {
public:
    template <class T>
    const T* get(const ConvGeom& g, const T* w, Packing packing);
    void clear();

private:
    using Key = std::tuple<const void*, Packing, int, int, int, int>; // w, packing, out_c, in_c, k, stride
    template <class T>
    struct Entry {
        std::vector<T> packed, sample;
    };
    std::mutex mutex_;
    std::map<Key, Entry<float>> floats_;
    std::map<Key, Entry<double>> doubles_;
    template <class T>
    std::map<Key, Entry<T>>& entries();
};

// The packed weights from `packs` when given, else packed now into `scratch`.
template <class T>
const T* packed_weights(WeightPacks* packs, const ConvGeom& g, const T* w, Packing packing, std::vector<T>& scratch) {
    if (packs) return packs->get(g, w, packing);
    pack_weights(g, w, packing, scratch);
    return scratch.data();
}

} // namespace allconv
