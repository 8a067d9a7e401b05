// Winograd's F(2x2, 3x3) (fast/winograd.hpp): forward and backward to the
// input against the reference loops, its ReLU the ReLU layer's bits, the same
// bits for any thread count and with kept packs, and the dispatcher using it
// where it pays.
#include <gtest/gtest.h>

#include <cstring>

#include "fast/conv_fast.hpp"
#include "fast/gemm.hpp"
#include "fast/winograd.hpp"
#include "layers/conv.hpp"
#include "layers/relu.hpp"
#include "test_util.hpp"

using namespace allconv;
using namespace allconv::testing;

namespace {

std::vector<double> as_doubles(const std::vector<float>& v) { return {v.begin(), v.end()}; }
std::vector<double> as_doubles(const std::vector<double>& v) { return v; }

// 3x3 kernels, stride 1, paddings 0-2: odd output sizes (the last row or
// column of tiles half outside), single pixels, 1-3 images, channels from 1
// to past a strip of MR and a block of 64 tiles; then channels deeper than a
// slice of KC (the multiplies in two slices) and All-CNN-C's conv7 in small.
std::vector<ConvGeom> cases() {
    Rng shapes(53);
    std::vector<ConvGeom> out;
    for (int trial = 0; trial < 30; ++trial) {
        const int pad = int(shapes.below(3)), least = std::max(1, 3 - 2 * pad);
        Shape in{1 + int(shapes.below(3)), 1 + int(shapes.below(30)), least + int(shapes.below(20)),
                 least + int(shapes.below(20))};
        out.push_back(conv_geom(in, 1 + int(shapes.below(30)), 3, 1, pad));
    }
    out.push_back(conv_geom({2, KC + 44, 5, 7}, 13, 3, 1, 1));
    out.push_back(conv_geom({3, 20, 8, 8}, 26, 3, 1, 0));
    out.push_back(conv_geom({1, 4, 40, 33}, 5, 3, 1, 1)); // rows of 17 tiles: blocks end mid-image
    return out;
}

// Tolerance: relative to the largest output, as for the other fast ways
// (1e-5 in float: rounding over a few hundred terms; 1e-12 in double), which
// the transforms' extra roundings (each value of V, M and the output is a
// sum of up to 9 terms of its neighbours') stay well inside.
template <class T>
void forward_matches_reference(double tolerance) {
    for (const ConvGeom& g : cases()) {
        auto x = random_tensor<T>(g.in_shape(), 1), w = random_tensor<T>(g.weight_shape(), 2);
        auto b = random_tensor<T>({1, g.out_c, 1, 1}, 3);
        Tensor<T> ref(g.out_shape()), y(g.out_shape(), T(7)), relu(g.out_shape(), T(7)), want(g.out_shape());
        conv_forward(g, x.ptr(), w.ptr(), b.ptr(), ref.ptr());
        conv_forward_fast(g, x.ptr(), w.ptr(), b.ptr(), y.ptr(), 1, Im2col::winograd, nullptr, relu.ptr());
        EXPECT_LT(relative_error(as_doubles(y.data), as_doubles(ref.data)), tolerance) << to_string(g.in_shape());
        relu_forward(y.size(), y.ptr(), want.ptr());
        EXPECT_EQ(std::memcmp(relu.ptr(), want.ptr(), want.size() * sizeof(T)), 0) << to_string(g.in_shape());
    }
}

// Backward to the input as the forward convolution of dY by the turned
// kernels (padding 2 - pad), dX filled with 7s first.
template <class T>
void backward_matches_reference(double tolerance) {
    for (const ConvGeom& g : cases()) {
        auto w = random_tensor<T>(g.weight_shape(), 4), r = random_tensor<T>(g.out_shape(), 5);
        Tensor<T> ref(g.in_shape()), dx(g.in_shape(), T(7));
        conv_backward_input(g, r.ptr(), w.ptr(), ref.ptr());
        conv_backward_input_fast(g, r.ptr(), w.ptr(), dx.ptr(), 1, Im2col::winograd);
        EXPECT_LT(relative_error(as_doubles(dx.data), as_doubles(ref.data)), tolerance) << to_string(g.in_shape());
    }
}

// Weight gradients (the algorithm turned around), added to what dW and db
// held (both start at the same random values).
template <class T>
void weights_match_reference(double tolerance) {
    for (const ConvGeom& g : cases()) {
        auto x = random_tensor<T>(g.in_shape(), 14), r = random_tensor<T>(g.out_shape(), 15);
        Tensor<T> dw_ref = random_tensor<T>(g.weight_shape(), 16), db_ref = random_tensor<T>({1, g.out_c, 1, 1}, 17);
        Tensor<T> dw = dw_ref, db = db_ref;
        conv_backward_weights(g, x.ptr(), r.ptr(), dw_ref.ptr(), db_ref.ptr());
        conv_backward_weights_fast(g, x.ptr(), r.ptr(), dw.ptr(), db.ptr(), 1, Im2col::winograd);
        EXPECT_LT(relative_error(as_doubles(dw.data), as_doubles(dw_ref.data)), tolerance) << to_string(g.in_shape());
        EXPECT_LT(relative_error(as_doubles(db.data), as_doubles(db_ref.data)), tolerance) << to_string(g.in_shape());
    }
}

// Forward, backward to the input (the weights transformed per call or kept)
// and the weight gradients, all into one vector.
std::vector<float> three_passes(const ConvGeom& g, int threads, WeightPacks* packs) {
    auto x = random_tensor<float>(g.in_shape(), 6), w = random_tensor<float>(g.weight_shape(), 7);
    auto b = random_tensor<float>({1, g.out_c, 1, 1}, 8), r = random_tensor<float>(g.out_shape(), 9);
    Tensor<float> y(g.out_shape()), dx(g.in_shape()), dw(g.weight_shape()), db(b.shape);
    conv_forward_fast(g, x.ptr(), w.ptr(), b.ptr(), y.ptr(), threads, Im2col::winograd, packs);
    conv_backward_input_fast(g, r.ptr(), w.ptr(), dx.ptr(), threads, Im2col::winograd, packs);
    conv_backward_weights_fast(g, x.ptr(), r.ptr(), dw.ptr(), db.ptr(), threads, Im2col::winograd);
    std::vector<float> all = y.data;
    all.insert(all.end(), dx.data.begin(), dx.data.end());
    all.insert(all.end(), dw.data.begin(), dw.data.end());
    return all;
}

} // namespace

