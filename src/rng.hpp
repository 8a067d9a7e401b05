// rng: a small portable random number generator (SplitMix64) with its own
// uniform and normal conversions.
//
// Why not <random>? std::normal_distribution is implemented differently by
// libstdc++ and libc++, so weights from "seed 1" would differ between
// compilers. Everything here is integer arithmetic plus +,-,*,/ and sqrt
// (which IEEE 754 rounds exactly), compiled without FMA contraction, so the
// same seed gives the same bits everywhere.
#pragma once
#include <cstdint>

namespace allconv {

class Rng {
public:
    explicit Rng(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next_u64();
    double uniform();          // in [0, 1), 53 random bits
    double normal();           // standard normal, Marsaglia's polar method
    std::uint32_t below(std::uint32_t n); // uniform integer in [0, n), n > 0

private:
    std::uint64_t state_;
};

// Natural logarithm from + - * / only (x > 0); exact to about 1 ulp.
double portable_log(double x);

} // namespace allconv
