// limits: checked conversions of sizes that came from files.
#include "limits.hpp"

#include <cstddef>
#include <limits>
#include <stdexcept>

namespace allconv {

std::size_t checked_size(std::uint64_t v, std::uint64_t limit, const std::string& what) {
    if (v > limit || v > std::uint64_t(std::numeric_limits<std::size_t>::max()))
        throw std::runtime_error(what + " is " + std::to_string(v) + ", more than the limit of " + std::to_string(limit));
    return std::size_t(v);
}

std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b, std::uint64_t limit, const std::string& what) {
    if (a != 0 && b > limit / a)
        throw std::runtime_error(what + " exceeds the limit of " + std::to_string(limit));
    return a * b;
}

} // namespace allconv
