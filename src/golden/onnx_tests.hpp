// onnx_tests: ONNX's own conformance tests (the node tests of onnx/backend/
// test/data: a model.onnx of one operator, inputs and expected outputs as
// TensorProto files) run through this project's reference layers, for the
// operators it implements: Conv, MaxPool (with argmax: ONNX's indices against
// our switches), Relu, GlobalAveragePool, Softmax. A test outside the
// project's conventions is reported with the reason, not run.
#pragma once
#include <string>
#include <vector>

namespace allconv {

struct OnnxTestResult {
    enum class Status { pass, fail, out_of_scope };
    std::string test, op;  // the test's folder, the operator it tests
    Status status = Status::fail;
    std::string detail;    // the reason it is out of scope, what failed, or the worst error
    double max_error = 0;  // max |ours - expected| over every output
};

// Every test folder (one holding model.onnx) under each root, recursively, whose
// graph uses one of the operators above. Agreement: |ours - expected| <=
// 1e-5 + 1e-4 * |expected| (expected values are float32, computed by ONNX's
// reference code); indices exactly. Throws only for an unreadable root.
std::vector<OnnxTestResult> run_onnx_tests(const std::vector<std::string>& roots);

} // namespace allconv
