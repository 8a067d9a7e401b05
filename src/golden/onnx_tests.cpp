// onnx_tests: from an ONNX node's attributes to our layers, or to a reason it is out of scope.
#include "onnx_tests.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <stdexcept>

#include "../io/file.hpp"
#include "../io/onnx.hpp"
#include "../layers/conv.hpp"
#include "../layers/gap.hpp"
#include "../layers/pool.hpp"
#include "../layers/relu.hpp"
#include "../layers/softmax.hpp"

namespace allconv {

namespace {

namespace fs = std::filesystem;

const char* const kOps[] = {"Conv", "MaxPool", "Relu", "GlobalAveragePool", "Softmax"};

struct OutOfScope {
    std::string reason;
};

// ---- attributes -> our conventions -----------------------------------------

std::vector<std::int64_t> ints_or(const OnnxNode& n, const char* name, std::vector<std::int64_t> fallback) {
    const OnnxAttribute* a = n.attribute(name);
    return a ? a->ints : fallback;
}

std::int64_t int_or(const OnnxNode& n, const char* name, std::int64_t fallback) {
    const OnnxAttribute* a = n.attribute(name);
    return a ? a->i : fallback;
}

// Window, stride and padding of a 2-D Conv or MaxPool, as ours: a square
// window, one stride, one symmetric padding.
struct Window {
    int k, stride, pad;
};

// auto_pad SAME_UPPER / SAME_LOWER: the output is ceil(in / stride) and the
// padding what that takes; ours when it splits evenly on both sides.
std::vector<std::int64_t> same_pads(const std::string& mode, const Shape& x, std::int64_t k, std::int64_t s) {
    std::vector<std::int64_t> pads;
    for (std::int64_t in : {std::int64_t(x.h), std::int64_t(x.w)}) {
        const std::int64_t out = (in + s - 1) / s, total = std::max<std::int64_t>((out - 1) * s + k - in, 0);
        if (total % 2) throw OutOfScope{"auto_pad " + mode + " with an odd total padding (asymmetric)"};
        pads.push_back(total / 2);
    }
    return {pads[0], pads[1], pads[0], pads[1]};
}

Window window(const OnnxNode& n, const std::vector<std::int64_t>& kernel, const Shape& x) {
    const OnnxAttribute* autopad = n.attribute("auto_pad");
    const std::string mode = autopad ? autopad->s : "NOTSET";
    if (mode != "NOTSET" && mode != "VALID" && mode != "SAME_UPPER" && mode != "SAME_LOWER")
        throw std::runtime_error("unknown auto_pad " + mode);
    for (std::int64_t d : ints_or(n, "dilations", {1, 1}))
        if (d != 1) throw OutOfScope{"dilation"};
    if (kernel.size() != 2) throw OutOfScope{std::to_string(kernel.size()) + "-D"};
    if (kernel[0] != kernel[1]) throw OutOfScope{"non-square kernel"};
    const std::vector<std::int64_t> strides = ints_or(n, "strides", {1, 1});
    if (strides.size() != 2 || strides[0] != strides[1]) throw OutOfScope{"different strides along H and W"};
    if (strides[0] < 1 || strides[0] > 1024 || kernel[0] < 1 || kernel[0] > 1024) throw std::runtime_error("window or stride out of range");
    const std::vector<std::int64_t> pads = mode.rfind("SAME", 0) == 0 ? same_pads(mode, x, kernel[0], strides[0])
                                           : mode == "VALID"          ? std::vector<std::int64_t>{0, 0, 0, 0}
                                                                      : ints_or(n, "pads", {0, 0, 0, 0});
    if (pads.size() != 4 || pads[0] != pads[1] || pads[0] != pads[2] || pads[0] != pads[3]) throw OutOfScope{"asymmetric pads"};
    if (kernel[0] < 1 || kernel[0] > 1024 || strides[0] < 1 || strides[0] > 1024 || pads[0] < 0 || pads[0] > 1024)
        throw std::runtime_error("window, stride or pads out of range");
    return {int(kernel[0]), int(strides[0]), int(pads[0])};
}

Shape shape4(const OnnxTensor& t) {
    if (t.dims.size() != 4) throw OutOfScope{std::to_string(t.dims.size() - 2) + "-D"};
    return Shape{int(t.dims[0]), int(t.dims[1]), int(t.dims[2]), int(t.dims[3])};
}

// ---- the operators ------------------------------------------------------------

using Outputs = std::vector<std::vector<double>>;

Outputs run_conv(const OnnxNode& n, const std::vector<OnnxTensor>& in) {
    if (int_or(n, "group", 1) != 1) throw OutOfScope{"groups"};
    if (in.size() < 2) throw std::runtime_error("Conv needs X and W");
    const Shape x = shape4(in[0]), w = shape4(in[1]);
    const Window win = window(n, ints_or(n, "kernel_shape", {in[1].dims[2], in[1].dims[3]}), x);
    if (w.c != x.c || w.h != win.k || w.w != win.k) throw std::runtime_error("W does not fit X and kernel_shape");
    const ConvGeom g = conv_geom(x, w.n, win.k, win.stride, win.pad);
    if (double(g.out_shape().size()) * g.in_c * win.k * win.k > 1e9) throw std::runtime_error("a test of more than 1e9 multiply-adds");
    std::vector<double> bias(std::size_t(w.n), 0.0), y(g.out_shape().size());
    if (in.size() > 2) {
        if (in[2].values.size() != bias.size()) throw std::runtime_error("B does not fit W");
        bias = in[2].values;
    }
    conv_forward(g, in[0].values.data(), in[1].values.data(), bias.data(), y.data());
    return {y};
}

Outputs run_maxpool(const OnnxNode& n, const std::vector<OnnxTensor>& in) {
    if (int_or(n, "ceil_mode", 0) != 0) throw OutOfScope{"ceil_mode"};
    const std::int64_t order = int_or(n, "storage_order", 0);
    const Shape x = shape4(in.at(0));
    const Window win = window(n, ints_or(n, "kernel_shape", {}), x);
    if (2 * win.pad > win.k) throw OutOfScope{"padding larger than half the window"};
    const PoolGeom g = pool_geom(x, win.k, win.stride, win.pad);
    std::vector<double> y(g.out_shape().size());
    std::vector<std::int32_t> switches(y.size());
    maxpool_forward(g, in[0].values.data(), y.data(), switches.data());
    // ONNX's Indices count over the whole tensor (row-major, or with storage_order 1
    // column-major within the plane); ours, iy * W + ix, within the (n, c) plane.
    std::vector<double> indices(y.size());
    const std::size_t out_plane = std::size_t(g.out_h) * g.out_w, in_plane = std::size_t(g.in_h) * g.in_w;
    for (std::size_t i = 0; i < y.size(); ++i) {
        const std::size_t sw = std::size_t(switches[i]), iy = sw / std::size_t(g.in_w), ix = sw % std::size_t(g.in_w);
        indices[i] = double((i / out_plane) * in_plane + (order == 1 ? ix * std::size_t(g.in_h) + iy : sw));
    }
    return {y, indices};
}

Outputs run_softmax(const OnnxNode& n, const std::vector<OnnxTensor>& in, std::int64_t opset) {
    const std::vector<std::int64_t>& d = in.at(0).dims;
    const std::int64_t rank = std::int64_t(d.size());
    std::int64_t axis = int_or(n, "axis", opset >= 13 ? -1 : 1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= std::max<std::int64_t>(rank, 1)) throw std::runtime_error("axis out of range");
    // Opset 13 normalises along one axis; earlier opsets flatten from `axis` on.
    if (opset >= 13 && axis != rank - 1) throw OutOfScope{"softmax along an axis other than the last"};
    std::int64_t rows = 1, cols = 1;
    for (std::int64_t i = 0; i < rank; ++i) (i < axis ? rows : cols) *= d[i];
    std::vector<double> y(in[0].values.size());
    if (rows > 0 && cols > 0) softmax_forward(int(rows), int(cols), in[0].values.data(), y.data());
    return {y};
}

Outputs run_op(const OnnxNode& n, const std::vector<OnnxTensor>& in, std::int64_t opset) {
    if (in.empty()) throw std::runtime_error("no input");
    if (n.op_type == "Conv") return run_conv(n, in);
    if (n.op_type == "MaxPool") return run_maxpool(n, in);
    if (n.op_type == "Softmax") return run_softmax(n, in, opset);
    std::vector<double> y(n.op_type == "Relu" ? in[0].values.size() : 0);
    if (n.op_type == "Relu") relu_forward(y.size(), in[0].values.data(), y.data());
    if (n.op_type == "GlobalAveragePool") {
        const Shape x = shape4(in[0]);
        y.resize(std::size_t(x.n) * x.c);
        gap_forward(x, in[0].values.data(), y.data());
    }
    return {y};
}

// ---- one test folder ------------------------------------------------------------

OnnxTensor read_tensor(const fs::path& p) {
    const std::vector<std::uint8_t> b = read_file_bytes(p.string());
    return onnx_decode_tensor(b.data(), b.size(), p.string());
}

// The files of a data set: input_0.pb, input_1.pb, ... (or output_*) in order.
std::vector<OnnxTensor> read_numbered(const fs::path& dir, const std::string& stem) {
    std::vector<OnnxTensor> out;
    for (int i = 0; fs::exists(dir / (stem + std::to_string(i) + ".pb")); ++i)
        out.push_back(read_tensor(dir / (stem + std::to_string(i) + ".pb")));
    return out;
}

// The node's inputs: from the data set where it gives them (by name, else in
// order), from the model's initializers otherwise.
std::vector<OnnxTensor> node_inputs(const OnnxModel& m, const OnnxNode& n, const std::vector<OnnxTensor>& given) {
    std::map<std::string, const OnnxTensor*> known;
    for (const OnnxTensor& t : m.initializers) known[t.name] = &t;
    std::size_t next = 0;
    for (const std::string& name : m.inputs) {
        if (known.count(name)) continue; // an initializer also listed as a graph input
        if (next < given.size()) known[name] = &given[next++];
    }
    for (const OnnxTensor& t : given)
        if (!t.name.empty() && !known.count(t.name)) known[t.name] = &t;
    std::vector<OnnxTensor> in;
    for (const std::string& name : n.inputs) {
        if (name.empty()) break; // an omitted optional input
        if (!known.count(name)) throw std::runtime_error("no value for input " + name);
        in.push_back(*known[name]);
    }
    return in;
}

void compare(const Outputs& ours, const std::vector<OnnxTensor>& expected, OnnxTestResult& r) {
    if (expected.empty() || expected.size() > ours.size()) throw std::runtime_error("the test gives no or unexpected outputs");
    for (std::size_t o = 0; o < expected.size(); ++o) {
        if (ours[o].size() != expected[o].values.size())
            throw std::runtime_error("output " + std::to_string(o) + " has " + std::to_string(ours[o].size()) +
                                     " values, expected " + std::to_string(expected[o].values.size()));
        for (std::size_t i = 0; i < ours[o].size(); ++i) {
            const double e = expected[o].values[i], d = std::fabs(ours[o][i] - e);
            r.max_error = std::max(r.max_error, d);
            if (!(d <= 1e-5 + 1e-4 * std::fabs(e)))
                throw std::runtime_error("output " + std::to_string(o) + " value " + std::to_string(i) + " is " +
                                         std::to_string(ours[o][i]) + ", expected " + std::to_string(e));
        }
    }
}

OnnxTestResult run_test(const fs::path& dir, const OnnxModel& m, const OnnxNode& n) {
    OnnxTestResult r;
    r.test = dir.string();
    r.op = n.op_type;
    try {
        if (m.nodes.size() != 1) throw OutOfScope{"a graph of " + std::to_string(m.nodes.size()) + " nodes"};
        int sets = 0;
        for (int s = 0; fs::exists(dir / ("test_data_set_" + std::to_string(s))); ++s, ++sets) {
            const fs::path data = dir / ("test_data_set_" + std::to_string(s));
            compare(run_op(n, node_inputs(m, n, read_numbered(data, "input_")), m.opset), read_numbered(data, "output_"), r);
        }
        if (sets == 0) throw std::runtime_error("no test_data_set_0");
        r.status = OnnxTestResult::Status::pass;
        r.detail = std::to_string(sets) + " data set" + (sets > 1 ? "s" : "");
    } catch (const OutOfScope& e) {
        r.status = OnnxTestResult::Status::out_of_scope;
        r.detail = e.reason;
    } catch (const std::exception& e) {
        r.status = OnnxTestResult::Status::fail;
        r.detail = e.what();
    }
    return r;
}

} // namespace

std::vector<OnnxTestResult> run_onnx_tests(const std::vector<std::string>& roots) {
    std::vector<fs::path> dirs;
    for (const std::string& root : roots) {
        if (!fs::is_directory(root)) throw std::runtime_error(root + ": not a folder");
        for (const auto& e : fs::recursive_directory_iterator(root))
            if (e.path().filename() == "model.onnx") dirs.push_back(e.path().parent_path());
    }
    std::sort(dirs.begin(), dirs.end());
    std::vector<OnnxTestResult> results;
    for (const fs::path& dir : dirs) {
        OnnxModel m;
        try {
            m = onnx_decode_model(read_file_bytes((dir / "model.onnx").string()), (dir / "model.onnx").string());
        } catch (const std::exception&) {
            continue; // not a model this reader understands: not one of our operators' tests either
        }
        const auto ours = std::find_if(m.nodes.begin(), m.nodes.end(), [](const OnnxNode& n) {
            return std::find(std::begin(kOps), std::end(kOps), n.op_type) != std::end(kOps) && n.domain.empty();
        });
        if (ours != m.nodes.end()) results.push_back(run_test(dir, m, *ours));
    }
    return results;
}

} // namespace allconv
