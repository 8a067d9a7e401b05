// golden: reference outputs other backends can check themselves against.
//
// A suite is DIR/manifest.json plus DIR/<case>/<array>.npy. Each case names
// its operation (conv, maxpool, relu_backward, gap, softmax_cross_entropy,
// network), its parameters, input files and output files, and per output a
// tolerance for a float32 and a float64 backend, meaning what numpy.allclose
// means: |actual - expected| <= atol + rtol * |expected|.
// Inputs and weights are float32-representable and stored as <f4 (labels,
// switches as <i8); references are computed in double by the reference loops
// and stored as <f8. Writing is deterministic: the same bytes every time.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "../io/json.hpp"
#include "../io/npy.hpp"

namespace allconv {

constexpr int golden_format_version = 2;

struct GoldenCase {
    GoldenCase(std::string n, std::string o) : name(std::move(n)), op(std::move(o)) {}
    std::string name, op;
    Json params = Json::object();
    NpzEntries inputs, outputs;
};

// Every case of the suite, inputs generated from fixed seeds, outputs computed.
// Throws std::logic_error rather than make a case that proves little: an
// output of which fewer than 1% of the values (or fewer than 2) are non-zero,
// a network target on a dead unit, a network without an exact zero at a ReLU.
std::vector<GoldenCase> golden_cases();
// At least 1% of the values, and at least two (one for a single value), are non-zero.
bool non_trivial(const NpyArray& a);

// Computes a case's outputs from its inputs: in double with the reference
// loops (how the suite is made), or in float with the fast path.
NpzEntries golden_compute(const std::string& op, const Json& params, const NpzEntries& inputs, bool float32_fast);

// Writes DIR/manifest.json and DIR/<case>/<name>.npy, all or nothing: into a
// fresh folder that replaces DIR at the end (an existing DIR must be empty or
// hold a manifest.json). Returns "" or a note that the suite it replaced could
// not be removed (see write_folder_atomic).
std::string golden_write(const std::string& dir);

struct GoldenResult {
    GoldenResult(std::string c, std::string o, std::string b)
        : case_name(std::move(c)), output(std::move(o)), backend(std::move(b)) {}
    std::string case_name, output, backend; // backend: "float64 reference", "float32 fast", or the outputs folder
    double max_abs = 0, max_rel = 0;        // max |a - e| and max |a - e| / |e| (over e != 0)
    bool pass = false;
    std::string problem;                    // set when an output is missing or malformed
};

// Recomputes every case (float64 reference loops and float32 fast path) and
// compares with the stored references; or, with backend_dir, compares the
// files another backend wrote under the same names (backend_dir/<case>/<name>.npy)
// using the tolerances of `precision` ("float32" or "float64").
// Every path in the manifest must stay inside its folder; every array is
// checked against the shapes its case needs; inputs and references must be
// finite. A case that cannot run is a failed result naming the problem; a
// manifest with no case at all is an error: a check that checks nothing fails.
std::vector<GoldenResult> golden_check(const std::string& dir, const std::string& backend_dir,
                                       const std::string& precision);

// Where a suite's files come from: path (relative, inside the suite) -> bytes.
using SuiteFiles = std::function<std::vector<std::uint8_t>(const std::string& path)>;
SuiteFiles folder_files(const std::string& dir); // refuses paths that leave `dir`
// The same check on files from anywhere (memory, for tests and fuzzing).
std::vector<GoldenResult> golden_check(const SuiteFiles& suite, const std::string& suite_name, const SuiteFiles* backend,
                                       const std::string& backend_name, const std::string& precision);

} // namespace allconv
