// image: reading input images: binary PGM (P5, gray) and PPM (P6, RGB) with
// 8-bit samples, and .npy arrays of shape (H, W), (C, H, W) or (1, C, H, W).
// PGM/PPM pixels are scaled to [0, 1]; .npy values are taken as they are (the
// same [0, 1] scale is expected). Colour stays in RGB order.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "../tensor.hpp"

namespace allconv {

// An input image holds at most 2^26 values (8192 x 8192 RGB).
constexpr std::uint64_t max_image_values = std::uint64_t(1) << 26;

// A (1, C, H, W) tensor. Throws std::runtime_error("<path>: <problem>").
Tensor<float> read_image(const std::string& path);
// The same from bytes already read: .npy when `name` ends so, else PGM/PPM.
Tensor<float> image_from_bytes(const std::vector<std::uint8_t>& bytes, const std::string& name);
Tensor<float> parse_pnm(const std::vector<std::uint8_t>& bytes, const std::string& name);

// A pixel value in [0, 1] as a byte 0..255 (values outside are clamped).
std::uint8_t pixel_byte(float v);

// A binary PGM (C = 1) or PPM (C = 3) of pixels in [0, 1], as bytes; and written (atomic).
std::vector<std::uint8_t> pnm_encode(const Tensor<float>& image);
void write_pnm(const std::string& path, const Tensor<float>& image);

} // namespace allconv