TEST(Winograd, ForwardMatchesReferenceInFloat) { forward_matches_reference<float>(1e-5); }
TEST(Winograd, ForwardMatchesReferenceInDouble) { forward_matches_reference<double>(1e-12); }
TEST(Winograd, BackwardToTheInputMatchesReferenceInFloat) { backward_matches_reference<float>(1e-5); }
TEST(Winograd, BackwardToTheInputMatchesReferenceInDouble) { backward_matches_reference<double>(1e-12); }
TEST(Winograd, WeightGradientsMatchReferenceInFloat) { weights_match_reference<float>(1e-5); }
TEST(Winograd, WeightGradientsMatchReferenceInDouble) { weights_match_reference<double>(1e-12); }

// The blocks of tiles shrink to keep every thread busy, and the weight
// gradients' blocks of channels depend on the thread count; each output is
// still one block's, summed in the same order: 1, 2 and 7 threads give the
// same bits, and kept packs those of packing per call.
TEST(Winograd, SameBitsForAnyThreadCountAndWithKeptPacks) {
    for (const ConvGeom& g : {conv_geom({3, 24, 17, 30}, 20, 3, 1, 1), conv_geom({5, 16, 9, 9}, 14, 3, 1, 0)}) {
        const std::vector<float> one = three_passes(g, 1, nullptr);
        EXPECT_TRUE(three_passes(g, 2, nullptr) == one) << to_string(g.in_shape());
        EXPECT_TRUE(three_passes(g, 7, nullptr) == one) << to_string(g.in_shape());
        WeightPacks packs;
        EXPECT_TRUE(three_passes(g, 2, &packs) == one) << to_string(g.in_shape());
        EXPECT_TRUE(three_passes(g, 2, &packs) == one) << "kept: " << to_string(g.in_shape());
    }
}

