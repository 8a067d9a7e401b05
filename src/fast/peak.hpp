// peak: this core's fused multiply-add throughput, measured by loops of
// independent multiply-adds the compiler vectorises (and fuses, where the CPU
// can), the yardstick `allconv bench` gives every figure against.
#pragma once

namespace allconv {

// Single-thread float GFLOP/s (a multiply-add counts 2), the best of a few
// runs of about `seconds` in all.
double fma_peak_gflops(double seconds = 0.6);

} // namespace allconv
