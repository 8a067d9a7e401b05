// image: PNM parsing with every header number checked against the file size.
#include "image.hpp"

#include <cctype>
#include <cmath>
#include <stdexcept>

#include "file.hpp"
#include "npy.hpp"

namespace allconv {

namespace {

// Next header number, skipping white space and '#' comments.
long pnm_number(const std::vector<std::uint8_t>& b, std::size_t& pos, const std::string& name) {
    for (;;) {
        while (pos < b.size() && std::isspace(b[pos])) ++pos;
        if (pos < b.size() && b[pos] == '#') {
            while (pos < b.size() && b[pos] != '\n') ++pos;
            continue;
        }
        break;
    }
    long v = 0;
    std::size_t start = pos;
    while (pos < b.size() && b[pos] >= '0' && b[pos] <= '9') {
        v = v * 10 + (b[pos] - '0');
        if (v > 1000000) throw std::runtime_error(name + ": header number too large");
        ++pos;
    }
    if (pos == start) throw std::runtime_error(name + ": malformed PGM/PPM header");
    return v;
}

} // namespace

Tensor<float> parse_pnm(const std::vector<std::uint8_t>& b, const std::string& name) {
    if (b.size() < 2 || b[0] != 'P' || (b[1] != '5' && b[1] != '6'))
        throw std::runtime_error(name + ": not a binary PGM (P5) or PPM (P6) image");
    const int channels = b[1] == '6' ? 3 : 1;
    std::size_t pos = 2;
    long w = pnm_number(b, pos, name), h = pnm_number(b, pos, name), maxval = pnm_number(b, pos, name);
    if (w < 1 || h < 1 || w > 16384 || h > 16384 || std::uint64_t(w) * std::uint64_t(h) * channels > max_image_values)
        throw std::runtime_error(name + ": implausible image size " + std::to_string(w) + "x" + std::to_string(h));
    if (maxval < 1 || maxval > 255) throw std::runtime_error(name + ": only 8-bit images are supported (maxval " + std::to_string(maxval) + ")");
    if (pos >= b.size() || !std::isspace(b[pos])) throw std::runtime_error(name + ": malformed PGM/PPM header");
    ++pos; // the single white-space byte before the samples
    const std::size_t need = std::size_t(w) * h * channels;
    if (b.size() - pos < need) throw std::runtime_error(name + ": truncated image data");
    Tensor<float> t({1, channels, int(h), int(w)});
    for (long y = 0; y < h; ++y)
        for (long x = 0; x < w; ++x)
            for (int c = 0; c < channels; ++c) // interleaved RGB -> planar CHW
                t.at(0, c, int(y), int(x)) = b[pos + (std::size_t(y) * w + x) * channels + c] / float(maxval);
    return t;
}

Tensor<float> image_from_bytes(const std::vector<std::uint8_t>& bytes, const std::string& name) {
    if (!(name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0)) return parse_pnm(bytes, name);
    const NpyArray a = npy_decode(bytes.data(), bytes.size(), name);
    std::vector<long> s = a.shape;
    if (s.size() == 2) s.insert(s.begin(), 1);
    if (s.size() == 4 && s[0] == 1) s.erase(s.begin());
    if (s.size() != 3 || s[0] < 1 || s[1] < 1 || s[2] < 1)
        throw std::runtime_error(name + ": expected an array of shape (H, W), (C, H, W) or (1, C, H, W)");
    if (a.count() > max_image_values) throw std::runtime_error(name + ": more than " + std::to_string(max_image_values) + " values");
    Tensor<float> t({1, int(s[0]), int(s[1]), int(s[2])});
    t.data = a.to_finite_float(name);
    return t;
}

Tensor<float> read_image(const std::string& path) { return image_from_bytes(read_file_bytes(path), path); }

std::uint8_t pixel_byte(float v) {
    const float clamped = v > 0 ? (v < 1 ? v : 1.0f) : 0.0f; // NaN -> 0
    return std::uint8_t(std::lround(clamped * 255));
}

std::vector<std::uint8_t> pnm_encode(const Tensor<float>& image) {
    const Shape s = image.shape;
    if (s.n != 1 || (s.c != 1 && s.c != 3)) throw std::invalid_argument("PGM/PPM: 1 or 3 channels only");
    std::string header = std::string(s.c == 3 ? "P6" : "P5") + "\n" + std::to_string(s.w) + " " + std::to_string(s.h) + "\n255\n";
    std::vector<std::uint8_t> out(header.begin(), header.end());
    for (int y = 0; y < s.h; ++y)
        for (int x = 0; x < s.w; ++x)
            for (int c = 0; c < s.c; ++c) out.push_back(pixel_byte(image.at(0, c, y, x)));
    return out;
}

void write_pnm(const std::string& path, const Tensor<float>& image) { write_file_atomic(path, pnm_encode(image)); }

} // namespace allconv
