// peak: 256 independent accumulators, each a chain of x = x * m + c: enough
// chains in flight to fill every FMA pipe of any CPU (latency x pipes x lanes
// is at most 4 x 2 x 16 = 128 today), compiled with the fast path's flags.
#include "peak.hpp"

#include <algorithm>
#include <chrono>

namespace allconv {

namespace {

// Kept out of line, and fed through memory, so the compiler cannot fold the loop away.
[[gnu::noinline]] void chains(float* x, long iterations, float m, float c) {
    float acc[256];
    for (int i = 0; i < 256; ++i) acc[i] = x[i];
    for (long it = 0; it < iterations; ++it)
        for (int i = 0; i < 256; ++i) acc[i] = acc[i] * m + c;
    for (int i = 0; i < 256; ++i) x[i] = acc[i];
}

} // namespace

double fma_peak_gflops(double seconds) {
    float x[256];
    for (int i = 0; i < 256; ++i) x[i] = 1.0f + float(i) * 1e-3f;
    volatile float m = 0.9999999f, c = 1e-7f; // values near a fixed point: no overflow, no denormals
    long iterations = 1000;
    double best = 0, spent = 0;
    while (spent < seconds) {
        const auto start = std::chrono::steady_clock::now();
        chains(x, iterations, m, c);
        const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        spent += t;
        if (t > 0.01) best = std::max(best, 2.0 * 256 * double(iterations) / t / 1e9);
        if (t < 0.05) iterations *= 2;
    }
    return best;
}

} // namespace allconv
