// Whole networks: every zoo family against finite differences through the
// loss, the three rules on a worked example and as properties, determinism.
#include <gtest/gtest.h>

#include "layers/conv.hpp"
#include "net/net.hpp"
#include "layers/pool.hpp"
#include "layers/relu.hpp"
#include "layers/softmax.hpp"
#include "test_util.hpp"
#include "net/zoo.hpp"

using namespace allconv;
using namespace allconv::testing;

namespace {

// Which side of every kink the forward pass is on: ReLU signs and switches.
std::vector<long> kink_pattern(const Arch& a, const Tape<double>& t) {
    std::vector<long> out;
    for (std::size_t i = 0; i < a.layers.size(); ++i) {
        if (a.layers[i].kind == LayerKind::relu) {
            const Tensor<double>& f = i ? t.out[i - 1] : t.input;
            for (double v : f.data) out.push_back(v > 0);
        }
        for (std::int32_t s : t.switches[i]) out.push_back(s);
    }
    return out;
}

struct FamilyCase {
    std::string name;
    Shape input;
    double width;
};

} // namespace

// Central differences of the mean cross-entropy with respect to sampled input
// values and parameters of every zoo family at narrow width and small,
// non-square inputs. Kinks: every perturbed forward pass is checked to have
// the same ReLU sign pattern and max-pool switches as the unperturbed one, so
// no finite-difference step crosses a kink (the test fails loudly if one does).
// Metric: max |analytic - numeric| / max |numeric| over the sampled entries.
TEST(NetGradient, EveryZooFamilyMatchesFiniteDifferencesThroughTheLoss) {
    const std::vector<FamilyCase> cases = {
        {"model-a", {1, 2, 14, 10}, 0.05},        {"model-b", {1, 2, 10, 14}, 0.05},
        {"model-c", {1, 3, 12, 10}, 0.05},        {"strided-cnn-a", {1, 2, 14, 10}, 0.05},
        {"strided-cnn-b", {1, 1, 12, 13}, 0.05},  {"strided-cnn-c", {1, 3, 10, 12}, 0.05},
        {"convpool-cnn-a", {1, 2, 10, 13}, 0.05}, {"convpool-cnn-b", {1, 1, 14, 10}, 0.05},
        {"convpool-cnn-c", {1, 2, 12, 12}, 0.05}, {"all-cnn-a", {1, 2, 13, 10}, 0.05},
        {"all-cnn-b", {1, 3, 10, 14}, 0.05},      {"all-cnn-c", {1, 2, 12, 11}, 0.05},
        {"all-cnn-imagenet", {1, 3, 67, 71}, 0.02}};
    std::uint64_t seed = 1;
    double worst = 0;
    for (const FamilyCase& c : cases) {
        ZooOptions o;
        o.input = c.input;
        o.width = c.width;
        o.classes = 4;
        Arch a = parse_arch(zoo_spec(c.name, o), c.name);
        Params<double> p = init_params<double>(a, ++seed);
        // Random biases: with zero biases, a pixel whose inputs are all dead ReLUs
        // would sit exactly on the next ReLU's kink (f == 0).
        for (Tensor<double>& b : p.bias) b = random_tensor<double>(b.shape, ++seed, 0.1);
        Tensor<double> x = random_tensor<double>(batch_shape(a.input, 2), ++seed);
        std::vector<int> labels = {1, 3};
        const int logits = a.logits_layer();
        Tape<double> tape;
        auto loss = [&]() {
            net_forward(a, p, x, tape); // the reference loops
            return softmax_cross_entropy(2, 4, tape.out[logits].ptr(), labels.data());
        };
        loss();
        std::vector<long> pattern = kink_pattern(a, tape);
        Tensor<double> dlogits(tape.out[logits].shape);
        softmax_cross_entropy(2, 4, tape.out[logits].ptr(), labels.data(), dlogits.ptr());
        Params<double> grads = zero_params<double>(a);
        net_gradients(a, p, tape, logits, dlogits, grads);
        const Tensor<double> dx = net_signal(a, p, tape, logits, dlogits, Rule::backprop);
        auto checked_loss = [&]() {
            double l = loss();
            std::vector<long> now = kink_pattern(a, tape);
            for (std::size_t k = 0; k < now.size(); ++k)
                if (now[k] != pattern[k]) { ADD_FAILURE() << c.name << ": a finite-difference step crossed a kink at " << k << " of " << now.size(); break; }
            return l;
        };
        // input
        std::vector<std::size_t> idx;
        std::vector<double> num;
        numeric_gradient(x.data, checked_loss, 40, idx, num);
        double e = relative_error(pick(dx.data, idx), num);
        EXPECT_LT(e, 1e-6) << c.name << " input gradient, x " << to_string(x.shape);
        worst = std::max(worst, e);
        // parameters: every conv layer's weight and bias, sampled
        for (std::size_t i = 0; i < a.layers.size(); ++i) {
            if (a.layers[i].kind != LayerKind::conv) continue;
            for (int which = 0; which < 2; ++which) {
                Tensor<double>& v = which ? p.bias[i] : p.weight[i];
                const Tensor<double>& g = which ? grads.bias[i] : grads.weight[i];
                numeric_gradient(v.data, checked_loss, 12, idx, num);
                double err = relative_error(pick(g.data, idx), num);
                EXPECT_LT(err, 1e-6) << c.name << " " << a.layers[i].name << (which ? ".bias" : ".weight");
                worst = std::max(worst, err);
            }
        }
    }
    std::printf("[ worst relative error over all families: %.3g ]\n", worst);
}

