// train: minibatch SGD with momentum and weight decay, a step learning-rate
// schedule, and evaluation. The dropout recipe is in zoo.hpp, the data in
// dataset.hpp, checkpoints in model.hpp.
//
// Paper (CIFAR): SGD, momentum 0.9, weight decay 0.001, learning rate times
// 0.1 at fixed epochs; dropout 20% on the input and 50% after each pooling
// layer or the layer that replaced it.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "dataset.hpp"
#include "model.hpp"

namespace allconv {

struct TrainConfig {
    int epochs = 10, batch = 64, threads = 1;
    double lr = 0.05, momentum = 0.9, weight_decay = 1e-3;
    std::vector<int> lr_steps; // epochs (1-based) from which the rate is again x0.1
    int warmup_batches = 0;    // the rate grows linearly from lr/warmup to lr over this many first batches
    std::uint64_t seed = 1;
};

// The settings a resumed run keeps (every one changes the run), as a
// checkpoint stores them: seed, batch, lr, momentum, weight_decay, warmup,
// lr_steps and limit (how many training images; 0 = all).
Settings run_settings(const TrainConfig& c, int limit);
// A checkpoint's settings applied to c and limit, each checked against the
// range the command line accepts for it; throws std::runtime_error naming the
// file and the setting. Settings it does not know are left alone.
void apply_settings(const Settings& s, const std::string& file, TrainConfig& c, int& limit);

struct Progress {
    int epoch, epochs, batch, batches;
    double loss, accuracy, images_per_second, seconds;
};

// Learning rate for 0-based epoch e (the step schedule; warm-up is applied per batch on top).
double learning_rate(const TrainConfig& c, int epoch);

// One step of SGD with momentum, PyTorch's form, for every conv layer:
//   v = momentum * v + (g + weight_decay * w);  w -= rate * v
// Biases take no weight decay.
void sgd_momentum_step(Params<float>& params, Params<float>& velocity, const Params<float>& grads, float rate,
                       float momentum, float weight_decay);

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

// Fills a batch tensor with the normalised images order[first .. first+n)
// (images first .. first+n-1 when order is empty), and their labels.
void make_batch(const Model& m, const Dataset& d, const std::vector<int>& order, int first, int n, Tensor<float>& x,
                std::vector<int>& labels);

// The class with the largest logit for image j of a (N, K, 1, 1) tensor (the first on ties).
int predicted_class(const Tensor<float>& logits, int j);

} // namespace allconv
