// allconv onnx-tests: ONNX's own conformance tests through our layers.
#include <cstdio>
#include <map>
#include <stdexcept>

#include "cli.hpp"
#include "golden/onnx_tests.hpp"

namespace allconv {

extern const char* const onnx_tests_help =
    "usage: allconv onnx-tests DIR... [--verbose]\n"
    "\n"
    "Runs ONNX's own conformance tests (folders holding model.onnx and\n"
    "test_data_set_*/input_*.pb, output_*.pb, as Debian's libonnx-testdata installs\n"
    "them under /usr/share/libonnx-testdata/data) for the operators this project\n"
    "implements, Conv, MaxPool (and its argmax indices), Relu, GlobalAveragePool and\n"
    "Softmax, through its reference layers in double. A test outside the project's\n"
    "conventions (dilation, groups, auto_pad, ceil_mode, asymmetric pads, pads over\n"
    "half the window, 1-D or 3-D, ...) is listed with the reason. Agreement:\n"
    "|ours - expected| <= 1e-5 + 1e-4 |expected|; indices exactly. Prints one line\n"
    "per test (--verbose: with the worst error) and a summary; exits 1 when a test in\n"
    "scope fails or none ran.\n";

int cmd_onnx_tests(int argc, char** argv) {
    if (wants_help(argc, argv, onnx_tests_help)) return 0;
    const Args args(argc, argv, {}, {"verbose"});
    if (args.positional().empty()) throw UsageError("name at least one folder of ONNX tests");
    const std::vector<OnnxTestResult> results = run_onnx_tests(args.positional());
    if (results.empty()) // a check that checks nothing fails
        throw std::runtime_error(args.positional()[0] + ": no ONNX test of Conv, MaxPool, Relu, GlobalAveragePool or Softmax found");
    int pass = 0, fail = 0, out = 0;
    std::map<std::string, int> reasons;
    for (const OnnxTestResult& r : results) {
        const char* status = r.status == OnnxTestResult::Status::pass ? "pass"
                             : r.status == OnnxTestResult::Status::fail ? "FAIL" : "out of scope";
        pass += r.status == OnnxTestResult::Status::pass;
        fail += r.status == OnnxTestResult::Status::fail;
        if (r.status == OnnxTestResult::Status::out_of_scope) {
            ++out;
            ++reasons[r.op + ": " + r.detail];
        }
        if (r.status != OnnxTestResult::Status::pass || args.has("verbose"))
            std::printf("%-70s %-18s %-12s %s (max err %.3g)\n", r.test.c_str(), r.op.c_str(), status, r.detail.c_str(),
                        r.max_error);
    }
    std::printf("\nout of scope, by reason:\n");
    for (const auto& [reason, count] : reasons) std::printf("  %3d  %s\n", count, reason.c_str());
    std::printf("onnx-tests: %zu tests of our operators: %d in scope, %d passed, %d failed; %d out of scope\n",
                results.size(), pass + fail, pass, fail, out);
    return fail || pass == 0 ? 1 : 0;
}

} // namespace allconv
