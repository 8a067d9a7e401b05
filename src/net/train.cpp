// train: the SGD loop on top of net_forward / net_gradients.
#include "train.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include "../fast/packed_weights.hpp"
#include "../layers/softmax.hpp"

namespace allconv {

double learning_rate(const TrainConfig& c, int epoch) {
    double lr = c.lr;
    for (int step : c.lr_steps)
        if (epoch + 1 >= step) lr *= 0.1;
    return lr;
}

namespace {

// What the command line accepts for each setting.
struct SettingRange {
    const char* name;
    double lo, hi;
    bool whole;
};
const SettingRange kSettingRanges[] = {
    {"seed", 0, 2147483647, true},     {"batch", 1, 65536, true},     {"lr", 0, 100, false},
    {"momentum", 0, 0.999999, false},  {"weight_decay", 0, 1, false}, {"warmup", 0, 100000000, true},
    {"lr_steps", 1, 100000, true},     {"limit", 0, 100000000, true},
};

} // namespace

Settings run_settings(const TrainConfig& c, int limit) {
    return {{"seed", {double(c.seed)}},
            {"batch", {double(c.batch)}},
            {"lr", {c.lr}},
            {"momentum", {c.momentum}},
            {"weight_decay", {c.weight_decay}},
            {"warmup", {double(c.warmup_batches)}},
            {"lr_steps", std::vector<double>(c.lr_steps.begin(), c.lr_steps.end())},
            {"limit", {double(limit)}}};
}

void apply_settings(const Settings& s, const std::string& file, TrainConfig& c, int& limit) {
    for (const auto& [name, values] : s) {
        const SettingRange* r = nullptr;
        for (const SettingRange& k : kSettingRanges) r = name == k.name ? &k : r;
        if (!r) continue; // a setting of a newer version: not ours to judge
        if (values.size() != 1 && name != "lr_steps") throw std::runtime_error(file + ": train." + name + " must hold one number");
        for (double v : values)
            if (!(v >= r->lo && v <= r->hi) || (r->whole && v != double(long(v))))
                throw std::runtime_error(file + ": train." + name + " holds " + std::to_string(v) + ", outside " +
                                         std::to_string(r->lo) + ".." + std::to_string(r->hi) + (r->whole ? " (whole numbers)" : ""));
        if (name == "seed") c.seed = std::uint64_t(values[0]);
        if (name == "batch") c.batch = int(values[0]);
        if (name == "lr") c.lr = values[0];
        if (name == "momentum") c.momentum = values[0];
        if (name == "weight_decay") c.weight_decay = values[0];
        if (name == "warmup") c.warmup_batches = int(values[0]);
        if (name == "lr_steps") c.lr_steps.assign(values.begin(), values.end());
        if (name == "limit") limit = int(values[0]);
    }
}

int predicted_class(const Tensor<float>& logits, int j) {
    const int classes = logits.shape.c;
    const float* z = logits.ptr() + std::size_t(j) * classes;
    int best = 0;
    for (int k = 1; k < classes; ++k)
        if (z[k] > z[best]) best = k;
    return best;
}

void make_batch(const Model& m, const Dataset& d, const std::vector<int>& order, int first, int n, Tensor<float>& x,
                std::vector<int>& labels) {
    x.resize(batch_shape(d.image, n));
    labels.resize(n);
    const std::size_t image = d.image.image();
    for (int j = 0; j < n; ++j) {
        const int i = order.empty() ? first + j : order[first + j];
        std::copy_n(d.pixels.data() + std::size_t(i) * image, image, x.ptr() + std::size_t(j) * image);
        labels[j] = d.labels[i];
    }
    normalise(m, x);
}

void sgd_momentum_step(Params<float>& params, Params<float>& velocity, const Params<float>& grads, float rate,
                       float momentum, float weight_decay) {
    for (std::size_t i = 0; i < grads.weight.size(); ++i) {
        std::vector<float>& w = params.weight[i].data;
        std::vector<float>& v = velocity.weight[i].data;
        const std::vector<float>& g = grads.weight[i].data;
        for (std::size_t k = 0; k < w.size(); ++k) {
            v[k] = momentum * v[k] + (g[k] + weight_decay * w[k]);
            w[k] -= rate * v[k];
        }
        std::vector<float>& b = params.bias[i].data;
        std::vector<float>& vb = velocity.bias[i].data;
        const std::vector<float>& gb = grads.bias[i].data;
        for (std::size_t k = 0; k < b.size(); ++k) {
            vb[k] = momentum * vb[k] + gb[k];
            b[k] -= rate * vb[k];
        }
    }
}

namespace {

// The epoch's image order: a Fisher-Yates shuffle from the epoch's own stream.
std::vector<int> shuffled(int count, std::uint64_t seed, int epoch) {
    Rng rng(seed * 0x9E3779B97F4A7C15ull + 2 * std::uint64_t(epoch) + 1);
    std::vector<int> order(count);
    for (int i = 0; i < count; ++i) order[i] = i;
    for (int i = count - 1; i > 0; --i) std::swap(order[i], order[rng.below(std::uint32_t(i + 1))]);
    return order;
}

void zero(Params<float>& p) {
    for (std::size_t i = 0; i < p.weight.size(); ++i) {
        std::fill(p.weight[i].data.begin(), p.weight[i].data.end(), 0.f);
        std::fill(p.bias[i].data.begin(), p.bias[i].data.end(), 0.f);
    }
}

// Running totals of an epoch, for the progress report.
struct Tally {
    double loss_sum = 0;
    long correct = 0, seen = 0;
};

} // namespace

void train_epoch(TrainState& s, const Dataset& train, const TrainConfig& c,
                 const std::function<void(const Progress&)>& progress) {
    const Arch& arch = s.model.arch;
    const int epoch = s.epochs_done, logits = arch.logits_layer(), classes = arch.layers[logits].out.c;
    const double lr = learning_rate(c, epoch);
    const std::vector<int> order = shuffled(train.count(), c.seed, epoch);
    Rng dropout_rng(c.seed * 0xD1B54A32D192ED03ull + 2 * std::uint64_t(epoch) + 2); // this epoch's masks
    const Compute compute = Compute::fast_path(c.threads);
    const int batches = (train.count() + c.batch - 1) / c.batch;
    Tape<float> tape;
    Tensor<float> x, dlogits;
    std::vector<int> labels;
    Params<float> grads = zero_params<float>(arch);
    Tally tally;
    const auto start = std::chrono::steady_clock::now();
    for (int b = 0; b < batches; ++b) {
        const int first = b * c.batch, n = std::min(c.batch, train.count() - first);
        make_batch(s.model, train, order, first, n, x, labels);
        net_forward(arch, s.model.params, x, tape, compute, &dropout_rng);
        const Tensor<float>& z = tape.out[logits];
        dlogits.resize(z.shape);
        const float loss = softmax_cross_entropy(n, classes, z.ptr(), labels.data(), dlogits.ptr());
        if (!std::isfinite(loss))
            throw std::runtime_error("training diverged: loss is " + std::to_string(loss) + " at epoch " +
                                     std::to_string(epoch + 1) + ", batch " + std::to_string(b + 1) +
                                     " (try a smaller --lr); no model written");
        for (int j = 0; j < n; ++j) tally.correct += predicted_class(z, j) == labels[j];
        tally.loss_sum += double(loss) * n;
        tally.seen += n;
        zero(grads);
        net_gradients(arch, s.model.params, tape, logits, dlogits, grads, compute);
        // Optional warm-up: the first warmup_batches steps use lr * step / warmup_batches.
        const long step = long(epoch) * batches + b + 1;
        const double warm = step < c.warmup_batches ? double(step) / c.warmup_batches : 1.0;
        sgd_momentum_step(s.model.params, s.velocity, grads, float(lr * warm), float(c.momentum), float(c.weight_decay));
        if (progress) {
            const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            progress(Progress{epoch + 1, c.epochs, b + 1, batches, tally.loss_sum / tally.seen,
                              double(tally.correct) / tally.seen, tally.seen / std::max(secs, 1e-9), secs});
        }
    }
    s.epochs_done = epoch + 1;
}

Evaluation evaluate(const Model& m, const Dataset& d, int threads, int batch) {
    Evaluation e;
    const int logits = m.arch.logits_layer(), classes = m.arch.layers[logits].out.c;
    e.confusion.assign(classes, std::vector<int>(classes, 0));
    WeightPacks packs; // the weights stay fixed while the test set goes through: packed once
    const Compute compute = Compute::fast_path(threads, &packs);
    Tape<float> tape;
    Tensor<float> x;
    std::vector<int> labels;
    long correct = 0;
    double loss = 0;
    for (int first = 0; first < d.count(); first += batch) {
        const int n = std::min(batch, d.count() - first);
        make_batch(m, d, {}, first, n, x, labels);
        net_forward(m.arch, m.params, x, tape, compute, nullptr, logits);
        const Tensor<float>& z = tape.out[logits];
        loss += double(softmax_cross_entropy(n, classes, z.ptr(), labels.data())) * n;
        for (int j = 0; j < n; ++j) {
            const int best = predicted_class(z, j);
            correct += best == labels[j];
            if (labels[j] < classes) e.confusion[labels[j]][best]++;
        }
    }
    e.accuracy = d.count() ? double(correct) / d.count() : 0;
    e.loss = d.count() ? loss / d.count() : 0;
    return e;
}

} // namespace allconv
