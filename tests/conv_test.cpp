// Convolution: hand-computed cases, finite differences, adjoint identities,
// the stride identity, and the fast path against the reference loops.
#include <gtest/gtest.h>

#include <stdexcept>

#include "layers/conv.hpp"
#include "layers/relu.hpp"
#include "fast/conv_fast.hpp"
#include "fast/conv_views.hpp"
#include "fast/gemm.hpp"
#include "test_util.hpp"

using namespace allconv;
using namespace allconv::testing;

namespace {

std::string describe(const ConvGeom& g) {
    return "x " + to_string(g.in_shape()) + " w " + to_string(g.weight_shape()) + " s" + std::to_string(g.stride) +
           " p" + std::to_string(g.pad) + " -> y " + to_string(g.out_shape());
}

struct Case {
    Shape in;
    int out_c, k, stride, pad;
};

// Strides 1-3, paddings 0-2, kernels 1/3/5, non-square and odd sizes where
// the kernel does not tile the input.
std::vector<Case> gradient_cases() {
    return {{{1, 1, 5, 5}, 1, 3, 1, 0}, {{2, 3, 7, 5}, 4, 3, 2, 1}, {{1, 2, 9, 6}, 3, 5, 3, 2},
            {{2, 2, 6, 7}, 2, 1, 1, 0}, {{1, 3, 8, 5}, 2, 1, 2, 1}, {{1, 2, 7, 9}, 3, 5, 1, 2},
            {{2, 1, 11, 4}, 2, 3, 3, 2}, {{1, 4, 5, 8}, 2, 5, 2, 0}, {{1, 2, 6, 6}, 2, 3, 2, 0}};
}

} // namespace

TEST(ConvShape, OutputSizeFormula) {
    EXPECT_EQ(conv_out_size(32, 3, 1, 1), 32);
    EXPECT_EQ(conv_out_size(32, 3, 2, 1), 16);  // floor(31/2) + 1
    EXPECT_EQ(conv_out_size(8, 3, 1, 0), 6);    // All-CNN-C conv7
    EXPECT_EQ(conv_out_size(227, 11, 4, 0), 55); // ImageNet conv1
    EXPECT_EQ(conv_out_size(7, 3, 3, 2), 3);    // floor(8/3) + 1
}

TEST(ConvShape, ImpossibleConfigurationsThrowWithTheReason) {
    EXPECT_THROW(conv_out_size(2, 5, 1, 0), std::invalid_argument);
    EXPECT_THROW(conv_out_size(5, 0, 1, 0), std::invalid_argument);
    EXPECT_THROW(conv_out_size(5, 3, 0, 0), std::invalid_argument);
    EXPECT_THROW(conv_out_size(5, 3, 1, -1), std::invalid_argument);
    try {
        conv_out_size(2, 5, 1, 0);
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("does not fit"), std::string::npos) << e.what();
    }
}

// A 1x1x3x3 input, one 2x2 kernel, stride 1, no padding, worked by hand:
//   x = 1 2 3      w = 1 0      y[0][0] = 1*1 + 2*0 + 4*0 + 5*-1 + 10 = 6
//       4 5 6          0 -1     y[0][1] = 2 - 6 + 10 = 6
//       7 8 9      b = 10       y[1][0] = 4 - 8 + 10 = 6, y[1][1] = 5 - 9 + 10 = 6
TEST(ConvForward, HandComputedTwoByTwoKernel) {
    ConvGeom g = conv_geom({1, 1, 3, 3}, 1, 2, 1, 0);
    double x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[4] = {1, 0, 0, -1}, b[1] = {10}, y[4];
    conv_forward(g, x, w, b, y);
    for (double v : y) EXPECT_EQ(v, 6.0);
}

// Stride 2, padding 1, 3x3 kernel of ones on a 4x4 input of ones: each output
// counts the real (unpadded) input cells under its window.
//   outputs at (0,0): rows -1..1, cols -1..1 -> 2x2 = 4 cells; (0,1): rows -1..1, cols 1..3 -> 2x3 = 6
//   (1,0): 3x2 = 6; (1,1): 3x3 = 9
TEST(ConvForward, StrideTwoPaddingOneCountsRealCells) {
    ConvGeom g = conv_geom({1, 1, 4, 4}, 1, 3, 2, 1);
    ASSERT_EQ(g.out_h, 2);
    std::vector<double> x(16, 1.0), w(9, 1.0), y(4);
    double b = 0;
    conv_forward(g, x.data(), w.data(), &b, y.data());
    EXPECT_EQ(y, (std::vector<double>{4, 6, 6, 9}));
}

