// peak: N independent accumulators, each a chain of x = x * m + c. Enough
// chains in flight fill every FMA pipe (latency x pipes x lanes is at most
// 4 x 2 x 16 = 128 today); too many spill out of the registers. Which N fits
// depends on the vector width and the compiler, so several are tried and the
// best counts. Compiled with the fast path's flags.
#include "peak.hpp"

#include <algorithm>
#include <chrono>

namespace allconv {

namespace {

// Kept out of line, and fed through memory, so the compiler cannot fold the loop away.
template <int N>
[[gnu::noinline]] void chains(float* x, long iterations, float m, float c) {
    float acc[N];
    for (int i = 0; i < N; ++i) acc[i] = x[i];
    for (long it = 0; it < iterations; ++it)
        for (int i = 0; i < N; ++i) acc[i] = acc[i] * m + c;
    for (int i = 0; i < N; ++i) x[i] = acc[i];
}

// The best rate of N chains over about `seconds`.
template <int N>
double chains_gflops(double seconds) {
    float x[N];
    for (int i = 0; i < N; ++i) x[i] = 1.0f + float(i) * 1e-3f;
    volatile float m = 0.9999999f, c = 1e-7f; // values near a fixed point: no overflow, no denormals
    long iterations = 1000;
    double best = 0, spent = 0;
    while (spent < seconds) {
        const auto start = std::chrono::steady_clock::now();
        chains<N>(x, iterations, m, c);
        const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        spent += t;
        if (t > 0.01) best = std::max(best, 2.0 * N * double(iterations) / t / 1e9);
        if (t < 0.05) iterations *= 2;
    }
    return best;
}

} // namespace

double fma_peak_gflops(double seconds) {
    const double each = seconds / 6;
    return std::max({chains_gflops<32>(each), chains_gflops<64>(each), chains_gflops<96>(each),
                     chains_gflops<128>(each), chains_gflops<192>(each), chains_gflops<256>(each)});
}

} // namespace allconv
