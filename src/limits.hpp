// limits: how much a file may make allconv read or allocate. The numbers are
// 64-bit constants, compared in 64-bit arithmetic before anything is converted
// to size_t, so a check means the same on a 32-bit and a 64-bit host.
#pragma once
#include <cstdint>
#include <string>

namespace allconv {

// Any file read whole, any decompressed stream, any array in a file: 1 GiB.
constexpr std::uint64_t max_file_bytes = std::uint64_t(1) << 30;
// Elements of one tensor: int index arithmetic in the layers stays exact.
constexpr std::uint64_t max_tensor_elements = (std::uint64_t(1) << 31) - 1;

// v as a size_t, after checking v <= limit (and that this host can address it);
// otherwise std::runtime_error("<what> is N bytes, more than the limit of L").
std::size_t checked_size(std::uint64_t v, std::uint64_t limit, const std::string& what);

// a * b, or std::runtime_error naming `what` when the product exceeds limit.
std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b, std::uint64_t limit, const std::string& what);

} // namespace allconv