// A worked example (numbers by hand, see the comments) where all three rules
// give different answers.
//   input 1x1x2, x = [2, -1]
//   conv1: 2 channels, 1x1, w = [1, -1], b = 0  -> f: ch0 = [2, -1], ch1 = [-2, 1]
//   relu1                                       ->    ch0 = [2,  0], ch1 = [ 0, 1]
//   conv2: 1 channel, 1x1, w = [1, -2], b = 0   -> y = [2, -2]
// Seed R = [1, 1] at conv2. Through conv2: ch0 = [1, 1], ch1 = [-2, -2].
// At relu1 (f from above):
//   backprop  R*[f>0]        ch0 = [1, 0], ch1 = [0, -2]
//   deconvnet R*[R>0]        ch0 = [1, 1], ch1 = [0,  0]
//   guided    R*[f>0][R>0]   ch0 = [1, 0], ch1 = [0,  0]
// Through conv1 (dx = 1*ch0 - 1*ch1):
//   backprop [1, 2]   deconvnet [1, 1]   guided [1, 0]
// Check of backprop: y0 + y1 = relu(x0) - 2 relu(-x0) + relu(x1) - 2 relu(-x1); at x0 = 2 the
// derivative is 1, at x1 = -1 it is 2. So backprop is the true gradient.
TEST(Rules, HandComputedTinyNetworkUnderEachRule) {
    Arch a = parse_arch("input 1x1x2; conv 2 k1; relu; conv 1 k1");
    Params<double> p = zero_params<double>(a);
    p.weight[0].data = {1, -1};
    p.weight[2].data = {1, -2};
    Tensor<double> x({1, 1, 1, 2});
    x.data = {2, -1};
    Tape<double> tape;
    net_forward(a, p, x, tape);
    EXPECT_EQ(tape.out[2].data, (std::vector<double>{2, -2}));
    const Tensor<double> seed(tape.out[2].shape, 1.0);
    EXPECT_EQ(net_signal(a, p, tape, 2, seed, Rule::backprop).data, (std::vector<double>{1, 2}));
    EXPECT_EQ(net_signal(a, p, tape, 2, seed, Rule::deconvnet).data, (std::vector<double>{1, 1}));
    EXPECT_EQ(net_signal(a, p, tape, 2, seed, Rule::guided).data, (std::vector<double>{1, 0}));
}

namespace {
// A small net with pools, overlapping and not, to test rule properties on.
Arch property_arch() {
    return parse_arch("input 2x11x9; conv 5 k3 p1; relu; maxpool k3 s2 p1; conv 6 k3 s2 p1; relu; "
                      "maxpool k2 s2; conv 4 k1; relu; gap");
}
} // namespace

