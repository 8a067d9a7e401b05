// ReLU and the three rules, global average pooling, softmax / cross-entropy,
// dropout, and the portable random generator.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "fast/runs.hpp"
#include "layers/dropout.hpp"
#include "layers/gap.hpp"
#include "layers/relu.hpp"
#include "layers/softmax.hpp"
#include "test_util.hpp"

using namespace allconv;
using namespace allconv::testing;

// The paper's table, case by case: f the forward input, R the signal.
//   f:  2   2  -1  -1   0
//   R:  3  -3   3  -3   5
//   backprop   R*[f>0]:        3  -3   0   0   0
//   deconvnet  R*[R>0]:        3   0   3   0   5
//   guided     R*[f>0]*[R>0]:  3   0   0   0   0
TEST(Rules, ReluBackwardFollowsThePapersTable) {
    double f[5] = {2, 2, -1, -1, 0}, r[5] = {3, -3, 3, -3, 5}, out[5];
    relu_backward(Rule::backprop, 5, f, r, out);
    EXPECT_EQ(std::vector<double>(out, out + 5), (std::vector<double>{3, -3, 0, 0, 0}));
    relu_backward(Rule::deconvnet, 5, f, r, out);
    EXPECT_EQ(std::vector<double>(out, out + 5), (std::vector<double>{3, 0, 3, 0, 5}));
    relu_backward(Rule::guided, 5, f, r, out);
    EXPECT_EQ(std::vector<double>(out, out + 5), (std::vector<double>{3, 0, 0, 0, 0}));
}

TEST(Rules, NamesRoundTripAndUnknownNamesThrow) {
    for (Rule r : {Rule::backprop, Rule::deconvnet, Rule::guided}) EXPECT_EQ(parse_rule(rule_name(r)), r);
    EXPECT_THROW(parse_rule("gradcam"), std::invalid_argument);
}

TEST(Relu, ForwardClampsNegativesToZero) {
    float f[4] = {-1.5f, 0.f, 2.f, -0.f}, y[4];
    relu_forward(4, f, y);
    EXPECT_EQ(std::vector<float>(y, y + 4), (std::vector<float>{0, 0, 2, 0}));
}

// The fast path takes the ReLU after a convolution as it copies the
// convolution's outputs out of their tile (fast/runs.hpp): the bits of the
// ReLU layer itself, compared as bytes (-0 must come out as relu_forward's
// +0), for each way of copying: contiguous, plus a bias (-0: -0 + -0 stays
// -0 in y), and every third value.
TEST(Relu, TakenWithTheConvolutionsCopyGivesTheLayersBits) {
    const float src[12] = {-0.f, 0.f, -1.5f, 2.f, 1e-40f, -1e-40f, 3.f, -0.f, 0.f, -7.f, 0.5f, -0.f};
    const float bias = -0.f;
    for (int way = 0; way < 3; ++way) {
        const int n = way == 2 ? 4 : 12;
        float want_y[12], want_relu[12], y[12], relu[12];
        for (int q = 0; q < n; ++q) want_y[q] = way == 0 ? src[q] : way == 1 ? src[q] + bias : src[3 * q];
        relu_forward(std::size_t(n), want_y, want_relu);
        copy_out(src, way == 2 ? 3 : 1, n, way == 1 ? &bias : nullptr, y, relu);
        EXPECT_EQ(std::memcmp(y, want_y, sizeof(float) * std::size_t(n)), 0) << "way " << way;
        EXPECT_EQ(std::memcmp(relu, want_relu, sizeof(float) * std::size_t(n)), 0) << "way " << way;
    }
}

// Mean of each plane; backward spreads dy / (H*W) over the plane.
TEST(Gap, ForwardIsThePlaneMeanAndBackwardSpreadsEvenly) {
    Shape s{1, 2, 2, 3};
    double x[12] = {1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 12}, y[2];
    gap_forward(s, x, y);
    EXPECT_EQ(y[0], 3.5);
    EXPECT_EQ(y[1], 2.0);
    double dy[2] = {6, -12}, dx[12];
    gap_backward(s, dy, dx);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(dx[i], 1.0);
    for (int i = 6; i < 12; ++i) EXPECT_EQ(dx[i], -2.0);
}

