// train: the SGD loop on top of net_forward / net_backward.
#include "train.hpp"

#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "idx.hpp"
#include "softmax.hpp"

namespace allconv {

const char* default_data_dir() { return "/usr/share/datasets/fashion-mnist"; }

const std::vector<std::string>& fashion_mnist_classes() {
    static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                   "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return names;
}

namespace {
std::string find_idx(const std::string& dir, const std::string& stem) {
    for (const char* ext : {".gz", ""}) {
        std::string path = dir + "/" + stem + ext;
        if (std::ifstream(path).good()) return path;
    }
    throw std::runtime_error(dir + "/" + stem + ".gz: not found (install the dataset: apt-get install "
                             "dataset-fashion-mnist, or pass --data DIR)");
}
} // namespace

Dataset load_fashion_mnist(const std::string& dir, const std::string& split, int limit) {
    std::string images_path = find_idx(dir, split + "-images-idx3-ubyte");
    std::string labels_path = find_idx(dir, split + "-labels-idx1-ubyte");
    IdxImages im = read_idx_images(images_path);
    std::vector<std::uint8_t> labels = read_idx_labels(labels_path, 10);
    if (int(labels.size()) != im.count)
        throw std::runtime_error(labels_path + ": " + std::to_string(labels.size()) + " labels for " +
                                 std::to_string(im.count) + " images in " + images_path);
    int count = limit > 0 && limit < im.count ? limit : im.count;
    Dataset d;
    d.image = Shape{1, 1, im.rows, im.cols};
    const std::size_t size = std::size_t(count) * im.rows * im.cols;
    d.pixels.resize(size);
    for (std::size_t i = 0; i < size; ++i) d.pixels[i] = im.pixels[i] / 255.0f;
    d.labels.assign(labels.begin(), labels.begin() + count);
    return d;
}

Arch with_paper_dropout(const Arch& a, double p_input, double p_pool) {
    std::istringstream lines(arch_spec(a));
    std::string line, out;
    std::getline(lines, line); // input
    out += line + "\n";
    if (p_input > 0) out += "dropout " + std::to_string(p_input) + "\n";
    bool after_strided_conv = false;
    for (std::size_t i = 0; std::getline(lines, line); ++i) {
        out += line + "\n";
        const Layer& l = a.layers[i];
        bool replaced_pool = l.kind == LayerKind::relu && after_strided_conv;
        if (p_pool > 0 && (l.kind == LayerKind::maxpool || replaced_pool)) out += "dropout " + std::to_string(p_pool) + "\n";
        after_strided_conv = l.kind == LayerKind::conv && l.stride > 1;
    }
    return parse_arch(out, "training spec");
}

void channel_statistics(const Dataset& d, std::vector<float>& mean, std::vector<float>& std) {
    const int C = d.image.c;
    const std::size_t plane = d.image.plane();
    mean.assign(C, 0.f);
    std.assign(C, 1.f);
    for (int c = 0; c < C; ++c) {
        double sum = 0, sum2 = 0;
        for (int n = 0; n < d.count(); ++n) {
            const float* p = d.pixels.data() + (std::size_t(n) * C + c) * plane;
            for (std::size_t i = 0; i < plane; ++i) {
                sum += p[i];
                sum2 += double(p[i]) * p[i];
            }
        }
        double count = double(d.count()) * plane, m = sum / count;
        mean[c] = float(m);
        std[c] = float(std::sqrt(std::max(sum2 / count - m * m, 1e-12)));
    }
}

double learning_rate(const TrainConfig& c, int epoch) {
    double lr = c.lr;
    for (int step : c.lr_steps)
        if (epoch + 1 >= step) lr *= 0.1;
    return lr;
}

namespace {
// The class with the largest logit for image j (the first one on ties).
int predicted_class(const Tensor<float>& logits, int j, int classes) {
    const float* z = logits.ptr() + std::size_t(j) * classes;
    int best = 0;
    for (int k = 1; k < classes; ++k)
        if (z[k] > z[best]) best = k;
    return best;
}
} // namespace

void make_batch(const Model& m, const Dataset& d, const std::vector<int>& idx, int first, int n, Tensor<float>& x,
                std::vector<int>& labels) {
    x.resize(batch_shape(d.image, n));
    labels.resize(n);
    const std::size_t image = d.image.image();
    for (int j = 0; j < n; ++j) {
        int i = idx.empty() ? first + j : idx[first + j];
        std::copy_n(d.pixels.data() + std::size_t(i) * image, image, x.ptr() + std::size_t(j) * image);
        labels[j] = d.labels[i];
    }
    normalise(m, x);
}

void train_epoch(TrainState& s, const Dataset& train, const TrainConfig& c,
                 const std::function<void(const Progress&)>& progress) {
    const Arch& arch = s.model.arch;
    const int epoch = s.epochs_done;
    const double lr = learning_rate(c, epoch);
    // Streams for this epoch only: shuffle and dropout depend on (seed, epoch).
    Rng shuffle_rng(c.seed * 0x9E3779B97F4A7C15ull + 2 * std::uint64_t(epoch) + 1);
    Rng dropout_rng(c.seed * 0xD1B54A32D192ED03ull + 2 * std::uint64_t(epoch) + 2);
    std::vector<int> order(train.count());
    for (int i = 0; i < train.count(); ++i) order[i] = i;
    for (int i = train.count() - 1; i > 0; --i) std::swap(order[i], order[shuffle_rng.below(std::uint32_t(i + 1))]);

    Compute compute;
    compute.threads = c.threads;
    const int logits = arch.logits_layer(), classes = arch.layers[logits].out.c;
    const int batches = (train.count() + c.batch - 1) / c.batch;
    Tape<float> tape;
    Tensor<float> x, dlogits;
    std::vector<int> labels;
    Params<float> grads = zero_params<float>(arch);
    double loss_sum = 0;
    long correct = 0, seen = 0;
    auto start = std::chrono::steady_clock::now();
    for (int b = 0; b < batches; ++b) {
        const int first = b * c.batch, n = std::min(c.batch, train.count() - first);
        make_batch(s.model, train, order, first, n, x, labels);
        net_forward(arch, s.model.params, x, tape, compute, &dropout_rng);
        const Tensor<float>& z = tape.out[logits];
        dlogits.resize(z.shape);
        float loss = softmax_cross_entropy(n, classes, z.ptr(), labels.data(), dlogits.ptr());
        if (!std::isfinite(loss))
            throw std::runtime_error("training diverged: loss is " + std::to_string(loss) + " at epoch " +
                                     std::to_string(epoch + 1) + ", batch " + std::to_string(b + 1) +
                                     " (try a smaller --lr); no model written");
        for (int j = 0; j < n; ++j) {
            const int best = predicted_class(z, j, classes);
            correct += best == labels[j];
        }
        loss_sum += double(loss) * n;
        seen += n;
        for (std::size_t i = 0; i < grads.weight.size(); ++i) {
            std::fill(grads.weight[i].data.begin(), grads.weight[i].data.end(), 0.f);
            std::fill(grads.bias[i].data.begin(), grads.bias[i].data.end(), 0.f);
        }
        net_backward(arch, s.model.params, tape, logits, dlogits, Rule::backprop, (Tensor<float>*)nullptr, &grads, compute);
        // SGD with momentum (PyTorch's form): v = mu v + (g + wd w); w -= lr v. No decay on biases.
        // Optional warm-up: the first warmup_batches steps use lr * step / warmup_batches.
        const long step = long(epoch) * batches + b + 1;
        const double warm = step < c.warmup_batches ? double(step) / c.warmup_batches : 1.0;
        const float mu = float(c.momentum), wd = float(c.weight_decay), rate = float(lr * warm);
        for (std::size_t i = 0; i < grads.weight.size(); ++i) {
            std::vector<float>& w = s.model.params.weight[i].data;
            std::vector<float>& v = s.velocity.weight[i].data;
            for (std::size_t k = 0; k < w.size(); ++k) {
                v[k] = mu * v[k] + (grads.weight[i].data[k] + wd * w[k]);
                w[k] -= rate * v[k];
            }
            std::vector<float>& bias = s.model.params.bias[i].data;
            std::vector<float>& vb = s.velocity.bias[i].data;
            for (std::size_t k = 0; k < bias.size(); ++k) {
                vb[k] = mu * vb[k] + grads.bias[i].data[k];
                bias[k] -= rate * vb[k];
            }
        }
        if (progress) {
            double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            progress(Progress{epoch + 1, c.epochs, b + 1, batches, loss_sum / seen, double(correct) / seen,
                              seen / std::max(secs, 1e-9), secs});
        }
    }
    s.epochs_done = epoch + 1;
}

Evaluation evaluate(const Model& m, const Dataset& d, int threads, int batch) {
    Evaluation e;
    const int logits = m.arch.logits_layer(), classes = m.arch.layers[logits].out.c;
    e.confusion.assign(classes, std::vector<int>(classes, 0));
    Compute compute;
    compute.threads = threads;
    Tape<float> tape;
    Tensor<float> x;
    std::vector<int> labels;
    long correct = 0;
    double loss = 0;
    for (int first = 0; first < d.count(); first += batch) {
        int n = std::min(batch, d.count() - first);
        make_batch(m, d, {}, first, n, x, labels);
        net_forward(m.arch, m.params, x, tape, compute, nullptr, logits);
        const Tensor<float>& z = tape.out[logits];
        loss += double(softmax_cross_entropy(n, classes, z.ptr(), labels.data(), (float*)nullptr)) * n;
        for (int j = 0; j < n; ++j) {
            const int best = predicted_class(z, j, classes);
            correct += best == labels[j];
            if (labels[j] < classes) e.confusion[labels[j]][best]++;
        }
    }
    e.accuracy = d.count() ? double(correct) / d.count() : 0;
    e.loss = d.count() ? loss / d.count() : 0;
    return e;
}

void save_checkpoint(const std::string& path, const TrainState& s, const TrainConfig& c) {
    NpzEntries e = model_to_npz(s.model);
    NpzEntries v = params_to_npz(s.model.arch, s.velocity, "velocity.");
    e.insert(e.end(), v.begin(), v.end());
    e.emplace_back("train.epochs_done", NpyArray::from_double({double(s.epochs_done)}, {1}));
    e.emplace_back("train.seed", NpyArray::from_double({double(c.seed)}, {1}));
    write_npz(path, e);
}

TrainState load_checkpoint(const std::string& path, std::uint64_t* seed) {
    NpzEntries e = read_npz(path);
    TrainState s;
    s.model = model_from_npz(e, path);
    params_from_npz(s.model.arch, e, path, s.velocity, "velocity.");
    s.epochs_done = int(npz_get(e, "train.epochs_done", path).to_double().at(0));
    if (seed) *seed = std::uint64_t(npz_get(e, "train.seed", path).to_double().at(0));
    return s;
}

} // namespace allconv
