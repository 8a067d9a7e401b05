// file: whole files in and out, and how much a file may make allconv read or
// allocate. Every reader of a format starts from read_file_bytes; every
// writer ends in write_file_atomic.
//
// Limits are 64-bit constants, compared in 64-bit arithmetic before anything
// is converted to size_t, so a check means the same on 32- and 64-bit hosts.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace allconv {

// Any file read whole, any decompressed stream, any array in a file: 1 GiB.
constexpr std::uint64_t max_file_bytes = std::uint64_t(1) << 30;
// Elements of one tensor: int index arithmetic in the layers stays exact.
constexpr std::uint64_t max_tensor_elements = (std::uint64_t(1) << 31) - 1;

// v as a size_t, after checking v <= limit (and that this host can address it);
// otherwise std::runtime_error("<what> is N, more than the limit of L").
std::size_t checked_size(std::uint64_t v, std::uint64_t limit, const std::string& what);
// a * b, or std::runtime_error naming `what` when the product exceeds limit.
std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b, std::uint64_t limit, const std::string& what);

// The whole file. Throws std::runtime_error("<path>: <problem>") when it is
// missing, not a regular file, unreadable or larger than max_file_bytes.
std::vector<std::uint8_t> read_file_bytes(const std::string& path);
std::string read_text_file(const std::string& path);

// Writes to a temporary file in the same folder, then renames it over `path`,
// so a reader sees the old file or the new one, never half of one.
void write_file_atomic(const std::string& path, const std::vector<std::uint8_t>& bytes);

} // namespace allconv
