// rng: SplitMix64 (Steele, Lea, Flood 2014) and portable conversions.
#include "rng.hpp"

#include <cmath>

namespace allconv {

std::uint64_t Rng::next_u64() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double Rng::uniform() {
    return double(next_u64() >> 11) * (1.0 / 9007199254740992.0); // 2^-53
}

std::uint32_t Rng::below(std::uint32_t n) {
    // Lemire's multiply-shift; the tiny bias (< 2^-32) does not matter here.
    return std::uint32_t(((next_u64() >> 32) * std::uint64_t(n)) >> 32);
}

double portable_log(double x) {
    // x = m * 2^e exactly (frexp is exact), then move m into [sqrt(1/2), sqrt(2)).
    int e = 0;
    double m = std::frexp(x, &e);
    if (m < 0.70710678118654752) {
        m *= 2.0;
        e -= 1;
    }
    // log(m) = 2 * atanh(s) = 2 * (s + s^3/3 + s^5/5 + ...), s = (m-1)/(m+1), |s| < 0.172.
    double s = (m - 1.0) / (m + 1.0);
    double s2 = s * s;
    double sum = 0.0;
    for (int k = 25; k >= 1; k -= 2) sum = sum * s2 + 1.0 / k; // Horner, 13 terms
    const double ln2 = 0.69314718055994530942;
    return e * ln2 + 2.0 * s * sum;
}

double Rng::normal() {
    for (;;) {
        double u = 2.0 * uniform() - 1.0;
        double v = 2.0 * uniform() - 1.0;
        double s = u * u + v * v;
        if (s > 0.0 && s < 1.0) return u * std::sqrt(-2.0 * portable_log(s) / s);
    }
}

} // namespace allconv