// Two input channels, two output channels: output o sums both channels with
// its own weights. x channel 0 = all 1, channel 1 = all 2 (2x2), 1x1 kernels
// w[o=0] = (3, 4), w[o=1] = (-1, 1):  y0 = 3 + 8 = 11, y1 = -1 + 2 = 1.
TEST(ConvForward, ChannelsSumWithTheirOwnWeights) {
    ConvGeom g = conv_geom({1, 2, 2, 2}, 2, 1, 1, 0);
    double x[8] = {1, 1, 1, 1, 2, 2, 2, 2}, w[4] = {3, 4, -1, 1}, b[2] = {0, 0.5}, y[8];
    conv_forward(g, x, w, b, y);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(y[i], 11.0);
    for (int i = 4; i < 8; ++i) EXPECT_EQ(y[i], 1.5);
}

// L = <conv(x, w) + b, r>; every gradient against central differences.
TEST(ConvGradient, InputWeightAndBiasMatchFiniteDifferences) {
    std::uint64_t seed = 100;
    for (const Case& c : gradient_cases()) {
        ConvGeom g = conv_geom(c.in, c.out_c, c.k, c.stride, c.pad);
        auto x = random_tensor<double>(g.in_shape(), ++seed).data;
        auto w = random_tensor<double>(g.weight_shape(), ++seed).data;
        auto b = random_vector<double>(g.out_c, ++seed);
        auto r = random_tensor<double>(g.out_shape(), ++seed).data;
        std::vector<double> y(g.out_shape().size());
        auto loss = [&]() {
            conv_forward(g, x.data(), w.data(), b.data(), y.data());
            return dot(y, r);
        };
        std::vector<double> dx(x.size()), dw(w.size(), 0.0), db(b.size(), 0.0);
        conv_backward_input(g, r.data(), w.data(), dx.data());
        conv_backward_weights(g, x.data(), r.data(), dw.data(), db.data());
        std::vector<std::size_t> idx;
        std::vector<double> num;
        numeric_gradient(x, loss, 0, idx, num);
        EXPECT_LT(relative_error(pick(dx, idx), num), 1e-6) << describe(g);
        numeric_gradient(w, loss, 0, idx, num);
        EXPECT_LT(relative_error(pick(dw, idx), num), 1e-6) << describe(g);
        numeric_gradient(b, loss, 0, idx, num);
        EXPECT_LT(relative_error(pick(db, idx), num), 1e-6) << describe(g);
    }
}

// <conv(x), y> == <x, conv_input_grad(y)> and the same for the weights:
// the backward functions are exactly the transposes of the forward map.
// Tolerance 1e-12 relative: both sides are sums of a few thousand products in double.
TEST(ConvAdjoint, InputGradIsTransposeOfForward) {
    Rng shapes(7);
    for (int trial = 0; trial < 60; ++trial) {
        int k = 1 + 2 * int(shapes.below(3)), stride = 1 + int(shapes.below(3)), pad = int(shapes.below(3));
        Shape in{1 + int(shapes.below(2)), 1 + int(shapes.below(3)), k + int(shapes.below(7)), k + int(shapes.below(7))};
        ConvGeom g = conv_geom(in, 1 + int(shapes.below(3)), k, stride, pad);
        auto x = random_tensor<double>(g.in_shape(), 1000 + trial).data;
        auto w = random_tensor<double>(g.weight_shape(), 2000 + trial).data;
        auto r = random_tensor<double>(g.out_shape(), 3000 + trial).data;
        std::vector<double> zero_bias(g.out_c, 0.0), y(r.size()), dx(x.size()), dw(w.size(), 0.0), db(g.out_c, 0.0);
        conv_forward(g, x.data(), w.data(), zero_bias.data(), y.data());
        conv_backward_input(g, r.data(), w.data(), dx.data());
        conv_backward_weights(g, x.data(), r.data(), dw.data(), db.data());
        double lhs = dot(y, r);
        EXPECT_NEAR(lhs, dot(x, dx), 1e-12 * (1 + std::fabs(lhs))) << describe(g);
        EXPECT_NEAR(lhs, dot(w, dw), 1e-12 * (1 + std::fabs(lhs))) << describe(g);
    }
}

