// phase_copy: the padded, phase-split copy (phase_copy.hpp says what it holds).
#include "phase_copy.hpp"

#include <algorithm>
#include <cstdint>

#include "gemm.hpp"
#include "parallel.hpp"
#include "runs.hpp"

namespace allconv {

namespace {

// dst[j] = src[j * s] for j < n, the stride a constant for s = 1 and 2, so
// that compilers vectorise.
template <class T>
void copy_strided(const T* src, int s, int n, T* dst) {
    if (s == 1)
        for (int j = 0; j < n; ++j) dst[j] = src[j];
    else if (s == 2)
        for (int j = 0; j < n; ++j) dst[j] = src[2 * j];
    else
        for (int j = 0; j < n; ++j) dst[j] = src[long(s) * j];
}

// dst[j] = src[j * s] for lo <= j < hi, 0 elsewhere in j < n. Every src[j * s]
// is read, padding or not (the caller makes sure they lie inside x): the
// whole row copied, then its padding zeroed. (Choosing per value in one
// loop, clang 14-16 read the row one value at a time: conv2 10% slower.)
template <class T>
void copy_select(const T* src, int s, int n, int lo, int hi, T* dst) {
    copy_strided(src, s, n, dst);
    zero_few(dst, 0, lo);
    zero_few(dst, hi, n);
}

// Phase (a, b) of one image's channel (at x + plane; x holds `size` values),
// hq x wq values at dst, row after row:
// input pixel (iy, ix) = (i*s + a - pad, j*s + b - pad), 0 in the padding.
template <class T>
void fill_plane(const ConvGeom& g, const Views& v, const T* x, long size, long plane, int a, int b, T* dst) {
    if (v.s == 1 && g.pad == 0 && v.wq == g.in_w && v.hq == g.in_h) { // the plane itself (a 1x1 kernel): one copy
        std::copy_n(x + plane, v.per_image, dst);
        return;
    }
    const int s = v.s, shift = b - g.pad;
    const auto [lo, hi] = inside_row(shift, s, g.in_w, v.wq);
    for (int i = 0; i < v.hq; ++i, dst += v.wq) {
        const int iy = i * s + a - g.pad;
        const long first = plane + long(iy) * g.in_w + shift, last = first + long(s) * (v.wq - 1);
        if (iy < 0 || iy >= g.in_h)
            for (int j = 0; j < v.wq; ++j) dst[j] = T(0);
        else if (first >= 0 && last < size) // the whole row lies inside x, padding positions and all
            copy_select(x + first, s, v.wq, lo, hi, dst);
        else // x's first or last row: read only what is inside
            for (int j = 0; j < v.wq; ++j) dst[j] = j >= lo && j < hi ? x[first + long(s) * j] : T(0);
    }
}

// The four phases of stride 2 at once, phase (a, b) at dst + (2a + b) *
// v.plane. Row i of phase a is input row 2i + a - pad: the rows are read in
// order, one pass down the channel (a phase a at a time, every other row,
// the copy for conv3 of All-CNN-C took 12-18% of the layer's time, waiting
// on its reads). A row's pixels 2j - pad and 2j + 1 - pad are read as
// pairs, which every compiler vectorises (one phase b alone, clang read
// every other value one at a time: its copy 2.2x slower, 20% of conv3's
// weight gradients), the whole row, and then its padding zeroed (with a
// select per value clang 14 read the pairs by masked gathers: conv3 1-3%
// slower, forward and weight gradients).
template <class T>
void fill_plane_quads(const ConvGeom& g, const Views& v, const T* x, long size, long plane, T* dst) {
    const Inside e_in = inside_row(-g.pad, 2, g.in_w, v.wq), o_in = inside_row(1 - g.pad, 2, g.in_w, v.wq);
    for (int r = 0; r < 2 * v.hq; ++r) { // r = 2i + a
        const int i = r / 2, a = r % 2, iy = r - g.pad;
        const long first = plane + long(iy) * g.in_w - g.pad, last = first + 2L * v.wq - 1;
        T* const even = dst + 2L * a * v.plane + long(i) * v.wq;
        T* const odd = even + v.plane;
        if (iy < 0 || iy >= g.in_h) {
            for (int j = 0; j < v.wq; ++j) even[j] = odd[j] = T(0);
        } else if (first >= 0 && last < size) {
            const T* const src = x + first;
            for (int j = 0; j < v.wq; ++j) {
                even[j] = src[2 * j];
                odd[j] = src[2 * j + 1];
            }
            zero_few(even, 0, e_in.lo);
            zero_few(even, e_in.hi, v.wq);
            zero_few(odd, 0, o_in.lo);
            zero_few(odd, o_in.hi, v.wq);
        } else {
            for (int j = 0; j < v.wq; ++j) {
                even[j] = j >= e_in.lo && j < e_in.hi ? x[first + 2L * j] : T(0);
                odd[j] = j >= o_in.lo && j < o_in.hi ? x[first + 2L * j + 1] : T(0);
            }
        }
    }
}

// Row i of phase (a, b) of channel c with the images side by side: position
// j of every image (wq x lanes values), gathered from the images' rows.
template <class T>
void side_by_side_row(const ConvGeom& g, const Views& v, const T* x, int c, int a, int b, int i, T* dst) {
    const int s = v.s, iy = i * s + a - g.pad, lanes = v.lanes;
    const long image = long(g.in_c) * g.in_h * g.in_w;
    for (int j = 0; j < v.wq; ++j, dst += lanes) {
        const int ix = j * s + b - g.pad;
        if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w) {
            for (int n = 0; n < lanes; ++n) dst[n] = T(0);
            continue;
        }
        const T* src = x + (long(c) * g.in_h + iy) * g.in_w + ix;
        for (int n = 0; n < lanes; ++n) dst[n] = src[n * image];
    }
}

// Fills the copy (layout: channel, phase a, phase b, then the images one
// after another or side by side), plus `slack` zeros after it.
template <class T>
void fill_views(const ConvGeom& g, const Views& v, const T* x, T* copy, long slack, int threads) {
    const int s = v.s, planes = g.in_c * s * s, images = v.lanes > 1 ? 1 : g.batch;
    const bool quads = s == 2 && v.lanes == 1; // a unit is then all four phases
    const int units = planes / (quads ? 4 : 1) * images;
    const long size = long(g.batch) * g.in_c * g.in_h * g.in_w;
    const auto fill = [&](int u) { // u = ((c*s + a)*s + b)*images + image, a and b only 0 in quads
        const int image = u % images, at = u / images * (quads ? 4 : 1), b = at % s, a = at / s % s, c = at / s / s;
        T* const start = copy + long(at) * v.plane;
        const long plane = (long(image) * g.in_c + c) * g.in_h * g.in_w;
        if (quads)
            fill_plane_quads(g, v, x, size, plane, start + image * v.per_image);
        else if (v.lanes == 1)
            fill_plane(g, v, x, size, plane, a, b, start + image * v.per_image);
        else
            for (int i = 0; i < v.hq; ++i) side_by_side_row(g, v, x, c, a, b, i, start + i * v.row_pitch());
    };
    // A few runs of planes per thread, not a task per plane: with small
    // images the tasks' shared counter cost more than the copying.
    const int tasks = std::min(units, 4 * threads);
    parallel_for(tasks, threads, [&](int task) {
        for (int u = int(long(units) * task / tasks); u < int(long(units) * (task + 1) / tasks); ++u) fill(u);
    });
    std::fill_n(copy + long(planes) * v.plane, slack, T(0));
}

} // namespace

