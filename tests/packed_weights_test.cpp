// Weights packed once and kept (fast/packed_weights.hpp): the same bits as
// packing on every call, a pack really kept from call to call, and packed
// again when the weights change.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "fast/conv_fast.hpp"
#include "fast/packed_weights.hpp"
#include "net/net.hpp"
#include "net/zoo.hpp"
#include "test_util.hpp"

using namespace allconv;
using namespace allconv::testing;

namespace {

// Forward, backward to the input in place (as a forward convolution with
// stride 1, Packing::turned; by phases with stride 2 and more,
// Packing::phases) and by scattering (Packing::transposed), all into one vector.
template <class T>
std::vector<T> three_passes(const ConvGeom& g, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b,
                            const Tensor<T>& r, int threads, WeightPacks* packs) {
    Tensor<T> y(g.out_shape()), dx_in_place(g.in_shape()), dx_scattered(g.in_shape());
    conv_forward_fast(g, x.ptr(), w.ptr(), b.ptr(), y.ptr(), threads, Im2col::cheaper, packs);
    conv_backward_input_fast(g, r.ptr(), w.ptr(), dx_in_place.ptr(), threads, Im2col::in_place, packs);
    conv_backward_input_fast(g, r.ptr(), w.ptr(), dx_scattered.ptr(), threads, Im2col::packed, packs);
    std::vector<T> all = y.data;
    all.insert(all.end(), dx_in_place.data.begin(), dx_in_place.data.end());
    all.insert(all.end(), dx_scattered.data.begin(), dx_scattered.data.end());
    return all;
}

// One WeightPacks for every call of a trial, three ways of packing the same
// weights (four kinds of packing over the trials), each call made twice (the
// second with the kept pack): the bits of packing on every call. Were packs
// told apart by address alone, a backward pass would get the forward pack and
// this would fail.
template <class T>
void kept_packs_give_per_call_bits() {
    Rng shapes(41);
    for (int trial = 0; trial < 40; ++trial) {
        const int k = 1 + int(shapes.below(5)), stride = 1 + int(shapes.below(3)), pad = int(shapes.below(3));
        Shape in{1 + int(shapes.below(4)), 1 + int(shapes.below(40)), k + int(shapes.below(14)), k + int(shapes.below(14))};
        const ConvGeom g = conv_geom(in, 1 + int(shapes.below(60)), k, stride, pad);
        auto x = random_tensor<T>(g.in_shape(), 200 + trial), w = random_tensor<T>(g.weight_shape(), 210 + trial);
        auto b = random_tensor<T>({1, g.out_c, 1, 1}, 220 + trial), r = random_tensor<T>(g.out_shape(), 230 + trial);
        const int threads = 1 + trial % 2;
        const std::vector<T> per_call = three_passes(g, x, w, b, r, threads, nullptr);
        WeightPacks packs;
        ASSERT_TRUE(three_passes(g, x, w, b, r, threads, &packs) == per_call) << "first use, trial " << trial;
        ASSERT_TRUE(three_passes(g, x, w, b, r, threads, &packs) == per_call) << "kept packs, trial " << trial;
    }
}

} // namespace

TEST(PackedWeights, KeptPacksGiveThePerCallBitsInFloat) { kept_packs_give_per_call_bits<float>(); }
TEST(PackedWeights, KeptPacksGiveThePerCallBitsInDouble) { kept_packs_give_per_call_bits<double>(); }

// The pack is really kept: change one weight that the guard does not look at
// (16 spread from the first to the last; weight 1 of many is not among them)
// and the kept pack still gives the old result, while a fresh one gives the
// new. Change every weight (as a training step does) and it is packed again;
// after clear(), too.
TEST(PackedWeights, KeptUntilTheWeightsVisiblyChange) {
    const ConvGeom g = conv_geom({2, 8, 9, 9}, 20, 3, 1, 1);
    auto x = random_tensor<float>(g.in_shape(), 1), w = random_tensor<float>(g.weight_shape(), 2);
    auto b = random_tensor<float>({1, g.out_c, 1, 1}, 3);
    const auto forward = [&](WeightPacks* packs) {
        Tensor<float> y(g.out_shape());
        conv_forward_fast(g, x.ptr(), w.ptr(), b.ptr(), y.ptr(), 1, Im2col::cheaper, packs);
        return y.data;
    };
    WeightPacks packs;
    const std::vector<float> before = forward(&packs);
    w.data[1] += 0.5f;
    const std::vector<float> fresh = forward(nullptr);
    ASSERT_FALSE(fresh == before); // weight 1 matters
    EXPECT_TRUE(forward(&packs) == before) << "the pack was not kept";
    packs.clear();
    EXPECT_TRUE(forward(&packs) == fresh) << "clear() did not drop the pack";
    const Tensor<float> next = random_tensor<float>(g.weight_shape(), 4);
    std::copy(next.data.begin(), next.data.end(), w.data.begin()); // every weight new, at the same address
    EXPECT_TRUE(forward(&packs) == forward(nullptr)) << "new weights at the same address were not packed again";
}