// Two classes with logits (0, ln 3): p = (1/4, 3/4); label 1 -> loss ln(4/3).
TEST(Softmax, HandComputedTwoClassLoss) {
    double z[2] = {0, std::log(3.0)}, p[2], dz[2];
    int label = 1;
    softmax_forward(1, 2, z, p);
    EXPECT_NEAR(p[0], 0.25, 1e-15);
    EXPECT_NEAR(p[1], 0.75, 1e-15);
    EXPECT_NEAR(softmax_cross_entropy(1, 2, z, &label, dz), std::log(4.0 / 3.0), 1e-15);
    EXPECT_NEAR(dz[0], 0.25, 1e-15);  // p - onehot
    EXPECT_NEAR(dz[1], -0.25, 1e-15);
}

TEST(Softmax, LargeLogitsDoNotOverflow) {
    double z[3] = {1000, 1001, 999}, p[3];
    softmax_forward(1, 3, z, p);
    EXPECT_TRUE(std::isfinite(p[0]) && std::isfinite(p[1]));
    EXPECT_NEAR(p[0] + p[1] + p[2], 1.0, 1e-15);
}

TEST(Softmax, CrossEntropyGradientMatchesFiniteDifferences) {
    const int batch = 3, classes = 5;
    auto z = random_vector<double>(batch * classes, 9);
    int labels[batch] = {4, 0, 2};
    std::vector<double> dz(z.size());
    softmax_cross_entropy(batch, classes, z.data(), labels, dz.data());
    std::vector<std::size_t> idx;
    std::vector<double> num;
    numeric_gradient(z, [&] { return softmax_cross_entropy(batch, classes, z.data(), labels); }, 0,
                     idx, num);
    EXPECT_LT(relative_error(pick(dz, idx), num), 1e-6);
}

TEST(Softmax, BackwardIsTheJacobianTransposeProduct) {
    const int classes = 6;
    auto z = random_vector<double>(classes, 3), r = random_vector<double>(classes, 4);
    std::vector<double> p(classes), dz(classes);
    softmax_forward(1, classes, z.data(), p.data());
    softmax_backward(1, classes, p.data(), r.data(), dz.data());
    std::vector<std::size_t> idx;
    std::vector<double> num;
    numeric_gradient(z, [&] {
        std::vector<double> q(classes);
        softmax_forward(1, classes, z.data(), q.data());
        return dot(q, r);
    }, 0, idx, num);
    EXPECT_LT(relative_error(pick(dz, idx), num), 1e-6);
}

TEST(Softmax, LabelOutOfRangeThrows) {
    double z[2] = {0, 0};
    int bad = 2;
    EXPECT_THROW(softmax_cross_entropy(1, 2, z, &bad), std::invalid_argument);
}

// Inverted dropout: kept units scaled by 1/(1-p); the kept fraction is near 1-p.
TEST(Dropout, MaskKeepsAboutOneMinusPAndScalesKeptUnits) {
    Rng rng(5);
    std::vector<float> mask(100000);
    dropout_mask(rng, 0.2, mask.size(), mask.data());
    int kept = 0;
    for (float m : mask) {
        ASSERT_TRUE(m == 0.0f || m == 1.25f) << m;
        kept += m != 0.0f;
    }
    // Binomial(100000, 0.8): std 126; 5 std = 632.
    EXPECT_NEAR(kept, 80000, 632);
    EXPECT_THROW(dropout_mask(rng, 1.0, 1, mask.data()), std::invalid_argument);
}

// SplitMix64's published first outputs for seed 0 (an independent fact, from
// the reference implementation's test vector).
TEST(Rng, SplitMix64KnownOutputs) {
    Rng r(0);
    EXPECT_EQ(r.next_u64(), 0xE220A8397B1DCDAFull);
    EXPECT_EQ(r.next_u64(), 0x6E789E6AA1B965F4ull);
    EXPECT_EQ(r.next_u64(), 0x06C45D188009454Full);
}

TEST(Rng, PortableLogMatchesTheLibraryWithinOneUlpOrTwo) {
    for (double x : {1e-300, 1e-10, 0.1, 0.5, 0.7071, 1.0, 1.5, 2.0, 10.0, 12345.678})
        EXPECT_NEAR(portable_log(x), std::log(x), 4e-16 * std::max(1.0, std::fabs(std::log(x)))) << x;
}

// Mean and variance of 200000 normals: 0 +- 5 sigma (sigma = 1/sqrt(n) = 0.0022),
// 1 +- 5 * sqrt(2/n) = 0.016.
TEST(Rng, NormalHasMeanZeroAndVarianceOne) {
    Rng r(42);
    const int n = 200000;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; ++i) {
        double z = r.normal();
        sum += z;
        sum2 += z * z;
    }
    EXPECT_NEAR(sum / n, 0.0, 0.011);
    EXPECT_NEAR(sum2 / n, 1.0, 0.016);
}
