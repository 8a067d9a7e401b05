// docs/tour.md, asserted: the worked example's numbers, step by step. If the
// code or the document changes, this test says where they disagree.
// All values are small integers or multiples of 1/4, exact in float and double.
#include <gtest/gtest.h>

#include "conv.hpp"
#include "gap.hpp"
#include "net.hpp"
#include "pool.hpp"
#include "relu.hpp"

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
    Compute ref;
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
        ref.reference = true;
        net_forward(arch, p, x, tape, ref);
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
        Tensor<double> s({1, 2, 1, 1}), whole;
        s.data = seed;
        net_backward(t.arch, t.p, t.tape, 4, s, e.rule, &whole, (Params<double>*)nullptr, t.ref);
        EXPECT_EQ(whole.data, e.at_input) << rule_name(e.rule);
    }
}