// Paper, claim 1: a stride-s convolution equals the stride-1 convolution (same
// padding) sampled at every s-th row and column. Exact: the same products in
// the same order.
TEST(ConvStride, StridedEqualsStrideOneSubsampled) {
    for (int stride = 2; stride <= 3; ++stride)
        for (int pad = 0; pad <= 2; ++pad) {
            Shape in{2, 3, 11, 8};
            ConvGeom strided = conv_geom(in, 4, 3, stride, pad), dense = conv_geom(in, 4, 3, 1, pad);
            auto x = random_tensor<double>(in, 5).data;
            auto w = random_tensor<double>(strided.weight_shape(), 6).data;
            auto b = random_vector<double>(4, 8);
            std::vector<double> ys(strided.out_shape().size()), yd(dense.out_shape().size());
            conv_forward(strided, x.data(), w.data(), b.data(), ys.data());
            conv_forward(dense, x.data(), w.data(), b.data(), yd.data());
            for (int n = 0; n < 2; ++n)
                for (int o = 0; o < 4; ++o)
                    for (int oy = 0; oy < strided.out_h; ++oy)
                        for (int ox = 0; ox < strided.out_w; ++ox)
                            ASSERT_EQ(ys[((n * 4 + o) * strided.out_h + oy) * strided.out_w + ox],
                                      yd[((n * 4 + o) * dense.out_h + oy * stride) * dense.out_w + ox * stride])
                                << "stride " << stride << " pad " << pad;
        }
}

// The fast path against the reference over many random shapes, in float
// (tolerance 1e-5 relative to the largest output: float rounding over a few
// hundred terms) and double (1e-12).
template <class T>
void fast_matches_reference(double tolerance) {
    Rng shapes(11);
    for (int trial = 0; trial < 40; ++trial) {
        int k = 1 + 2 * int(shapes.below(3)), stride = 1 + int(shapes.below(3)), pad = int(shapes.below(3));
        if (trial == 0) k = 11; // a big kernel once, like ImageNet's conv1
        Shape in{1 + int(shapes.below(3)), 1 + int(shapes.below(5)), k + int(shapes.below(9)), k + int(shapes.below(9))};
        ConvGeom g = conv_geom(in, 1 + int(shapes.below(40)), k, stride, pad);
        auto x = random_tensor<T>(g.in_shape(), 10 + trial), w = random_tensor<T>(g.weight_shape(), 20 + trial);
        auto b = random_tensor<T>({1, g.out_c, 1, 1}, 30 + trial), r = random_tensor<T>(g.out_shape(), 40 + trial);
        Tensor<T> y_ref(g.out_shape()), y_fast(g.out_shape()), dx_ref(g.in_shape()), dx_fast(g.in_shape());
        Tensor<T> dw_ref(g.weight_shape()), dw_fast(g.weight_shape()), db_ref(b.shape), db_fast(b.shape);
        conv_forward(g, x.ptr(), w.ptr(), b.ptr(), y_ref.ptr());
        conv_forward_fast(g, x.ptr(), w.ptr(), b.ptr(), y_fast.ptr(), 2);
        conv_backward_input(g, r.ptr(), w.ptr(), dx_ref.ptr());
        conv_backward_input_fast(g, r.ptr(), w.ptr(), dx_fast.ptr(), 2);
        conv_backward_weights(g, x.ptr(), r.ptr(), dw_ref.ptr(), db_ref.ptr());
        conv_backward_weights_fast(g, x.ptr(), r.ptr(), dw_fast.ptr(), db_fast.ptr(), 2);
        auto d = [](const Tensor<T>& t) { return std::vector<double>(t.data.begin(), t.data.end()); };
        EXPECT_LT(relative_error(d(y_fast), d(y_ref)), tolerance) << describe(g);
        EXPECT_LT(relative_error(d(dx_fast), d(dx_ref)), tolerance) << describe(g);
        EXPECT_LT(relative_error(d(dw_fast), d(dw_ref)), tolerance) << describe(g);
        EXPECT_LT(relative_error(d(db_fast), d(db_ref)), tolerance) << describe(g);
    }
}

