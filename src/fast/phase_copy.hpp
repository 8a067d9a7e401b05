// phase_copy: the padded, phase-split copy of a batch of images that the
// forward pass and the weight gradients read the im2col matrix from, in
// place (conv_views.cpp, conv_views_weights.cpp); backward to the input adds
// into the same layout and copies it out (conv_backward_input.cpp).
//
// Copy x once, with its zero padding, split into stride x stride "phases":
// phase (a, b) of channel c is the padded image's pixels (i*s + a, j*s + b),
// hq x wq of them per image, hq = out_h + (k-1)/s and wq = out_w + (k-1)/s.
// Number the output pixels in the same wider grid. Output pixel (oy, ox)
// meets kernel offset (ky, kx) at padded pixel (oy*s + ky, ox*s + kx) =
// phase (ky%s, kx%s), position (oy + ky/s, ox + kx/s), so im2col row
// (c, ky, kx) is the copy itself, read from a fixed offset:
//     col[(c, ky, kx)][j] = copy[offset(c, ky, kx) + j]
// The columns with ox >= out_w or oy >= out_h are read too; the multiply
// either skips them (strips along rows of the grid) or computes and drops them.
//
// Two layouts of the images within a phase plane:
//   one after another  plane (c, a, b), image n, row i, column j:
//                      column index (n*hq + i)*wq + j;
//   side by side       (`lanes` = the batch) plane (c, a, b), row i, column
//                      j, image n: column index (i*wq + j)*lanes + n.
// Side by side, a row of the grid holds every image's row: lanes x out_w
// real columns together, then the dropped ones. For small images (out_w = 6
// or 8) that is long enough for whole strips of the multiply, where one
// image's rows are not.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../layers/conv.hpp"

namespace allconv {

struct Views {
    int s, hq, wq;
    int lanes;        // images side by side (1: one after another)
    long per_image;   // hq * wq: one image's positions
    long plane;       // from one (channel, phase) plane to the next: whole cache lines, an odd number of them
    long row_pitch() const { return long(wq) * lanes; } // from a row of the grid to the next
};

// A block of consecutive columns j0 .. j0 + n - 1 of the grid.
struct Block {
    long j0;
    int n;
};

// The planes are `plane` values apart: whole cache lines of 64 bytes, an odd
// number of them. (A B strip reads rows from up to KC planes; were they a
// multiple of 4 KiB apart, or even an even number of lines, the rows would
// crowd into a few sets of the L1 cache and evict each other: measured, a
// multiply with rows 4 KiB apart ran at 155 instead of 203 GFLOP/s.)
template <class T>
Views views_of(const ConvGeom& g, int lanes = 1) {
    const int s = g.stride, hq = g.out_h + (g.k - 1) / s, wq = g.out_w + (g.k - 1) / s;
    const long line = 64 / long(sizeof(T)), lines = (long(g.batch) * hq * wq + line - 1) / line;
    return Views{s, hq, wq, lanes, long(hq) * wq, (lines | 1) * line};
}

// v grown to hold n values from a 64-byte cache line on (a line more than n),
// and that line's first value: strips of the multiply then start on a line.
template <class T>
T* on_a_line(std::vector<T>& v, std::size_t n) {
    constexpr std::size_t line = 64 / sizeof(T);
    if (v.size() < n + line) v.resize(n + line);
    return v.data() + (line - reinterpret_cast<std::uintptr_t>(v.data()) / sizeof(T) % line) % line;
}

// dst[j] = 0 for from <= j < to, eight at a time with a test per value: the
// padding at either end of a row, one or two values. (A plain loop here,
// g++ called memset: two calls a row made the copy 1.3-2x slower.)
template <class T>
void zero_few(T* dst, int from, int to) {
    for (int j0 = from; j0 < to; j0 += 8)
        for (int q = 0; q < 8; ++q)
            if (j0 + q < to) dst[j0 + q] = T(0);
}

// Whether a buffer of `values` is no bigger than the layer's input and
// output together, twice over (and a few pages).
bool fits_beside_tensors(const ConvGeom& g, double values);

// Whether the copy is no bigger than the layer's input and output together,
// twice over. It holds stride x stride phase planes; with a stride beyond the
// kernel most are never read, and a crafted layer (stride 67108863 on a 5x4
// input, found by the fuzzer) asked for 2^58 bytes.
bool copy_fits(const ConvGeom& g);

// The copy of x (g.batch images) in `copy`, from a cache line on and followed
// by zeros that strips reading past the last row may touch, and where each
// row (c, ky, kx) of im2col starts in it in `offset`; returns the copy's start.
template <class T>
const T* make_views(const ConvGeom& g, const Views& v, const T* x, int threads, std::vector<T>& copy,
                    std::vector<std::ptrdiff_t>& offset);

// Where each row (c, ky, kx) of im2col starts in a copy laid out as v, for
// channels c < channels (offset: channels * k * k values).
void view_offsets(const ConvGeom& g, const Views& v, int channels, std::ptrdiff_t* offset);

// The other way (backward to the input): x[n][c0 + c][iy][ix] = the value at
// pixel (iy, ix) of channel c in `phases`, which holds `channels` channels
// laid out as v (images one after another), for the g.batch images at x;
// 0 at pixels no output pixel's window reaches. Overwrites.
template <class T>
void unsplit_views(const ConvGeom& g, const Views& v, const T* phases, int c0, int channels, T* x);

} // namespace allconv
