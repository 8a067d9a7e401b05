// The golden suite: deterministic, self-consistent, and a wrong backend fails.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "golden/golden.hpp"
#include "net/net.hpp"
#include "io/file.hpp"
#include "io/idx.hpp"
#include "io/json.hpp"

using namespace allconv;
namespace fs = std::filesystem;

namespace {

std::string fresh_dir(const std::string& name) {
    std::string d = ::testing::TempDir() + "allconv_" + name;
    fs::remove_all(d);
    return d;
}

// One suite written by this process, shared by the tests that only read it
// (each golden_write computes all 39 cases: about 0.3 s).
const std::string& generated_suite() {
    static const std::string d = [] {
        std::string dir = fresh_dir("golden_generated");
        golden_write(dir);
        return dir;
    }();
    return d;
}

bool all_pass(const std::vector<GoldenResult>& r) {
    for (const GoldenResult& x : r)
        if (!x.pass) return false;
    return !r.empty();
}

} // namespace

TEST(Golden, WritingTwiceGivesIdenticalBytes) {
    const std::string a = generated_suite(), b = fresh_dir("golden_b");
    golden_write(b);
    int files = 0;
    for (const auto& entry : fs::recursive_directory_iterator(a)) {
        if (!entry.is_regular_file()) continue;
        std::string rel = fs::relative(entry.path(), a).string();
        ASSERT_EQ(read_file_bytes(entry.path().string()), read_file_bytes(b + "/" + rel)) << rel;
        ++files;
    }
    EXPECT_GT(files, 300);
}

// The committed suite must be what the generator makes, every file byte for
// byte, and hold no file the generator does not make.
TEST(Golden, CommittedSuiteMatchesTheGenerator) {
    if (!fs::exists("data/golden/manifest.json")) GTEST_SKIP() << "run from the repository root";
    const std::string d = generated_suite();
    int files = 0;
    for (const auto& entry : fs::recursive_directory_iterator(d)) {
        if (!entry.is_regular_file()) continue;
        const std::string rel = fs::relative(entry.path(), d).generic_string();
        ASSERT_TRUE(fs::exists("data/golden/" + rel)) << rel << " is missing from data/golden";
        EXPECT_EQ(read_file_bytes(entry.path().string()), read_file_bytes("data/golden/" + rel)) << rel;
        ++files;
    }
    int committed = 0;
    for (const auto& entry : fs::recursive_directory_iterator("data/golden")) committed += entry.is_regular_file();
    EXPECT_EQ(committed, files) << "data/golden holds files the generator does not write";
    EXPECT_GT(files, 300);
}

TEST(Golden, RecomputingInDoubleAndFloatPasses) {
    std::vector<GoldenResult> r = golden_check(generated_suite(), "", "float32");
    EXPECT_TRUE(all_pass(r));
    for (const GoldenResult& x : r) EXPECT_TRUE(x.pass) << x.case_name << " " << x.output << " " << x.backend << " " << x.problem;
}

// A backend that writes the references passes; flip one value and that case
// (and only that case) fails, with its name.
TEST(Golden, AWrongBackendOutputFailsNamingTheCase) {
    const std::string d = generated_suite(), backend = fresh_dir("golden_backend");
    fs::copy(d, backend, fs::copy_options::recursive);
    EXPECT_TRUE(all_pass(golden_check(d, backend, "float32")));
    const std::string victim = backend + "/conv_k5_s2_p2_odd/dx.npy";
    NpyArray a = read_npy(victim);
    std::vector<double> v = a.to_double();
    v[7] += 0.01;
    write_npy(victim, NpyArray::from_double(v, a.shape));
    std::vector<GoldenResult> r = golden_check(d, backend, "float32");
    int failures = 0;
    for (const GoldenResult& x : r)
        if (!x.pass) {
            ++failures;
            EXPECT_EQ(x.case_name, "conv_k5_s2_p2_odd");
            EXPECT_EQ(x.output, "dx");
            EXPECT_NEAR(x.max_abs, 0.01, 1e-9);
        }
    EXPECT_EQ(failures, 1);
    fs::remove(backend + "/maxpool_2x2s2/switches.npy");
    bool missing_reported = false;
    for (const GoldenResult& x : golden_check(d, backend, "float64"))
        if (x.case_name == "maxpool_2x2s2" && x.output == "switches") missing_reported = !x.pass && !x.problem.empty();
    EXPECT_TRUE(missing_reported);
}

TEST(Json, ParsesAndRoundTrips) {
    Json j = parse_json(R"({"a": [1, 2.5, -3e2], "b": {"c": "x\"y\n"}, "t": true, "n": null})", "t.json");
    EXPECT_EQ(j.at("a").items()[2].number(), -300);
    EXPECT_EQ(j.at("b").at("c").str(), "x\"y\n");
    EXPECT_TRUE(j.at("t").boolean());
    EXPECT_EQ(parse_json(j.dump(), "again").dump(), j.dump());
    EXPECT_EQ(Json(0.1).dump(), "0.1\n"); // shortest form that reads back exactly
}

