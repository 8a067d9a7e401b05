// visualize: targets on a hand-worked network, display mappings, bad targets.
#include <gtest/gtest.h>

#include <stdexcept>

#include "net/visualize.hpp"

using namespace allconv;

namespace {

// The worked example of net_test.cpp, with a global average on top:
//   x = [2, -1] (1x1x2); conv1 1x1 w = [1, -1] -> f: ch0 = [2, -1], ch1 = [-2, 1]
//   relu1; conv2 1x1 w = [1, -2] -> y = [2, -2]; gap -> 0 (the class-0 logit)
struct Worked {
    Arch arch = parse_arch("input 1x1x2; conv 2 k1; relu; conv 1 k1; gap");
    Params<float> params = zero_params<float>(arch);
    Tape<float> tape;
    Worked() {
        params.weight[0].data = {1, -1};
        params.weight[2].data = {1, -2};
        Tensor<float> x({1, 1, 1, 2});
        x.data = {2, -1};
        net_forward(arch, params, x, tape);
    }
    std::vector<float> run(const std::string& target, Rule r) {
        return explain(arch, params, tape, parse_target(target, arch), r).data;
    }
};

} // namespace

// class:0 -> gap spreads 1 as [1/2, 1/2]; by the worked example (halved):
//   backprop [0.5, 1], deconvnet [0.5, 0.5], guided [0.5, 0].
TEST(Visualize, ClassTargetUnderEachRule) {
    Worked w;
    EXPECT_EQ(w.run("class:0", Rule::backprop), (std::vector<float>{0.5f, 1.0f}));
    EXPECT_EQ(w.run("class:0", Rule::deconvnet), (std::vector<float>{0.5f, 0.5f}));
    EXPECT_EQ(w.run("class:0", Rule::guided), (std::vector<float>{0.5f, 0.0f}));
    EXPECT_EQ(w.run("class:predicted", Rule::backprop), w.run("class:0", Rule::backprop));
}

// unit:conv2:0:0:1 -> seed at x = 1 only. Through conv2: ch0 = [0, 1], ch1 = [0, -2].
// f at x = 1: ch0 = -1, ch1 = 1.  backprop: ch0 0, ch1 -2 -> dx = [0, 0 - (-2)] = [0, 2]
// deconvnet: ch0 1, ch1 0 -> [0, 1].  guided: both 0 -> [0, 0].
TEST(Visualize, UnitTargetUnderEachRule) {
    Worked w;
    EXPECT_EQ(w.run("unit:conv2:0:0:1", Rule::backprop), (std::vector<float>{0, 2}));
    EXPECT_EQ(w.run("unit:conv2:0:0:1", Rule::deconvnet), (std::vector<float>{0, 1}));
    EXPECT_EQ(w.run("unit:conv2:0:0:1", Rule::guided), (std::vector<float>{0, 0}));
}

// channel:conv2:0 -> conv2 = [2, -2], strongest at x = 0. Through conv2: ch0 = [1, 0],
// ch1 = [-2, 0]; f at x = 0: ch0 = 2, ch1 = -2. All three rules keep ch0 only -> [1, 0].
TEST(Visualize, ChannelTargetPicksTheStrongestActivation) {
    Worked w;
    for (Rule r : {Rule::backprop, Rule::deconvnet, Rule::guided})
        EXPECT_EQ(w.run("channel:conv2:0", r), (std::vector<float>{1, 0})) << rule_name(r);
}

TEST(Visualize, BadTargetsSayWhatIsWrong) {
    Worked w;
    auto err = [&](const std::string& t) {
        try {
            parse_target(t, w.arch);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("(no error)");
    };
    EXPECT_NE(err("class:3").find("the network has 1 classes, so 3 is out of range"), std::string::npos);
    EXPECT_NE(err("unit:conv2:0:1:0").find("conv2 has 1 rows"), std::string::npos);
    EXPECT_NE(err("unit:conv9:0:0:0").find("no layer named 'conv9'"), std::string::npos);
    EXPECT_NE(err("channel:conv1:2").find("conv1 has 2 channels"), std::string::npos);
    EXPECT_NE(err("neuron:1").find("expected class:K"), std::string::npos);
    EXPECT_NE(err("class:-1").find("whole number"), std::string::npos);
}

// common: (v - mean) / (std + 1e-5) * 0.1 + 0.5. For [1, 3]: mean 2, std 1 ->
// [0.5 - 0.1/(1+1e-5), 0.5 + 0.1/(1+1e-5)]. symmetric: [-2, 1] -> [0, 0.75].
TEST(Visualize, DisplayMappingsByTheirFormulas) {
    Tensor<float> s({1, 1, 1, 2});
    s.data = {1, 3};
    Tensor<float> c = display_map(s, Display::common);
    EXPECT_NEAR(c.data[0], 0.5 - 0.1 / (1 + 1e-5), 1e-6);
    EXPECT_NEAR(c.data[1], 0.5 + 0.1 / (1 + 1e-5), 1e-6);
    s.data = {-2, 1};
    Tensor<float> m = display_map(s, Display::symmetric);
    EXPECT_FLOAT_EQ(m.data[0], 0.0f);
    EXPECT_FLOAT_EQ(m.data[1], 0.75f);
    s.data = {0, 0};
    EXPECT_FLOAT_EQ(display_map(s, Display::symmetric).data[0], 0.5f);
    EXPECT_THROW(parse_display("log"), std::invalid_argument);
}

// Receptive fields by hand. "input 1x9x9; conv k3 p1; conv k3 s2 p1":
// output (1, 1) of conv2 sees conv1 rows 1*2-1 .. +2 = 1..3, which see input rows 0..4.
// Output (0, 0) sees conv1 rows -1..1 -> clipped 0..1 -> input rows -1..2 -> 0..2.
TEST(Visualize, ReceptiveFieldsWalkDownThroughStridesAndPadding) {
    Arch a = parse_arch("input 1x9x9; conv 1 k3 p1; relu; conv 1 k3 s2 p1; maxpool k3 s2 p1");
    Region r = receptive_field(a, 2, 1, 1);
    EXPECT_EQ(r.y0, 0);
    EXPECT_EQ(r.y1, 4);
    Region c = receptive_field(a, 2, 0, 0);
    EXPECT_EQ(c.y0, 0);
    EXPECT_EQ(c.y1, 2);
    // Through the pool: pool output 1 sees conv2 rows 1..3, which see input rows 0..8.
    Region p = receptive_field(a, 3, 1, 0);
    EXPECT_EQ(p.y0, 0);
    EXPECT_EQ(p.y1, 8);
    EXPECT_EQ(p.x1, 4); // pool column 0 sees conv2 columns -1..1 -> 0..1 -> input 0..4
}
