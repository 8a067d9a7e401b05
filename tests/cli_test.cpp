// The command line: exit codes, one-line errors, no half-written outputs.
// Runs the built binary (path in $ALLCONV, set by `make test`).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "net/model.hpp"
#include "cli_util.hpp"
#include "io/file.hpp"
#include "io/idx.hpp"
#include "io/json.hpp"
#include "io/npy.hpp"
#include "rng.hpp"

using namespace allconv;

namespace {

using allconv::testing::lines;
using allconv::testing::Outcome;

Outcome run(const std::string& args) { return allconv::testing::run_allconv(args); }

bool exists(const std::string& p) { return std::ifstream(p).good(); }

// A tiny model file and input, the worked example of visualize_test.cpp.
std::string tiny_model() {
    Model m;
    m.arch = parse_arch("input 1x1x2; conv 2 k1; relu; conv 1 k1; gap; softmax");
    m.params = zero_params<float>(m.arch);
    m.params.weight[0].data = {1, -1};
    m.params.weight[2].data = {1, -2};
    m.mean = {0};
    m.std = {1};
    std::string path = ::testing::TempDir() + "allconv_tiny.npz";
    save_model(path, m);
    write_npy(::testing::TempDir() + "allconv_x.npy", NpyArray::from_float({2, -1}, {1, 2}));
    return path;
}

} // namespace

// A tiny IDX data set in a folder, as the Debian package lays it out.
std::string tiny_dataset() {
    std::string dir = ::testing::TempDir() + "allconv_tiny_data";
    std::filesystem::create_directories(dir);
    auto write = [&](const std::string& name, int count, bool images) {
        std::vector<std::uint8_t> b = {0, 0, 8, std::uint8_t(images ? 3 : 1)};
        std::vector<int> dims = {count};
        if (images) dims.insert(dims.end(), {8, 8});
        for (int d : dims)
            for (int shift = 24; shift >= 0; shift -= 8) b.push_back(std::uint8_t(d >> shift));
        Rng rng{std::uint64_t(count)};
        for (int i = 0; i < count; ++i) {
            if (!images) {
                b.push_back(std::uint8_t(i % 2));
                continue;
            }
            for (int y = 0; y < 8; ++y)
                for (int x = 0; x < 8; ++x) b.push_back(std::uint8_t(((x < 4) == (i % 2 == 0) ? 180 : 40) + rng.below(60)));
        }
        std::ofstream(dir + "/" + name, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
    };
    write("train-images-idx3-ubyte", 48, true);
    write("train-labels-idx1-ubyte", 48, false);
    write("t10k-images-idx3-ubyte", 16, true);
    write("t10k-labels-idx1-ubyte", 16, false);
    std::ofstream(dir + "/tiny.spec") << "input 1x8x8; conv 4 k3 p1; relu; conv 4 k3 s2 p1; relu; conv 2 k1; gap; softmax";
    return dir;
}

// Two epochs straight, or one epoch then --resume from its checkpoint: the
// same model file, byte for byte.
TEST(Cli, TrainResumeGivesTheSameModelFile) {
    std::string d = tiny_dataset(), common = " --data " + d + " --batch 8 --seed 3 --threads 2";
    Outcome straight = run("train --model " + d + "/tiny.spec --epochs 2 --out " + d + "/a.npz" + common);
    ASSERT_EQ(straight.status, 0) << straight.err;
    EXPECT_NE(straight.err.find("epoch 2/2"), std::string::npos) << straight.err;
    Outcome first = run("train --model " + d + "/tiny.spec --epochs 1 --out " + d + "/half.npz --checkpoint " + d + "/c.npz" + common);
    ASSERT_EQ(first.status, 0) << first.err;
    Outcome resumed = run("train --resume " + d + "/c.npz --epochs 2 --out " + d + "/b.npz" + common);
    ASSERT_EQ(resumed.status, 0) << resumed.err;
    EXPECT_EQ(read_file_bytes(d + "/a.npz"), read_file_bytes(d + "/b.npz"));
    Outcome eval = run("eval --model " + d + "/a.npz --data " + d);
    EXPECT_EQ(eval.status, 0) << eval.err;
    EXPECT_NE(eval.out.find("accuracy"), std::string::npos);
}

TEST(Cli, MissingDatasetSaysWhichPackageToInstall) {
    Outcome r = run("train --model all-cnn-c --out /tmp/never.npz --data /nonexistent");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("apt-get install dataset-fashion-mnist"), std::string::npos) << r.err;
}

TEST(Cli, HelpForEveryCommand) {
    Outcome top = run("--help");
    EXPECT_EQ(top.status, 0);
    for (const char* cmd : {"models", "describe", "train", "eval", "predict", "visualize", "top-patches", "export",
                            "golden", "onnx-tests", "init", "bench", "extract"}) {
        EXPECT_NE(top.out.find(cmd), std::string::npos) << cmd;
        Outcome r = run(std::string(cmd) + " --help");
        EXPECT_EQ(r.status, 0) << cmd;
        EXPECT_NE(r.out.find("usage: allconv"), std::string::npos) << cmd;
    }
}

TEST(Cli, ModelsListsAllThirteenWithExactCounts) {
    Outcome r = run("models");
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(lines(r.out), 14); // header + 13 models
    EXPECT_NE(r.out.find("1,369,738"), std::string::npos);
    EXPECT_NE(r.out.find("9,372,840"), std::string::npos);
}

