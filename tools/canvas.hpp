// canvas: an RGB picture to lay out result grids on, with a tiny 5x7 bitmap
// font for column headers. Written out with png.hpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tensor.hpp"

namespace allconv {

struct Canvas {
    int width = 0, height = 0;
    std::vector<std::uint8_t> rgb; // height rows of width * 3 bytes

    Canvas(int w, int h, std::uint8_t background = 255);
    void set(int x, int y, std::uint8_t r, std::uint8_t g, std::uint8_t b);
    // An image (1, C, H, W) with values in [0, 1], C = 1 (gray) or 3 (RGB),
    // each pixel drawn as a scale x scale block with its top-left at (x0, y0).
    void draw_image(int x0, int y0, const Tensor<float>& image, int scale);
    // Lower-case letters, digits and ":-./" (others are blank), 5x7 glyphs
    // with one column of spacing, magnified by scale.
    void draw_text(int x0, int y0, const std::string& text, int scale);
    static int text_width(const std::string& text, int scale) { return int(text.size()) * 6 * scale; }
};

} // namespace allconv
