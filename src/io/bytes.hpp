// bytes: the one place where bytes from a file become numbers, and back.
//
// Every format here fixes its byte order: NPY data, zip fields and ONNX are
// little-endian; IDX and PNG are big-endian. A host may be either (s390x is
// big-endian), so multi-byte values are never memcpy'd out of a file: they are
// assembled from their bytes with shifts, which means the same on every host.
// Floats travel as their IEEE 754 bit patterns (a uint32 or uint64), which
// every host this project supports uses for float and double.
#pragma once
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace allconv {

static_assert(std::numeric_limits<float>::is_iec559 && sizeof(float) == 4, "float must be IEEE 754 binary32");
static_assert(std::numeric_limits<double>::is_iec559 && sizeof(double) == 8, "double must be IEEE 754 binary64");

// ---- reading: bytes -> numbers --------------------------------------------

inline std::uint16_t load_le16(const std::uint8_t* p) { return std::uint16_t(p[0] | (unsigned(p[1]) << 8)); }
inline std::uint32_t load_le32(const std::uint8_t* p) {
    return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24;
}
inline std::uint64_t load_le64(const std::uint8_t* p) { return load_le32(p) | std::uint64_t(load_le32(p + 4)) << 32; }
inline std::uint32_t load_be32(const std::uint8_t* p) {
    return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | std::uint32_t(p[3]);
}
inline std::uint64_t load_be64(const std::uint8_t* p) { return std::uint64_t(load_be32(p)) << 32 | load_be32(p + 4); }

// The value with this bit pattern (memcpy between equal-sized types is how
// C++17 spells a bit cast; no byte order is involved).
inline float float_from_bits(std::uint32_t bits) {
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}
inline double double_from_bits(std::uint64_t bits) {
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
}
inline std::uint32_t bits_of(float f) {
    std::uint32_t b;
    std::memcpy(&b, &f, 4);
    return b;
}
inline std::uint64_t bits_of(double d) {
    std::uint64_t b;
    std::memcpy(&b, &d, 8);
    return b;
}

// ---- writing: numbers -> bytes (appended) ---------------------------------

inline void append_le16(std::vector<std::uint8_t>& out, std::uint16_t v) {
    out.push_back(std::uint8_t(v));
    out.push_back(std::uint8_t(v >> 8));
}
inline void append_le32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    for (int shift = 0; shift < 32; shift += 8) out.push_back(std::uint8_t(v >> shift));
}
inline void append_le64(std::vector<std::uint8_t>& out, std::uint64_t v) {
    for (int shift = 0; shift < 64; shift += 8) out.push_back(std::uint8_t(v >> shift));
}
inline void append_be32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(std::uint8_t(v >> shift));
}

} // namespace allconv
