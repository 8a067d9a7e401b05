// winograd: a 3x3, stride-1 convolution with 2.25x fewer multiplies, by
// Winograd's minimal filtering algorithm F(2x2, 3x3) (Lavin and Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2015).
//
// Cut the output into tiles of 2 x 2 pixels. Each tile depends on a 4 x 4
// patch d of each input channel (rows 2ty - pad .. + 3, likewise columns).
// With the 3 x 3 kernel g of an (output, input) channel pair,
//     tile = A^T [ (G g G^T) . (B^T d B) ] A          (. : element by element)
//   B^T = | 1  0 -1  0 |    G = |  1    0    0  |    A^T = | 1  1  1  0 |
//         | 0  1  1  0 |        | 1/2  1/2  1/2 |          | 0  1 -1 -1 |
//         | 0 -1  1  0 |        | 1/2 -1/2  1/2 |
//         | 0  1  0 -1 |        |  0    0    1  |
// so 16 multiplies a tile and channel pair instead of 36. Summed over the
// input channels, each of the 16 positions xi of the 4 x 4 product is a
// matrix multiply:  M_xi (O x tiles) = U_xi (O x C) * V_xi (C x tiles),
// U = G g G^T (the weights, transformed once), V = B^T d B (the input, by
// adds and subtracts), after which A^T M A (adds again) gives the tiles.
// The 16 multiplies run on gemm.hpp's macro-kernel.
//
// Not the direct sums: the transforms round differently, so results differ
// from the reference loops by a few units in the last place more than the
// other fast ways do (tests bound it). Every output is computed by one block
// of tiles in a fixed order, so the bits do not depend on the thread count.
#pragma once
#include <vector>

#include "../layers/conv.hpp"

namespace allconv {

// Whether a layer can go this way: a 3 x 3 kernel, stride 1, padding 0 to 2.
bool winograd_fits(const ConvGeom& g);

// Whether it also pays: enough input and output channels that the 16
// multiplies, not the transforms, take the time; for the weight gradients
// also images of 8 x 8 pixels or more.
bool winograd_pays_off(const ConvGeom& g);
bool winograd_pays_off_for_weights(const ConvGeom& g);

// Whether a fast call goes this way: the layer fits, and the caller forces it
// (`forced`) or leaves the choice to the fast path (`cheaper`) and it `pays`.
inline bool by_winograd(const ConvGeom& g, bool forced, bool cheaper, bool pays) {
    return winograd_fits(g) && (forced || (cheaper && pays));
}

// dst = the 16 matrices U_xi, each packed as the macro-kernel's A (O rows, C
// deep: pack_a's layout), xi after xi (a cache line between them). `turned`: of the kernels turned half a
// turn with input and output channels swapped (backward to the input as a
// forward convolution), for the layer g; otherwise of w itself.
template <class T>
void winograd_weights(const ConvGeom& g, const T* w, bool turned, std::vector<T>& dst);

// y = the convolution g of x, plus the bias b, by F(2x2, 3x3) with u from
// winograd_weights; relu (when given) = the ReLU of y. Overwrites.
template <class T>
void conv_forward_winograd(const ConvGeom& g, const T* x, const T* u, const T* b, T* y, T* relu, int threads);

// dw += the weight gradients of the convolution g for input x and output
// gradient dy, by the same algorithm turned around (the bias's are not here).
template <class T>
void conv_backward_weights_winograd(const ConvGeom& g, const T* x, const T* dy, T* dw, int threads);

} // namespace allconv
