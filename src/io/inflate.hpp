// inflate: DEFLATE decompression (RFC 1951) with the gzip (RFC 1952) and zlib
// (RFC 1950) wrappers, and the CRC-32 / Adler-32 checksums they use.
// Written here so the project reads Fashion-MNIST's .gz files and
// numpy.savez_compressed's .npz entries with no library.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "file.hpp"

namespace allconv {

std::uint32_t crc32(const std::uint8_t* data, std::size_t size, std::uint32_t crc = 0);
std::uint32_t adler32(const std::uint8_t* data, std::size_t size, std::uint32_t adler = 1);

// Raw DEFLATE stream. Throws std::runtime_error("<name>: <problem>") for corrupt
// or truncated data, or when the output would exceed max_output bytes.
std::vector<std::uint8_t> inflate_raw(const std::uint8_t* data, std::size_t size, const std::string& name,
                                      std::size_t max_output, std::size_t* consumed = nullptr);

// The first `count` bytes of a raw DEFLATE stream (fewer when it is shorter),
// without unpacking the rest: enough to read a header before trusting it.
std::vector<std::uint8_t> inflate_prefix(const std::uint8_t* data, std::size_t size, const std::string& name,
                                         std::size_t count);
// The same for the first member of a .gz file.
std::vector<std::uint8_t> gunzip_prefix(const std::vector<std::uint8_t>& file, const std::string& name,
                                        std::size_t count);

// A whole .gz file (one or more members): checks magic, method, CRC-32 and length.
std::vector<std::uint8_t> gunzip(const std::vector<std::uint8_t>& file, const std::string& name,
                                 std::size_t max_output = std::size_t(max_file_bytes));

// True when the bytes start with the gzip magic 1f 8b.
bool is_gzip(const std::vector<std::uint8_t>& file);

} // namespace allconv
