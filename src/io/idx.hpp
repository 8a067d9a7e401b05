// idx: the IDX format of MNIST and Fashion-MNIST (plain or gzip-compressed).
// Header: two zero bytes, a type byte (0x08 = unsigned byte), the number of
// dimensions, then each dimension as a big-endian 32-bit count.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace allconv {

struct IdxImages {
    int count = 0, rows = 0, cols = 0;
    std::vector<std::uint8_t> pixels; // count * rows * cols, row-major
};

// Plain or gzipped (a gzipped file is never unpacked past what its IDX header
// promises). Throw std::runtime_error("<path>: <problem>") for missing,
// truncated or corrupt files (bad magic, sizes that disagree with the file length).
IdxImages read_idx_images(const std::string& path);
std::vector<std::uint8_t> read_idx_labels(const std::string& path, int classes = 10);

// Parses IDX bytes already in memory (`name` is for messages).
IdxImages parse_idx_images(const std::vector<std::uint8_t>& bytes, const std::string& name);
std::vector<std::uint8_t> parse_idx_labels(const std::vector<std::uint8_t>& bytes, const std::string& name, int classes);


} // namespace allconv