// Guided backprop = backprop with negative signals zeroed at every ReLU. The
// right side is computed here by walking the layers by hand with the layer
// functions, independently of net.cpp's wiring.
TEST(Rules, GuidedEqualsBackpropWithNegativeSignalsZeroed) {
    Arch a = property_arch();
    Params<double> p = init_params<double>(a, 3);
    Tensor<double> x = random_tensor<double>(batch_shape(a.input, 2), 4);
    Tape<double> t;
    net_forward(a, p, x, t); // the reference loops, so both sides do the same arithmetic and agree exactly
    const int from = 7;      // relu after conv 4 k1
    const Tensor<double> seed = random_tensor<double>(t.out[from].shape, 5);
    const Tensor<double> guided = net_signal(a, p, t, from, seed, Rule::guided);
    std::vector<double> signal = seed.data;
    for (int i = from; i >= 0; --i) {
        const Layer& l = a.layers[i];
        const Tensor<double>& in = i ? t.out[i - 1] : t.input;
        std::vector<double> below(in.size());
        Shape is = batch_shape(l.in, 2);
        if (l.kind == LayerKind::relu) {
            for (double& s : signal) s = s > 0 ? s : 0; // zero the negative signals...
            relu_backward(Rule::backprop, below.size(), in.ptr(), signal.data(), below.data()); // ...then backprop
        } else if (l.kind == LayerKind::conv) {
            conv_backward_input(conv_geom(is, l.out_c, l.k, l.stride, l.pad), signal.data(), p.weight[i].ptr(),
                                below.data());
        } else if (l.kind == LayerKind::maxpool) {
            maxpool_backward(pool_geom(is, l.k, l.stride, l.pad), signal.data(), t.switches[i].data(), below.data());
        }
        signal = below;
    }
    EXPECT_EQ(guided.data, signal);
}

// Without max-pool layers the deconvnet never looks at the forward pass: two
// different images give the same reconstruction (backprop's differs).
TEST(Rules, DeconvnetIgnoresTheForwardReluMask) {
    Arch a = parse_arch(zoo_spec("all-cnn-c", ZooOptions{{1, 1, 12, 12}, 0.1, 3}));
    Params<double> p = init_params<double>(a, 8);
    for (Tensor<double>& b : p.bias) b = random_tensor<double>(b.shape, 9, 0.1); // keep units alive
    Tensor<double> x1 = random_tensor<double>(batch_shape(a.input, 1), 1), x2 = random_tensor<double>(x1.shape, 2);
    Tape<double> t1, t2;
    net_forward(a, p, x1, t1);
    net_forward(a, p, x2, t2);
    const int logits = a.logits_layer();
    Tensor<double> seed(t1.out[logits].shape, 0.0);
    seed.data[1] = 1.0; // class 1's logit
    EXPECT_EQ(net_signal(a, p, t1, logits, seed, Rule::deconvnet).data,
              net_signal(a, p, t2, logits, seed, Rule::deconvnet).data);
    EXPECT_NE(net_signal(a, p, t1, logits, seed, Rule::backprop).data,
              net_signal(a, p, t2, logits, seed, Rule::backprop).data);
}