// The two ways of reading im2col (packed strips, or in place from a padded,
// phase-split copy) compute every output as the same sum in the same order:
// the same bits, over strides 1-3, paddings 0-2, kernels 1-5, batches 1-6
// and 1 or 2 threads (which changes how images are grouped). Each is also
// compared with the reference loops above and below.
// The last shapes have rows of NR / 2, NR or 2 NR output pixels, for the
// strips of NR columns this build's tiles have (a strip then covers two rows,
// or lies within one: the strips skip the dropped columns and write straight
// into y), odd numbers of rows, stride 2, and K in more than one slice (the
// bias added after the last); then rows of NR / 4 or 6 pixels, which fit
// strips only with several images side by side (phase_copy.hpp); then 1x1
// kernels. Either way the call also gives the ReLU of its output, as the
// ReLU layer computes it (its buffer starts at 7: every value must be written).
template <class T>
void in_place_matches_packed() {
    Rng shapes(23);
    constexpr int NR = Tiles<T>::NR;
    const std::vector<ConvGeom> by_rows = {
        conv_geom({2, 5, 32, 32}, 13, 3, 1, 1),      conv_geom({1, 40, 6, NR}, 30, 3, 1, 1),
        conv_geom({3, 30, 9, 2 * NR}, 25, 3, 2, 1),  conv_geom({1, 11, 5, 2 * NR}, 7, 5, 1, 2),
        conv_geom({2, 30, 7, NR / 2}, 20, 3, 1, 1),  conv_geom({1, 40, 11, NR}, 30, 3, 2, 1),
        conv_geom({3, 9, 5, NR / 2}, 12, 1, 1, 0),
        // images side by side: rows of NR/4 or 6 pixels, 2-16 images (NR/2,
        // NR or a multiple), stride 1 and 2, odd row counts, K in several
        // slices, and 20 images (16 side by side, then 4 one after another)
        conv_geom({2, 9, 7, NR / 4}, 25, 3, 1, 1), conv_geom({4, 30, NR / 4 + 2, NR / 4 + 2}, 14, 3, 1, 0),
        conv_geom({4, 6, NR / 2, NR / 2}, 9, 3, 2, 1),           conv_geom({16, 33, 8, 8}, 19, 3, 1, 0),
        conv_geom({20, 29, 5, 8}, 13, 3, 1, 0),                  conv_geom({8, 12, 9, NR / 2}, 30, 3, 2, 1),
        // 1x1 kernels (no column dropped: runs span whole images) over more
        // than one block of 256 columns, a block ending inside an image:
        // stride 2 on two threads (30 images a group), stride 1 on one
        conv_geom({60, 5, 5, 5}, 6, 1, 2, 0), conv_geom({10, 7, 6, 6}, 11, 1, 1, 0)};
    for (int trial = 0; trial < 60 + int(by_rows.size()); ++trial) {
        const int k = 1 + int(shapes.below(5)), stride = 1 + int(shapes.below(3)), pad = int(shapes.below(3));
        Shape in{1 + int(shapes.below(6)), 1 + int(shapes.below(20)), k + int(shapes.below(20)), k + int(shapes.below(20))};
        ConvGeom g = trial < 60 ? conv_geom(in, 1 + int(shapes.below(70)), k, stride, pad) : by_rows[trial - 60];
        auto x = random_tensor<T>(g.in_shape(), 50 + trial), w = random_tensor<T>(g.weight_shape(), 60 + trial);
        auto b = random_tensor<T>({1, g.out_c, 1, 1}, 70 + trial);
        Tensor<T> y_ref(g.out_shape()), packed(g.out_shape()), in_place(g.out_shape()), relu(g.out_shape(), T(7)),
            relu_ref(g.out_shape()), relu_packed(g.out_shape(), T(7));
        const int threads = 1 + trial % 2;
        conv_forward(g, x.ptr(), w.ptr(), b.ptr(), y_ref.ptr());
        conv_forward_fast(g, x.ptr(), w.ptr(), b.ptr(), packed.ptr(), threads, Im2col::packed, nullptr, relu_packed.ptr());
        conv_forward_fast(g, x.ptr(), w.ptr(), b.ptr(), in_place.ptr(), threads, Im2col::in_place, nullptr, relu.ptr());
        ASSERT_TRUE(packed.data == in_place.data) << describe(g) << ", " << threads << " threads";
        relu_forward(in_place.size(), in_place.ptr(), relu_ref.ptr()); // the ReLU after it, asked of the same call
        ASSERT_TRUE(relu.data == relu_ref.data && relu_packed.data == relu_ref.data) << describe(g);
        const std::vector<double> ref(y_ref.data.begin(), y_ref.data.end()), got(in_place.data.begin(), in_place.data.end());
        EXPECT_LT(relative_error(got, ref), sizeof(T) == 4 ? 1e-5 : 1e-12) << describe(g);
    }
}

