// golden: the suite's cases, writing it, checking it (outputs come from golden_ops.cpp).
#include "golden.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "arch.hpp"
#include "conv.hpp"
#include "idx.hpp"
#include "net.hpp"
#include "pool.hpp"
#include "rng.hpp"
#include "zoo.hpp"

namespace allconv {

namespace {

// ---- the cases -------------------------------------------------------------

std::vector<long> nchw(Shape s) { return {s.n, s.c, s.h, s.w}; }

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
    Compute ref;
    ref.reference = true;
    net_forward(arch, used, x0, tape, ref);
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

} // namespace

std::vector<GoldenCase> golden_cases() {
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
    {
        GoldenCase c{"gap_forward_backward", "gap"};
        Shape s{2, 3, 5, 4};
        c.inputs = {{"x", f4(random_values(s.size(), 500), nchw(s))}, {"dy", f4(random_values(6, 501), {2, 3})}};
        cases.push_back(c);
    }
    {
        GoldenCase c{"softmax_cross_entropy", "softmax_cross_entropy"};
        c.inputs = {{"logits", f4(random_values(30, 600, 4.0), {3, 10})}, {"labels", NpyArray::from_int64({7, 0, 3}, {3})}};
        cases.push_back(c);
    }
    const char* families[] = {"model-a", "model-b", "model-c", "strided-cnn-a", "strided-cnn-b", "strided-cnn-c",
                              "convpool-cnn-a", "convpool-cnn-b", "convpool-cnn-c", "all-cnn-a", "all-cnn-b", "all-cnn-c"};
    std::uint64_t seed = 700;
    for (const char* f : families) cases.push_back(network_case(f, {1, 3, 14, 11}, 0.05, seed += 10));
    cases.push_back(network_case("all-cnn-imagenet", {1, 3, 67, 71}, 0.02, 900));
    for (GoldenCase& c : cases) c.outputs = golden_compute(c.op, c.params, c.inputs, false);
    return cases;
}

namespace {

double max_abs_value(const std::vector<double>& v) {
    double m = 0;
    for (double x : v) m = std::max(m, std::fabs(x));
    return m;
}

// Tolerances (numpy.allclose semantics). float64: rtol 1e-9 and atol 1e-9 of
// the output's largest magnitude: a double backend summing in another order
// differs by ~1e-15 relative; far below. float32: rtol 1e-4, atol 1e-4 of the
// largest magnitude: float rounding (~6e-8 per operation, accumulated over a
// few hundred terms and a dozen layers) stays near 1e-6 of the scale; the
// margin absorbs other orders of summation. Integer outputs must be exact.
Json tolerance(const NpyArray& e, double rel) {
    Json t = Json::object();
    bool integer = e.dtype == "<i8";
    t.set("rtol", integer ? 0.0 : rel);
    t.set("atol", integer ? 0.0 : rel * max_abs_value(e.to_double()));
    return t;
}

std::string case_file(const std::string& c, const std::string& array) { return c + "/" + array + ".npy"; }

} // namespace

void golden_write(const std::string& dir) {
    std::vector<GoldenCase> cases = golden_cases();
    Json manifest = Json::object();
    manifest.set("format_version", golden_format_version);
    manifest.set("generator", "allconv golden write");
    manifest.set("conventions",
                 "NCHW tensors, OIHW weights; convolution is cross-correlation with symmetric zero padding; "
                 "max-pool padding is never chosen, switches are flat indices iy*W+ix within the input plane, "
                 "ties go to the first position in row-major window order; loss is the mean cross-entropy");
    manifest.set("tolerance_meaning", "numpy.allclose: |actual - expected| <= atol + rtol * |expected|");
    Json& list = manifest.set("cases", Json::array());
    for (const GoldenCase& c : cases) {
        std::filesystem::create_directories(dir + "/" + c.name);
        Json entry = Json::object();
        entry.set("name", c.name);
        entry.set("op", c.op);
        entry.set("params", c.params);
        Json inputs = Json::object(), outputs = Json::object(), t32 = Json::object(), t64 = Json::object();
        for (const auto& [key, array] : c.inputs) {
            write_npy(dir + "/" + case_file(c.name, key), array);
            inputs.set(key, case_file(c.name, key));
        }
        for (const auto& [key, array] : c.outputs) {
            write_npy(dir + "/" + case_file(c.name, key), array);
            outputs.set(key, case_file(c.name, key));
            t32.set(key, tolerance(array, 1e-4));
            t64.set(key, tolerance(array, 1e-9));
        }
        entry.set("inputs", inputs);
        entry.set("outputs", outputs);
        Json tol = Json::object();
        tol.set("float32", t32);
        tol.set("float64", t64);
        entry.set("tolerance", tol);
        list.push(entry);
    }
    std::string text = manifest.dump();
    write_file_atomic(dir + "/manifest.json", std::vector<std::uint8_t>(text.begin(), text.end()));
}

namespace {

GoldenResult compare(const std::string& name, const std::string& output, const std::string& backend,
                     const NpyArray& actual, const NpyArray& expected, const Json& tol) {
    GoldenResult r{name, output, backend};
    if (actual.count() != expected.count() || actual.shape != expected.shape) {
        r.problem = "shape differs from the reference";
        return r;
    }
    std::vector<double> a = actual.to_double(), e = expected.to_double();
    const double rtol = tol.at("rtol").number(), atol = tol.at("atol").number();
    r.pass = true;
    for (std::size_t i = 0; i < a.size(); ++i) {
        double d = std::fabs(a[i] - e[i]);
        if (!(d <= atol + rtol * std::fabs(e[i]))) r.pass = false; // NaN fails too
        r.max_abs = std::max(r.max_abs, d);
        if (e[i] != 0) r.max_rel = std::max(r.max_rel, d / std::fabs(e[i]));
    }
    return r;
}

} // namespace

std::vector<GoldenResult> golden_check(const std::string& dir, const std::string& backend_dir, const std::string& precision) {
    if (precision != "float32" && precision != "float64")
        throw std::invalid_argument("precision must be float32 or float64, not '" + precision + "'");
    const std::string manifest_path = dir + "/manifest.json";
    std::vector<std::uint8_t> bytes = read_file_bytes(manifest_path);
    if (bytes.size() > (std::size_t(64) << 20)) throw std::runtime_error(manifest_path + ": larger than 64 MB");
    Json m = parse_json(std::string(bytes.begin(), bytes.end()), manifest_path);
    try {
        if (m.at("format_version").integer() != golden_format_version)
            throw std::runtime_error("format_version " + std::to_string(m.at("format_version").integer()) +
                                     " is not the supported " + std::to_string(golden_format_version));
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(manifest_path + ": " + e.what());
    }
    std::vector<GoldenResult> results;
    for (const Json& c : m.at("cases").items()) {
        const std::string name = c.at("name").str();
        try {
            NpzEntries inputs, expected;
            for (const auto& [key, file] : c.at("inputs").members()) inputs.emplace_back(key, read_npy(dir + "/" + file.str()));
            for (const auto& [key, file] : c.at("outputs").members()) expected.emplace_back(key, read_npy(dir + "/" + file.str()));
            if (!backend_dir.empty()) {
                const Json& tol = c.at("tolerance").at(precision);
                for (const auto& [key, file] : c.at("outputs").members()) {
                    const std::string path = backend_dir + "/" + file.str();
                    try {
                        results.push_back(compare(name, key, backend_dir, read_npy(path), npz_get(expected, key, manifest_path), tol.at(key)));
                    } catch (const std::exception& e) {
                        GoldenResult r{name, key, backend_dir};
                        r.problem = e.what();
                        results.push_back(r);
                    }
                }
                continue;
            }
            for (bool fast : {false, true}) {
                NpzEntries got = golden_compute(c.at("op").str(), c.at("params"), inputs, fast);
                const Json& tol = c.at("tolerance").at(fast ? "float32" : "float64");
                for (const auto& [key, array] : expected)
                    results.push_back(compare(name, key, fast ? "float32 fast path" : "float64 reference", npz_get(got, key, name),
                                              array, tol.at(key)));
            }
        } catch (const std::exception& e) {
            GoldenResult r{name, "*", backend_dir.empty() ? "recompute" : backend_dir};
            r.problem = e.what();
            results.push_back(r);
        }
    }
    return results;
}

} // namespace allconv
