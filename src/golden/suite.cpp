// golden suite: writing it (manifest and files) and checking it.
#include <algorithm>
#include <cctype>
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

std::string golden_write(const std::string& dir) {
    check_folder_output(dir, "manifest.json"); // before computing 39 cases
    const std::vector<GoldenCase> cases = golden_cases();
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
        Json entry = Json::object();
        entry.set("name", c.name);
        entry.set("op", c.op);
        entry.set("params", c.params);
        Json inputs = Json::object(), outputs = Json::object(), t32 = Json::object(), t64 = Json::object();
        for (const auto& [key, array] : c.inputs) inputs.set(key, case_file(c.name, key));
        for (const auto& [key, array] : c.outputs) {
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
    // Everything into a fresh folder that replaces `dir` at the end: a failure
    // (a full disk, say) leaves the old suite or nothing, never half of one.
    return write_folder_atomic(dir, "manifest.json", [&](const std::string& tmp) {
        for (const GoldenCase& c : cases) {
            std::filesystem::create_directories(tmp + "/" + c.name);
            for (const NpzEntries* arrays : {&c.inputs, &c.outputs})
                for (const auto& [key, array] : *arrays) write_npy(tmp + "/" + case_file(c.name, key), array);
        }
        const std::string text = manifest.dump();
        write_file_atomic(tmp + "/manifest.json", std::vector<std::uint8_t>(text.begin(), text.end()));
    });
}

namespace {

// A path inside a suite: relative, of plain names ([A-Za-z0-9._-]) joined by
// '/', with no "." or ".." part, so it cannot leave the suite's folder.
bool safe_relative_path(const std::string& p) {
    if (p.empty() || p.size() > 255 || p.front() == '/') return false;
    std::size_t start = 0;
    while (start <= p.size()) {
        const std::size_t end = std::min(p.find('/', start), p.size());
        const std::string part = p.substr(start, end - start);
        if (part.empty() || part == "." || part == "..") return false;
        for (char c : part)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') return false;
        start = end + 1;
    }
    return true;
}

GoldenResult compare(const std::string& name, const std::string& output, const std::string& backend,
                     const NpyArray& actual, const NpyArray& expected, double rtol, double atol) {
    GoldenResult r{name, output, backend};
    if (actual.shape != expected.shape) {
        r.problem = "shape " + actual.shape_string() + " differs from the reference's " + expected.shape_string();
        return r;
    }
    const std::vector<double> a = actual.to_double(), e = expected.to_double();
    r.pass = true;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double d = std::fabs(a[i] - e[i]);
        if (!(d <= atol + rtol * std::fabs(e[i]))) r.pass = false; // NaN fails too
        r.max_abs = std::max(r.max_abs, d);
        if (e[i] != 0) r.max_rel = std::max(r.max_rel, d / std::fabs(e[i]));
    }
    return r;
}

// One case of a manifest, read and checked: its name, op, parameters, arrays
// and tolerances.
struct CaseFiles {
    std::string name, op;
    const Json* params = nullptr;
    NpzEntries inputs, expected;
    std::vector<std::string> output_paths; // in the order of `expected`
    std::vector<std::pair<double, double>> tol32, tol64; // (rtol, atol) per output
};

std::pair<double, double> tolerance_of(const Json& tol, const std::string& precision, const std::string& key) {
    const Json& t = tol.at(precision).at(key);
    const double rtol = t.at("rtol").number(), atol = t.at("atol").number();
    if (!(rtol >= 0) || !(atol >= 0)) throw std::runtime_error("tolerance of " + key + " is negative");
    return {rtol, atol};
}

CaseFiles read_case(const Json& c, const SuiteFiles& suite) {
    CaseFiles f;
    f.name = c.at("name").str();
    f.op = c.at("op").str();
    f.params = &c.at("params");
    f.params->members(); // must be an object
    for (const bool outputs : {false, true})
        for (const auto& [key, file] : c.at(outputs ? "outputs" : "inputs").members()) {
            const std::string& path = file.str();
            if (!safe_relative_path(path)) throw std::runtime_error("'" + path + "' is not a plain path inside the suite");
            const std::vector<std::uint8_t> bytes = suite(path);
            NpyArray a = npy_decode(bytes.data(), bytes.size(), path);
            a.to_finite_double(path); // references and inputs hold numbers, not NaN or infinity
            (outputs ? f.expected : f.inputs).emplace_back(key, std::move(a));
            if (outputs) {
                f.output_paths.push_back(path);
                f.tol32.push_back(tolerance_of(c.at("tolerance"), "float32", key));
                f.tol64.push_back(tolerance_of(c.at("tolerance"), "float64", key));
            }
        }
    if (f.expected.empty()) throw std::runtime_error("the case has no outputs to check");
    return f;
}

// The outputs another backend wrote, against the references.
void check_backend(const CaseFiles& f, const SuiteFiles& backend, const std::string& backend_name,
                   const std::string& precision, std::vector<GoldenResult>& results) {
    for (std::size_t i = 0; i < f.expected.size(); ++i) {
        const auto& [key, reference] = f.expected[i];
        const auto [rtol, atol] = precision == "float32" ? f.tol32[i] : f.tol64[i];
        try {
            const std::vector<std::uint8_t> bytes = backend(f.output_paths[i]);
            results.push_back(compare(f.name, key, backend_name, npy_decode(bytes.data(), bytes.size(), f.output_paths[i]),
                                      reference, rtol, atol));
        } catch (const std::exception& e) {
            GoldenResult r{f.name, key, backend_name};
            r.problem = e.what();
            results.push_back(r);
        }
    }
}

// This project's own float64 reference loops and float32 fast path.
void check_recomputed(const CaseFiles& f, std::vector<GoldenResult>& results) {
    for (const bool fast : {false, true}) {
        const NpzEntries got = golden_compute(f.op, *f.params, f.inputs, fast);
        for (std::size_t i = 0; i < f.expected.size(); ++i) {
            const auto& [key, reference] = f.expected[i];
            const auto [rtol, atol] = fast ? f.tol32[i] : f.tol64[i];
            results.push_back(compare(f.name, key, fast ? "float32 fast path" : "float64 reference",
                                      npz_get(got, key, f.name), reference, rtol, atol));
        }
    }
}

} // namespace

