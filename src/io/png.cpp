// png: chunks and a stored-block zlib stream.
#include "png.hpp"

#include <stdexcept>

#include "bytes.hpp"
#include "inflate.hpp"
#include "file.hpp"

namespace allconv {

namespace {

void chunk(std::vector<std::uint8_t>& png, const char type[4], const std::vector<std::uint8_t>& data) {
    append_be32(png, std::uint32_t(data.size()));
    std::size_t start = png.size();
    png.insert(png.end(), type, type + 4);
    png.insert(png.end(), data.begin(), data.end());
    append_be32(png, crc32(png.data() + start, png.size() - start)); // CRC over type and data
}

} // namespace

std::vector<std::uint8_t> png_encode(int width, int height, int channels, const std::vector<std::uint8_t>& pixels) {
    if (width < 1 || height < 1 || (channels != 1 && channels != 3))
        throw std::invalid_argument("png: bad image size or channel count");
    const std::size_t row = std::size_t(width) * channels;
    if (pixels.size() != row * height) throw std::invalid_argument("png: pixel buffer does not match the size");
    // Raw scanlines: a filter byte (0 = none) before each row.
    std::vector<std::uint8_t> raw;
    raw.reserve((row + 1) * height);
    for (int y = 0; y < height; ++y) {
        raw.push_back(0);
        raw.insert(raw.end(), pixels.begin() + long(y * row), pixels.begin() + long((y + 1) * row));
    }
    // zlib: header 78 01, stored blocks of at most 65535 bytes, Adler-32 (big-endian).
    std::vector<std::uint8_t> z = {0x78, 0x01};
    std::size_t pos = 0;
    do {
        std::size_t n = std::min<std::size_t>(65535, raw.size() - pos);
        bool last = pos + n == raw.size();
        z.push_back(last ? 1 : 0);
        z.push_back(std::uint8_t(n));
        z.push_back(std::uint8_t(n >> 8));
        z.push_back(std::uint8_t(~n));
        z.push_back(std::uint8_t(~n >> 8));
        z.insert(z.end(), raw.begin() + long(pos), raw.begin() + long(pos + n));
        pos += n;
    } while (pos < raw.size());
    append_be32(z, adler32(raw.data(), raw.size()));

    std::vector<std::uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    std::vector<std::uint8_t> ihdr;
    append_be32(ihdr, std::uint32_t(width));
    append_be32(ihdr, std::uint32_t(height));
    ihdr.push_back(8);                       // bit depth
    ihdr.push_back(channels == 3 ? 2 : 0);   // colour type: RGB or gray
    ihdr.push_back(0);                       // compression
    ihdr.push_back(0);                       // filter
    ihdr.push_back(0);                       // no interlace
    chunk(png, "IHDR", ihdr);
    chunk(png, "IDAT", z);
    chunk(png, "IEND", {});
    return png;
}

void write_png(const std::string& path, int width, int height, int channels, const std::vector<std::uint8_t>& pixels) {
    write_file_atomic(path, png_encode(width, height, channels, pixels));
}

} // namespace allconv
