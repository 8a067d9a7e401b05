// ONNX export, decoded by a small protobuf reader written here (independent of
// the encoder): graph, attributes, shapes and weights bit for bit.
#include <gtest/gtest.h>

#include <cstring>

#include "io/bytes.hpp"
#include "io/onnx.hpp"
#include "io/protobuf.hpp"
#include "net/onnx_export.hpp"
#include "net/zoo.hpp"

using namespace allconv;

namespace {

// Protobuf wire format: key = field << 3 | wire type; 0 varint, 2 bytes, 5 fixed32.
struct Field {
    int number = 0, wire = 0;
    std::uint64_t value = 0;
    std::string bytes;
};

std::vector<Field> decode(const std::string& b) {
    std::vector<Field> out;
    std::size_t pos = 0;
    auto varint = [&]() {
        std::uint64_t v = 0;
        for (int shift = 0;; shift += 7) {
            if (pos >= b.size() || shift > 63) throw std::runtime_error("bad varint");
            std::uint8_t c = std::uint8_t(b[pos++]);
            v |= std::uint64_t(c & 0x7F) << shift;
            if (!(c & 0x80)) return v;
        }
    };
    while (pos < b.size()) {
        Field f;
        std::uint64_t key = varint();
        f.number = int(key >> 3);
        f.wire = int(key & 7);
        if (f.wire == 0) f.value = varint();
        else if (f.wire == 2) {
            std::uint64_t n = varint();
            if (n > b.size() - pos) throw std::runtime_error("bad length");
            f.bytes = b.substr(pos, n);
            pos += n;
        } else if (f.wire == 5) {
            f.bytes = b.substr(pos, 4);
            pos += 4;
        } else throw std::runtime_error("unexpected wire type");
        out.push_back(f);
    }
    return out;
}

std::vector<Field> all(const std::vector<Field>& m, int number) {
    std::vector<Field> out;
    for (const Field& f : m)
        if (f.number == number) out.push_back(f);
    return out;
}
Field one(const std::vector<Field>& m, int number) {
    auto v = all(m, number);
    if (v.size() != 1) throw std::runtime_error("expected exactly one field " + std::to_string(number));
    return v[0];
}
std::vector<std::int64_t> ints(const std::vector<Field>& m, int number) {
    std::vector<std::int64_t> out;
    for (const Field& f : all(m, number)) out.push_back(std::int64_t(f.value));
    return out;
}

} // namespace

TEST(Onnx, GraphShapesAndWeightsDecodeExactly) {
    Model m;
    m.arch = parse_arch("input 1x8x6; conv 3 k3 s2 p1; relu; maxpool k3 s2 p1; dropout 0.5; conv 2 k1; relu; gap; softmax");
    m.params = init_params<float>(m.arch, 4);
    m.params.bias[0].data = {0.5f, -0.25f, 1e-30f};
    m.mean = {0.3f};
    m.std = {0.7f};
    std::vector<std::uint8_t> bytes = onnx_encode(m, "tiny");
    auto model = decode(std::string(bytes.begin(), bytes.end()));
    EXPECT_EQ(one(model, 1).value, 7u);                       // ir_version
    auto opset = decode(one(model, 8).bytes);
    EXPECT_EQ(one(opset, 2).value, 13u);                      // opset version
    EXPECT_EQ(one(opset, 1).bytes, "");                       // default domain
    auto graph = decode(one(model, 7).bytes);
    std::vector<std::string> ops;
    for (const Field& n : all(graph, 1)) ops.push_back(one(decode(n.bytes), 4).bytes);
    EXPECT_EQ(ops, (std::vector<std::string>{"Sub", "Div", "Conv", "Relu", "MaxPool", "Conv", "Relu",
                                             "GlobalAveragePool", "Flatten", "Softmax"}));
    // The first conv's attributes.
    auto conv = decode(all(graph, 1)[2].bytes);
    EXPECT_EQ(all(conv, 1).size(), 3u); // input, weight, bias
    for (const Field& a : all(conv, 5)) {
        auto attr = decode(a.bytes);
        std::string name = one(attr, 1).bytes;
        EXPECT_EQ(one(attr, 20).value, 7u) << name; // INTS
        if (name == "kernel_shape") { EXPECT_EQ(ints(attr, 8), (std::vector<std::int64_t>{3, 3})); }
        if (name == "strides") { EXPECT_EQ(ints(attr, 8), (std::vector<std::int64_t>{2, 2})); }
        if (name == "pads") { EXPECT_EQ(ints(attr, 8), (std::vector<std::int64_t>{1, 1, 1, 1})); }
    }
    // Initializers: names, dims, float type, and the weights bit for bit.
    int checked = 0;
    for (const Field& t : all(graph, 5)) {
        auto tensor = decode(t.bytes);
        std::string name = one(tensor, 8).bytes;
        EXPECT_EQ(one(tensor, 2).value, 1u) << name; // FLOAT
        std::string raw = one(tensor, 9).bytes;
        const std::vector<float>* expected = nullptr;
        std::vector<std::int64_t> dims;
        if (name == "conv1.weight") { expected = &m.params.weight[0].data; dims = {3, 1, 3, 3}; }
        if (name == "conv1.bias") { expected = &m.params.bias[0].data; dims = {3}; }
        if (name == "conv2.weight") { expected = &m.params.weight[4].data; dims = {2, 3, 1, 1}; }
        if (name == "input.std") { expected = &m.std; dims = {1, 1, 1, 1}; }
        if (!expected) continue;
        EXPECT_EQ(ints(tensor, 1), dims) << name;
        ASSERT_EQ(raw.size(), expected->size() * 4) << name;
        // raw_data is little-endian IEEE 754 on every host: decode it, compare bit patterns.
        for (std::size_t i = 0; i < expected->size(); ++i)
            EXPECT_EQ(load_le32(reinterpret_cast<const std::uint8_t*>(raw.data()) + 4 * i), bits_of((*expected)[i])) << name << " " << i;
        ++checked;
    }
    EXPECT_EQ(checked, 4);
    // Input (N, 1, 8, 6) with a symbolic batch; outputs logits and probabilities.
    auto input = decode(one(graph, 11).bytes);
    EXPECT_EQ(one(input, 1).bytes, "input");
    auto shape = decode(one(decode(one(decode(one(input, 2).bytes), 1).bytes), 2).bytes);
    auto dims = all(shape, 1);
    ASSERT_EQ(dims.size(), 4u);
    EXPECT_EQ(one(decode(dims[0].bytes), 2).bytes, "N");
    EXPECT_EQ(one(decode(dims[2].bytes), 1).value, 8u);
    EXPECT_EQ(one(decode(dims[3].bytes), 1).value, 6u);
    std::vector<std::string> outputs;
    for (const Field& o : all(graph, 12)) outputs.push_back(one(decode(o.bytes), 1).bytes);
    EXPECT_EQ(outputs, (std::vector<std::string>{"logits", "probabilities"}));
}

