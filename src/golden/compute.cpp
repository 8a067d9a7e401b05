// golden compute: how each case's outputs follow from its inputs, with the
// library's own functions: the reference loops in double (how the suite is
// made), or the fast path (fast/dispatch.hpp) in float. Used both to make the
// suite and to check it.
#include <algorithm>
#include <stdexcept>

#include "../fast/dispatch.hpp"
#include "../layers/dropout.hpp"
#include "../layers/gap.hpp"
#include "../layers/softmax.hpp"
#include "../net/net.hpp"
#include "../net/visualize.hpp"
#include "golden.hpp"

namespace allconv {

namespace {

// A case costs at most this many multiply-adds per pass, so a hostile
// manifest cannot make `golden check` run for hours.
constexpr std::uint64_t max_case_macs = std::uint64_t(1) << 30;

[[noreturn]] void bad(const std::string& problem) { throw std::runtime_error(problem); }

// ---- arrays <-> tensors, every shape checked ------------------------------

// The input array `key` as a tensor of exactly the shape `want` (dims as the
// file stores them: 1, 2 or 4 of them), with finite values only.
template <class T>
Tensor<T> tensor(const NpzEntries& in, const std::string& key, const std::vector<long>& want) {
    const NpyArray& a = npz_get(in, key, "the case");
    if (a.shape != want) {
        NpyArray w;
        w.shape = want;
        bad(key + " has shape " + a.shape_string() + ", the case needs " + w.shape_string());
    }
    Shape s;
    if (want.size() == 4) s = Shape{int(want[0]), int(want[1]), int(want[2]), int(want[3])};
    else if (want.size() == 2) s = Shape{int(want[0]), int(want[1]), 1, 1};
    else s = Shape{1, int(want.at(0)), 1, 1};
    Tensor<T> t(s);
    const std::vector<double> v = a.to_finite_double(key);
    for (std::size_t i = 0; i < v.size(); ++i) t.data[i] = T(v[i]);
    return t;
}

// The shape of input `key`, which must have `dims` dimensions, each at least 1.
std::vector<long> dims_of(const NpzEntries& in, const std::string& key, std::size_t dims) {
    const NpyArray& a = npz_get(in, key, "the case");
    if (a.shape.size() != dims) bad(key + " has " + std::to_string(a.shape.size()) + " dimensions, not " + std::to_string(dims));
    for (long d : a.shape)
        if (d < 1) bad(key + " has an empty dimension");
    return a.shape;
}

Shape shape4(const std::vector<long>& d) { return Shape{int(d[0]), int(d[1]), int(d[2]), int(d[3])}; }

// Class labels: n whole numbers in [0, classes).
std::vector<int> labels_of(const NpzEntries& in, int n, int classes) {
    const std::vector<long> d = dims_of(in, "labels", 1);
    if (d[0] != n) bad("labels has " + std::to_string(d[0]) + " entries for " + std::to_string(n) + " rows");
    std::vector<int> labels;
    for (double v : npz_get(in, "labels", "the case").to_finite_double("labels")) {
        if (!(v >= 0 && v < classes) || v != double(long(v)))
            bad("label " + std::to_string(v) + " is not a class from 0 to " + std::to_string(classes - 1));
        labels.push_back(int(v));
    }
    return labels;
}

// A whole-number parameter from lo to hi.
int param(const Json& p, const std::string& key, int lo, int hi) {
    const int v = p.at(key).integer();
    if (v < lo || v > hi) bad(key + " " + std::to_string(v) + " is outside " + std::to_string(lo) + ".." + std::to_string(hi));
    return v;
}

void check_cost(std::uint64_t macs) {
    if (macs > max_case_macs) bad("the case costs more than " + std::to_string(max_case_macs) + " multiply-adds");
}

template <class T>
NpyArray as_f8(const Tensor<T>& t, std::vector<long> shape) {
    return NpyArray::from_double(std::vector<double>(t.data.begin(), t.data.end()), std::move(shape));
}

// ---- the operations --------------------------------------------------------

template <class T>
NpzEntries compute_conv(const Json& p, const NpzEntries& in, const Compute& c) {
    const std::vector<long> xd = dims_of(in, "x", 4), wd = dims_of(in, "w", 4);
    const int k = param(p, "kernel", 1, 1024), stride = param(p, "stride", 1, 1024), pad = param(p, "padding", 0, 1024);
    const ConvGeom g = conv_geom(shape4(xd), int(wd[0]), k, stride, pad);
    check_cost(std::uint64_t(g.out_shape().size()) * std::uint64_t(g.in_c) * std::uint64_t(k) * std::uint64_t(k));
    const Tensor<T> x = tensor<T>(in, "x", xd), w = tensor<T>(in, "w", nchw(g.weight_shape()));
    const Tensor<T> b = tensor<T>(in, "b", {g.out_c}), dy = tensor<T>(in, "dy", nchw(g.out_shape()));
    Tensor<T> y(g.out_shape()), dx(g.in_shape()), dw(g.weight_shape()), db(b.shape);
    dispatch::conv_forward(c, g, x.ptr(), w.ptr(), b.ptr(), y.ptr());
    dispatch::conv_backward_input(c, g, dy.ptr(), w.ptr(), dx.ptr());
    dispatch::conv_backward_weights(c, g, x.ptr(), dy.ptr(), dw.ptr(), db.ptr());
    return {{"y", as_f8(y, nchw(y.shape))}, {"dx", as_f8(dx, nchw(dx.shape))},
            {"dw", as_f8(dw, nchw(dw.shape))}, {"db", as_f8(db, {g.out_c})}};
}

template <class T>
NpzEntries compute_maxpool(const Json& p, const NpzEntries& in, const Compute& c) {
    const std::vector<long> xd = dims_of(in, "x", 4);
    const int k = param(p, "kernel", 1, 1024), stride = param(p, "stride", 1, 1024), pad = param(p, "padding", 0, 512);
    const PoolGeom g = pool_geom(shape4(xd), k, stride, pad);
    check_cost(std::uint64_t(g.out_shape().size()) * std::uint64_t(k) * std::uint64_t(k));
    const Tensor<T> x = tensor<T>(in, "x", xd), dy = tensor<T>(in, "dy", nchw(g.out_shape()));
    Tensor<T> y(g.out_shape()), dx(g.in_shape());
    std::vector<std::int32_t> sw(y.size());
    dispatch::maxpool_forward(c, g, x.ptr(), y.ptr(), sw.data());
    dispatch::maxpool_backward(c, g, dy.ptr(), sw.data(), dx.ptr());
    return {{"y", as_f8(y, nchw(y.shape))},
            {"switches", NpyArray::from_int64(std::vector<long long>(sw.begin(), sw.end()), nchw(y.shape))},
            {"dx", as_f8(dx, nchw(dx.shape))}};
}

template <class T>
NpzEntries compute_relu(const Json& p, const NpzEntries& in, const Compute& c) {
    const std::vector<long> fd = dims_of(in, "f", 4);
    const Tensor<T> f = tensor<T>(in, "f", fd), r = tensor<T>(in, "r", fd);
    Tensor<T> y(f.shape), out(f.shape);
    const int planes = f.shape.n * f.shape.c;
    dispatch::relu_forward(c, planes, f.size(), f.ptr(), y.ptr());
    dispatch::relu_backward(c, parse_rule(p.at("rule").str()), planes, f.size(), f.ptr(), r.ptr(), out.ptr());
    return {{"y", as_f8(y, nchw(y.shape))}, {"out", as_f8(out, nchw(out.shape))}};
}

template <class T>
NpzEntries compute_gap(const NpzEntries& in) {
    const std::vector<long> xd = dims_of(in, "x", 4);
    const Tensor<T> x = tensor<T>(in, "x", xd), dy = tensor<T>(in, "dy", {xd[0], xd[1]});
    Tensor<T> y({x.shape.n, x.shape.c, 1, 1}), dx(x.shape);
    gap_forward(x.shape, x.ptr(), y.ptr());
    gap_backward(x.shape, dy.ptr(), dx.ptr());
    return {{"y", as_f8(y, {x.shape.n, x.shape.c})}, {"dx", as_f8(dx, nchw(dx.shape))}};
}

template <class T>
NpzEntries compute_softmax(const NpzEntries& in) {
    const std::vector<long> zd = dims_of(in, "logits", 2);
    const Tensor<T> z = tensor<T>(in, "logits", zd);
    const int n = z.shape.n, k = z.shape.c;
    const std::vector<int> labels = labels_of(in, n, k);
    Tensor<T> p(z.shape), dz(z.shape), loss({1, 1, 1, 1});
    softmax_forward(n, k, z.ptr(), p.ptr());
    loss.data[0] = softmax_cross_entropy(n, k, z.ptr(), labels.data(), dz.ptr());
    return {{"probs", as_f8(p, {n, k})}, {"loss", as_f8(loss, {1})}, {"dlogits", as_f8(dz, {n, k})}};
}

// A network case's architecture, input and parameters, every shape checked against the spec.
template <class T>
struct NetworkInputs {
    Arch arch;
    Tensor<T> x;
    Params<T> params;
};

template <class T>
NetworkInputs<T> network_inputs(const Json& p, const NpzEntries& in) {
    NetworkInputs<T> net;
    net.arch = parse_arch(p.at("spec").str(), "the case's spec");
    const Layer& logits = net.arch.layers.at(net.arch.logits_layer());
    if (logits.out.h != 1 || logits.out.w != 1) bad("the case's network does not end in one value per class");
    std::vector<long> xd = dims_of(in, "x", 4);
    if (xd[1] != net.arch.input.c || xd[2] != net.arch.input.h || xd[3] != net.arch.input.w)
        bad("x has shape " + npz_get(in, "x", "").shape_string() + ", the network takes Nx" + chw_string(net.arch.input));
    check_cost(std::uint64_t(xd[0]) * net.arch.macs());
    net.x = tensor<T>(in, "x", xd);
    net.params.weight.resize(net.arch.layers.size());
    net.params.bias.resize(net.arch.layers.size());
    for (std::size_t i = 0; i < net.arch.layers.size(); ++i) {
        const Layer& l = net.arch.layers[i];
        if (l.kind != LayerKind::conv) continue;
        net.params.weight[i] = tensor<T>(in, l.name + ".weight", {l.out_c, l.in.c, l.k, l.k});
        net.params.bias[i] = tensor<T>(in, l.name + ".bias", {l.out_c});
        net.params.bias[i].shape = Shape{1, l.out_c, 1, 1};
    }
    return net;
}

template <class T>
NpzEntries compute_network(const Json& p, const NpzEntries& in, const Compute& compute) {
    const NetworkInputs<T> net = network_inputs<T>(p, in);
    const Arch& arch = net.arch;
    const int logits = arch.logits_layer(), n = net.x.shape.n, k = arch.layers[logits].out.c;
    const std::vector<int> labels = labels_of(in, n, k);
    Tape<T> tape;
    net_forward(arch, net.params, net.x, tape, compute);
    Tensor<T> dz(tape.out[logits].shape), loss({1, 1, 1, 1});
    loss.data[0] = softmax_cross_entropy(n, k, tape.out[logits].ptr(), labels.data(), dz.ptr());
    Params<T> grads = zero_params<T>(arch);
    net_gradients(arch, net.params, tape, logits, dz, grads, compute);
    NpzEntries out = {{"logits", as_f8(tape.out[logits], {n, k})}, {"loss", as_f8(loss, {1})}};
    for (std::size_t i = 0; i < arch.layers.size(); ++i) {
        if (arch.layers[i].kind != LayerKind::conv) continue;
        out.emplace_back("grad." + arch.layers[i].name + ".weight", as_f8(grads.weight[i], nchw(grads.weight[i].shape)));
        out.emplace_back("grad." + arch.layers[i].name + ".bias", as_f8(grads.bias[i], {arch.layers[i].out_c}));
    }
    // Signals for image 0 alone (a batch of one), from each target, under each rule.
    const int image = param(p, "signal_image", 0, n - 1);
    Tensor<T> x0(batch_shape(arch.input, 1));
    std::copy_n(net.x.ptr() + std::size_t(image) * x0.size(), x0.size(), x0.ptr());
    Tape<T> one;
    net_forward(arch, net.params, x0, one, compute);
    std::vector<std::string> seen;
    for (const Json& text : p.at("targets").items()) {
        const Target t = parse_target(text.str(), arch);
        const std::string kind = text.str().substr(0, text.str().find(':'));
        if (std::find(seen.begin(), seen.end(), kind) != seen.end()) bad("two targets of kind " + kind);
        seen.push_back(kind);
        int layer = 0;
        const Tensor<T> seed = make_seed(arch, one, t, layer);
        for (Rule r : {Rule::backprop, Rule::deconvnet, Rule::guided}) {
            const Tensor<T> dx = net_signal(arch, net.params, one, layer, seed, r, compute);
            out.emplace_back(std::string("signal.") + rule_name(r) + "." + kind, as_f8(dx, nchw(dx.shape)));
        }
    }
    return out;
}

template <class T>
NpzEntries compute_softmax_layer(const NpzEntries& in) {
    const std::vector<long> zd = dims_of(in, "logits", 2);
    const Tensor<T> z = tensor<T>(in, "logits", zd), dp = tensor<T>(in, "dprobs", zd);
    const int n = z.shape.n, k = z.shape.c;
    Tensor<T> p(z.shape), dz(z.shape);
    softmax_forward(n, k, z.ptr(), p.ptr());
    softmax_backward(n, k, p.ptr(), dp.ptr(), dz.ptr());
    return {{"probs", as_f8(p, {n, k})}, {"dlogits", as_f8(dz, {n, k})}};
}

template <class T>
NpzEntries compute_dropout(const Json& p, const NpzEntries& in) {
    const std::vector<long> xd = dims_of(in, "x", 4);
    const double prob = p.at("p").number();
    const Tensor<T> x = tensor<T>(in, "x", xd), dy = tensor<T>(in, "dy", xd);
    const std::vector<double> u = npz_get(in, "u", "the case").to_finite_double("u");
    if (npz_get(in, "u", "the case").shape != xd) bad("u must have x's shape");
    Tensor<T> mask(x.shape), y(x.shape), dx(x.shape);
    dropout_mask_from_uniform(prob, x.size(), u.data(), mask.ptr());
    dropout_apply(x.size(), mask.ptr(), x.ptr(), y.ptr());
    dropout_apply(x.size(), mask.ptr(), dy.ptr(), dx.ptr());
    return {{"y", as_f8(y, xd)}, {"dx", as_f8(dx, xd)}};
}

template <class T>
NpzEntries compute(const std::string& op, const Json& p, const NpzEntries& in, const Compute& c) {
    if (op == "conv") return compute_conv<T>(p, in, c);
    if (op == "maxpool") return compute_maxpool<T>(p, in, c);
    if (op == "relu_backward") return compute_relu<T>(p, in, c);
    if (op == "gap") return compute_gap<T>(in);
    if (op == "softmax_cross_entropy") return compute_softmax<T>(in);
    if (op == "network") return compute_network<T>(p, in, c);
    if (op == "dropout") return compute_dropout<T>(p, in);
    if (op == "softmax") return compute_softmax_layer<T>(in);
    throw std::runtime_error("unknown golden operation '" + op + "'");
}

} // namespace

NpzEntries golden_compute(const std::string& op, const Json& params, const NpzEntries& inputs, bool float32_fast) {
    return float32_fast ? compute<float>(op, params, inputs, Compute::fast_path(1))
                        : compute<double>(op, params, inputs, Compute{});
}

} // namespace allconv
