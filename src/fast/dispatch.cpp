// dispatch: reference or fast, and how the fast path splits work.
#include "dispatch.hpp"

#include <algorithm>
#include <functional>

#include "conv_fast.hpp"
#include "parallel.hpp"

namespace allconv {
namespace dispatch {

namespace {

// The threads for a job of `work` multiply-adds (a conv layer) or values (the
// others): one where handing part of it to another thread costs more than it
// saves (a wake-up of some microseconds, the data moving to that core).
// Measured, batch 1 on two threads: the shipped model's forward pass (conv
// layers of 0.2-7 M multiply-adds) took 0.70 ms with every layer split, 0.39-
// 0.43 with those under 10 M kept on one thread (one thread: 0.40).
int threads_for(const Compute& c, double work, double limit) { return work < limit ? 1 : c.threads; }

int conv_threads(const Compute& c, const ConvGeom& g) {
    const double multiply_adds = double(g.batch) * g.out_c * g.out_h * g.out_w * g.in_c * g.k * g.k;
    return threads_for(c, multiply_adds, 1e7);
}

// ReLU and max-pool act on each plane (one channel of one image) on its own,
// so the fast path gives each thread a run of whole planes: any split gives
// the same bits. fn(first, count) handles planes first .. first+count-1;
// `values`: how many the planes hold, the larger of input and output.
void over_planes(const Compute& c, int planes, std::size_t values,
                 const std::function<void(int first, int count)>& fn) {
    const int threads = threads_for(c, double(values), 1 << 18);
    if (!c.fast || threads == 1) {
        fn(0, planes);
        return;
    }
    const int tasks = std::min(planes, 4 * threads);
    parallel_for(tasks, threads, [&](int t) {
        const int first = int(long(planes) * t / tasks), last = int(long(planes) * (t + 1) / tasks);
        if (last > first) fn(first, last - first);
    });
}

// A run of `count` planes of a pooling layer is itself a pooling layer: a
// batch of `count` one-channel images.
PoolGeom planes_geom(const PoolGeom& g, int count) {
    PoolGeom p = g;
    p.batch = count;
    p.channels = 1;
    return p;
}

} // namespace

template <class T>
void conv_forward(const Compute& c, const ConvGeom& g, const T* x, const T* w, const T* b, T* y, T* relu) {
    if (c.fast) {
        conv_forward_fast(g, x, w, b, y, conv_threads(c, g), Im2col::cheaper, c.packs, relu);
        return;
    }
    allconv::conv_forward(g, x, w, b, y);
    if (relu) allconv::relu_forward(g.out_shape().size(), y, relu);
}

template <class T>
void conv_backward_input(const Compute& c, const ConvGeom& g, const T* dy, const T* w, T* dx) {
    if (c.fast) conv_backward_input_fast(g, dy, w, dx, conv_threads(c, g), Im2col::cheaper, c.packs);
    else allconv::conv_backward_input(g, dy, w, dx);
}

template <class T>
void conv_backward_weights(const Compute& c, const ConvGeom& g, const T* x, const T* dy, T* dw, T* db) {
    if (c.fast) conv_backward_weights_fast(g, x, dy, dw, db, conv_threads(c, g));
    else allconv::conv_backward_weights(g, x, dy, dw, db);
}

template <class T>
void relu_forward(const Compute& c, int planes, std::size_t count, const T* f, T* y) {
    const std::size_t plane = planes > 0 ? count / std::size_t(planes) : 0;
    over_planes(c, planes, count, [&](int first, int n) { allconv::relu_forward(n * plane, f + first * plane, y + first * plane); });
}

template <class T>
void relu_backward(const Compute& c, Rule rule, int planes, std::size_t count, const T* f, const T* r, T* out) {
    const std::size_t plane = planes > 0 ? count / std::size_t(planes) : 0;
    over_planes(c, planes, count, [&](int first, int n) {
        allconv::relu_backward(rule, n * plane, f + first * plane, r + first * plane, out + first * plane);
    });
}

template <class T>
void maxpool_forward(const Compute& c, const PoolGeom& g, const T* x, T* y, std::int32_t* switches) {
    const std::size_t in_plane = std::size_t(g.in_h) * g.in_w, out_plane = std::size_t(g.out_h) * g.out_w;
    over_planes(c, g.batch * g.channels, g.batch * g.channels * in_plane, [&](int first, int n) {
        allconv::maxpool_forward(planes_geom(g, n), x + first * in_plane, y + first * out_plane,
                                 switches + first * out_plane);
    });
}

template <class T>
void maxpool_backward(const Compute& c, const PoolGeom& g, const T* dy, const std::int32_t* switches, T* dx) {
    const std::size_t in_plane = std::size_t(g.in_h) * g.in_w, out_plane = std::size_t(g.out_h) * g.out_w;
    over_planes(c, g.batch * g.channels, g.batch * g.channels * in_plane, [&](int first, int n) {
        allconv::maxpool_backward(planes_geom(g, n), dy + first * out_plane, switches + first * out_plane,
                                  dx + first * in_plane);
    });
}

template void conv_forward<float>(const Compute&, const ConvGeom&, const float*, const float*, const float*, float*,
                                  float*);
template void conv_backward_input<float>(const Compute&, const ConvGeom&, const float*, const float*, float*);
template void conv_backward_weights<float>(const Compute&, const ConvGeom&, const float*, const float*, float*, float*);
template void relu_forward<float>(const Compute&, int, std::size_t, const float*, float*);
template void relu_backward<float>(const Compute&, Rule, int, std::size_t, const float*, const float*, float*);
template void maxpool_forward<float>(const Compute&, const PoolGeom&, const float*, float*, std::int32_t*);
template void maxpool_backward<float>(const Compute&, const PoolGeom&, const float*, const std::int32_t*, float*);
template void conv_forward<double>(const Compute&, const ConvGeom&, const double*, const double*, const double*, double*,
                                   double*);
template void conv_backward_input<double>(const Compute&, const ConvGeom&, const double*, const double*, double*);
template void conv_backward_weights<double>(const Compute&, const ConvGeom&, const double*, const double*, double*, double*);
template void relu_forward<double>(const Compute&, int, std::size_t, const double*, double*);
template void relu_backward<double>(const Compute&, Rule, int, std::size_t, const double*, const double*, double*);
template void maxpool_forward<double>(const Compute&, const PoolGeom&, const double*, double*, std::int32_t*);
template void maxpool_backward<double>(const Compute&, const PoolGeom&, const double*, const std::int32_t*, double*);

} // namespace dispatch
} // namespace allconv