// Where it pays (96 channels and more), the cheaper way is this one, for all
// three passes; elsewhere not (the cheaper way then gives a direct way's bits).
TEST(Winograd, ChosenWhereItPays) {
    const ConvGeom wide = conv_geom({1, 96, 10, 10}, 96, 3, 1, 1), narrow = conv_geom({1, 64, 10, 10}, 64, 3, 1, 1);
    EXPECT_TRUE(winograd_pays_off(wide));
    EXPECT_FALSE(winograd_pays_off(narrow));
    EXPECT_FALSE(winograd_pays_off(conv_geom({1, 96, 10, 10}, 96, 3, 2, 1))); // stride 2
    EXPECT_FALSE(winograd_pays_off(conv_geom({1, 96, 10, 10}, 96, 5, 1, 2))); // 5x5
    EXPECT_TRUE(winograd_pays_off_for_weights(wide));
    EXPECT_FALSE(winograd_pays_off_for_weights(conv_geom({1, 96, 8, 8}, 96, 3, 1, 0))); // 6 x 6 outputs
    auto x = random_tensor<float>(wide.in_shape(), 10), w = random_tensor<float>(wide.weight_shape(), 11);
    auto b = random_tensor<float>({1, 96, 1, 1}, 12), r = random_tensor<float>(wide.out_shape(), 13);
    Tensor<float> chosen(wide.out_shape()), forced(wide.out_shape()), dx_chosen(wide.in_shape()), dx_forced(wide.in_shape());
    conv_forward_fast(wide, x.ptr(), w.ptr(), b.ptr(), chosen.ptr(), 1);
    conv_forward_fast(wide, x.ptr(), w.ptr(), b.ptr(), forced.ptr(), 1, Im2col::winograd);
    conv_backward_input_fast(wide, r.ptr(), w.ptr(), dx_chosen.ptr(), 1);
    conv_backward_input_fast(wide, r.ptr(), w.ptr(), dx_forced.ptr(), 1, Im2col::winograd);
    EXPECT_TRUE(chosen.data == forced.data);
    EXPECT_TRUE(dx_chosen.data == dx_forced.data);
    Tensor<float> dw_chosen(wide.weight_shape()), dw_forced(wide.weight_shape()), db(b.shape);
    conv_backward_weights_fast(wide, x.ptr(), r.ptr(), dw_chosen.ptr(), db.ptr(), 1);
    conv_backward_weights_fast(wide, x.ptr(), r.ptr(), dw_forced.ptr(), db.ptr(), 1, Im2col::winograd);
    EXPECT_TRUE(dw_chosen.data == dw_forced.data);
    Tensor<float> direct(wide.out_shape());
    conv_forward_fast(wide, x.ptr(), w.ptr(), b.ptr(), direct.ptr(), 1, Im2col::in_place);
    EXPECT_FALSE(direct.data == forced.data); // (else the comparison above would show nothing)
    // Where it does not pay, the cheaper way is a direct one: its bits, not Winograd's.
    auto xn = random_tensor<float>(narrow.in_shape(), 14), wn = random_tensor<float>(narrow.weight_shape(), 15);
    auto bn = random_tensor<float>({1, 64, 1, 1}, 16);
    Tensor<float> n_chosen(narrow.out_shape()), n_direct(narrow.out_shape()), n_forced(narrow.out_shape());
    conv_forward_fast(narrow, xn.ptr(), wn.ptr(), bn.ptr(), n_chosen.ptr(), 1);
    conv_forward_fast(narrow, xn.ptr(), wn.ptr(), bn.ptr(), n_direct.ptr(), 1, Im2col::in_place);
    conv_forward_fast(narrow, xn.ptr(), wn.ptr(), bn.ptr(), n_forced.ptr(), 1, Im2col::winograd);
    EXPECT_TRUE(n_chosen.data == n_direct.data);
    EXPECT_FALSE(n_chosen.data == n_forced.data);
}
