// packed_weights: the weights as A, packed now or kept from an earlier call.
#include "packed_weights.hpp"

#include <algorithm>
#include <cstring>

#include "gemm.hpp"
#include "winograd.hpp"

namespace allconv {

template <class T>
std::size_t phase_start(const ConvGeom& g, int a, int b) {
    std::size_t at = 0;
    for (int p = 0; p < a * g.stride + b; ++p)
        at += std::size_t(padded_rows<T>(g.in_c)) * g.out_c * phase_taps(g, p / g.stride) * phase_taps(g, p % g.stride);
    return at;
}

namespace {

// Where column p of each phase's A lies in a pack of Packing::phases (phase
// after phase, each C x O*Ta*Tb as pack_a lays it out): its slice's and its
// place in the strip's offset (where) and the slice's depth kc (depth); phase
// (a, b)'s column p at index first[a * s + b] + p.
struct PhaseColumns {
    std::vector<std::size_t> where, depth, first;
};

template <class T>
PhaseColumns phase_columns(const ConvGeom& g) {
    constexpr int MR = Tiles<T>::MR;
    const int s = g.stride, Cp = padded_rows<T>(g.in_c);
    PhaseColumns cols;
    for (int a = 0; a < s; ++a)
        for (int b = 0; b < s; ++b) {
            const int K = g.out_c * phase_taps(g, a) * phase_taps(g, b);
            const std::size_t at = phase_start<T>(g, a, b);
            cols.first.push_back(cols.where.size());
            for (int p = 0; p < K; ++p) {
                const int p0 = p / KC * KC;
                cols.where.push_back(at + std::size_t(p0) * Cp + std::size_t(p - p0) * MR);
                cols.depth.push_back(std::size_t(std::min(KC, K - p0)));
            }
        }
    return cols;
}

// Packing::phases straight into the strips, reading w in order: kernel
// offset (ky, kx) is tap (ky / s, kx / s) of phase (ky % s, kx % s), column
// o * taps + tap of that phase's A. (Gathered a phase at a time, reading w
// with a stride of C*k*k, the packing took half a backward pass at batch 1.)
template <class T>
void pack_phases(const ConvGeom& g, const T* w, std::vector<T>& dst) {
    constexpr int MR = Tiles<T>::MR;
    const int O = g.out_c, C = g.in_c, s = g.stride, k = g.k, kk = k * k, Cp = padded_rows<T>(C);
    grow(dst, std::size_t(Cp) * O * kk);
    const PhaseColumns cols = phase_columns<T>(g);
    std::vector<std::size_t> column, taps; // per kernel offset r: column 0's index in cols, taps of its phase
    for (int ky = 0; ky < k; ++ky)
        for (int kx = 0; kx < k; ++kx) {
            const int tb = phase_taps(g, kx % s);
            column.push_back(cols.first[std::size_t(ky % s * s + kx % s)] + std::size_t(ky / s * tb + kx / s));
            taps.push_back(std::size_t(phase_taps(g, ky % s) * tb));
        }
    for (int o = 0; o < O; ++o)
        for (int c = 0; c < Cp; ++c) { // (rows past C: zeros)
            const T* const src = w + (std::size_t(o) * C + std::min(c, C - 1)) * kk;
            for (int r = 0; r < kk; ++r) {
                const std::size_t p = column[std::size_t(r)] + std::size_t(o) * taps[std::size_t(r)];
                dst[cols.where[p] + std::size_t(c / MR) * MR * cols.depth[p] + c % MR] = c < C ? src[r] : T(0);
            }
        }
}

} // namespace

template <class T>
void pack_weights(const ConvGeom& g, const T* w, Packing packing, std::vector<T>& dst) {
    const int O = g.out_c, C = g.in_c, kk = g.k * g.k, R = C * kk;
    switch (packing) {
    case Packing::forward: // A(o, r) = w[o * R + r]
        grow(dst, std::size_t(padded_rows<T>(O)) * R);
        pack_a(O, R, w, R, 1, dst.data());
        break;
    case Packing::transposed: // A(r, o) = w[o * R + r]
        grow(dst, std::size_t(padded_rows<T>(R)) * O);
        pack_a(R, O, w, 1, R, dst.data());
        break;
    case Packing::turned: { // A(c, (o, ky, kx)) = w[o][c][k-1-ky][k-1-kx]
        thread_local std::vector<T> turned;
        grow(turned, std::size_t(C) * O * kk);
        for (int c = 0; c < C; ++c)
            for (int o = 0; o < O; ++o)
                for (int r = 0; r < kk; ++r)
                    turned[(std::size_t(c) * O + o) * kk + r] = w[(std::size_t(o) * C + c) * kk + kk - 1 - r];
        grow(dst, std::size_t(padded_rows<T>(C)) * O * kk);
        pack_a(C, O * kk, turned.data(), long(O) * kk, 1, dst.data());
        break;
    }
    case Packing::phases: pack_phases(g, w, dst); break;
    case Packing::winograd: winograd_weights(g, w, false, dst); break;
    case Packing::winograd_turned: winograd_weights(g, w, true, dst); break;
    }
}

namespace {

// 16 of the layer's weights, spread evenly from the first to the last.
template <class T>
std::vector<T> sample_of(const ConvGeom& g, const T* w) {
    const std::size_t count = std::size_t(g.out_c) * g.in_c * g.k * g.k, n = std::min<std::size_t>(16, count);
    std::vector<T> s(n);
    for (std::size_t i = 0; i < n; ++i) s[i] = w[n > 1 ? i * (count - 1) / (n - 1) : 0];
    return s;
}

} // namespace

template <>
std::map<WeightPacks::Key, WeightPacks::Entry<float>>& WeightPacks::entries<float>() { return floats_; }
template <>
std::map<WeightPacks::Key, WeightPacks::Entry<double>>& WeightPacks::entries<double>() { return doubles_; }

template <class T>
const T* WeightPacks::get(const ConvGeom& g, const T* w, Packing packing) {
    const std::lock_guard<std::mutex> lock(mutex_);
    Entry<T>& e = entries<T>()[Key{w, packing, g.out_c, g.in_c, g.k, g.stride}];
    std::vector<T> sample = sample_of(g, w);
    // Compared as bytes: a weight that changed from or to NaN counts as changed.
    if (e.packed.empty() || std::memcmp(sample.data(), e.sample.data(), sample.size() * sizeof(T)) != 0) {
        pack_weights(g, w, packing, e.packed);
        e.sample = std::move(sample);
    }
    return e.packed.data(); // stays where it is: entries are never erased but by clear()
}

void WeightPacks::clear() {
    const std::lock_guard<std::mutex> lock(mutex_);
    floats_.clear();
    doubles_.clear();
}

template std::size_t phase_start<float>(const ConvGeom&, int, int);
template std::size_t phase_start<double>(const ConvGeom&, int, int);
template void pack_weights<float>(const ConvGeom&, const float*, Packing, std::vector<float>&);
template void pack_weights<double>(const ConvGeom&, const double*, Packing, std::vector<double>&);
template const float* WeightPacks::get<float>(const ConvGeom&, const float*, Packing);
template const double* WeightPacks::get<double>(const ConvGeom&, const double*, Packing);

} // namespace allconv
