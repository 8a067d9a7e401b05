// allconv bench: how fast, measured (never asserted in a test).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>

#include "cli.hpp"
#include "io/file.hpp"
#include "io/json.hpp"
#include "layers/conv.hpp"
#include "fast/conv_fast.hpp"
#include "net/net.hpp"
#include "fast/parallel.hpp"
#include "fast/peak.hpp"
#include "rng.hpp"
#include "layers/softmax.hpp"
#include "net/zoo.hpp"

namespace allconv {

extern const char* const bench_help =
    "usage: allconv bench [--model NAME] [--batch B] [--threads T] [--reps R] [--json FILE] [--quick]\n"
    "\n"
    "Times All-CNN-C (or --model) on 3x32x32: each conv layer and the whole network,\n"
    "forward, backward to the input under each rule, and a training step (forward +\n"
    "backward with weight gradients); reference loops against the fast path; 1 thread\n"
    "and all; batch 1 and --batch (default 16). Then training images/s of the shipped\n"
    "Fashion-MNIST architecture and one visualization against one forward pass.\n"
    "Forward, backward to the input and the visualization keep the weights packed\n"
    "from call to call, as inference does (`forward, packing every call`: without);\n"
    "training steps pack them on every call.\n"
    "Warm-up run first, then the median of --reps runs (default 5). GFLOP/s counts\n"
    "2 x the multiply-adds `describe` prints (backward: the same count per pass):\n"
    "the direct convolution's. 3x3 stride-1 layers of 96 channels and more run by\n"
    "Winograd's F(2x2, 3x3), with 2.25x fewer multiplies, so their figures (and the\n"
    "network's) can pass 100% of the peak: effective rates, not the core's load.\n"
    "--quick: the peak and the whole network at --batch on one thread, nothing else\n"
    "(a few seconds; what the portability matrix reports for each compiler).\n";

namespace {

double median_seconds(int reps, const std::function<void()>& f) {
    f(); // warm-up
    std::vector<double> t;
    for (int r = 0; r < reps; ++r) {
        const auto start = std::chrono::steady_clock::now();
        f();
        t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

long peak_rss_kb() {
    std::ifstream status("/proc/self/status"); // Linux; elsewhere reported as 0
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
    return 0;
}

struct Row {
    std::string what, path;
    int threads, batch;
    double seconds, gflops;
};

// The rows measured so far, printed as they come, each also as a share of
// the peak of the cores it used.
struct Table {
    int reps;
    double peak; // one core's FMA peak, GFLOP/s
    std::vector<Row> rows;
    void add(const Row& r) {
        rows.push_back(r);
        std::printf("%-28s %-9s %7d %5d %12.3f %10.1f %8.1f%%\n", r.what.c_str(), r.path.c_str(), r.threads, r.batch,
                    1e3 * r.seconds / r.batch, r.gflops, 100 * r.gflops / (peak * r.threads));
        std::fflush(stdout);
    }
};

// The processor's name as Linux reports it, or "unknown CPU".
std::string cpu_name() {
    std::ifstream info("/proc/cpuinfo");
    for (std::string line; std::getline(info, line);)
        if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) return line.substr(line.find(':') + 2);
    return "unknown CPU";
}

// Each conv layer's forward alone (fast path, one thread), on the inputs a forward pass gives it.
void bench_layers(Table& t, const Arch& arch, const Params<float>& params, const Tensor<float>& x) {
    Tape<float> tape;
    net_forward(arch, params, x, tape, Compute::fast_path(1));
    for (std::size_t i = 0; i < arch.layers.size(); ++i) {
        const Layer& l = arch.layers[i];
        if (l.kind != LayerKind::conv) continue;
        const Tensor<float>& in = i ? tape.out[i - 1] : tape.input;
        const ConvGeom g = conv_geom(in.shape, l.out_c, l.k, l.stride, l.pad);
        Tensor<float> y(g.out_shape());
        WeightPacks packs; // as in the network's forward row
        const double s = median_seconds(t.reps, [&] {
            conv_forward_fast(g, in.ptr(), params.weight[i].ptr(), params.bias[i].ptr(), y.ptr(), 1, Im2col::cheaper,
                              &packs);
        });
        t.add({"  " + l.name + " forward", "fast", 1, x.shape.n, s, 2.0 * l.macs() * x.shape.n / s / 1e9});
    }
}

// The whole network: forward, backward to the input under each rule, a training step.
// Forward and backward to the input hold the weights fixed, as inference
// does: packed once (the warm-up run) and kept, as an ONNX Runtime session
// does. The training step packs them on every call, as training must; so
// does the second forward row, for comparison.
void bench_network(Table& t, const Arch& arch, const Params<float>& params, const Tensor<float>& x, int threads) {
    const int batch = x.shape.n, logits = arch.logits_layer();
    const double flop = 2.0 * double(arch.macs()) * batch;
    WeightPacks packs;
    const Compute fixed = Compute::fast_path(threads, &packs), c = Compute::fast_path(threads);
    Tape<float> tape;
    const double fwd = median_seconds(t.reps, [&] { net_forward(arch, params, x, tape, fixed); });
    t.add({"network forward", "fast", c.threads, batch, fwd, flop / fwd / 1e9});
    const double per_call = median_seconds(t.reps, [&] { net_forward(arch, params, x, tape, c); });
    t.add({"forward, packing every call", "fast", c.threads, batch, per_call, flop / per_call / 1e9});
    const Tensor<float> seed(tape.out[logits].shape, 1.0f);
    for (Rule r : {Rule::backprop, Rule::deconvnet, Rule::guided}) {
        const double s = median_seconds(t.reps, [&] { net_signal(arch, params, tape, logits, seed, r, fixed); });
        t.add({std::string("backward to input, ") + rule_name(r), "fast", c.threads, batch, s, flop / s / 1e9});
    }
    Params<float> grads = zero_params<float>(arch);
    std::vector<int> labels(batch, 3);
    Tensor<float> dlogits(tape.out[logits].shape);
    const double step = median_seconds(t.reps, [&] {
        net_forward(arch, params, x, tape, c);
        softmax_cross_entropy(batch, int(dlogits.shape.c), tape.out[logits].ptr(), labels.data(), dlogits.ptr());
        net_gradients(arch, params, tape, logits, dlogits, grads, c);
    });
    t.add({"training step (fwd+bwd+dW)", "fast", c.threads, batch, step, 3 * flop / step / 1e9});
}

// The reference loops, one image: what the fast path is measured against.
void bench_reference(Table& t, const Arch& arch, const Params<float>& params, const Tensor<float>& x) {
    const double flop = 2.0 * double(arch.macs());
    const int logits = arch.logits_layer(), reps = std::min(t.reps, 3);
    Tape<float> tape;
    const double s = median_seconds(reps, [&] { net_forward(arch, params, x, tape); });
    t.add({"network forward", "reference", 1, 1, s, flop / s / 1e9});
    const Tensor<float> seed(tape.out[logits].shape, 1.0f);
    const double b = median_seconds(reps, [&] { net_signal(arch, params, tape, logits, seed, Rule::guided); });
    t.add({"backward to input, guided", "reference", 1, 1, b, flop / b / 1e9});
}

struct FashionFigures {
    double images_per_second_1, images_per_second_all, visualize_over_forward;
};

// Training images/s of the shipped model's architecture (batch 64) with `threads`.
double fashion_training(int reps, int threads) {
    const Arch arch = parse_arch(zoo_spec("all-cnn-c", ZooOptions{{1, 1, 28, 28}, 1.0 / 3.0, 10}));
    const Params<float> params = init_params<float>(arch, 1);
    const Compute c = Compute::fast_path(threads);
    const int batch = 64, logits = arch.logits_layer();
    const Tensor<float> x(batch_shape(arch.input, batch), 0.3f);
    Tape<float> tape;
    Params<float> grads = zero_params<float>(arch);
    std::vector<int> labels(batch, 1);
    Tensor<float> dlogits(Shape{batch, 10, 1, 1});
    const double step = median_seconds(reps, [&] {
        net_forward(arch, params, x, tape, c);
        softmax_cross_entropy(batch, 10, tape.out[logits].ptr(), labels.data(), dlogits.ptr());
        net_gradients(arch, params, tape, logits, dlogits, grads, c);
    });
    std::printf("training, all-cnn-c width 1/3 on 1x28x28 (the shipped model), batch %d, %d thread%s: %.0f images/s\n",
                batch, threads, threads > 1 ? "s" : "", batch / step);
    return batch / step;
}

// The shipped model's architecture: training images/s, and one visualization against one forward.
FashionFigures bench_fashion(int reps, int threads) {
    std::printf("\n");
    FashionFigures f{fashion_training(reps, 1), threads > 1 ? fashion_training(reps, threads) : 0, 0};
    if (threads == 1) f.images_per_second_all = f.images_per_second_1;
    const Arch arch = parse_arch(zoo_spec("all-cnn-c", ZooOptions{{1, 1, 28, 28}, 1.0 / 3.0, 10}));
    const Params<float> params = init_params<float>(arch, 1);
    WeightPacks packs; // as `allconv visualize` does
    const Compute c = Compute::fast_path(threads, &packs);
    const int logits = arch.logits_layer();
    Tape<float> tape;
    const Tensor<float> one(batch_shape(arch.input, 1), 0.3f);
    const double f1 = median_seconds(reps * 4, [&] { net_forward(arch, params, one, tape, c); });
    Tensor<float> seed(tape.out[logits].shape, 0.f);
    seed.data[0] = 1;
    const double v1 = median_seconds(reps * 4, [&] {
        net_forward(arch, params, one, tape, c);
        net_signal(arch, params, tape, logits, seed, Rule::guided, c);
    });
    std::printf("one visualization (forward + guided backward), same model: %.3f ms = %.2f x one forward (%.3f ms)\n",
                1e3 * v1, v1 / f1, 1e3 * f1);
    f.visualize_over_forward = v1 / f1;
    return f;
}

void write_json(const std::string& path, const std::string& model, const Table& t, const FashionFigures& f) {
    Json j = Json::object();
    j.set("model", model);
    j.set("cpu", cpu_name());
    j.set("fma_peak_gflops", t.peak);
    Json& rows = j.set("rows", Json::array());
    for (const Row& r : t.rows) {
        Json row = Json::object();
        row.set("what", r.what);
        row.set("path", r.path);
        row.set("threads", r.threads);
        row.set("batch", r.batch);
        row.set("ms_per_image", 1e3 * r.seconds / r.batch);
        row.set("gflops", r.gflops);
        rows.push(row);
    }
    j.set("fashion_training_images_per_second_1_thread", f.images_per_second_1);
    j.set("fashion_training_images_per_second_all_threads", f.images_per_second_all);
    j.set("visualize_over_forward", f.visualize_over_forward);
    j.set("peak_rss_mb", peak_rss_kb() / 1024.0);
    const std::string text = j.dump();
    write_file_atomic(path, std::vector<std::uint8_t>(text.begin(), text.end()));
}

} // namespace

int cmd_bench(int argc, char** argv) {
    if (wants_help(argc, argv, bench_help)) return 0;
    const Args args(argc, argv, {"model", "batch", "threads", "reps", "json"}, {"quick"});
    const std::string name = args.str("model", "all-cnn-c");
    const int big = args.integer("batch", 16, 1, 1024), all = args.integer("threads", hardware_threads(), 1, 1024);
    const int reps = args.integer("reps", 5, 1, 1000);
    if (args.has("json")) check_outputs({{"json", args.str("json", "")}}, {});
    const Arch arch = load_arch(name, args);
    Table t{reps, fma_peak_gflops(), {}}; // after every check: measuring the peak takes most of a second
    const Params<float> params = init_params<float>(arch, 1);
    std::printf("%s, one core's FMA peak %.1f GFLOP/s (float, measured now)\n", cpu_name().c_str(), t.peak);
    std::printf("%s on %s: %s multiply-adds per image (a direct convolution's: GFLOP/s and shares of\n"
                "the peak count those, also where Winograd's F(2x2, 3x3) does fewer)\n\n",
                name.c_str(), chw_string(arch.input).c_str(), with_commas(arch.macs()).c_str());
    std::printf("%-28s %-9s %7s %5s %12s %10s %9s\n", "measurement", "path", "threads", "batch", "ms/image", "GFLOP/s",
                "of peak");
    const bool quick = args.has("quick");
    const std::vector<int> thread_counts = all > 1 && !quick ? std::vector<int>{1, all} : std::vector<int>{1};
    for (int batch : quick ? std::vector<int>{big} : std::vector<int>{1, big}) {
        Tensor<float> x(batch_shape(arch.input, batch));
        Rng rng(2);
        for (float& v : x.data) v = float(rng.uniform());
        if (batch == big && !quick) bench_layers(t, arch, params, x);
        for (int threads : thread_counts) bench_network(t, arch, params, x, threads);
        if (batch == 1) bench_reference(t, arch, params, x);
    }
    const FashionFigures f = quick ? FashionFigures{0, 0, 0} : bench_fashion(t.reps, all);
    std::printf("peak resident memory: %.1f MB\n", peak_rss_kb() / 1024.0);
    if (args.has("json")) write_json(args.str("json", ""), name, t, f);
    return 0;
}

} // namespace allconv
