// Training: the loss falls, resuming is exact, divergence is caught, dropout
// goes where the paper puts it; and (with the dataset installed) real data.
#include <gtest/gtest.h>

#include <fstream>
#include <stdexcept>

#include "net/train.hpp"
#include "net/zoo.hpp"

using namespace allconv;

namespace {

// Two classes a tiny net can tell apart: a bright left half or a bright right half, plus noise.
Dataset halves(int count) {
    Dataset d;
    d.image = Shape{1, 1, 6, 6};
    Rng rng(9);
    for (int i = 0; i < count; ++i) {
        int label = i % 2;
        for (int y = 0; y < 6; ++y)
            for (int x = 0; x < 6; ++x)
                d.pixels.push_back(float(((x < 3) == (label == 0) ? 0.7 : 0.2) + 0.2 * rng.uniform()));
        d.labels.push_back(label);
    }
    return d;
}

TrainState fresh(const Dataset& d, const TrainConfig& c) {
    TrainState s;
    s.model.arch = with_paper_dropout(parse_arch("input 1x6x6; conv 4 k3 p1; relu; conv 4 k3 s2 p1; relu; conv 2 k1; gap; softmax"), 0.1, 0.2);
    s.model.params = init_params<float>(s.model.arch, c.seed);
    s.velocity = zero_params<float>(s.model.arch);
    channel_statistics(d, s.model.mean, s.model.std);
    return s;
}

bool have_dataset() { return std::ifstream(std::string(default_data_dir()) + "/t10k-labels-idx1-ubyte.gz").good(); }

} // namespace

TEST(Train, LossFallsAndAccuracyRisesOnASmallTask) {
    Dataset d = halves(128);
    TrainConfig c;
    c.batch = 16;
    c.lr = 0.05;
    c.epochs = 8;
    TrainState s = fresh(d, c);
    double before = evaluate(s.model, d, 1).loss;
    for (int e = 0; e < c.epochs; ++e) train_epoch(s, d, c, nullptr);
    Evaluation after = evaluate(s.model, d, 1);
    EXPECT_LT(after.loss, 0.5 * before) << "loss " << before << " -> " << after.loss;
    EXPECT_GT(after.accuracy, 0.9);
}

// Two epochs straight == one epoch, checkpoint, load, one more epoch: bit for bit.
TEST(Train, ResumingFromACheckpointIsBitIdentical) {
    Dataset d = halves(64);
    TrainConfig c;
    c.batch = 8;
    c.epochs = 2;
    c.seed = 5;
    c.lr_steps = {2};
    TrainState straight = fresh(d, c), split = fresh(d, c);
    train_epoch(straight, d, c, nullptr);
    train_epoch(straight, d, c, nullptr);
    train_epoch(split, d, c, nullptr);
    std::string path = ::testing::TempDir() + "allconv_resume.ckpt.npz";
    save_checkpoint(path, split, {{"seed", {5.0}}, {"lr_steps", {2.0}}});
    const Checkpoint ck = load_checkpoint(path);
    EXPECT_EQ(ck.settings, (Settings{{"seed", {5.0}}, {"lr_steps", {2.0}}}));
    TrainState resumed = ck.state;
    EXPECT_EQ(resumed.epochs_done, 1);
    train_epoch(resumed, d, c, nullptr);
    for (std::size_t i = 0; i < straight.model.params.weight.size(); ++i) {
        EXPECT_EQ(resumed.model.params.weight[i].data, straight.model.params.weight[i].data) << i;
        EXPECT_EQ(resumed.model.params.bias[i].data, straight.model.params.bias[i].data) << i;
    }
}

TEST(Train, DivergenceStopsWithAClearMessage) {
    Dataset d = halves(32);
    TrainConfig c;
    c.batch = 8;
    c.lr = 1e12;
    TrainState s = fresh(d, c);
    try {
        for (int e = 0; e < 3; ++e) train_epoch(s, d, c, nullptr);
        FAIL() << "no divergence detected";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("training diverged"), std::string::npos) << e.what();
    }
}

TEST(Train, LearningRateStepsMultiplyByATenth) {
    TrainConfig c;
    c.lr = 0.1;
    c.lr_steps = {3, 5};
    EXPECT_DOUBLE_EQ(learning_rate(c, 0), 0.1);
    EXPECT_DOUBLE_EQ(learning_rate(c, 1), 0.1);
    EXPECT_NEAR(learning_rate(c, 2), 0.01, 1e-15); // epoch 3 (1-based)
    EXPECT_NEAR(learning_rate(c, 4), 0.001, 1e-15);
}

