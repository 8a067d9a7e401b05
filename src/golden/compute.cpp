// golden compute: how each case's outputs follow from its inputs, with the
// library's own functions: the reference loops in double (how the suite is
// made), or the fast path (fast/dispatch.hpp) in float. Used both to make the
// suite and to check it.
#include <algorithm>
#include <stdexcept>

#include "../fast/dispatch.hpp"
#include "../layers/gap.hpp"
#include "../layers/softmax.hpp"
#include "../net/net.hpp"
#include "../net/visualize.hpp"
#include "golden.hpp"

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

// ---- the operations --------------------------------------------------------

template <class T>
NpzEntries compute_conv(const Json& p, const NpzEntries& in, const Compute& c) {
    Tensor<T> x = tensor<T>(in, "x"), w = tensor<T>(in, "w"), b = tensor<T>(in, "b"), dy = tensor<T>(in, "dy");
    ConvGeom g = conv_geom(x.shape, w.shape.n, p.at("kernel").integer(), p.at("stride").integer(), p.at("padding").integer());
    if (w.shape != g.weight_shape() || dy.shape != g.out_shape()) throw std::runtime_error("conv case: inconsistent shapes");
    Tensor<T> y(g.out_shape()), dx(g.in_shape()), dw(g.weight_shape()), db(b.shape);
    dispatch::conv_forward(c, g, x.ptr(), w.ptr(), b.ptr(), y.ptr());
    dispatch::conv_backward_input(c, g, dy.ptr(), w.ptr(), dx.ptr());
    dispatch::conv_backward_weights(c, g, x.ptr(), dy.ptr(), dw.ptr(), db.ptr());
    return {{"y", as_f8(y, nchw(y.shape))}, {"dx", as_f8(dx, nchw(dx.shape))},
            {"dw", as_f8(dw, nchw(dw.shape))}, {"db", as_f8(db, {g.out_c})}};
}

template <class T>
NpzEntries compute_maxpool(const Json& p, const NpzEntries& in, const Compute& c) {
    Tensor<T> x = tensor<T>(in, "x"), dy = tensor<T>(in, "dy");
    PoolGeom g = pool_geom(x.shape, p.at("kernel").integer(), p.at("stride").integer(), p.at("padding").integer());
    if (dy.shape != g.out_shape()) throw std::runtime_error("maxpool case: inconsistent shapes");
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
    Tensor<T> f = tensor<T>(in, "f"), r = tensor<T>(in, "r"), y(f.shape), out(f.shape);
    const int planes = f.shape.n * f.shape.c;
    dispatch::relu_forward(c, planes, f.size(), f.ptr(), y.ptr());
    dispatch::relu_backward(c, parse_rule(p.at("rule").str()), planes, f.size(), f.ptr(), r.ptr(), out.ptr());
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
    net_gradients(arch, params, tape, logits, dz, grads, compute);
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
            Tensor<T> seed(one.out[targets[t].layer].shape, T(0));
            if (t == 0) seed.data[targets[t].c] = T(1);
            else seed.at(0, targets[t].c, targets[t].y, targets[t].x) = T(1);
            const Tensor<T> dx = net_signal(arch, params, one, targets[t].layer, seed, r, compute);
            out.emplace_back(std::string("signal.") + rule_name(r) + "." + target_names[t], as_f8(dx, nchw(dx.shape)));
        }
    return out;
}

template <class T>
NpzEntries compute(const std::string& op, const Json& p, const NpzEntries& in, const Compute& c) {
    if (op == "conv") return compute_conv<T>(p, in, c);
    if (op == "maxpool") return compute_maxpool<T>(p, in, c);
    if (op == "relu_backward") return compute_relu<T>(p, in, c);
    if (op == "gap") return compute_gap<T>(in);
    if (op == "softmax_cross_entropy") return compute_softmax<T>(in);
    if (op == "network") return compute_network<T>(p, in, c);
    throw std::runtime_error("unknown golden operation '" + op + "'");
}

} // namespace

NpzEntries golden_compute(const std::string& op, const Json& params, const NpzEntries& inputs, bool float32_fast) {
    return float32_fast ? compute<float>(op, params, inputs, Compute::fast_path(1))
                        : compute<double>(op, params, inputs, Compute{});
}

} // namespace allconv
