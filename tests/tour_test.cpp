// docs/tour.md, asserted: the worked example's numbers, step by step. If the
// code or the document changes, this test says where they disagree.
// All values are small integers or multiples of 1/4, exact in float and double.
#include <gtest/gtest.h>

#include "layers/conv.hpp"
#include "layers/gap.hpp"
#include "net/net.hpp"
#include "layers/pool.hpp"
#include "layers/relu.hpp"

using namespace allconv;

namespace {

using Grid = std::vector<std::vector<double>>;

std::vector<double> flat(const std::vector<Grid>& channels) {
    std::vector<double> v;
    for (const Grid& g : channels)
        for (const auto& row : g) v.insert(v.end(), row.begin(), row.end());
    return v;
}

struct Tour {
    Arch arch = parse_arch("input 1x6x6; conv 2 k3 s2 p1; relu; maxpool k3 s2 p1; conv 2 k1; gap");
    Params<double> p = zero_params<double>(arch);
    Tensor<double> x{Shape{1, 1, 6, 6}};
    Tape<double> tape;
    Tour() {
        x.data = flat({{{1, 2, 0, 1, 3, 0},
                        {0, 1, 3, 2, 0, 1},
                        {2, 0, 1, 0, 1, 2},
                        {1, 3, 0, 2, 0, 0},
                        {0, 1, 2, 1, 3, 1},
                        {2, 0, 1, 0, 1, 2}}});
        p.weight[0].data = flat({{{1, 0, -1}, {1, 0, -1}, {1, 0, -1}},   // filter A: vertical edges
                                 {{0, 1, 0}, {1, 1, 1}, {0, 1, 0}}});    // filter B: a plus
        p.bias[0].data = {1, -5};
        p.weight[3].data = {1, -1, -1, 2}; // class 0 = A - B, class 1 = -A + 2B
        p.bias[3].data = {0, 0};
        net_forward(arch, p, x, tape); // the reference loops
    }
};

} // namespace

TEST(Tour, Step1ConvolutionStrideTwoPaddingOne) {
    Tour t;
    EXPECT_EQ(t.tape.out[0].shape, (Shape{1, 2, 3, 3}));
    EXPECT_EQ(t.tape.out[0].data, flat({{{-2, 1, 3}, {-3, 1, 2}, {-3, 2, 1}},
                                        {{-2, 1, -1}, {-2, -1, -2}, {-1, 0, 1}}}));
}

TEST(Tour, Step2Relu) {
    Tour t;
    EXPECT_EQ(t.tape.out[1].data, flat({{{0, 1, 3}, {0, 1, 2}, {0, 2, 1}}, {{0, 1, 0}, {0, 0, 0}, {0, 0, 1}}}));
}

TEST(Tour, Step3MaxPoolValuesAndSwitches) {
    Tour t;
    EXPECT_EQ(t.tape.out[2].data, flat({{{1, 3}, {2, 2}}, {{1, 1}, {0, 1}}}));
    EXPECT_EQ(t.tape.switches[2], (std::vector<std::int32_t>{1, 2, 7, 5, 1, 1, 3, 8}));
}

TEST(Tour, Step4OneByOneConvolutionAndGlobalAverage) {
    Tour t;
    EXPECT_EQ(t.tape.out[3].data, flat({{{0, 2}, {2, 1}}, {{1, -1}, {-2, 0}}}));
    EXPECT_EQ(t.tape.out[4].data, (std::vector<double>{1.25, -0.5}));
}

