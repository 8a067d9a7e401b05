// train: minibatch SGD with momentum and weight decay, dropout where the paper
// puts it, a step learning-rate schedule, and evaluation.
//
// Paper (CIFAR): SGD, momentum 0.9, weight decay 0.001, learning rate times
// 0.1 at fixed epochs; dropout 20% on the input and 50% after each pooling
// layer or the layer that replaced it.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model.hpp"

namespace allconv {

struct Dataset {
    Shape image;                 // C x H x W of one image (n = 1)
    std::vector<float> pixels;   // count * C * H * W, in [0, 1]
    std::vector<int> labels;
    int count() const { return int(labels.size()); }
};

// Fashion-MNIST's "train" or "t10k" split from `dir` (the Debian package's
// folder by default), gzipped or plain. `limit` > 0 keeps the first images.
Dataset load_fashion_mnist(const std::string& dir, const std::string& split, int limit = 0);
const char* default_data_dir();           // /usr/share/datasets/fashion-mnist
const std::vector<std::string>& fashion_mnist_classes();

// The same network with dropout layers where the paper puts them: p_input
// after the input, p_pool after every max-pool and after the ReLU that follows
// a convolution with stride > 1 (the layer that replaced a pool). A p of 0
// adds nothing.
Arch with_paper_dropout(const Arch& a, double p_input, double p_pool);

// Per-channel mean and standard deviation of a dataset's pixels.
void channel_statistics(const Dataset& d, std::vector<float>& mean, std::vector<float>& std);

struct TrainConfig {
    int epochs = 10, batch = 64, threads = 1;
    double lr = 0.05, momentum = 0.9, weight_decay = 1e-3;
    std::vector<int> lr_steps;   // epochs (1-based) from which the rate is again x0.1
    int warmup_batches = 0;      // the rate grows linearly from lr/warmup to lr over this many first batches
    std::uint64_t seed = 1;
};

// Everything needed to continue a run exactly.
struct TrainState {
    Model model;
    Params<float> velocity;
    int epochs_done = 0;
};

struct Progress {
    int epoch, epochs, batch, batches;
    double loss, accuracy, images_per_second, seconds;
};

// Learning rate for 0-based epoch e (the step schedule; warm-up is applied per batch on top).
double learning_rate(const TrainConfig& c, int epoch);

// One epoch of SGD. The shuffle and the dropout masks come from generators
// seeded by (seed, epoch), so an epoch is a pure function of the state at its
// start: resuming from a checkpoint gives bit-identical results.
// Throws std::runtime_error when the loss becomes NaN or infinite.
void train_epoch(TrainState& s, const Dataset& train, const TrainConfig& c,
                 const std::function<void(const Progress&)>& progress);

struct Evaluation {
    double accuracy = 0, loss = 0;
    std::vector<std::vector<int>> confusion; // [true][predicted]
};
Evaluation evaluate(const Model& m, const Dataset& d, int threads, int batch = 256);

// Fills a batch tensor with normalised images idx[first .. first+n).
void make_batch(const Model& m, const Dataset& d, const std::vector<int>& idx, int first, int n, Tensor<float>& x,
                std::vector<int>& labels);

// Checkpoint = model + velocity + epochs done + the config's seed.
void save_checkpoint(const std::string& path, const TrainState& s, const TrainConfig& c);
TrainState load_checkpoint(const std::string& path, std::uint64_t* seed);

} // namespace allconv
