// onnx_export: export a network to ONNX (opset 13), with a protobuf encoder written
// here. The graph: [Sub, Div: input normalisation, when the model has one],
// then Conv / Relu / MaxPool in order (dropout is the identity at inference
// and is left out), GlobalAveragePool, Flatten -> "logits", Softmax ->
// "probabilities". Weights are stored as raw little-endian float32, bit for
// bit the model's. Expected to load in ONNX Runtime and onnx.checker.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model.hpp"

namespace allconv {

// Serialised ModelProto bytes. Throws std::invalid_argument for layers ONNX
// export does not cover.
std::vector<std::uint8_t> onnx_encode(const Model& m, const std::string& graph_name);
void write_onnx(const std::string& path, const Model& m, const std::string& graph_name); // atomic

} // namespace allconv
