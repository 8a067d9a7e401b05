// dispatch: the one place that chooses between the reference loops of
// src/layers/ and the fast path, and splits work across threads. The network
// (net/net.cpp) calls these whole-tensor functions and never sees either.
//
// Compute{} means the reference loops, one thread: what a reader stepping
// through the code expects. The command line asks for Compute::fast(threads).
// Either way results never depend on the thread count, bit for bit.
#pragma once
#include <cstdint>
#include <vector>

#include "../layers/conv.hpp"
#include "../layers/pool.hpp"
#include "../layers/relu.hpp"

namespace allconv {

class WeightPacks;

struct Compute {
    bool fast = false; // false: src/layers/ reference loops; true: im2col + GEMM, threads
    int threads = 1;   // what the fast path may use
    // The fast path's weights packed once and kept here, for a caller that
    // holds its weights fixed while it uses this (fast/packed_weights.hpp);
    // null: packed on every call. Never changes a result.
    WeightPacks* packs = nullptr;
    static Compute fast_path(int threads, WeightPacks* packs = nullptr) {
        return Compute{true, threads < 1 ? 1 : threads, packs};
    }
};

namespace dispatch {

// As in layers/conv.hpp: y = conv(x, w) + b (overwrites y); dx = transposed
// convolution of dy (overwrites dx); dw += ..., db += ... (accumulate).
// `relu`, when given: also the ReLU layer after the convolution, relu =
// relu_forward(y) (the fast path computes it while y is still in cache).
template <class T>
void conv_forward(const Compute& c, const ConvGeom& g, const T* x, const T* w, const T* b, T* y, T* relu = nullptr);
template <class T>
void conv_backward_input(const Compute& c, const ConvGeom& g, const T* dy, const T* w, T* dx);
template <class T>
void conv_backward_weights(const Compute& c, const ConvGeom& g, const T* x, const T* dy, T* dw, T* db);

// As in layers/relu.hpp, over all of x's `count` values, made of `planes` planes.
template <class T>
void relu_forward(const Compute& c, int planes, std::size_t count, const T* f, T* y);
template <class T>
void relu_backward(const Compute& c, Rule rule, int planes, std::size_t count, const T* f, const T* r, T* out);

// As in layers/pool.hpp; switches has one entry per output.
template <class T>
void maxpool_forward(const Compute& c, const PoolGeom& g, const T* x, T* y, std::int32_t* switches);
template <class T>
void maxpool_backward(const Compute& c, const PoolGeom& g, const T* dy, const std::int32_t* switches, T* dx);

} // namespace dispatch
} // namespace allconv
