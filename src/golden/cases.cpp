// golden cases: what the suite holds. Inputs come from fixed seeds; every
// output is computed by compute.cpp from the inputs alone.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "../layers/conv.hpp"
#include "../layers/pool.hpp"
#include "../net/net.hpp"
#include "../net/zoo.hpp"
#include "../rng.hpp"
#include "golden.hpp"

namespace allconv {

namespace {

NpyArray f4(const std::vector<double>& v, std::vector<long> shape) {
    return NpyArray::from_float(std::vector<float>(v.begin(), v.end()), std::move(shape));
}

// Float32-representable values in [-scale, scale).
std::vector<double> random_values(std::size_t n, std::uint64_t seed, double scale = 1.0) {
    Rng rng(seed);
    std::vector<double> v(n);
    for (double& x : v) x = double(float(scale * (2.0 * rng.uniform() - 1.0)));
    return v;
}

GoldenCase conv_case(const std::string& name, Shape in, int out_c, int k, int s, int p, std::uint64_t seed) {
    GoldenCase c{name, "conv"};
    c.params.set("kernel", k);
    c.params.set("stride", s);
    c.params.set("padding", p);
    ConvGeom g = conv_geom(in, out_c, k, s, p);
    c.inputs = {{"x", f4(random_values(in.size(), seed), nchw(in))},
                {"w", f4(random_values(g.weight_shape().size(), seed + 1, 0.5), nchw(g.weight_shape()))},
                {"b", f4(random_values(out_c, seed + 2), {out_c})},
                {"dy", f4(random_values(g.out_shape().size(), seed + 3), nchw(g.out_shape()))}};
    return c;
}

enum class PoolInput { random, ties, negative };

GoldenCase pool_case(const std::string& name, Shape in, int k, int s, int p, std::uint64_t seed, PoolInput kind) {
    GoldenCase c{name, "maxpool"};
    c.params.set("kernel", k);
    c.params.set("stride", s);
    c.params.set("padding", p);
    PoolGeom g = pool_geom(in, k, s, p);
    std::vector<double> x = random_values(in.size(), seed);
    if (kind == PoolInput::ties) // small integers: many windows hold their maximum more than once
        for (double& v : x) v = std::floor((v + 1.0) * 1.5);
    if (kind == PoolInput::negative) // every value below 0: a padded cell taken as 0 would win at the borders
        for (double& v : x) v = -0.01 - std::fabs(v);
    c.inputs = {{"x", f4(x, nchw(in))}, {"dy", f4(random_values(g.out_shape().size(), seed + 1), nchw(g.out_shape()))}};
    return c;
}

// The strongest response of one channel of a (1, C, H, W) tensor, and how far
// it stands above the next strongest (so a float32 backend finds the same one).
struct Peak {
    double value = -1, margin = 0;
    int y = 0, x = 0;
};
Peak peak(const Tensor<double>& a, int c) {
    Peak p;
    double second = -1e300;
    for (int y = 0; y < a.shape.h; ++y)
        for (int x = 0; x < a.shape.w; ++x) {
            const double v = a.at(0, c, y, x);
            if (v > p.value) {
                second = std::max(second, p.value);
                p = Peak{v, 0, y, x};
            } else {
                second = std::max(second, v);
            }
        }
    p.margin = p.value - second;
    return p;
}

// Index of the n-th ReLU (1-based), counting from the front, or from the back when n < 0.
int nth_relu(const Arch& arch, int n) {
    std::vector<int> relus;
    for (std::size_t i = 0; i < arch.layers.size(); ++i)
        if (arch.layers[i].kind == LayerKind::relu) relus.push_back(int(i));
    const int k = n > 0 ? n - 1 : int(relus.size()) + n;
    if (k < 0 || k >= int(relus.size())) throw std::logic_error("golden: the network has too few ReLUs");
    return relus[k];
}

// The channel of layer `layer` with the strongest clear peak for image 0.
int live_channel(const Tensor<double>& a, const std::string& what) {
    int best = -1;
    for (int c = 0; c < a.shape.c; ++c) {
        const Peak p = peak(a, c);
        if (p.value > 0 && p.margin > 1e-3 * p.value && (best < 0 || p.value > peak(a, best).value)) best = c;
    }
    if (best < 0) throw std::logic_error("golden: " + what + ": no live channel with a clear peak (pick another seed)");
    return best;
}

// Targets on live units of image 0: the class with the largest logit, the
// strongest unit of the second ReLU, the strongest channel of the last ReLU
// before the classifier. A target on a dead unit would give all-zero signals
// that a backend returning zeros passes.
std::vector<std::string> live_targets(const Arch& arch, const Tape<double>& tape, const std::string& zoo) {
    const Tensor<double>& logits = tape.out[arch.logits_layer()];
    const int k = int(std::max_element(logits.data.begin(), logits.data.end()) - logits.data.begin());
    std::vector<double> sorted = logits.data;
    std::sort(sorted.rbegin(), sorted.rend());
    if (!(sorted[0] > 0) || !(sorted[0] - sorted[1] > 1e-3 * sorted[0]))
        throw std::logic_error("golden: " + zoo + ": image 0 has no clearly largest live logit (pick another seed)");
    const int unit_layer = nth_relu(arch, 2), channel_layer = nth_relu(arch, -2);
    const int uc = live_channel(tape.out[unit_layer], zoo), cc = live_channel(tape.out[channel_layer], zoo);
    const Peak u = peak(tape.out[unit_layer], uc);
    return {"class:" + std::to_string(k),
            "unit:" + arch.layers[unit_layer].name + ":" + std::to_string(uc) + ":" + std::to_string(u.y) + ":" +
                std::to_string(u.x),
            "channel:" + arch.layers[channel_layer].name + ":" + std::to_string(cc)};
}

// A zoo network at small width, batch 2. Image 0 has a block of exact zeros
// in its top-left corner and conv1 has zero biases, so some of relu1's inputs
// are exactly 0 (pinning the "0 at f == 0" convention) and, in the pooled
// networks, pool windows tie at 0 (pinning "first position wins").
GoldenCase network_case(const std::string& zoo, Shape in, double width, std::uint64_t seed) {
    GoldenCase c{"net_" + zoo, "network"};
    for (char& ch : c.name) ch = ch == '-' ? '_' : ch;
    const Arch arch = parse_arch(zoo_spec(zoo, ZooOptions{in, width, 5}), zoo);
    Params<double> params = init_params<double>(arch, seed);
    const Shape batch = batch_shape(arch.input, 2);
    std::vector<double> x = random_values(batch.size(), seed + 1);
    const int conv1 = arch.find("conv1"), zero_h = std::min(in.h - 1, in.h / 2 + arch.layers[conv1].k),
              zero_w = std::min(in.w - 1, in.w / 2 + arch.layers[conv1].k);
    for (int ch = 0; ch < in.c; ++ch)
        for (int y = 0; y < zero_h; ++y)
            for (int xx = 0; xx < zero_w; ++xx) x[(std::size_t(ch) * in.h + y) * in.w + xx] = 0;
    c.inputs = {{"x", f4(x, nchw(batch))}, {"labels", NpyArray::from_int64({1, 3}, {2})}};
    for (std::size_t i = 0; i < arch.layers.size(); ++i) {
        const Layer& l = arch.layers[i];
        if (l.kind != LayerKind::conv) continue;
        if (int(i) != conv1) params.bias[i].data = random_values(l.out_c, seed + 10 + i, 0.1);
        c.inputs.emplace_back(l.name + ".weight", f4(params.weight[i].data, {l.out_c, l.in.c, l.k, l.k}));
        c.inputs.emplace_back(l.name + ".bias", f4(params.bias[i].data, {l.out_c}));
    }
    Tensor<double> x0(arch.input);
    std::copy_n(x.begin(), x0.size(), x0.data.begin());
    Tape<double> tape;
    net_forward(arch, params, x0, tape); // the reference loops
    if (std::count(tape.out[conv1].data.begin(), tape.out[conv1].data.end(), 0.0) == 0)
        throw std::logic_error("golden: " + zoo + ": no ReLU input is exactly 0");
    Json targets = Json::array();
    for (const std::string& t : live_targets(arch, tape, zoo)) targets.push(t);
    c.params.set("zoo_model", zoo);
    c.params.set("width", width);
    c.params.set("spec", arch_spec(arch));
    c.params.set("targets", targets);
    c.params.set("signal_image", 0);
    return c;
}

// Convolution: every kernel and stride of the zoo, padded and not, tiling and not.
std::vector<GoldenCase> conv_cases() {
    return {
        conv_case("conv_k1_s1_p0", {2, 3, 7, 5}, 4, 1, 1, 0, 100),
        conv_case("conv_k1_s2_p0_strided_1x1", {2, 4, 7, 8}, 3, 1, 2, 0, 110),
        conv_case("conv_k3_s1_p1_same", {2, 3, 8, 6}, 4, 3, 1, 1, 120),
        conv_case("conv_k3_s1_p0_valid", {2, 3, 8, 8}, 4, 3, 1, 0, 130),
        conv_case("conv_k3_s2_p1_odd", {2, 3, 9, 7}, 4, 3, 2, 1, 140),
        conv_case("conv_k3_s2_p0_notile", {2, 3, 8, 10}, 4, 3, 2, 0, 150),
        conv_case("conv_k3_s4_p1", {2, 2, 13, 10}, 3, 3, 4, 1, 160),
        conv_case("conv_k5_s1_p2_same", {2, 2, 7, 9}, 3, 5, 1, 2, 170),
        conv_case("conv_k5_s2_p2_odd", {2, 3, 11, 9}, 4, 5, 2, 2, 180),
        conv_case("conv_k11_s4_p0_imagenet_conv1", {2, 3, 23, 19}, 4, 11, 4, 0, 190),
        conv_case("conv_k11_s4_p2_padded", {2, 2, 21, 26}, 3, 11, 4, 2, 200),
    };
}

// Max-pooling: overlapping and not, ties, padding that must never win.
std::vector<GoldenCase> pool_cases() {
    return {
        pool_case("maxpool_3x3s2p1_overlap", {2, 3, 8, 7}, 3, 2, 1, 300, PoolInput::random),
        pool_case("maxpool_3x3s2p1_ties", {2, 3, 9, 8}, 3, 2, 1, 310, PoolInput::ties),
        pool_case("maxpool_2x2s2", {2, 3, 8, 6}, 2, 2, 0, 320, PoolInput::random),
        pool_case("maxpool_2x2s2_ties", {2, 2, 6, 8}, 2, 2, 0, 330, PoolInput::ties),
        pool_case("maxpool_3x3s2_notile", {2, 3, 8, 10}, 3, 2, 0, 340, PoolInput::random),
        pool_case("maxpool_2x2s2p1_odd", {2, 2, 7, 9}, 2, 2, 1, 350, PoolInput::random),
        pool_case("maxpool_3x3s2p1_negative", {2, 2, 7, 8}, 3, 2, 1, 360, PoolInput::negative),
    };
}

// The three rules at the ReLU, with inputs of exactly 0 among them.
std::vector<GoldenCase> relu_cases() {
    std::vector<GoldenCase> cases;
    for (const char* rule : {"backprop", "deconvnet", "guided"}) {
        GoldenCase c{std::string("relu_backward_") + rule, "relu_backward"};
        c.params.set("rule", rule);
        Shape s{2, 3, 5, 4};
        std::vector<double> f = random_values(s.size(), 400);
        for (std::size_t i = 0; i < f.size(); ++i) // every fifth input exactly 0, where the rules take 0
            f[i] = i % 5 == 0 ? 0.0 : f[i] >= 0 ? f[i] + 0.01 : f[i] - 0.01;
        c.inputs = {{"f", f4(f, nchw(s))}, {"r", f4(random_values(s.size(), 401), nchw(s))}};
        cases.push_back(c);
    }
    return cases;
}

// The head (global average, softmax and loss) and dropout.
std::vector<GoldenCase> head_cases() {
    std::vector<GoldenCase> cases;
    GoldenCase gap{"gap_forward_backward", "gap"};
    const Shape s{2, 3, 5, 4};
    gap.inputs = {{"x", f4(random_values(s.size(), 500), nchw(s))}, {"dy", f4(random_values(6, 501), {2, 3})}};
    cases.push_back(gap);
    GoldenCase softmax{"softmax_cross_entropy", "softmax_cross_entropy"};
    softmax.inputs = {{"logits", f4(random_values(30, 600, 4.0), {3, 10})},
                      {"labels", NpyArray::from_int64({7, 0, 3}, {3})}};
    cases.push_back(softmax);
    GoldenCase jvp{"softmax_forward_backward", "softmax"};
    jvp.inputs = {{"logits", f4(random_values(24, 620, 3.0), {4, 6})}, {"dprobs", f4(random_values(24, 621), {4, 6})}};
    cases.push_back(jvp);
    // Logits up to 1000: exp overflows, even in double, unless the maximum is subtracted first.
    GoldenCase large{"softmax_cross_entropy_large_logits", "softmax_cross_entropy"};
    std::vector<double> z = random_values(12, 610, 5.0);
    z[1] = 1000;
    z[4] = 990;
    z[9] = 998;
    z[10] = -1000;
    large.inputs = {{"logits", f4(z, {3, 4})}, {"labels", NpyArray::from_int64({1, 0, 2}, {3})}};
    cases.push_back(large);
    GoldenCase dropout{"dropout_p0.3", "dropout"};
    dropout.params.set("p", 0.3);
    const Shape d{2, 3, 4, 5};
    std::vector<double> u = random_values(d.size(), 701, 0.5);
    for (double& v : u) { // uniform numbers in [0, 1), kept where u >= p; none so close to p that float decides otherwise
        v += 0.5;
        if (std::fabs(v - 0.3) < 1e-3) v += 0.01;
    }
    dropout.inputs = {{"x", f4(random_values(d.size(), 700), nchw(d))}, {"u", f4(u, nchw(d))},
                      {"dy", f4(random_values(d.size(), 702), nchw(d))}};
    cases.push_back(dropout);
    return cases;
}

} // namespace

bool non_trivial(const NpyArray& a) {
    const std::vector<double> v = a.to_double();
    const std::size_t nonzero = v.size() - std::size_t(std::count(v.begin(), v.end(), 0.0));
    return nonzero >= std::max<std::size_t>(1, v.size() / 100) && (v.size() == 1 || nonzero >= 2);
}

std::vector<GoldenCase> golden_cases() {
    std::vector<GoldenCase> cases;
    for (const auto& group : {conv_cases(), pool_cases(), relu_cases(), head_cases()})
        cases.insert(cases.end(), group.begin(), group.end());
    const char* families[] = {"model-a", "model-b", "model-c", "strided-cnn-a", "strided-cnn-b", "strided-cnn-c",
                              "convpool-cnn-a", "convpool-cnn-b", "convpool-cnn-c", "all-cnn-a", "all-cnn-b", "all-cnn-c"};
    std::uint64_t seed = 700;
    for (const char* f : families) cases.push_back(network_case(f, {1, 3, 14, 11}, 0.05, seed += 10));
    cases.push_back(network_case("all-cnn-imagenet", {1, 3, 67, 71}, 0.02, 900));
    for (GoldenCase& c : cases) {
        c.outputs = golden_compute(c.op, c.params, c.inputs, false);
        for (const auto& [key, array] : c.outputs) // an output of zeros proves nothing: a backend of zeros passes it
            if (!non_trivial(array)) throw std::logic_error("golden: " + c.name + "/" + key + " is (almost) all zeros");
    }
    return cases;
}

} // namespace allconv