TEST(Json, HostileInputIsAOneLineError) {
    auto err = [](const std::string& s) {
        try {
            parse_json(s, "m.json");
        } catch (const std::runtime_error& e) {
            return std::string(e.what());
        }
        return std::string("(no error)");
    };
    EXPECT_NE(err(std::string(100000, '[')).find("nesting deeper than 64"), std::string::npos);
    EXPECT_NE(err("{\"a\": 1,}").find("m.json: invalid JSON"), std::string::npos);
    EXPECT_NE(err("{\"a\": 1, \"a\": 2}").find("duplicate key"), std::string::npos);
    EXPECT_NE(err("\"abc").find("unterminated"), std::string::npos);
    EXPECT_NE(err("[1e999]").find("malformed number"), std::string::npos);
    EXPECT_NE(err("[1] x").find("after the end"), std::string::npos);
    EXPECT_NE(err("").find("unexpected end"), std::string::npos);
}

TEST(Golden, BrokenManifestsAreClearErrors) {
    std::string d = fresh_dir("golden_broken");
    fs::create_directories(d);
    std::ofstream(d + "/manifest.json") << "{\"format_version\": 99, \"cases\": []}";
    try {
        golden_check(d, "", "float32");
        FAIL();
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("format_version 99"), std::string::npos) << e.what();
    }
    std::ofstream(d + "/manifest.json") << "{\"format_version\": 2, \"cases\": [{\"name\": \"x\", \"op\": \"conv\", \"params\": {}, "
                                           "\"inputs\": {\"x\": \"x/missing.npy\"}, \"outputs\": {}}]}";
    std::vector<GoldenResult> r = golden_check(d, "", "float32");
    ASSERT_EQ(r.size(), 1u);
    EXPECT_FALSE(r[0].pass);
    EXPECT_NE(r[0].problem.find("missing.npy"), std::string::npos) << r[0].problem;
}

// No output a wrong backend passes by accident: in the committed suite, every
// output has non-zero values (at least 1% of them, at least two), counted
// here independently of the generator's own check.
TEST(Golden, EveryOutputHasNonZeroValues) {
    if (!fs::exists("data/golden/manifest.json")) GTEST_SKIP() << "run from the repository root";
    const std::vector<std::uint8_t> m = read_file_bytes("data/golden/manifest.json");
    const Json manifest = parse_json(std::string(m.begin(), m.end()), "manifest.json");
    int outputs = 0;
    for (const Json& c : manifest.at("cases").items())
        for (const auto& [key, path] : c.at("outputs").members()) {
            const std::vector<double> v = read_npy("data/golden/" + path.str()).to_double();
            std::size_t nonzero = 0;
            for (double x : v) nonzero += x != 0;
            EXPECT_GE(nonzero * 100, v.size()) << path.str() << ": " << nonzero << " of " << v.size() << " non-zero";
            EXPECT_GE(nonzero, v.size() == 1 ? 1u : 2u) << path.str();
            ++outputs;
        }
    EXPECT_GT(outputs, 300);
}

// The conventions that real backends get wrong at exact zeros are pinned: the
// ReLU cases hold inputs of exactly 0 with a non-zero signal above them, and
// every network case's first convolution gives exactly 0 somewhere for image 0.
TEST(Golden, ExactZerosPinTheConventions) {
    if (!fs::exists("data/golden/manifest.json")) GTEST_SKIP() << "run from the repository root";
    for (const char* rule : {"backprop", "deconvnet", "guided"}) {
        const std::string dir = std::string("data/golden/relu_backward_") + rule + "/";
        const std::vector<double> f = read_npy(dir + "f.npy").to_double(), r = read_npy(dir + "r.npy").to_double();
        int pinned = 0;
        for (std::size_t i = 0; i < f.size(); ++i) pinned += f[i] == 0 && r[i] > 0;
        EXPECT_GE(pinned, 3) << rule;
    }
    const std::vector<std::uint8_t> m = read_file_bytes("data/golden/manifest.json");
    const Json manifest = parse_json(std::string(m.begin(), m.end()), "manifest.json");
    int networks = 0;
    for (const Json& c : manifest.at("cases").items()) {
        if (c.at("op").str() != "network") continue;
        const Arch arch = parse_arch(c.at("params").at("spec").str(), c.at("name").str());
        NpzEntries in;
        for (const auto& [key, path] : c.at("inputs").members()) in.emplace_back(key, read_npy("data/golden/" + path.str()));
        Params<double> p = zero_params<double>(arch);
        for (std::size_t i = 0; i < arch.layers.size(); ++i)
            if (arch.layers[i].kind == LayerKind::conv) {
                p.weight[i].data = npz_get(in, arch.layers[i].name + ".weight", "").to_double();
                p.bias[i].data = npz_get(in, arch.layers[i].name + ".bias", "").to_double();
            }
        Tensor<double> x0(arch.input);
        const std::vector<double> x = npz_get(in, "x", "").to_double();
        std::copy_n(x.begin(), x0.size(), x0.data.begin());
        Tape<double> tape;
        net_forward(arch, p, x0, tape);
        EXPECT_GT(std::count(tape.out[0].data.begin(), tape.out[0].data.end(), 0.0), 0) << c.at("name").str();
        ++networks;
    }
    EXPECT_EQ(networks, 13);
}
