// gap: global average pooling, the All-CNN's last spatial step.
//   x is (N, C, H, W), y is (N, C, 1, 1): the mean of each plane.
// Paper: the 1x1 conv with 10 outputs gives 10 maps (6x6 on CIFAR); their
// averages are the class scores (logits).
#pragma once
#include "../tensor.hpp"

namespace allconv {

template <class T>
void gap_forward(Shape in, const T* x, T* y); // overwrites y

// dx[n][c][y][x] = dy[n][c] / (H * W).  Overwrites dx.
template <class T>
void gap_backward(Shape in, const T* dy, T* dx);

} // namespace allconv
