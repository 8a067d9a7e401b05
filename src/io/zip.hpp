// zip: the container of .npz files (PKWARE APPNOTE 6.3): local headers with
// the data, a central directory listing them, an end record pointing at it;
// ZIP64 records for archives past 4 GiB. Written stored (uncompressed) as
// numpy.savez does; read stored or deflated, with or without ZIP64 fields.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace allconv {

struct ZipEntry {
    std::string name;
    std::vector<std::uint8_t> data;
};

// Stored entries with correct CRC-32s, in the given order.
std::vector<std::uint8_t> zip_encode(const std::vector<ZipEntry>& entries);

// For a compressed entry: the size its own first bytes (up to 4 KiB) say it
// has, or 0 when they do not tell. Lets a reader refuse a mismatch before
// unpacking the whole entry.
using ZipSizeCheck = std::function<std::uint64_t(const std::string& entry, const std::vector<std::uint8_t>& first)>;

// Every entry, checked: each offset and length against the bytes really there,
// declared sizes against the limits of file.hpp (the whole archive may not
// unpack to more than max_file_bytes) and against `size_check`, CRC-32s, and
// no name twice. Throws std::runtime_error("<name>: <problem>").
std::vector<ZipEntry> zip_decode(const std::vector<std::uint8_t>& file, const std::string& name,
                                 const ZipSizeCheck& size_check = nullptr);

} // namespace allconv
