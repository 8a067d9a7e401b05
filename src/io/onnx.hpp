// onnx: reading ONNX files (onnx/onnx.proto, IR version 3 and later): a
// model's graph of nodes with their attributes and initializers, and the
// TensorProto files of ONNX's own test data. Enough to run ONNX's node tests
// of the operators this project implements (golden/onnx_tests.hpp). Writing
// a model is net/onnx_export.hpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace allconv {

// A tensor with numeric values converted to double (float, double, int8..int64,
// uint8..uint64, bool). At most max_onnx_values values.
struct OnnxTensor {
    std::string name;
    int data_type = 0; // TensorProto.DataType: 1 float, 2 uint8, 3 int8, 6 int32, 7 int64, 9 bool, 11 double, ...
    std::vector<std::int64_t> dims;
    std::vector<double> values;
};
constexpr std::uint64_t max_onnx_values = std::uint64_t(1) << 27;

struct OnnxAttribute {
    std::string name;
    int type = 0; // AttributeProto.AttributeType: 1 float, 2 int, 3 string, 6 floats, 7 ints, ...
    double f = 0;
    std::int64_t i = 0;
    std::string s;
    std::vector<std::int64_t> ints;
    std::vector<double> floats;
};

struct OnnxNode {
    std::string op_type, domain, name;
    std::vector<std::string> inputs, outputs;
    std::vector<OnnxAttribute> attributes;
    const OnnxAttribute* attribute(const std::string& name) const; // or nullptr
};

struct OnnxModel {
    std::int64_t opset = 0; // of the default domain
    std::vector<OnnxNode> nodes;
    std::vector<OnnxTensor> initializers;
    std::vector<std::string> inputs, outputs; // graph input and output names
};

// Throw std::runtime_error("<name>: <problem>") for anything malformed.
OnnxTensor onnx_decode_tensor(const std::uint8_t* data, std::size_t size, const std::string& name);
OnnxModel onnx_decode_model(const std::vector<std::uint8_t>& bytes, const std::string& name);

} // namespace allconv
