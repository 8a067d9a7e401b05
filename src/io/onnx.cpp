// onnx: ModelProto, GraphProto, NodeProto, AttributeProto and TensorProto
// from their protobuf fields. Field numbers are those of onnx/onnx.proto.
#include "onnx.hpp"

#include <stdexcept>

#include "bytes.hpp"
#include "protobuf.hpp"

namespace allconv {

namespace {

enum : int {
    kModelGraph = 7, kModelOpset = 8, kOpsetDomain = 1, kOpsetVersion = 2,
    kGraphNode = 1, kGraphInitializer = 5, kGraphInput = 11, kGraphOutput = 12, kValueName = 1,
    kNodeInput = 1, kNodeOutput = 2, kNodeName = 3, kNodeOpType = 4, kNodeAttribute = 5, kNodeDomain = 7,
    kAttrName = 1, kAttrF = 2, kAttrI = 3, kAttrS = 4, kAttrFloats = 7, kAttrInts = 8, kAttrType = 20,
    kTensorDims = 1, kTensorDataType = 2, kTensorFloatData = 4, kTensorInt32Data = 5, kTensorInt64Data = 7,
    kTensorName = 8, kTensorRawData = 9, kTensorDoubleData = 10, kTensorUint64Data = 11, kTensorDataLocation = 14,
};

// Bytes per element of raw_data, and whether the type is a float, signed or unsigned integer.
struct TypeInfo {
    int bytes;
    char kind; // 'f' float, 'i' signed, 'u' unsigned
};
TypeInfo type_info(int t, const std::string& name) {
    switch (t) {
    case 1: return {4, 'f'};   // FLOAT
    case 2: return {1, 'u'};   // UINT8
    case 3: return {1, 'i'};   // INT8
    case 4: return {2, 'u'};   // UINT16
    case 5: return {2, 'i'};   // INT16
    case 6: return {4, 'i'};   // INT32
    case 7: return {8, 'i'};   // INT64
    case 9: return {1, 'u'};   // BOOL
    case 11: return {8, 'f'};  // DOUBLE
    case 12: return {4, 'u'};  // UINT32
    case 13: return {8, 'u'};  // UINT64
    default: throw std::runtime_error(name + ": unsupported tensor data type " + std::to_string(t));
    }
}

double raw_value(const std::uint8_t* p, TypeInfo t) {
    std::uint64_t v = 0;
    for (int k = 0; k < t.bytes; ++k) v |= std::uint64_t(p[k]) << (8 * k); // little-endian on every host
    if (t.kind == 'f') return t.bytes == 4 ? double(float_from_bits(std::uint32_t(v))) : double_from_bits(v);
    if (t.kind == 'u') return double(v);
    const int shift = 64 - 8 * t.bytes; // sign-extend
    return double(std::int64_t(v << shift) >> shift);
}

std::int64_t as_int64(std::uint64_t v) { return std::int64_t(v); }

// The values of a tensor from whichever field holds them.
void tensor_values(const std::vector<ProtoField>& fields, OnnxTensor& t, std::uint64_t count, const std::string& name) {
    const TypeInfo ti = type_info(t.data_type, name);
    for (const ProtoField& f : fields) {
        const std::uint64_t left = count - t.values.size(); // checked before anything is decoded
        if ((f.number == kTensorFloatData && f.wire == 2 && f.size / 4 > left) ||
            (f.number == kTensorDoubleData && f.wire == 2 && f.size / 8 > left))
            throw std::runtime_error(name + ": more values than the dims hold");
        if (f.number == kTensorRawData) {
            if (f.size != count * std::uint64_t(ti.bytes)) throw std::runtime_error(name + ": raw_data does not match the dims");
            for (std::uint64_t i = 0; i < count; ++i) t.values.push_back(raw_value(f.data + i * ti.bytes, ti));
        } else if (f.number == kTensorFloatData) {
            for (std::uint32_t b : proto_fixed32s(f, name)) t.values.push_back(float_from_bits(b));
        } else if (f.number == kTensorDoubleData) {
            for (std::uint64_t b : proto_fixed64s(f, name)) t.values.push_back(double_from_bits(b));
        } else if (f.number == kTensorInt32Data || f.number == kTensorInt64Data) {
            for (std::uint64_t v : proto_varints(f, name, std::size_t(count)))
                t.values.push_back(f.number == kTensorInt32Data ? double(std::int32_t(v)) : double(as_int64(v)));
        } else if (f.number == kTensorUint64Data) {
            for (std::uint64_t v : proto_varints(f, name, std::size_t(count))) t.values.push_back(double(v));
        }
        if (t.values.size() > count) throw std::runtime_error(name + ": more values than the dims hold");
    }
    if (t.values.size() != count) throw std::runtime_error(name + ": " + std::to_string(t.values.size()) + " values for dims of " + std::to_string(count));
}

OnnxAttribute decode_attribute(const ProtoField& m, const std::string& name) {
    OnnxAttribute a;
    for (const ProtoField& f : proto_fields(m.data, m.size, name)) {
        if (f.number == kAttrName) a.name = f.text();
        if (f.number == kAttrType) a.type = int(f.value);
        if (f.number == kAttrF) a.f = float_from_bits(std::uint32_t(f.value));
        if (f.number == kAttrI) a.i = as_int64(f.value);
        if (f.number == kAttrS) a.s = f.text();
        if (f.number == kAttrInts)
            for (std::uint64_t v : proto_varints(f, name, 1 << 16)) a.ints.push_back(as_int64(v));
        if (f.number == kAttrFloats)
            for (std::uint32_t b : proto_fixed32s(f, name)) a.floats.push_back(float_from_bits(b));
    }
    return a;
}

OnnxNode decode_node(const ProtoField& m, const std::string& name) {
    OnnxNode n;
    for (const ProtoField& f : proto_fields(m.data, m.size, name)) {
        if (f.number == kNodeInput) n.inputs.push_back(f.text());
        if (f.number == kNodeOutput) n.outputs.push_back(f.text());
        if (f.number == kNodeName) n.name = f.text();
        if (f.number == kNodeOpType) n.op_type = f.text();
        if (f.number == kNodeDomain) n.domain = f.text();
        if (f.number == kNodeAttribute) n.attributes.push_back(decode_attribute(f, name + ": " + n.op_type));
    }
    return n;
}

std::string value_name(const ProtoField& m, const std::string& name) {
    for (const ProtoField& f : proto_fields(m.data, m.size, name))
        if (f.number == kValueName) return f.text();
    return "";
}

} // namespace

const OnnxAttribute* OnnxNode::attribute(const std::string& wanted) const {
    for (const OnnxAttribute& a : attributes)
        if (a.name == wanted) return &a;
    return nullptr;
}

OnnxTensor onnx_decode_tensor(const std::uint8_t* data, std::size_t size, const std::string& name) {
    const std::vector<ProtoField> fields = proto_fields(data, size, name);
    OnnxTensor t;
    std::uint64_t count = 1;
    for (const ProtoField& f : fields) {
        if (f.number == kTensorName) t.name = f.text();
        if (f.number == kTensorDataType) t.data_type = int(f.value);
        if (f.number == kTensorDataLocation && f.value != 0) throw std::runtime_error(name + ": external tensor data is not supported");
        if (f.number == kTensorDims)
            for (std::uint64_t d : proto_varints(f, name, 64)) {
                if (std::int64_t(d) < 0 || d > max_onnx_values) throw std::runtime_error(name + ": bad tensor dimension");
                t.dims.push_back(std::int64_t(d));
                count *= d; // both at most 2^27 before this product is checked: no overflow
                if (count > max_onnx_values) throw std::runtime_error(name + ": more than " + std::to_string(max_onnx_values) + " values");
            }
    }
    if (t.dims.size() > 8) throw std::runtime_error(name + ": more than 8 dimensions");
    tensor_values(fields, t, count, name);
    return t;
}

OnnxModel onnx_decode_model(const std::vector<std::uint8_t>& bytes, const std::string& name) {
    OnnxModel m;
    for (const ProtoField& f : proto_fields(bytes.data(), bytes.size(), name)) {
        if (f.number == kModelOpset && f.wire == 2) {
            std::string domain;
            std::int64_t version = 0;
            for (const ProtoField& o : proto_fields(f.data, f.size, name)) {
                if (o.number == kOpsetDomain) domain = o.text();
                if (o.number == kOpsetVersion) version = as_int64(o.value);
            }
            if (domain.empty() || domain == "ai.onnx") m.opset = version;
        }
        if (f.number != kModelGraph || f.wire != 2) continue;
        for (const ProtoField& g : proto_fields(f.data, f.size, name)) {
            if (g.wire != 2) continue;
            if (g.number == kGraphNode) m.nodes.push_back(decode_node(g, name));
            if (g.number == kGraphInitializer) m.initializers.push_back(onnx_decode_tensor(g.data, g.size, name));
            if (g.number == kGraphInput) m.inputs.push_back(value_name(g, name));
            if (g.number == kGraphOutput) m.outputs.push_back(value_name(g, name));
        }
    }
    if (m.nodes.empty()) throw std::runtime_error(name + ": no graph nodes (not an ONNX model?)");
    return m;
}

} // namespace allconv