TEST(Cli, UsageErrorsExitTwoWithOneLine) {
    for (const char* args : {"frobnicate", "models --bogus", "describe", "train --model all-cnn-c",
                             "visualize --model x.npz", "describe all-cnn-c --width abc"}) {
        Outcome r = run(args);
        EXPECT_EQ(r.status, 2) << args;
        EXPECT_EQ(lines(r.err), 1) << args << ": " << r.err;
        EXPECT_EQ(r.err.rfind("allconv: ", 0), 0u) << args << ": " << r.err;
    }
}

TEST(Cli, BadFilesExitOneNamingTheFile) {
    std::string spec = ::testing::TempDir() + "allconv_bad.spec";
    std::ofstream(spec) << "input 1x8x8\nconv 4 k3\nbatchnorm\n";
    Outcome r = run("describe " + spec);
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(lines(r.err), 1);
    EXPECT_NE(r.err.find(spec + ":3"), std::string::npos) << r.err;
    std::string junk = ::testing::TempDir() + "allconv_junk.npz";
    std::ofstream(junk) << "not a zip";
    Outcome m = run("predict --model " + junk + " x.pgm");
    EXPECT_EQ(m.status, 1);
    EXPECT_NE(m.err.find(junk), std::string::npos) << m.err;
}

TEST(Cli, VisualizeAllEqualsTheThreeSingleRuns) {
    std::string model = tiny_model(), x = ::testing::TempDir() + "allconv_x.npy", dir = ::testing::TempDir();
    Outcome all = run("visualize --model " + model + " " + x + " --out " + dir + "allconv_all.png --raw " + dir + "allconv_all.npy");
    ASSERT_EQ(all.status, 0) << all.err;
    std::vector<float> joined;
    for (const char* rule : {"backprop", "deconvnet", "guided"}) {
        Outcome one = run("visualize --model " + model + " " + x + " --rule " + rule + " --out " + dir + "allconv_one.png --raw " + dir + "allconv_one.npy");
        ASSERT_EQ(one.status, 0) << one.err;
        std::vector<float> v = read_npy(dir + "allconv_one.npy").to_float();
        joined.insert(joined.end(), v.begin(), v.end());
    }
    std::vector<float> a = read_npy(dir + "allconv_all.npy").to_float();
    EXPECT_EQ(a, joined);
    // And the numbers are the worked example's (class 0, gap over 2 pixels): see visualize_test.cpp.
    EXPECT_EQ(a, (std::vector<float>{0.5f, 1.0f, 0.5f, 0.5f, 0.5f, 0.0f}));
}

TEST(Cli, VisualizeFailuresWriteNoOutput) {
    std::string model = tiny_model(), dir = ::testing::TempDir();
    std::string out = dir + "allconv_never.png";
    std::remove(out.c_str());
    Outcome bad_target = run("visualize --model " + model + " " + dir + "allconv_x.npy --target unit:conv2:5:0:0 --out " + out);
    EXPECT_EQ(bad_target.status, 2);
    EXPECT_NE(bad_target.err.find("conv2 has 1 channels"), std::string::npos) << bad_target.err;
    std::string rgb = dir + "allconv_rgb.npy";
    write_npy(rgb, NpyArray::from_float(std::vector<float>(6, 0.5f), {3, 1, 2}));
    Outcome wrong_channels = run("visualize --model " + model + " " + rgb + " --out " + out);
    EXPECT_EQ(wrong_channels.status, 1);
    EXPECT_NE(wrong_channels.err.find("image is 3x1x2"), std::string::npos) << wrong_channels.err;
    Outcome missing = run("visualize --model " + model + " " + dir + "allconv_x.npy " + dir + "nope.pgm --out " + out);
    EXPECT_EQ(missing.status, 1);
    EXPECT_NE(missing.err.find("nope.pgm"), std::string::npos) << missing.err;
    EXPECT_FALSE(exists(out));
    EXPECT_FALSE(exists(out + ".tmp"));
}

// predict --raw and --json give the logits unrounded: the same numbers as the
// worked tiny model (visualize_test.cpp): x = [2, -1] -> relu(conv1) = [2, 0, 0, 1]
// -> conv2 = [2, -2] -> gap = 0. The JSON's probabilities sum to 1.
TEST(Cli, PredictWritesTheLogitsUnrounded) {
    const std::string model = tiny_model(), x = ::testing::TempDir() + "allconv_x.npy", dir = ::testing::TempDir();
    Outcome r = run("predict --model " + model + " " + x + " " + x + " --top 1 --raw " + dir + "allconv_l.npy --json " +
                    dir + "allconv_l.json");
    ASSERT_EQ(r.status, 0) << r.err;
    const NpyArray logits = read_npy(dir + "allconv_l.npy");
    EXPECT_EQ(logits.shape, (std::vector<long>{2, 1}));
    EXPECT_EQ(logits.to_double(), (std::vector<double>{0.0, 0.0}));
    const std::vector<std::uint8_t> j = read_file_bytes(dir + "allconv_l.json");
    const Json doc = parse_json(std::string(j.begin(), j.end()), "l.json");
    ASSERT_EQ(doc.at("images").items().size(), 2u);
    EXPECT_EQ(doc.at("images").items()[0].at("probabilities").items()[0].number(), 1.0);
    EXPECT_EQ(doc.at("images").items()[1].at("file").str(), x);
}
