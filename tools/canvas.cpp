// canvas: pixel drawing and the glyphs of a tiny bitmap font.
#include "canvas.hpp"

#include <cmath>
#include <stdexcept>

#include "io/image.hpp"

namespace allconv {

namespace {

// Each glyph: 7 rows of 5 columns, row after row, '#' = ink.
const char* glyph(char c) {
    switch (c) {
    case 'a': return "...........###.....#.#####...#.####";
    case 'b': return "#....#....#.##.##..##...##...#####.";
    case 'c': return "...........###.#....#....#...#.###.";
    case 'd': return "....#....#.##.##..###...##...#.####";
    case 'e': return "...........###.#...#######.....###.";
    case 'g': return "...........#####...#.####....#.###.";
    case 'h': return "#....#....#.##.##..##...##...##...#";
    case 'i': return "..#........##....#....#....#...###.";
    case 'k': return "#....#....#..#.#.#..##...#.#..#..#.";
    case 'l': return ".##....#....#....#....#....#...###.";
    case 'n': return "..........#.##.##..##...##...##...#";
    case 'o': return "...........###.#...##...##...#.###.";
    case 'p': return "..........####.#...#####.#....#....";
    case 'r': return "..........#.##.##..##....#....#....";
    case 's': return "...........#####.....###.....#####.";
    case 't': return ".#....#...###...#....#....#..#..##.";
    case 'u': return "..........#...##...##...##..##.##.#";
    case 'v': return "..........#...##...##...#.#.#...#..";
    case 'y': return "..........#...##...#.####....#.###.";
    case '0': return ".###.#...##..###.#.###..##...#.###.";
    case '1': return "..#...##....#....#....#....#...###.";
    case '2': return ".###.#...#....#...#...#...#...#####";
    case '3': return "#####...#...#.....#.....##...#.###.";
    case '4': return "...#...##..#.#.#..#.#####...#....#.";
    case '5': return "######....####.....#....##...#.###.";
    case '6': return "..##..#...#....####.#...##...#.###.";
    case '7': return "#####....#...#...#...#....#....#...";
    case '8': return ".###.#...##...#.###.#...##...#.###.";
    case '9': return ".###.#...##...#.####....#...#..##..";
    case ':': return "......##...##........##...##.......";
    case '-': return "...............#####...............";
    case '.': return "..........................##...##..";
    case '/': return ".........#...#...#...#...#.........";
    case 'f': return "..##..#..#.#...###...#....#....#...";
    case 'j': return "...#........##....#....#.#..#..##..";
    case 'm': return "..........##.#.#.#.##.#.##...##...#";
    case 'q': return "...........#####...#.####....#....#";
    case 'w': return "..........#...##...##.#.##.#.#.#.#.";
    case 'x': return "..........#...#.#.#...#...#.#.#...#";
    case 'z': return "..........#####...#...#...#...#####";
    case ' ': return "...................................";
    default: return "";
    }
}

} // namespace

Canvas::Canvas(int w, int h, std::uint8_t background) : width(w), height(h), rgb(std::size_t(w) * h * 3, background) {
    if (w < 1 || h < 1 || w > 30000 || h > 30000) throw std::invalid_argument("canvas: bad size");
}

void Canvas::set(int x, int y, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    std::uint8_t* p = &rgb[(std::size_t(y) * width + x) * 3];
    p[0] = r;
    p[1] = g;
    p[2] = b;
}

void Canvas::draw_image(int x0, int y0, const Tensor<float>& image, int scale) {
    const Shape s = image.shape;
    if (s.c != 1 && s.c != 3) throw std::invalid_argument("canvas: images need 1 or 3 channels");
    for (int y = 0; y < s.h; ++y)
        for (int x = 0; x < s.w; ++x) {
            std::uint8_t r = pixel_byte(image.at(0, 0, y, x));
            std::uint8_t g = s.c == 3 ? pixel_byte(image.at(0, 1, y, x)) : r;
            std::uint8_t b = s.c == 3 ? pixel_byte(image.at(0, 2, y, x)) : r;
            for (int dy = 0; dy < scale; ++dy)
                for (int dx = 0; dx < scale; ++dx) set(x0 + x * scale + dx, y0 + y * scale + dy, r, g, b);
        }
}

void Canvas::draw_text(int x0, int y0, const std::string& text, int scale) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char* g = glyph(text[i]);
        for (int k = 0; k < 35 && g[k] != '\0'; ++k) {
            if (g[k] != '#') continue;
            int gx = k % 5, gy = k / 5;
            for (int dy = 0; dy < scale; ++dy)
                for (int dx = 0; dx < scale; ++dx)
                    set(x0 + (int(i) * 6 + gx) * scale + dx, y0 + gy * scale + dy, 0, 0, 0);
        }
    }
}

} // namespace allconv