// A stride far beyond the kernel and the input (a crafted model the fuzzer
// found): the padded copy would hold stride^2 phase planes, 2^58 bytes; the
// fast path must pack instead (and scatter backward to the input straight
// into dX), and agree with the reference loops.
TEST(ConvFast, HugeStrideDoesNotCopyEveryPhase) {
    const ConvGeom g = conv_geom({1, 1, 5, 4}, 3, 3, 67108863, 1);
    EXPECT_FALSE(views_pay_off(g, 1));
    EXPECT_FALSE(views_pay_off_for_weights(g));
    auto x = random_tensor<float>(g.in_shape(), 1), w = random_tensor<float>(g.weight_shape(), 2);
    auto b = random_tensor<float>({1, g.out_c, 1, 1}, 3), r = random_tensor<float>(g.out_shape(), 4);
    Tensor<float> y(g.out_shape()), y_ref(g.out_shape()), dw(g.weight_shape()), db(b.shape), dw_ref(g.weight_shape()),
        db_ref(b.shape);
    conv_forward_fast(g, x.ptr(), w.ptr(), b.ptr(), y.ptr(), 1);
    conv_forward(g, x.ptr(), w.ptr(), b.ptr(), y_ref.ptr());
    conv_backward_weights_fast(g, x.ptr(), r.ptr(), dw.ptr(), db.ptr(), 1);
    conv_backward_weights(g, x.ptr(), r.ptr(), dw_ref.ptr(), db_ref.ptr());
    Tensor<float> dx(g.in_shape()), dx_ref(g.in_shape());
    conv_backward_input_fast(g, r.ptr(), w.ptr(), dx.ptr(), 1);
    conv_backward_input(g, r.ptr(), w.ptr(), dx_ref.ptr());
    const auto d = [](const Tensor<float>& t) { return std::vector<double>(t.data.begin(), t.data.end()); };
    EXPECT_LT(relative_error(d(y), d(y_ref)), 1e-6);
    EXPECT_LT(relative_error(d(dw), d(dw_ref)), 1e-6);
    EXPECT_LT(relative_error(d(dx), d(dx_ref)), 1e-6);
}

TEST(ConvFast, InPlaceIm2colGivesThePackedBitsInFloat) { in_place_matches_packed<float>(); }
TEST(ConvFast, InPlaceIm2colGivesThePackedBitsInDouble) { in_place_matches_packed<double>(); }

// Backward to the input in place (Im2col::in_place: as a forward convolution
// with stride 1, by phases with stride 2 and more) and by scattering W^T dY
// (Im2col::packed), against the reference loops, which scatter one product
// at a time; dX filled with 7s first, so that a value never written shows.
template <class T>
void backward_both_ways(const ConvGeom& g, int seed, int threads, double tolerance) {
    auto w = random_tensor<T>(g.weight_shape(), seed), r = random_tensor<T>(g.out_shape(), seed + 1);
    Tensor<T> dx_ref(g.in_shape()), dx_in_place(g.in_shape(), T(7)), dx_scattered(g.in_shape(), T(7));
    conv_backward_input(g, r.ptr(), w.ptr(), dx_ref.ptr());
    conv_backward_input_fast(g, r.ptr(), w.ptr(), dx_in_place.ptr(), threads, Im2col::in_place);
    conv_backward_input_fast(g, r.ptr(), w.ptr(), dx_scattered.ptr(), threads, Im2col::packed);
    const std::vector<double> ref(dx_ref.data.begin(), dx_ref.data.end());
    EXPECT_LT(relative_error(std::vector<double>(dx_in_place.data.begin(), dx_in_place.data.end()), ref), tolerance)
        << describe(g);
    EXPECT_LT(relative_error(std::vector<double>(dx_scattered.data.begin(), dx_scattered.data.end()), ref), tolerance)
        << describe(g);
}

