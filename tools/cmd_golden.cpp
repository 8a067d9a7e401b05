// allconv golden write / check: the reference suite for other backends.
#include <cstdio>
#include <algorithm>
#include <map>

#include "cli.hpp"
#include "golden/golden.hpp"

namespace allconv {

extern const char* const golden_help =
    "usage: allconv golden write DIR\n"
    "       allconv golden check DIR [--backend-outputs DIR2] [--precision float32|float64]\n"
    "\n"
    "write: generates the golden suite (DIR/manifest.json and DIR/<case>/<array>.npy),\n"
    "       deterministically: the same bytes every time (data/golden/ is one).\n"
    "check: without --backend-outputs, recomputes every case with this project's float64\n"
    "       reference loops and its float32 fast path and compares with the stored\n"
    "       references. With --backend-outputs DIR2, compares the outputs another backend\n"
    "       wrote as DIR2/<case>/<output>.npy (the manifest's output paths), using the\n"
    "       tolerances for --precision (default float32). Prints, per case, the largest\n"
    "       absolute and relative error and pass/FAIL; exits 1 when anything fails.\n"
    "See docs/golden.md for the format.\n";

namespace {

// One line per case and backend (the worst errors over its outputs), a line
// per failing output; returns how many case lines failed.
int print_results(const std::vector<GoldenResult>& results, int& cases) {
    std::printf("%-34s %-20s %12s %12s  %s\n", "case", "backend", "max abs err", "max rel err", "result");
    int failed = 0;
    cases = 0;
    for (std::size_t i = 0; i < results.size();) {
        std::size_t j = i;
        double abs_err = 0, rel_err = 0;
        bool pass = true;
        for (; j < results.size() && results[j].case_name == results[i].case_name && results[j].backend == results[i].backend; ++j) {
            abs_err = std::max(abs_err, results[j].max_abs);
            rel_err = std::max(rel_err, results[j].max_rel);
            pass = pass && results[j].pass;
        }
        std::printf("%-34s %-20s %12.3g %12.3g  %s\n", results[i].case_name.c_str(), results[i].backend.substr(0, 20).c_str(),
                    abs_err, rel_err, pass ? "pass" : "FAIL");
        for (std::size_t k = i; k < j; ++k)
            if (!results[k].pass)
                std::printf("    %s: %s\n", results[k].output.c_str(),
                            results[k].problem.empty() ? ("max abs err " + std::to_string(results[k].max_abs) + " exceeds the tolerance").c_str()
                                                       : results[k].problem.c_str());
        failed += !pass;
        ++cases;
        i = j;
    }
    return failed;
}

} // namespace

int cmd_golden(int argc, char** argv) {
    if (wants_help(argc, argv, golden_help)) return 0;
    const Args args(argc, argv, {"backend-outputs", "precision"}, {});
    const auto& pos = args.positional();
    if (pos.size() != 2 || (pos[0] != "write" && pos[0] != "check"))
        throw UsageError("expected 'golden write DIR' or 'golden check DIR' (see --help)");
    if (pos[1].empty()) throw UsageError("golden " + pos[0] + ": an empty folder name");
    if (args.has("backend-outputs") && args.str("backend-outputs", "").empty()) throw UsageError("--backend-outputs: an empty folder name");
    if (pos[0] == "write") {
        const std::string note = golden_write(pos[1]);
        std::printf("wrote the golden suite to %s (manifest.json)\n", pos[1].c_str());
        if (!note.empty()) std::fprintf(stderr, "allconv: note: %s\n", note.c_str());
        return 0;
    }
    const std::string precision = args.str("precision", "float32");
    if (precision != "float32" && precision != "float64") throw UsageError("--precision: expected float32 or float64");
    int cases = 0;
    const int failed = print_results(golden_check(pos[1], args.str("backend-outputs", ""), precision), cases);
    std::printf("%d checked, %d failed\n", cases, failed);
    return failed || cases == 0 ? 1 : 0;
}

} // namespace allconv