// Backward from the logit of class 1, one layer at a time with the layer functions.
TEST(Tour, Step5BackwardLayerByLayer) {
    Tour t;
    const std::vector<double> seed = {0, 1};
    std::vector<double> dz(8), dp(8), dr(18), below(18), dx(36);
    gap_backward(Shape{1, 2, 2, 2}, seed.data(), dz.data());
    EXPECT_EQ(dz, flat({{{0, 0}, {0, 0}}, {{0.25, 0.25}, {0.25, 0.25}}}));
    ConvGeom g1 = conv_geom({1, 2, 2, 2}, 2, 1, 1, 0);
    conv_backward_input(g1, dz.data(), t.p.weight[3].ptr(), dp.data());
    EXPECT_EQ(dp, flat({{{-0.25, -0.25}, {-0.25, -0.25}}, {{0.5, 0.5}, {0.5, 0.5}}}));
    PoolGeom pg = pool_geom({1, 2, 3, 3}, 3, 2, 1);
    maxpool_backward(pg, dp.data(), t.tape.switches[2].data(), dr.data());
    EXPECT_EQ(dr, flat({{{0, -0.25, -0.25}, {0, 0, -0.25}, {0, -0.25, 0}}, {{0, 1, 0}, {0.5, 0, 0}, {0, 0, 0.5}}}));
    const Grid zero3 = {{0, 0, 0}, {0, 0, 0}, {0, 0, 0}};
    struct Expect {
        Rule rule;
        std::vector<double> at_relu, at_input;
    };
    const Expect expect[3] = {
        {Rule::backprop, flat({{{0, -0.25, -0.25}, {0, 0, -0.25}, {0, -0.25, 0}}, {{0, 1, 0}, {0, 0, 0}, {0, 0, 0.5}}}),
         flat({{{0, 0.75, 1, 1, 0, 0.25},
                {0, -0.25, 1, -0.25, 0, 0.5},
                {0, 0, 0, -0.25, 0, 0.25},
                {0, -0.25, 0, 0, 0.5, 0.25},
                {0, -0.25, 0, 0.75, 0.5, 0.5},
                {0, -0.25, 0, 0.25, 0.5, 0}}})},
        {Rule::deconvnet, flat({zero3, {{0, 1, 0}, {0.5, 0, 0}, {0, 0, 0.5}}}),
         flat({{{0, 1, 1, 1, 0, 0},
                {0.5, 0, 1, 0, 0, 0},
                {0.5, 0.5, 0, 0, 0, 0},
                {0.5, 0, 0, 0, 0.5, 0},
                {0, 0, 0, 0.5, 0.5, 0.5},
                {0, 0, 0, 0, 0.5, 0}}})},
        {Rule::guided, flat({zero3, {{0, 1, 0}, {0, 0, 0}, {0, 0, 0.5}}}),
         flat({{{0, 1, 1, 1, 0, 0},
                {0, 0, 1, 0, 0, 0},
                {0, 0, 0, 0, 0, 0},
                {0, 0, 0, 0, 0.5, 0},
                {0, 0, 0, 0.5, 0.5, 0.5},
                {0, 0, 0, 0, 0.5, 0}}})},
    };
    ConvGeom g0 = conv_geom({1, 1, 6, 6}, 2, 3, 2, 1);
    for (const Expect& e : expect) {
        relu_backward(e.rule, 18, t.tape.out[0].ptr(), dr.data(), below.data());
        EXPECT_EQ(below, e.at_relu) << rule_name(e.rule);
        conv_backward_input(g0, below.data(), t.p.weight[0].ptr(), dx.data());
        EXPECT_EQ(dx, e.at_input) << rule_name(e.rule);
        // And the whole network's backward gives the same, in one call.
        Tensor<double> s({1, 2, 1, 1});
        s.data = seed;
        EXPECT_EQ(net_signal(t.arch, t.p, t.tape, 4, s, e.rule).data, e.at_input) << rule_name(e.rule);
    }
}

namespace {

// The class-1 logit at input x, and central differences of it (h = 1e-6).
double logit1(const Tour& t, const Tensor<double>& x) {
    Tape<double> tape;
    net_forward(t.arch, t.p, x, tape);
    return tape.out[4].data[1];
}

double central_difference(const Tour& t, Tensor<double> x, std::size_t i) {
    const double h = 1e-6, v = x.data[i];
    x.data[i] = v + h;
    const double up = logit1(t, x);
    x.data[i] = v - h;
    const double down = logit1(t, x);
    return (up - down) / (2 * h);
}

// True when no ReLU input is exactly 0 and no pool window holds its maximum twice.
bool off_every_kink(const Tour& t, const Tensor<double>& x) {
    Tape<double> tape;
    net_forward(t.arch, t.p, x, tape);
    for (double f : tape.out[0].data)
        if (f == 0) return false;
    const Tensor<double>& r = tape.out[1]; // the pool's input, 2 channels of 3x3, windows 3x3 stride 2 pad 1
    for (int c = 0; c < 2; ++c)
        for (int oy = 0; oy < 2; ++oy)
            for (int ox = 0; ox < 2; ++ox) {
                int at_max = 0;
                const double m = tape.out[2].at(0, c, oy, ox);
                for (int y = 2 * oy - 1; y <= 2 * oy + 1; ++y)
                    for (int xx = 2 * ox - 1; xx <= 2 * ox + 1; ++xx)
                        at_max += y >= 0 && y < 3 && xx >= 0 && xx < 3 && r.at(0, c, y, xx) == m;
                if (at_max != 1) return false;
            }
    return true;
}

} // namespace

// What docs/tour.md says of backprop's image. At the tour's input the network
// sits on kinks on purpose (ReLU inputs of exactly 0, pool windows with ties),
// where the logit has no gradient: backprop gives one side, and central
// differences straddle the kink (0.875 against backprop's 0.75 at (0, 1)).
TEST(Tour, AtTheKinksBackpropIsOneSide) {
    Tour t;
    EXPECT_FALSE(off_every_kink(t, t.x));
    Tensor<double> s({1, 2, 1, 1});
    s.data = {0, 1};
    EXPECT_EQ(net_signal(t.arch, t.p, t.tape, 4, s, Rule::backprop).data[1], 0.75);
    EXPECT_NEAR(central_difference(t, t.x, 1), 0.875, 1e-6);
}

// Nearby, where the network is differentiable, backprop's image is the
// gradient: every entry agrees with central differences.
TEST(Tour, NearbyBackpropIsTheGradient) {
    Tour t;
    Tensor<double> x = t.x;
    for (std::size_t i = 0; i < x.size(); ++i) x.data[i] += 1e-3 * double((i * 7) % 11 + 1); // small, distinct nudges
    ASSERT_TRUE(off_every_kink(t, x));
    Tape<double> tape;
    net_forward(t.arch, t.p, x, tape);
    Tensor<double> s({1, 2, 1, 1});
    s.data = {0, 1};
    const Tensor<double> dx = net_signal(t.arch, t.p, tape, 4, s, Rule::backprop);
    for (std::size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(dx.data[i], central_difference(t, x, i), 1e-7) << i;
}
