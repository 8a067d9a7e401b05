// visualize: targets, seeds and display mappings.
#include "visualize.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace allconv {

namespace {

int parse_index(const std::string& s, const std::string& what, const std::string& target) {
    if (s.empty() || s.size() > 7 || s.find_first_not_of("0123456789") != std::string::npos)
        throw std::invalid_argument("target '" + target + "': " + what + " must be a whole number, got '" + s + "'");
    return std::stoi(s);
}

void check_range(int v, int limit, const std::string& what, const std::string& layer, const std::string& target) {
    if (v >= limit)
        throw std::invalid_argument("target '" + target + "': " + layer + " has " + std::to_string(limit) + " " + what +
                                    ", so " + std::to_string(v) + " is out of range");
}

} // namespace

Target parse_target(const std::string& text, const Arch& arch) {
    std::vector<std::string> parts;
    std::stringstream in(text);
    for (std::string p; std::getline(in, p, ':');) parts.push_back(p);
    Target t;
    const std::string kind = parts.empty() ? "" : parts[0];
    if (kind == "class" && parts.size() == 2) {
        t.layer = arch.logits_layer();
        if (parts[1] == "predicted") return t;
        t.kind = Target::Kind::class_logit;
        t.c = parse_index(parts[1], "the class", text);
        check_range(t.c, arch.layers[t.layer].out.c, "classes", "the network", text);
        return t;
    }
    if ((kind == "unit" && parts.size() == 5) || (kind == "channel" && parts.size() == 3)) {
        t.layer = arch.find(parts[1]);
        const Shape s = arch.layers[t.layer].out;
        t.c = parse_index(parts[2], "the channel", text);
        check_range(t.c, s.c, "channels", parts[1], text);
        if (kind == "channel") {
            t.kind = Target::Kind::channel;
            return t;
        }
        t.kind = Target::Kind::unit;
        t.y = parse_index(parts[3], "y", text);
        t.x = parse_index(parts[4], "x", text);
        check_range(t.y, s.h, "rows", parts[1], text);
        check_range(t.x, s.w, "columns", parts[1], text);
        return t;
    }
    throw std::invalid_argument("target '" + text + "': expected class:K, unit:LAYER:C:Y:X or channel:LAYER:C");
}

template <class T>
Tensor<T> make_seed(const Arch& arch, const Tape<T>& tape, const Target& t, int& layer) {
    layer = t.layer < 0 ? arch.logits_layer() : t.layer;
    const Tensor<T>& out = tape.out.at(layer);
    if (out.shape.n != 1) throw std::invalid_argument("make_seed: expects a batch of one image");
    Tensor<T> seed(out.shape, T(0));
    switch (t.kind) {
    case Target::Kind::predicted_class: {
        std::size_t best = 0;
        for (std::size_t k = 1; k < out.size(); ++k)
            if (out.data[k] > out.data[best]) best = k;
        seed.data[best] = T(1);
        break;
    }
    case Target::Kind::class_logit: seed.data[t.c] = T(1); break;
    case Target::Kind::unit: seed.at(0, t.c, t.y, t.x) = T(1); break;
    case Target::Kind::channel: { // the strongest activation of the channel; first one on ties
        const std::size_t plane = out.shape.plane(), base = std::size_t(t.c) * plane;
        std::size_t best = 0;
        for (std::size_t i = 1; i < plane; ++i)
            if (out.data[base + i] > out.data[base + best]) best = i;
        seed.data[base + best] = T(1);
        break;
    }
    }
    return seed;
}

template Tensor<float> make_seed<float>(const Arch&, const Tape<float>&, const Target&, int&);
template Tensor<double> make_seed<double>(const Arch&, const Tape<double>&, const Target&, int&);

Tensor<float> explain(const Arch& arch, const Params<float>& params, const Tape<float>& tape, const Target& t,
                      Rule rule, const Compute& compute) {
    int layer = 0;
    const Tensor<float> seed = make_seed(arch, tape, t, layer);
    return net_signal(arch, params, tape, layer, seed, rule, compute);
}

Region receptive_field(const Arch& arch, int layer, int y, int x) {
    Region r{y, y, x, x};
    for (int i = layer; i >= 0; --i) {
        const Layer& l = arch.layers[i];
        if (l.kind == LayerKind::conv || l.kind == LayerKind::maxpool) {
            r.y0 = r.y0 * l.stride - l.pad;
            r.x0 = r.x0 * l.stride - l.pad;
            r.y1 = r.y1 * l.stride - l.pad + l.k - 1;
            r.x1 = r.x1 * l.stride - l.pad + l.k - 1;
        } else if (l.kind == LayerKind::gap) { // every position of its input
            r = Region{0, l.in.h - 1, 0, l.in.w - 1};
        }
        // The padding is outside the layer's input: clip to it.
        r.y0 = std::max(r.y0, 0);
        r.x0 = std::max(r.x0, 0);
        r.y1 = std::min(r.y1, l.in.h - 1);
        r.x1 = std::min(r.x1, l.in.w - 1);
    }
    return r;
}

Display parse_display(const std::string& name) {
    if (name == "common") return Display::common;
    if (name == "symmetric") return Display::symmetric;
    throw std::invalid_argument("unknown display mapping '" + name + "' (expected common or symmetric)");
}

Tensor<float> display_map(const Tensor<float>& signal, Display d) {
    Tensor<float> out(signal.shape);
    const std::size_t n = signal.size();
    if (n == 0) return out;
    if (d == Display::common) {
        double mean = 0, var = 0;
        for (float v : signal.data) mean += v;
        mean /= double(n);
        for (float v : signal.data) var += (v - mean) * (v - mean);
        double std_dev = std::sqrt(var / double(n));
        for (std::size_t i = 0; i < n; ++i) {
            double v = (signal.data[i] - mean) / (std_dev + 1e-5) * 0.1 + 0.5;
            out.data[i] = float(v < 0 ? 0 : v > 1 ? 1 : v);
        }
    } else {
        double peak = 0;
        for (float v : signal.data) peak = std::max(peak, double(std::fabs(v)));
        for (std::size_t i = 0; i < n; ++i) out.data[i] = peak > 0 ? float(signal.data[i] / peak * 0.5 + 0.5) : 0.5f;
    }
    return out;
}

} // namespace allconv