// Two threads sharing one WeightPacks, each with its own layer: what each
// computes is what it computes alone.
TEST(PackedWeights, SharedBetweenThreads) {
    const ConvGeom g1 = conv_geom({2, 16, 12, 12}, 24, 3, 1, 1), g2 = conv_geom({2, 24, 12, 12}, 16, 3, 2, 1);
    auto x1 = random_tensor<float>(g1.in_shape(), 5), w1 = random_tensor<float>(g1.weight_shape(), 6);
    auto x2 = random_tensor<float>(g2.in_shape(), 7), w2 = random_tensor<float>(g2.weight_shape(), 8);
    auto b1 = random_tensor<float>({1, g1.out_c, 1, 1}, 9), b2 = random_tensor<float>({1, g2.out_c, 1, 1}, 10);
    auto r1 = random_tensor<float>(g1.out_shape(), 11), r2 = random_tensor<float>(g2.out_shape(), 12);
    const std::vector<float> alone1 = three_passes(g1, x1, w1, b1, r1, 1, nullptr);
    const std::vector<float> alone2 = three_passes(g2, x2, w2, b2, r2, 1, nullptr);
    WeightPacks packs;
    bool same1 = true, same2 = true;
    std::thread t1([&] {
        for (int i = 0; i < 20; ++i) same1 = same1 && three_passes(g1, x1, w1, b1, r1, 1, &packs) == alone1;
    });
    std::thread t2([&] {
        for (int i = 0; i < 20; ++i) same2 = same2 && three_passes(g2, x2, w2, b2, r2, 1, &packs) == alone2;
    });
    t1.join();
    t2.join();
    EXPECT_TRUE(same1);
    EXPECT_TRUE(same2);
}

// A whole network (the shipped architecture, two images): forward and the
// guided backward signal with the weights kept packed, twice, against packing
// on every call: the same bits.
TEST(PackedWeights, NetworkGivesTheSameBits) {
    const Arch arch = parse_arch(zoo_spec("all-cnn-c", ZooOptions{{1, 1, 28, 28}, 1.0 / 3.0, 10}));
    const Params<float> params = init_params<float>(arch, 3);
    const Tensor<float> x = random_tensor<float>(batch_shape(arch.input, 2), 13);
    const int logits = arch.logits_layer();
    const auto run = [&](const Compute& c) {
        Tape<float> tape;
        net_forward(arch, params, x, tape, c);
        Tensor<float> seed(tape.out[logits].shape, 0.f);
        seed.data[3] = 1;
        std::vector<float> all = tape.out[logits].data;
        const Tensor<float> s = net_signal(arch, params, tape, logits, seed, Rule::guided, c);
        all.insert(all.end(), s.data.begin(), s.data.end());
        return all;
    };
    const std::vector<float> per_call = run(Compute::fast_path(2));
    WeightPacks packs;
    EXPECT_TRUE(run(Compute::fast_path(2, &packs)) == per_call);
    EXPECT_TRUE(run(Compute::fast_path(2, &packs)) == per_call);
}

// Packing by phases depends on the stride: the same weights used with
// stride 2 and then 3 through one WeightPacks (a key without the stride would
// hand the second call the first one's phases) give the per-call bits.
TEST(PackedWeights, StrideIsPartOfTheKey) {
    const ConvGeom g2 = conv_geom({2, 7, 13, 13}, 9, 3, 2, 1), g3 = conv_geom({2, 7, 13, 13}, 9, 3, 3, 1);
    const auto w = random_tensor<float>(g2.weight_shape(), 5);
    const auto backward = [&](const ConvGeom& g, WeightPacks* packs) {
        const auto r = random_tensor<float>(g.out_shape(), 6);
        Tensor<float> dx(g.in_shape());
        conv_backward_input_fast(g, r.ptr(), w.ptr(), dx.ptr(), 1, Im2col::in_place, packs);
        return dx.data;
    };
    WeightPacks packs;
    EXPECT_TRUE(backward(g2, &packs) == backward(g2, nullptr));
    EXPECT_TRUE(backward(g3, &packs) == backward(g3, nullptr));
}