// Warm-up: step s of the first W uses lr * s / W. With one batch per epoch, the
// first step at lr 0.5 and W = 4 is the same update as lr 0.125 without warm-up
// (both exact in binary), and the fourth step onwards uses the full rate.
TEST(Train, WarmupScalesTheFirstStepsLinearly) {
    Dataset d = halves(8);
    TrainConfig warm, plain;
    warm.batch = plain.batch = 8;
    warm.lr = 0.5;
    warm.warmup_batches = 4;
    plain.lr = 0.125;
    TrainState a = fresh(d, warm), b = fresh(d, plain);
    train_epoch(a, d, warm, nullptr);
    train_epoch(b, d, plain, nullptr);
    for (std::size_t i = 0; i < a.model.params.weight.size(); ++i)
        EXPECT_EQ(a.model.params.weight[i].data, b.model.params.weight[i].data) << i;
    TrainConfig none = warm;
    none.warmup_batches = 0;
    TrainState c = fresh(d, none);
    train_epoch(c, d, none, nullptr);
    const int conv1 = c.model.arch.find("conv1"); // layer 0 is the input dropout
    EXPECT_NE(c.model.params.weight[conv1].data, a.model.params.weight[conv1].data);
}

// Paper: dropout on the input, and after each pool or the layer that replaced it.
TEST(Train, DropoutGoesWhereThePaperPutsIt) {
    auto kinds = [](const Arch& a) {
        std::string s;
        for (const Layer& l : a.layers) s += l.kind == LayerKind::dropout ? "D " : l.name + " ";
        return s;
    };
    Arch all = with_paper_dropout(parse_arch(zoo_spec("all-cnn-c")), 0.2, 0.5);
    EXPECT_EQ(kinds(all), "D conv1 relu1 conv2 relu2 conv3 relu3 D conv4 relu4 conv5 relu5 conv6 relu6 D conv7 relu7 "
                          "conv8 relu8 conv9 relu9 gap softmax ");
    Arch base = with_paper_dropout(parse_arch(zoo_spec("model-c")), 0.2, 0.5);
    EXPECT_EQ(kinds(base), "D conv1 relu1 conv2 relu2 pool1 D conv3 relu3 conv4 relu4 pool2 D conv5 relu5 conv6 relu6 "
                           "conv7 relu7 gap softmax ");
    EXPECT_EQ(base.params(), parse_arch(zoo_spec("model-c")).params());
}

// Real data, as `allconv train` uses it, and a claim that means something:
// after four epochs on 2,000 Fashion-MNIST images, a small all-convolutional
// net (strided convs, no pooling, global average) classifies 1,000 images it
// never saw far better than chance (10%). The first 3,000
// test images serve as both sets (loading the 60,000 training images would
// take most of this test's time); the run is deterministic, so the threshold
// only needs to sit safely below what it measures (printed).
TEST(FashionMnist, FourEpochsOnTwoThousandImagesGeneralise) {
    if (!have_dataset()) GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)";
    const Dataset all = load_fashion_mnist(default_data_dir(), "t10k", 3000);
    ASSERT_EQ(all.count(), 3000);
    EXPECT_EQ(all.image, (Shape{1, 1, 28, 28}));
    Dataset train, held_out;
    train.image = held_out.image = all.image;
    const std::size_t split = 2000 * all.image.image();
    train.pixels.assign(all.pixels.begin(), all.pixels.begin() + long(split));
    held_out.pixels.assign(all.pixels.begin() + long(split), all.pixels.end());
    train.labels.assign(all.labels.begin(), all.labels.begin() + 2000);
    held_out.labels.assign(all.labels.begin() + 2000, all.labels.end());
    TrainConfig c;
    c.threads = 2;
    c.batch = 32;
    c.lr = 0.05;
    c.warmup_batches = 10;
    TrainState s;
    s.model.arch = parse_arch("input 1x28x28; conv 16 k3 s2 p1; relu; conv 32 k3 s2 p1; relu; conv 32 k3 p1; relu; "
                              "conv 10 k1; gap; softmax");
    s.model.params = init_params<float>(s.model.arch, 1);
    s.velocity = zero_params<float>(s.model.arch);
    channel_statistics(train, s.model.mean, s.model.std);
    const double before = evaluate(s.model, held_out, 2).accuracy;
    for (int e = 0; e < 4; ++e) train_epoch(s, train, c, nullptr);
    const double after = evaluate(s.model, held_out, 2).accuracy;
    std::printf("[ held-out accuracy %.1f%% before, %.1f%% after four epochs ]\n", 100 * before, 100 * after);
    EXPECT_GT(after, 0.5);
}