SuiteFiles folder_files(const std::string& dir) {
    return [dir](const std::string& path) {
        if (!safe_relative_path(path)) throw std::runtime_error("'" + path + "' is not a plain path inside the suite");
        const std::string full = dir + "/" + path;
        // A symbolic link inside the folder may still point out of it.
        std::error_code ec;
        const std::string root = std::filesystem::weakly_canonical(dir, ec).string();
        const std::string real = std::filesystem::weakly_canonical(full, ec).string();
        if (ec || real.compare(0, root.size(), root) != 0) throw std::runtime_error(full + ": leads out of " + dir);
        return read_file_bytes(full);
    };
}

std::vector<GoldenResult> golden_check(const SuiteFiles& suite, const std::string& suite_name, const SuiteFiles* backend,
                                       const std::string& backend_name, const std::string& precision) {
    if (precision != "float32" && precision != "float64")
        throw std::invalid_argument("precision must be float32 or float64, not '" + precision + "'");
    const std::string manifest_path = suite_name + "/manifest.json";
    const std::vector<std::uint8_t> bytes = suite("manifest.json");
    const Json m = parse_json(std::string(bytes.begin(), bytes.end()), manifest_path);
    std::vector<GoldenResult> results;
    try {
        if (m.at("format_version").integer() != golden_format_version)
            throw std::runtime_error("format_version " + std::to_string(m.at("format_version").integer()) +
                                     " is not the supported " + std::to_string(golden_format_version));
        if (m.at("cases").items().empty()) throw std::runtime_error("the manifest lists no case");
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(manifest_path + ": " + e.what());
    }
    for (const Json& c : m.at("cases").items()) {
        std::string name = "(unnamed case)";
        try {
            name = c.at("name").str();
            const CaseFiles f = read_case(c, suite);
            if (backend) check_backend(f, *backend, backend_name, precision, results);
            else check_recomputed(f, results);
        } catch (const std::exception& e) {
            GoldenResult r{name, "*", backend ? backend_name : "recompute"};
            r.problem = e.what();
            results.push_back(r);
        }
    }
    return results;
}

std::vector<GoldenResult> golden_check(const std::string& dir, const std::string& backend_dir, const std::string& precision) {
    const SuiteFiles suite = folder_files(dir);
    if (backend_dir.empty()) return golden_check(suite, dir, nullptr, "", precision);
    const SuiteFiles backend = folder_files(backend_dir);
    return golden_check(suite, dir, &backend, backend_dir, precision);
}

} // namespace allconv