// Stride 1 (as a forward convolution of dY with the kernels turned).
template <class T>
void backward_as_forward_matches_reference(double tolerance) {
    Rng shapes(29);
    for (int trial = 0; trial < 16; ++trial) {
        const int k = 1 + 2 * int(shapes.below(3)), pad = int(shapes.below(std::min(k, 3)));
        Shape in{1 + int(shapes.below(3)), 1 + int(shapes.below(40)), k + int(shapes.below(12)), k + int(shapes.below(12))};
        backward_both_ways<T>(conv_geom(in, 1 + int(shapes.below(40)), k, 1, pad), 80 + 2 * trial, 1 + trial % 2, tolerance);
    }
}

// Stride 2 and 3 by phases (one small convolution of dY per phase of the
// stride, written into the phase-split layout): kernels from the stride to
// 5, paddings 0-2, 1-5 images, channels below and above a strip of MR, K of
// a phase in one slice or several (up to 70 output channels x 9 taps), one
// or two threads; then All-CNN-C's conv3 and conv6 in small.
template <class T>
void backward_by_phases_matches_reference(double tolerance) {
    Rng shapes(37);
    const std::vector<ConvGeom> fixed = {conv_geom({3, 24, 16, 16}, 20, 3, 2, 1), conv_geom({5, 30, 8, 8}, 36, 3, 2, 1)};
    for (int trial = 0; trial < 30 + int(fixed.size()); ++trial) {
        const int stride = 2 + int(shapes.below(2)), k = stride + int(shapes.below(6 - stride)), pad = int(shapes.below(3));
        Shape in{1 + int(shapes.below(5)), 1 + int(shapes.below(40)), k + int(shapes.below(14)), k + int(shapes.below(14))};
        const ConvGeom g = trial < 30 ? conv_geom(in, 1 + int(shapes.below(70)), k, stride, pad) : fixed[trial - 30];
        backward_both_ways<T>(g, 100 + 2 * trial, 1 + trial % 2, tolerance);
    }
}

// Weight gradients both ways (im2col packed into strips; read in place from
// the padded copy, stepping over its dropped columns), against the
// reference loops, over strides 1-3, paddings 0-2 and kernels 1-5.
template <class T>
void weights_in_place_match_reference(double tolerance) {
    Rng shapes(31);
    // Then: rows of the grid longer than a slice of KC columns (40 images of
    // 10 pixels side by side; one image 300 wide), rows of 6 pixels for 16
    // images side by side, and a 1x1 kernel (no column dropped: one run).
    const std::vector<ConvGeom> fixed = {conv_geom({40, 3, 10, 10}, 5, 3, 1, 1), conv_geom({1, 2, 3, 300}, 4, 3, 1, 1),
                                         conv_geom({16, 30, 8, 8}, 20, 3, 1, 0), conv_geom({3, 4, 9, 9}, 7, 1, 1, 0)};
    for (int trial = 0; trial < 30 + int(fixed.size()); ++trial) {
        const int k = 1 + int(shapes.below(5)), stride = 1 + int(shapes.below(3)), pad = int(shapes.below(3));
        Shape in{1 + int(shapes.below(4)), 1 + int(shapes.below(12)), k + int(shapes.below(20)), k + int(shapes.below(20))};
        ConvGeom g = trial < 30 ? conv_geom(in, 1 + int(shapes.below(50)), k, stride, pad) : fixed[std::size_t(trial - 30)];
        auto x = random_tensor<T>(g.in_shape(), 100 + trial), r = random_tensor<T>(g.out_shape(), 110 + trial);
        Tensor<T> dw_ref(g.weight_shape()), db_ref({1, g.out_c, 1, 1});
        conv_backward_weights(g, x.ptr(), r.ptr(), dw_ref.ptr(), db_ref.ptr());
        const std::vector<double> ref(dw_ref.data.begin(), dw_ref.data.end());
        for (Im2col how : {Im2col::in_place, Im2col::packed}) {
            Tensor<T> dw(g.weight_shape()), db({1, g.out_c, 1, 1});
            conv_backward_weights_fast(g, x.ptr(), r.ptr(), dw.ptr(), db.ptr(), 1 + trial % 2, how);
            EXPECT_LT(relative_error(std::vector<double>(dw.data.begin(), dw.data.end()), ref), tolerance) << describe(g);
            EXPECT_LT(relative_error(std::vector<double>(db.data.begin(), db.data.end()),
                                     std::vector<double>(db_ref.data.begin(), db_ref.data.end())),
                      tolerance)
                << describe(g);
        }
    }
}

