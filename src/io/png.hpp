// png: a minimal PNG encoder (8-bit gray or RGB), written here.
// Layout: signature, IHDR, one IDAT holding a zlib stream of "stored"
// (uncompressed) DEFLATE blocks, IEND; every chunk carries its CRC-32 and the
// zlib stream its Adler-32, so any PNG reader accepts it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace allconv {

// pixels: height rows of width * channels bytes (channels 1 = gray, 3 = RGB).
std::vector<std::uint8_t> png_encode(int width, int height, int channels, const std::vector<std::uint8_t>& pixels);
void write_png(const std::string& path, int width, int height, int channels, const std::vector<std::uint8_t>& pixels);

} // namespace allconv
