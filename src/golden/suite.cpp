// golden suite: writing it (manifest and files) and checking it.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "../io/file.hpp"
#include "golden.hpp"

namespace allconv {

namespace {

double max_abs_value(const std::vector<double>& v) {
    double m = 0;
    for (double x : v) m = std::max(m, std::fabs(x));
    return m;
}

// Tolerances (numpy.allclose semantics). float64: rtol 1e-9 and atol 1e-9 of
// the output's largest magnitude: a double backend summing in another order
// differs by ~1e-15 relative; far below. float32: rtol 1e-4, atol 1e-4 of the
// largest magnitude: float rounding (~6e-8 per operation, accumulated over a
// few hundred terms and a dozen layers) stays near 1e-6 of the scale; the
// margin absorbs other orders of summation. Integer outputs must be exact.
Json tolerance(const NpyArray& e, double rel) {
    Json t = Json::object();
    bool integer = e.dtype == "<i8";
    t.set("rtol", integer ? 0.0 : rel);
    t.set("atol", integer ? 0.0 : rel * max_abs_value(e.to_double()));
    return t;
}

std::string case_file(const std::string& c, const std::string& array) { return c + "/" + array + ".npy"; }

} // namespace

void golden_write(const std::string& dir) {
    std::vector<GoldenCase> cases = golden_cases();
    Json manifest = Json::object();
    manifest.set("format_version", golden_format_version);
    manifest.set("generator", "allconv golden write");
    manifest.set("conventions",
                 "NCHW tensors, OIHW weights; convolution is cross-correlation with symmetric zero padding; "
                 "max-pool padding is never chosen, switches are flat indices iy*W+ix within the input plane, "
                 "ties go to the first position in row-major window order; loss is the mean cross-entropy");
    manifest.set("tolerance_meaning", "numpy.allclose: |actual - expected| <= atol + rtol * |expected|");
    Json& list = manifest.set("cases", Json::array());
    for (const GoldenCase& c : cases) {
        std::filesystem::create_directories(dir + "/" + c.name);
        Json entry = Json::object();
        entry.set("name", c.name);
        entry.set("op", c.op);
        entry.set("params", c.params);
        Json inputs = Json::object(), outputs = Json::object(), t32 = Json::object(), t64 = Json::object();
        for (const auto& [key, array] : c.inputs) {
            write_npy(dir + "/" + case_file(c.name, key), array);
            inputs.set(key, case_file(c.name, key));
        }
        for (const auto& [key, array] : c.outputs) {
            write_npy(dir + "/" + case_file(c.name, key), array);
            outputs.set(key, case_file(c.name, key));
            t32.set(key, tolerance(array, 1e-4));
            t64.set(key, tolerance(array, 1e-9));
        }
        entry.set("inputs", inputs);
        entry.set("outputs", outputs);
        Json tol = Json::object();
        tol.set("float32", t32);
        tol.set("float64", t64);
        entry.set("tolerance", tol);
        list.push(entry);
    }
    std::string text = manifest.dump();
    write_file_atomic(dir + "/manifest.json", std::vector<std::uint8_t>(text.begin(), text.end()));
}

namespace {

GoldenResult compare(const std::string& name, const std::string& output, const std::string& backend,
                     const NpyArray& actual, const NpyArray& expected, const Json& tol) {
    GoldenResult r{name, output, backend};
    if (actual.count() != expected.count() || actual.shape != expected.shape) {
        r.problem = "shape differs from the reference";
        return r;
    }
    std::vector<double> a = actual.to_double(), e = expected.to_double();
    const double rtol = tol.at("rtol").number(), atol = tol.at("atol").number();
    r.pass = true;
    for (std::size_t i = 0; i < a.size(); ++i) {
        double d = std::fabs(a[i] - e[i]);
        if (!(d <= atol + rtol * std::fabs(e[i]))) r.pass = false; // NaN fails too
        r.max_abs = std::max(r.max_abs, d);
        if (e[i] != 0) r.max_rel = std::max(r.max_rel, d / std::fabs(e[i]));
    }
    return r;
}

} // namespace

std::vector<GoldenResult> golden_check(const std::string& dir, const std::string& backend_dir, const std::string& precision) {
    if (precision != "float32" && precision != "float64")
        throw std::invalid_argument("precision must be float32 or float64, not '" + precision + "'");
    const std::string manifest_path = dir + "/manifest.json";
    std::vector<std::uint8_t> bytes = read_file_bytes(manifest_path);
    if (bytes.size() > (std::size_t(64) << 20)) throw std::runtime_error(manifest_path + ": larger than 64 MB");
    Json m = parse_json(std::string(bytes.begin(), bytes.end()), manifest_path);
    try {
        if (m.at("format_version").integer() != golden_format_version)
            throw std::runtime_error("format_version " + std::to_string(m.at("format_version").integer()) +
                                     " is not the supported " + std::to_string(golden_format_version));
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(manifest_path + ": " + e.what());
    }
    std::vector<GoldenResult> results;
    for (const Json& c : m.at("cases").items()) {
        const std::string name = c.at("name").str();
        try {
            NpzEntries inputs, expected;
            for (const auto& [key, file] : c.at("inputs").members()) inputs.emplace_back(key, read_npy(dir + "/" + file.str()));
            for (const auto& [key, file] : c.at("outputs").members()) expected.emplace_back(key, read_npy(dir + "/" + file.str()));
            if (!backend_dir.empty()) {
                const Json& tol = c.at("tolerance").at(precision);
                for (const auto& [key, file] : c.at("outputs").members()) {
                    const std::string path = backend_dir + "/" + file.str();
                    try {
                        results.push_back(compare(name, key, backend_dir, read_npy(path), npz_get(expected, key, manifest_path), tol.at(key)));
                    } catch (const std::exception& e) {
                        GoldenResult r{name, key, backend_dir};
                        r.problem = e.what();
                        results.push_back(r);
                    }
                }
                continue;
            }
            for (bool fast : {false, true}) {
                NpzEntries got = golden_compute(c.at("op").str(), c.at("params"), inputs, fast);
                const Json& tol = c.at("tolerance").at(fast ? "float32" : "float64");
                for (const auto& [key, array] : expected)
                    results.push_back(compare(name, key, fast ? "float32 fast path" : "float64 reference", npz_get(got, key, name),
                                              array, tol.at(key)));
            }
        } catch (const std::exception& e) {
            GoldenResult r{name, "*", backend_dir.empty() ? "recompute" : backend_dir};
            r.problem = e.what();
            results.push_back(r);
        }
    }
    return results;
}

} // namespace allconv
