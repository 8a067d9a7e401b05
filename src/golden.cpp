// golden: the suite's cases, how their outputs are computed, writing, checking.
#include "golden.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "arch.hpp"
#include "conv.hpp"
#include "gap.hpp"
#include "idx.hpp"
#include "net.hpp"
#include "pool.hpp"
#include "relu.hpp"
#include "rng.hpp"
#include "softmax.hpp"
#include "visualize.hpp"
#include "zoo.hpp"

namespace allconv {

namespace {

// ---- arrays <-> tensors --------------------------------------------------

Shape shape_of(const NpyArray& a, const std::string& what) {
    const std::vector<long>& s = a.shape;
    if (s.size() == 4) return {int(s[0]), int(s[1]), int(s[2]), int(s[3])};
    if (s.size() == 2) return {int(s[0]), int(s[1]), 1, 1};
    if (s.size() == 1) return {1, int(s[0]), 1, 1};
    throw std::runtime_error(what + ": expected 1, 2 or 4 dimensions");
}

template <class T>
Tensor<T> tensor(const NpzEntries& in, const std::string& key) {
    const NpyArray& a = npz_get(in, key, "case inputs");
    Tensor<T> t(shape_of(a, key));
    std::vector<double> v = a.to_double();
    for (std::size_t i = 0; i < v.size(); ++i) t.data[i] = T(v[i]);
    return t;
}

template <class T>
NpyArray as_f8(const Tensor<T>& t, std::vector<long> shape) {
    return NpyArray::from_double(std::vector<double>(t.data.begin(), t.data.end()), std::move(shape));
}

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

// ---- the operations --------------------------------------------------------

template <class T>
NpzEntries compute_conv(const Json& p, const NpzEntries& in) {
    Tensor<T> x = tensor<T>(in, "x"), w = tensor<T>(in, "w"), b = tensor<T>(in, "b"), dy = tensor<T>(in, "dy");
    ConvGeom g = conv_geom(x.shape, w.shape.n, p.at("kernel").integer(), p.at("stride").integer(), p.at("padding").integer());
    if (w.shape != g.weight_shape() || dy.shape != g.out_shape()) throw std::runtime_error("conv case: inconsistent shapes");
    Tensor<T> y(g.out_shape()), dx(g.in_shape()), dw(g.weight_shape()), db(b.shape);
    conv_forward(g, x.ptr(), w.ptr(), b.ptr(), y.ptr());
    conv_backward_input(g, dy.ptr(), w.ptr(), dx.ptr());
    conv_backward_weights(g, x.ptr(), dy.ptr(), dw.ptr(), db.ptr());
    return {{"y", as_f8(y, nchw(y.shape))}, {"dx", as_f8(dx, nchw(dx.shape))},
            {"dw", as_f8(dw, nchw(dw.shape))}, {"db", as_f8(db, {g.out_c})}};
}

template <class T>
NpzEntries compute_maxpool(const Json& p, const NpzEntries& in) {
    Tensor<T> x = tensor<T>(in, "x"), dy = tensor<T>(in, "dy");
    PoolGeom g = pool_geom(x.shape, p.at("kernel").integer(), p.at("stride").integer(), p.at("padding").integer());
    if (dy.shape != g.out_shape()) throw std::runtime_error("maxpool case: inconsistent shapes");
    Tensor<T> y(g.out_shape()), dx(g.in_shape());
    std::vector<std::int32_t> sw(y.size());
    maxpool_forward(g, x.ptr(), y.ptr(), sw.data());
    maxpool_backward(g, dy.ptr(), sw.data(), dx.ptr());
    return {{"y", as_f8(y, nchw(y.shape))},
            {"switches", NpyArray::from_int64(std::vector<long long>(sw.begin(), sw.end()), nchw(y.shape))},
            {"dx", as_f8(dx, nchw(dx.shape))}};
}

template <class T>
NpzEntries compute_relu(const Json& p, const NpzEntries& in) {
    Tensor<T> f = tensor<T>(in, "f"), r = tensor<T>(in, "r"), y(f.shape), out(f.shape);
    relu_forward(f.size(), f.ptr(), y.ptr());
    relu_backward(parse_rule(p.at("rule").str()), f.size(), f.ptr(), r.ptr(), out.ptr());
    return {{"y", as_f8(y, nchw(y.shape))}, {"out", as_f8(out, nchw(out.shape))}};
}

template <class T>
NpzEntries compute_gap(const NpzEntries& in) {
    Tensor<T> x = tensor<T>(in, "x"), dy = tensor<T>(in, "dy"), y({x.shape.n, x.shape.c, 1, 1}), dx(x.shape);
    gap_forward(x.shape, x.ptr(), y.ptr());
    gap_backward(x.shape, dy.ptr(), dx.ptr());
    return {{"y", as_f8(y, {x.shape.n, x.shape.c})}, {"dx", as_f8(dx, nchw(dx.shape))}};
}

template <class T>
NpzEntries compute_softmax(const NpzEntries& in) {
    Tensor<T> z = tensor<T>(in, "logits");
    std::vector<double> l = npz_get(in, "labels", "case inputs").to_double();
    std::vector<int> labels(l.begin(), l.end());
    const int n = z.shape.n, k = z.shape.c;
    Tensor<T> p(z.shape), dz(z.shape);
    softmax_forward(n, k, z.ptr(), p.ptr());
    Tensor<T> loss({1, 1, 1, 1});
    loss.data[0] = softmax_cross_entropy(n, k, z.ptr(), labels.data(), dz.ptr());
    return {{"probs", as_f8(p, {n, k})}, {"loss", as_f8(loss, {1})}, {"dlogits", as_f8(dz, {n, k})}};
}

template <class T>
NpzEntries compute_network(const Json& p, const NpzEntries& in, const Compute& compute) {
    Arch arch = parse_arch(p.at("spec").str(), "case spec");
    Tensor<T> x = tensor<T>(in, "x");
    std::vector<double> l = npz_get(in, "labels", "case inputs").to_double();
    std::vector<int> labels(l.begin(), l.end());
    Params<T> params = zero_params<T>(arch);
    for (std::size_t i = 0; i < arch.layers.size(); ++i) {
        if (arch.layers[i].kind != LayerKind::conv) continue;
        params.weight[i] = tensor<T>(in, arch.layers[i].name + ".weight");
        params.weight[i].shape = Shape{arch.layers[i].out_c, arch.layers[i].in.c, arch.layers[i].k, arch.layers[i].k};
        params.bias[i] = tensor<T>(in, arch.layers[i].name + ".bias");
    }
    const int logits = arch.logits_layer(), n = x.shape.n, k = arch.layers[logits].out.c;
    Tape<T> tape;
    net_forward(arch, params, x, tape, compute);
    Tensor<T> dz(tape.out[logits].shape), loss({1, 1, 1, 1});
    loss.data[0] = softmax_cross_entropy(n, k, tape.out[logits].ptr(), labels.data(), dz.ptr());
    Params<T> grads = zero_params<T>(arch);
    net_backward(arch, params, tape, logits, dz, Rule::backprop, (Tensor<T>*)nullptr, &grads, compute);
    NpzEntries out = {{"logits", as_f8(tape.out[logits], {n, k})}, {"loss", as_f8(loss, {1})}};
    for (std::size_t i = 0; i < arch.layers.size(); ++i) {
        if (arch.layers[i].kind != LayerKind::conv) continue;
        out.emplace_back("grad." + arch.layers[i].name + ".weight", as_f8(grads.weight[i], nchw(grads.weight[i].shape)));
        out.emplace_back("grad." + arch.layers[i].name + ".bias", as_f8(grads.bias[i], {arch.layers[i].out_c}));
    }
    // Signals for image 0 alone, from a class logit and from one unit.
    Tensor<T> x0(batch_shape(arch.input, 1));
    std::copy_n(x.ptr(), x0.size(), x0.ptr());
    Tape<T> one;
    net_forward(arch, params, x0, one, compute);
    const std::string unit = p.at("unit_target").str();
    Target targets[2] = {parse_target("class:" + std::to_string(p.at("class_target").integer()), arch), parse_target(unit, arch)};
    const char* target_names[2] = {"class", "unit"};
    for (int t = 0; t < 2; ++t)
        for (Rule r : {Rule::backprop, Rule::deconvnet, Rule::guided}) {
            Tensor<T> seed(one.out[targets[t].layer].shape, T(0)), dx;
            if (t == 0) seed.data[targets[t].c] = T(1);
            else seed.at(0, targets[t].c, targets[t].y, targets[t].x) = T(1);
            net_backward(arch, params, one, targets[t].layer, seed, r, &dx, (Params<T>*)nullptr, compute);
            out.emplace_back(std::string("signal.") + rule_name(r) + "." + target_names[t], as_f8(dx, nchw(dx.shape)));
        }
    return out;
}

template <class T>
NpzEntries compute(const std::string& op, const Json& p, const NpzEntries& in, const Compute& c) {
    if (op == "conv") return compute_conv<T>(p, in); // single layers: the reference loops
    if (op == "maxpool") return compute_maxpool<T>(p, in);
    if (op == "relu_backward") return compute_relu<T>(p, in);
    if (op == "gap") return compute_gap<T>(in);
    if (op == "softmax_cross_entropy") return compute_softmax<T>(in);
    if (op == "network") return compute_network<T>(p, in, c);
    throw std::runtime_error("unknown golden operation '" + op + "'");
}

// ---- the cases -------------------------------------------------------------

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
    for (std::size_t i = 0; i < arch.layers.size(); ++i) {
        const Layer& l = arch.layers[i];
        if (l.kind != LayerKind::conv) continue;
        c.inputs.emplace_back(l.name + ".weight", f4(params.weight[i].data, {l.out_c, l.in.c, l.k, l.k}));
        // Small non-zero biases keep units off the ReLU kink at exactly 0.
        c.inputs.emplace_back(l.name + ".bias", f4(random_values(l.out_c, seed + 10 + i, 0.1), {l.out_c}));
    }
    // The unit target: the strongest channel-0 response of the second ReLU for image 0.
    int relu = -1, seen = 0;
    for (std::size_t i = 0; i < arch.layers.size() && relu < 0; ++i)
        if (arch.layers[i].kind == LayerKind::relu && ++seen == 2) relu = int(i);
    NpzEntries img0 = c.inputs;
    img0[0].second = f4(std::vector<double>(x.begin(), x.begin() + long(arch.input.size())), nchw(arch.input));
    Tensor<double> x0 = tensor<double>(img0, "x");
    Params<double> p2 = zero_params<double>(arch);
    for (std::size_t i = 0; i < arch.layers.size(); ++i)
        if (arch.layers[i].kind == LayerKind::conv) {
            p2.weight[i] = params.weight[i];
            p2.bias[i] = tensor<double>(c.inputs, arch.layers[i].name + ".bias");
        }
    Tape<double> tape;
    Compute ref;
    ref.reference = true;
    net_forward(arch, p2, x0, tape, ref);
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

NpzEntries golden_compute(const std::string& op, const Json& params, const NpzEntries& inputs, bool float32_fast) {
    Compute c;
    c.reference = !float32_fast;
    c.threads = 1;
    return float32_fast ? compute<float>(op, params, inputs, c) : compute<double>(op, params, inputs, c);
}

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