// Backprop from a single neuron is the gradient of that neuron's value. The
// network has ReLUs and max-pools, so every finite-difference step is checked
// to keep the same side of every kink (ReLU signs and switches), as in
// NetGradient above.
TEST(Rules, BackpropFromOneUnitIsThatUnitsGradient) {
    Arch a = property_arch();
    Params<double> p = init_params<double>(a, 13);
    for (Tensor<double>& b : p.bias) b = random_tensor<double>(b.shape, 15, 0.1); // no unit exactly at a kink
    Tensor<double> x = random_tensor<double>(batch_shape(a.input, 1), 14);
    Tape<double> t;
    net_forward(a, p, x, t);
    const std::vector<long> pattern = kink_pattern(a, t);
    const int layer = 4; // relu after the stride-2 conv
    const std::size_t unit = 17;
    ASSERT_GT(t.out[layer].data[unit], 0.0) << "the unit must be alive for its gradient to be non-zero";
    Tensor<double> seed(t.out[layer].shape, 0.0);
    seed.data[unit] = 1.0;
    const Tensor<double> dx = net_signal(a, p, t, layer, seed, Rule::backprop);
    std::vector<std::size_t> idx;
    std::vector<double> num;
    int crossed = 0;
    numeric_gradient(x.data, [&] {
        net_forward(a, p, x, t);
        crossed += kink_pattern(a, t) != pattern;
        return t.out[layer].data[unit];
    }, 0, idx, num);
    EXPECT_EQ(crossed, 0) << "a finite-difference step crossed a kink";
    EXPECT_GT(*std::max_element(num.begin(), num.end()), 0.0);
    EXPECT_LT(relative_error(pick(dx.data, idx), num), 1e-6);
}

// Same seed, same bits; and the same bits for 1, 2 and 7 threads, through
// convolutions, ReLUs and (in model-c) overlapping max-pools.
TEST(Determinism, SameSeedGivesBitIdenticalWeightsAndOutputs) {
    for (const char* name : {"all-cnn-c", "model-c"}) {
        Arch a = parse_arch(zoo_spec(name, ZooOptions{{1, 3, 16, 16}, 0.1, 10}));
        Params<float> p1 = init_params<float>(a, 77), p2 = init_params<float>(a, 77), p3 = init_params<float>(a, 78);
        for (std::size_t i = 0; i < a.layers.size(); ++i) EXPECT_EQ(p1.weight[i].data, p2.weight[i].data);
        EXPECT_NE(p1.weight[0].data, p3.weight[0].data);
        Tensor<float> x = random_tensor<float>(batch_shape(a.input, 3), 1);
        std::vector<std::vector<float>> outs;
        for (int threads : {1, 2, 7}) {
            Tape<float> t;
            const Compute c = Compute::fast_path(threads);
            net_forward(a, p1, x, t, c);
            const Tensor<float> seed(t.out[a.logits_layer()].shape, 1.0f);
            const Tensor<float> dx = net_signal(a, p1, t, a.logits_layer(), seed, Rule::guided, c);
            Params<float> g = zero_params<float>(a);
            net_gradients(a, p1, t, a.logits_layer(), seed, g, c);
            std::vector<float> all = t.out.back().data;
            all.insert(all.end(), dx.data.begin(), dx.data.end());
            all.insert(all.end(), g.weight[0].data.begin(), g.weight[0].data.end());
            for (const auto& sw : t.switches) all.insert(all.end(), sw.begin(), sw.end());
            outs.push_back(all);
        }
        EXPECT_TRUE(outs[0] == outs[1]) << name << ": 1 vs 2 threads";
        EXPECT_TRUE(outs[0] == outs[2]) << name << ": 1 vs 7 threads";
    }
}

TEST(Determinism, HeInitScaleIsSqrtTwoOverFanIn) {
    Arch a = parse_arch("input 4x9x9; conv 300 k3");
    Params<double> p = init_params<double>(a, 1);
    double sum2 = 0;
    for (double w : p.weight[0].data) sum2 += w * w;
    double var = sum2 / double(p.weight[0].size());
    // 10800 draws: variance estimate within 5 * sqrt(2/n) = 6.8% of 2/36.
    EXPECT_NEAR(var, 2.0 / 36.0, 0.068 * 2.0 / 36.0);
    for (double b : p.bias[0].data) EXPECT_EQ(b, 0.0);
}

TEST(NetForward, WrongInputShapeThrowsNamingBothShapes) {
    Arch a = parse_arch("input 3x8x8; conv 2 k3");
    Params<float> p = init_params<float>(a, 1);
    Tape<float> t;
    try {
        net_forward(a, p, Tensor<float>({1, 1, 8, 8}), t);
        FAIL() << "no exception";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("1x1x8x8"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("3x8x8"), std::string::npos) << e.what();
    }
}

