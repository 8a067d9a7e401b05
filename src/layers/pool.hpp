// pool: max-pooling with switches, the layer the All-CNN replaces.
//
// Paper, claim 1: pooling is a fixed max over a window followed by subsampling.
// Forward records a "switch" per output: which input cell held the maximum.
// Backward (the same for backprop, deconvnet and guided backprop) routes each
// output's signal to its switch. Windows overlap when stride < k (the paper's
// 3x3 stride 2), so one input cell can receive from several outputs: add them.
//   x is (N, C, H, W); y and switches are (N, C, OH, OW), OH as for conv.
//   A switch is the flat index iy * W + ix within x's (n, c) plane.
// Padded cells are never chosen (they act as -infinity); ties go to the
// first cell in row-major window order.
#pragma once
#include <cstdint>

#include "../tensor.hpp"

namespace allconv {

struct PoolGeom {
    int batch = 1, channels = 1, in_h = 1, in_w = 1;
    int k = 1, stride = 1, pad = 0;
    int out_h = 1, out_w = 1;
    Shape in_shape() const { return {batch, channels, in_h, in_w}; }
    Shape out_shape() const { return {batch, channels, out_h, out_w}; }
};
// Throws std::invalid_argument for impossible windows; pad must be at most k/2
// (as in PyTorch) so every window holds at least one real cell.
PoolGeom pool_geom(Shape in, int k, int stride, int pad);

// Overwrites y and switches.
template <class T>
void maxpool_forward(const PoolGeom& g, const T* x, T* y, std::int32_t* switches);

// dx = 0, then dx[switch] += dy for every output.  Overwrites dx.
template <class T>
void maxpool_backward(const PoolGeom& g, const T* dy, const std::int32_t* switches, T* dx);

} // namespace allconv
