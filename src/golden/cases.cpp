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

GoldenCase pool_case(const std::string& name, Shape in, int k, int s, int p, std::uint64_t seed, bool ties) {
    GoldenCase c{name, "maxpool"};
    c.params.set("kernel", k);
    c.params.set("stride", s);
    c.params.set("padding", p);
    PoolGeom g = pool_geom(in, k, s, p);
    std::vector<double> x = random_values(in.size(), seed);
    if (ties) // small integers: many windows hold their maximum more than once
        for (double& v : x) v = std::floor((v + 1.0) * 1.5);
    c.inputs = {{"x", f4(x, nchw(in))}, {"dy", f4(random_values(g.out_shape().size(), seed + 1), nchw(g.out_shape()))}};
    return c;
}

GoldenCase network_case(const std::string& zoo, Shape in, double width, std::uint64_t seed) {
    GoldenCase c{"net_" + zoo, "network"};
    for (char& ch : c.name) ch = ch == '-' ? '_' : ch;
    const int classes = 5;
    Arch arch = parse_arch(zoo_spec(zoo, ZooOptions{in, width, classes}), zoo);
    Params<double> params = init_params<double>(arch, seed);
    c.params.set("zoo_model", zoo);
    c.params.set("width", width);
    c.params.set("spec", arch_spec(arch));
    c.params.set("class_target", 2);
    Shape batch = batch_shape(arch.input, 2);
    std::vector<double> x = random_values(batch.size(), seed + 1);
    c.inputs = {{"x", f4(x, nchw(batch))}, {"labels", NpyArray::from_int64({1, 3}, {2})}};
    Params<double> used = params; // these weights, with the biases drawn below
    for (std::size_t i = 0; i < arch.layers.size(); ++i) {
        const Layer& l = arch.layers[i];
        if (l.kind != LayerKind::conv) continue;
        // Small non-zero biases keep units off the ReLU kink at exactly 0.
        used.bias[i].data = random_values(l.out_c, seed + 10 + i, 0.1);
        c.inputs.emplace_back(l.name + ".weight", f4(params.weight[i].data, {l.out_c, l.in.c, l.k, l.k}));
        c.inputs.emplace_back(l.name + ".bias", f4(used.bias[i].data, {l.out_c}));
    }
    // The unit target: the strongest channel-0 response of the second ReLU for image 0.
    int relu = -1, seen = 0;
    for (std::size_t i = 0; i < arch.layers.size() && relu < 0; ++i)
        if (arch.layers[i].kind == LayerKind::relu && ++seen == 2) relu = int(i);
    if (relu < 0) throw std::logic_error(zoo + ": a golden network needs at least two ReLUs");
    Tensor<double> x0(arch.input);
    std::copy_n(x.begin(), x0.size(), x0.data.begin());
    Tape<double> tape;
    net_forward(arch, used, x0, tape); // the reference loops
    const Tensor<double>& a = tape.out[relu];
    int by = 0, bx = 0;
    for (int y = 0; y < a.shape.h; ++y)
        for (int xx = 0; xx < a.shape.w; ++xx)
            if (a.at(0, 0, y, xx) > a.at(0, 0, by, bx)) {
                by = y;
                bx = xx;
            }
    c.params.set("unit_target", "unit:" + arch.layers[relu].name + ":0:" + std::to_string(by) + ":" + std::to_string(bx));
    c.params.set("signal_image", 0);
    return c;
}


std::vector<GoldenCase> layer_cases() {
    std::vector<GoldenCase> cases = {
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
        pool_case("maxpool_3x3s2p1_overlap", {2, 3, 8, 7}, 3, 2, 1, 300, false),
        pool_case("maxpool_3x3s2p1_ties", {2, 3, 9, 8}, 3, 2, 1, 310, true),
        pool_case("maxpool_2x2s2", {2, 3, 8, 6}, 2, 2, 0, 320, false),
        pool_case("maxpool_2x2s2_ties", {2, 2, 6, 8}, 2, 2, 0, 330, true),
        pool_case("maxpool_3x3s2_notile", {2, 3, 8, 10}, 3, 2, 0, 340, false),
        pool_case("maxpool_2x2s2p1_odd", {2, 2, 7, 9}, 2, 2, 1, 350, false),
    };
    for (const char* rule : {"backprop", "deconvnet", "guided"}) {
        GoldenCase c{std::string("relu_backward_") + rule, "relu_backward"};
        c.params.set("rule", rule);
        Shape s{2, 3, 5, 4};
        std::vector<double> f = random_values(s.size(), 400);
        for (double& v : f) v = v >= 0 ? v + 0.01 : v - 0.01; // away from the kink
        c.inputs = {{"f", f4(f, nchw(s))}, {"r", f4(random_values(s.size(), 401), nchw(s))}};
        cases.push_back(c);
    }
    GoldenCase gap{"gap_forward_backward", "gap"};
    const Shape s{2, 3, 5, 4};
    gap.inputs = {{"x", f4(random_values(s.size(), 500), nchw(s))}, {"dy", f4(random_values(6, 501), {2, 3})}};
    cases.push_back(gap);
    GoldenCase softmax{"softmax_cross_entropy", "softmax_cross_entropy"};
    softmax.inputs = {{"logits", f4(random_values(30, 600, 4.0), {3, 10})},
                      {"labels", NpyArray::from_int64({7, 0, 3}, {3})}};
    cases.push_back(softmax);
    return cases;
}

} // namespace

std::vector<GoldenCase> golden_cases() {
    std::vector<GoldenCase> cases = layer_cases();
    const char* families[] = {"model-a", "model-b", "model-c", "strided-cnn-a", "strided-cnn-b", "strided-cnn-c",
                              "convpool-cnn-a", "convpool-cnn-b", "convpool-cnn-c", "all-cnn-a", "all-cnn-b", "all-cnn-c"};
    std::uint64_t seed = 700;
    for (const char* f : families) cases.push_back(network_case(f, {1, 3, 14, 11}, 0.05, seed += 10));
    cases.push_back(network_case("all-cnn-imagenet", {1, 3, 67, 71}, 0.02, 900));
    for (GoldenCase& c : cases) c.outputs = golden_compute(c.op, c.params, c.inputs, false);
    return cases;
}

} // namespace allconv