bool fits_beside_tensors(const ConvGeom& g, double values) {
    const double tensors = double(g.batch) * (double(g.in_c) * g.in_h * g.in_w + double(g.out_c) * g.out_h * g.out_w);
    return values <= 2 * tensors + 4096;
}

bool copy_fits(const ConvGeom& g) {
    const Views v = views_of<float>(g);
    return fits_beside_tensors(g, double(g.in_c) * v.s * v.s * double(v.plane));
}

template <class T>
const T* make_views(const ConvGeom& g, const Views& v, const T* x, int threads, std::vector<T>& copy,
                    std::vector<std::ptrdiff_t>& offset) {
    // Past the last plane, a strip may read: the kernel's reach, one row of
    // the grid (a strip in halves, its second half below the last row), a strip.
    const long slack = (long((g.k - 1) / v.s) * (v.wq + 1) + v.wq) * v.lanes + Tiles<T>::NR;
    T* const start = on_a_line(copy, std::size_t(g.in_c) * v.s * v.s * v.plane + std::size_t(slack));
    fill_views(g, v, x, start, slack, threads);
    grow(offset, std::size_t(g.in_c) * g.k * g.k);
    view_offsets(g, v, g.in_c, offset.data());
    return start;
}

void view_offsets(const ConvGeom& g, const Views& v, int channels, std::ptrdiff_t* offset) {
    for (int c = 0; c < channels; ++c) // (loops, not divisions per row: 6-12 us a call for conv3 and conv6)
        for (int ky = 0; ky < g.k; ++ky)
            for (int kx = 0; kx < g.k; ++kx) {
                const long plane = ((long(c) * v.s + ky % v.s) * v.s + kx % v.s) * v.plane;
                *offset++ = plane + (long(ky / v.s) * v.wq + kx / v.s) * v.lanes;
            }
}