TEST(Onnx, EveryZooModelExports) {
    for (const std::string& name : zoo_names()) {
        Model m;
        m.arch = parse_arch(zoo_spec(name, ZooOptions{{1, 0, 0, 0}, 0.05, 0}));
        m.params = init_params<float>(m.arch, 1);
        auto bytes = onnx_encode(m, name);
        auto graph = decode(one(decode(std::string(bytes.begin(), bytes.end())), 7).bytes);
        std::size_t convs = 0;
        for (const Layer& l : m.arch.layers) convs += l.kind == LayerKind::conv;
        EXPECT_EQ(all(graph, 5).size(), 2 * convs) << name;
    }
}

// The reader: protobuf's own example (field 1 = 150 is 08 96 01), lengths and
// varints checked against the bytes there, and our export read back whole.
TEST(OnnxRead, WireFormatByHandAndExportReadBack) {
    const std::uint8_t example[] = {0x08, 0x96, 0x01, 0x12, 0x02, 'h', 'i'};
    const std::vector<ProtoField> f = proto_fields(example, sizeof example, "example");
    ASSERT_EQ(f.size(), 2u);
    EXPECT_EQ(f[0].number, 1);
    EXPECT_EQ(f[0].value, 150u);
    EXPECT_EQ(f[1].text(), "hi");
    const std::uint8_t truncated[] = {0x12, 0x05, 'h'}, endless[] = {0x08, 0x80, 0x80};
    EXPECT_THROW(proto_fields(truncated, sizeof truncated, "t"), std::runtime_error);
    EXPECT_THROW(proto_fields(endless, sizeof endless, "t"), std::runtime_error);

    Model m;
    m.arch = parse_arch("input 1x6x5; conv 3 k3 p1; relu; maxpool k3 s2 p1; conv 2 k1; relu; gap; softmax");
    m.params = init_params<float>(m.arch, 4);
    m.mean = {0.5f};
    m.std = {2.0f};
    const OnnxModel back = onnx_decode_model(onnx_encode(m, "tiny"), "tiny.onnx");
    EXPECT_EQ(back.opset, 13);
    std::string ops;
    for (const OnnxNode& n : back.nodes) ops += n.op_type + " ";
    EXPECT_EQ(ops, "Sub Div Conv Relu MaxPool Conv Relu GlobalAveragePool Flatten Softmax ");
    const OnnxAttribute* pads = back.nodes[4].attribute("pads");
    ASSERT_NE(pads, nullptr);
    EXPECT_EQ(pads->ints, (std::vector<std::int64_t>{1, 1, 1, 1}));
    for (const OnnxTensor& t : back.initializers)
        if (t.name == "conv1.weight") {
            EXPECT_EQ(t.dims, (std::vector<std::int64_t>{3, 1, 3, 3}));
            EXPECT_EQ(t.values, std::vector<double>(m.params.weight[0].data.begin(), m.params.weight[0].data.end()));
        }
}
