// onnx_export: the ONNX messages a model needs, written with io/protobuf.hpp.
// Field numbers are those of onnx/onnx.proto.
#include "onnx_export.hpp"

#include <stdexcept>

#include "../io/bytes.hpp"
#include "../io/file.hpp"
#include "../io/protobuf.hpp"

namespace allconv {

namespace {

using Message = ProtoWriter;

// onnx.proto field numbers used below.
enum : int {
    kModelIrVersion = 1, kModelProducerName = 2, kModelProducerVersion = 3, kModelGraph = 7, kModelOpset = 8,
    kOpsetDomain = 1, kOpsetVersion = 2,
    kGraphNode = 1, kGraphName = 2, kGraphInitializer = 5, kGraphInput = 11, kGraphOutput = 12,
    kNodeInput = 1, kNodeOutput = 2, kNodeName = 3, kNodeOpType = 4, kNodeAttribute = 5,
    kAttrName = 1, kAttrI = 3, kAttrInts = 8, kAttrType = 20,
    kAttrTypeInt = 2, kAttrTypeInts = 7,
    kTensorDims = 1, kTensorDataType = 2, kTensorName = 8, kTensorRawData = 9,
    kTensorFloat = 1,
    kValueName = 1, kValueType = 2,
    kTypeTensor = 1, kTypeTensorElemType = 1, kTypeTensorShape = 2,
    kShapeDim = 1, kDimValue = 1, kDimParam = 2,
};

Message attr_ints(const std::string& name, const std::vector<int>& values) {
    Message a;
    a.string(kAttrName, name);
    for (int v : values) a.varint(kAttrInts, std::uint64_t(v));
    a.varint(kAttrType, kAttrTypeInts);
    return a;
}

Message attr_int(const std::string& name, int value) {
    Message a;
    a.string(kAttrName, name).varint(kAttrI, std::uint64_t(value)).varint(kAttrType, kAttrTypeInt);
    return a;
}

Message node(const std::string& op, const std::string& name, const std::vector<std::string>& in,
             const std::string& out, const std::vector<Message>& attrs = {}) {
    Message n;
    for (const std::string& i : in) n.string(kNodeInput, i);
    n.string(kNodeOutput, out).string(kNodeName, name).string(kNodeOpType, op);
    for (const Message& a : attrs) n.message(kNodeAttribute, a);
    return n;
}

Message tensor(const std::string& name, const std::vector<long>& dims, const std::vector<float>& data) {
    Message t;
    for (long d : dims) t.varint(kTensorDims, std::uint64_t(d));
    t.varint(kTensorDataType, kTensorFloat).string(kTensorName, name);
    std::vector<std::uint8_t> raw; // raw_data is little-endian IEEE 754, whatever the host
    raw.reserve(data.size() * 4);
    for (float v : data) append_le32(raw, bits_of(v));
    t.bytes(kTensorRawData, raw.data(), raw.size());
    return t;
}

// A float tensor value: dims of -1 become the symbolic batch size "N".
Message value_info(const std::string& name, const std::vector<long>& dims) {
    Message shape;
    for (long d : dims) {
        Message dim;
        if (d < 0) dim.string(kDimParam, "N");
        else dim.varint(kDimValue, std::uint64_t(d));
        shape.message(kShapeDim, dim);
    }
    Message tt;
    tt.varint(kTypeTensorElemType, kTensorFloat).message(kTypeTensorShape, shape);
    Message type;
    type.message(kTypeTensor, tt);
    Message v;
    v.string(kValueName, name).message(kValueType, type);
    return v;
}

} // namespace

namespace {

std::vector<Message> window_attrs(const Layer& l) {
    return {attr_ints("kernel_shape", {l.k, l.k}), attr_ints("strides", {l.stride, l.stride}),
            attr_ints("pads", {l.pad, l.pad, l.pad, l.pad})};
}

// Appends the nodes (and weights) of layer i, which reads `current`; returns the name of its output.
std::string add_layer(Message& graph, const Model& m, std::size_t i, const std::string& current) {
    const Layer& l = m.arch.layers[i];
    switch (l.kind) {
    case LayerKind::conv:
        graph.message(kGraphNode, node("Conv", l.name, {current, l.name + ".weight", l.name + ".bias"}, l.name, window_attrs(l)));
        graph.message(kGraphInitializer, tensor(l.name + ".weight", {l.out_c, l.in.c, l.k, l.k}, m.params.weight[i].data));
        graph.message(kGraphInitializer, tensor(l.name + ".bias", {l.out_c}, m.params.bias[i].data));
        return l.name;
    case LayerKind::relu: graph.message(kGraphNode, node("Relu", l.name, {current}, l.name)); return l.name;
    case LayerKind::maxpool: graph.message(kGraphNode, node("MaxPool", l.name, {current}, l.name, window_attrs(l))); return l.name;
    case LayerKind::dropout: return current; // identity at inference
    case LayerKind::gap:
        graph.message(kGraphNode, node("GlobalAveragePool", l.name, {current}, l.name));
        graph.message(kGraphNode, node("Flatten", "flatten", {l.name}, "logits", {attr_int("axis", 1)}));
        return "logits";
    case LayerKind::softmax:
        if (current != "logits") throw std::invalid_argument("ONNX export: softmax must follow gap");
        graph.message(kGraphNode, node("Softmax", l.name, {current}, "probabilities", {attr_int("axis", 1)}));
        return "probabilities";
    }
    throw std::logic_error("ONNX export: unknown layer kind");
}

} // namespace

std::vector<std::uint8_t> onnx_encode(const Model& m, const std::string& graph_name) {
    Message graph;
    graph.string(kGraphName, graph_name);
    const Shape in = m.arch.input;
    std::string current = "input";
    if (!m.mean.empty()) {
        graph.message(kGraphNode, node("Sub", "normalise_mean", {current, "input.mean"}, "centred"));
        graph.message(kGraphNode, node("Div", "normalise_std", {"centred", "input.std"}, "normalised"));
        graph.message(kGraphInitializer, tensor("input.mean", {1, in.c, 1, 1}, m.mean));
        graph.message(kGraphInitializer, tensor("input.std", {1, in.c, 1, 1}, m.std));
        current = "normalised";
    }
    bool have_logits = false;
    for (std::size_t i = 0; i < m.arch.layers.size(); ++i) {
        current = add_layer(graph, m, i, current);
        have_logits = have_logits || current == "logits";
    }
    if (!have_logits) throw std::invalid_argument("ONNX export needs a 'gap' layer (the logits)");
    const long classes = m.arch.layers[m.arch.logits_layer()].out.c;
    graph.message(kGraphInput, value_info("input", {-1, in.c, in.h, in.w}));
    graph.message(kGraphOutput, value_info("logits", {-1, classes}));
    if (current == "probabilities") graph.message(kGraphOutput, value_info("probabilities", {-1, classes}));

    Message opset;
    opset.string(kOpsetDomain, "").varint(kOpsetVersion, 13);
    Message model;
    model.varint(kModelIrVersion, 7).string(kModelProducerName, "allconv").string(kModelProducerVersion, "1");
    model.message(kModelGraph, graph).message(kModelOpset, opset);
    return model.bytes();
}

void write_onnx(const std::string& path, const Model& m, const std::string& graph_name) {
    write_file_atomic(path, onnx_encode(m, graph_name));
}

} // namespace allconv