namespace {

// Row x of an image (in_w values) from its phase rows: pixel ix = j*s + b -
// pad is row[b][j] (row[b] null where the grid does not reach that row), 0
// where j >= wq. Stride 2 in pairs of pixels (2m, 2m + 1), as split_pairs
// the other way round; otherwise value by value.
template <class T>
void unsplit_row(const ConvGeom& g, const Views& v, const T* const* row, T* x) {
    const int s = v.s;
    int ix = 0;
    if (s == 1 && row[0]) {
        ix = std::clamp(v.wq - g.pad, 0, g.in_w);
        for (int m = 0; m < ix; ++m) x[m] = row[0][m + g.pad];
    } else if (s == 2 && row[0] && row[1]) {
        const int e = g.pad % 2, je = g.pad / 2, jo = (g.pad + 1) / 2; // as in split_pairs
        const T* const even = row[e] + je;
        const T* const odd = row[1 - e] + jo;
        const int pairs = std::max(0, std::min(g.in_w / 2, v.wq - std::max(je, jo)));
        for (int m = 0; m < pairs; ++m) {
            x[2 * m] = even[m];
            x[2 * m + 1] = odd[m];
        }
        ix = 2 * pairs;
    }
    for (; ix < g.in_w; ++ix) {
        const int b = (ix + g.pad) % s, j = (ix + g.pad) / s;
        x[ix] = row[b] && j < v.wq ? row[b][j] : T(0);
    }
}

} // namespace

template <class T>
void unsplit_views(const ConvGeom& g, const Views& v, const T* phases, int c0, int channels, T* x) {
    const int s = v.s;
    thread_local std::vector<const T*> row;
    row.resize(std::size_t(s));
    for (int n = 0; n < g.batch; ++n)
        for (int c = 0; c < channels; ++c)
            for (int iy = 0; iy < g.in_h; ++iy) {
                const int a = (iy + g.pad) % s, i = (iy + g.pad) / s;
                for (int b = 0; b < s; ++b)
                    row[std::size_t(b)] = i < v.hq ? phases + ((long(c) * s + a) * s + b) * v.plane + n * v.per_image + long(i) * v.wq : nullptr;
                unsplit_row(g, v, row.data(), x + ((long(n) * g.in_c + c0 + c) * g.in_h + iy) * g.in_w);
            }
}

template void unsplit_views<float>(const ConvGeom&, const Views&, const float*, int, int, float*);
template void unsplit_views<double>(const ConvGeom&, const Views&, const double*, int, int, double*);
template const float* make_views<float>(const ConvGeom&, const Views&, const float*, int, std::vector<float>&,
                                        std::vector<std::ptrdiff_t>&);
template const double* make_views<double>(const ConvGeom&, const Views&, const double*, int, std::vector<double>&,
                                          std::vector<std::ptrdiff_t>&);

} // namespace allconv