// The fast path through a whole network agrees with the reference loops, in
// double (where the only difference is the order of summation: 1e-12 of the
// output's scale is about 5000 ulps, far above that and far below any bug).
TEST(NetForward, FastPathMatchesReferenceThroughAWholeNetwork) {
    Arch a = parse_arch(zoo_spec("all-cnn-c", ZooOptions{{1, 3, 20, 17}, 0.2, 10}));
    Params<double> p = init_params<double>(a, 5);
    Tensor<double> x = random_tensor<double>(batch_shape(a.input, 3), 6);
    Tape<double> fast, ref;
    net_forward(a, p, x, fast, Compute::fast_path(2));
    net_forward(a, p, x, ref);
    for (std::size_t i = 0; i < a.layers.size(); ++i)
        EXPECT_LT(relative_error(fast.out[i].data, ref.out[i].data), 1e-12) << a.layers[i].name;
}

// The same for everything backward: the signal under each rule and every
// parameter gradient, through a network with overlapping max-pools.
TEST(NetBackward, FastPathMatchesReferenceInDouble) {
    Arch a = parse_arch(zoo_spec("model-c", ZooOptions{{1, 3, 15, 13}, 0.1, 5}));
    Params<double> p = init_params<double>(a, 21);
    for (Tensor<double>& b : p.bias) b = random_tensor<double>(b.shape, 22, 0.1);
    Tensor<double> x = random_tensor<double>(batch_shape(a.input, 3), 23);
    const Compute fast = Compute::fast_path(2);
    Tape<double> tf, tr;
    net_forward(a, p, x, tf, fast);
    net_forward(a, p, x, tr);
    const int logits = a.logits_layer();
    const Tensor<double> seed = random_tensor<double>(tr.out[logits].shape, 24);
    for (Rule r : {Rule::backprop, Rule::deconvnet, Rule::guided}) {
        const Tensor<double> f = net_signal(a, p, tf, logits, seed, r, fast), ref = net_signal(a, p, tr, logits, seed, r);
        EXPECT_GT(*std::max_element(ref.data.begin(), ref.data.end()), 0.0) << rule_name(r);
        EXPECT_LT(relative_error(f.data, ref.data), 1e-12) << rule_name(r);
    }
    Params<double> gf = zero_params<double>(a), gr = zero_params<double>(a);
    net_gradients(a, p, tf, logits, seed, gf, fast);
    net_gradients(a, p, tr, logits, seed, gr);
    for (std::size_t i = 0; i < a.layers.size(); ++i) {
        if (a.layers[i].kind != LayerKind::conv) continue;
        EXPECT_LT(relative_error(gf.weight[i].data, gr.weight[i].data), 1e-12) << a.layers[i].name;
        EXPECT_LT(relative_error(gf.bias[i].data, gr.bias[i].data), 1e-12) << a.layers[i].name;
    }
}

// Backward needs the forward pass of the same input through the layer it
// starts from: a tape that a shorter forward pass overwrote below is stale
// above, and an empty one holds nothing.
TEST(NetBackward, StaleOrShortTapeIsRejected) {
    Arch a = property_arch();
    Params<double> p = init_params<double>(a, 31);
    Tensor<double> x1 = random_tensor<double>(batch_shape(a.input, 1), 32), x2 = random_tensor<double>(x1.shape, 33);
    Tape<double> t;
    const auto error = [&](int from) {
        try {
            net_signal(a, p, t, from, Tensor<double>(t.out.empty() ? Shape{} : t.out[from].shape, 1.0), Rule::guided);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("(no error)");
    };
    EXPECT_NE(error(0).find("the tape is empty"), std::string::npos) << error(0);
    net_forward(a, p, x1, t);            // every layer of x1
    net_forward(a, p, x2, t, {}, nullptr, 1); // layers 0..1 of x2: layers 2.. are x1's, stale
    EXPECT_EQ(error(1), "(no error)");
    EXPECT_NE(error(3).find("holds only layers up to relu1"), std::string::npos) << error(3);
    EXPECT_NE(error(3).find("through conv2"), std::string::npos) << error(3);
}