TEST(ConvFast, WeightGradientsInPlaceMatchReferenceInFloat) { weights_in_place_match_reference<float>(1e-5); }
TEST(ConvFast, WeightGradientsInPlaceMatchReferenceInDouble) { weights_in_place_match_reference<double>(1e-12); }

// A kernel far beyond the output (39 x 39 on 40 x 40, stride 2: one output
// pixel) with many output channels: by phases, the padded copy of dY would
// hold a 20 x 20 grid per channel for one pixel of dY, 417,792 values for
// tensors of 4,224; the phases are refused (the scatter runs) and the result
// still matches the reference loops. An ordinary stride-2 layer may run so.
TEST(ConvFast, KernelFarBeyondTheOutputDoesNotCopyDyLarge) {
    const ConvGeom g = conv_geom({2, 1, 40, 40}, 512, 39, 2, 0);
    EXPECT_FALSE(phases_pay_off(g, Im2col::in_place));
    EXPECT_TRUE(phases_pay_off(conv_geom({2, 8, 16, 16}, 8, 3, 2, 1), Im2col::in_place));
    backward_both_ways<float>(g, 140, 1, 1e-5);
}

TEST(ConvFast, BackwardAsForwardMatchesReferenceInFloat) { backward_as_forward_matches_reference<float>(1e-5); }
TEST(ConvFast, BackwardAsForwardMatchesReferenceInDouble) { backward_as_forward_matches_reference<double>(1e-12); }
TEST(ConvFast, BackwardByPhasesMatchesReferenceInFloat) { backward_by_phases_matches_reference<float>(1e-5); }
TEST(ConvFast, BackwardByPhasesMatchesReferenceInDouble) { backward_by_phases_matches_reference<double>(1e-12); }

TEST(ConvFast, MatchesReferenceLoopsInFloat) { fast_matches_reference<float>(1e-5); }
TEST(ConvFast, MatchesReferenceLoopsInDouble) { fast_matches_reference<double>(1e-12); }

// Every output is computed by one thread in a fixed order: 1, 2 and 7 threads
// give the same bits, though the work is cut differently (the blocks of input
// channels of backward to the input, the blocks of weights of backward to the
// weights, depend on the thread count).
TEST(ConvFast, BitIdenticalForOneTwoAndSevenThreads) {
    for (ConvGeom g : {conv_geom({5, 16, 19, 13}, 37, 3, 2, 1), conv_geom({5, 16, 40, 40}, 24, 3, 1, 1),
                       conv_geom({5, 3, 40, 40}, 24, 3, 1, 1)}) {
        auto x = random_tensor<float>(g.in_shape(), 1), w = random_tensor<float>(g.weight_shape(), 2);
        auto b = random_tensor<float>({1, g.out_c, 1, 1}, 3), r = random_tensor<float>(g.out_shape(), 4);
        std::vector<std::vector<float>> results;
        for (int threads : {1, 2, 7}) {
            Tensor<float> y(g.out_shape()), dx(g.in_shape()), dw(g.weight_shape()), db(b.shape);
            conv_forward_fast(g, x.ptr(), w.ptr(), b.ptr(), y.ptr(), threads);
            conv_backward_input_fast(g, r.ptr(), w.ptr(), dx.ptr(), threads);
            conv_backward_weights_fast(g, x.ptr(), r.ptr(), dw.ptr(), db.ptr(), threads);
            std::vector<float> all = y.data;
            all.insert(all.end(), dx.data.begin(), dx.data.end());
            all.insert(all.end(), dw.data.begin(), dw.data.end());
            all.insert(all.end(), db.data.begin(), db.data.end());
            results.push_back(all);
        }
        EXPECT_TRUE(results[0] == results[1]) << describe(g) << ": 1 vs 2 threads";
        EXPECT_TRUE(results[0] == results[2]) << describe(g) << ": 1 vs 7 threads";
    }
}
