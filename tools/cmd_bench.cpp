// allconv bench: how fast, measured (never asserted in a test).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>

#include "cli.hpp"
#include "conv.hpp"
#include "conv_fast.hpp"
#include "net.hpp"
#include "parallel.hpp"
#include "rng.hpp"
#include "softmax.hpp"
#include "zoo.hpp"

namespace allconv {

extern const char* const bench_help =
    "usage: allconv bench [--model NAME] [--batch B] [--threads T] [--reps R] [--json FILE]\n"
    "\n"
    "Times All-CNN-C (or --model) on 3x32x32: each conv layer and the whole network,\n"
    "forward, backward to the input under each rule, and a training step (forward +\n"
    "backward with weight gradients); reference loops against the fast path; 1 thread\n"
    "and all; batch 1 and --batch (default 16). Then training images/s of the shipped\n"
    "Fashion-MNIST architecture and one visualization against one forward pass.\n"
    "Warm-up run first, then the median of --reps runs (default 5). GFLOP/s counts\n"
    "2 x the multiply-adds `describe` prints (backward: the same count per pass).\n";

namespace {

double median_seconds(int reps, const std::function<void()>& f) {
    f(); // warm-up
    std::vector<double> t;
    for (int r = 0; r < reps; ++r) {
        auto start = std::chrono::steady_clock::now();
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

} // namespace

int cmd_bench(int argc, char** argv) {
    if (wants_help(argc, argv, bench_help)) return 0;
    Args args(argc, argv, {"model", "batch", "threads", "reps", "json"}, {});
    const std::string name = args.str("model", "all-cnn-c");
    const int big = args.integer("batch", 16, 1, 1024), reps = args.integer("reps", 5, 1, 1000);
    const int all = args.integer("threads", hardware_threads(), 1, 1024);
    Arch arch = load_arch(name, args);
    Params<float> params = init_params<float>(arch, 1);
    std::vector<Row> rows;
    auto print = [&](const Row& r) {
        rows.push_back(r);
        std::printf("%-28s %-9s %7d %5d %12.3f %10.1f\n", r.what.c_str(), r.path.c_str(), r.threads, r.batch,
                    1e3 * r.seconds / r.batch, r.gflops);
        std::fflush(stdout);
    };
    std::printf("%s on %s: %s multiply-adds per image\n\n", name.c_str(), chw_string(arch.input).c_str(),
                with_commas(arch.macs()).c_str());
    std::printf("%-28s %-9s %7s %5s %12s %10s\n", "measurement", "path", "threads", "batch", "ms/image", "GFLOP/s");
    const double flop = 2.0 * double(arch.macs());
    const int logits = arch.logits_layer();

    for (int batch : {1, big}) {
        Tensor<float> x(batch_shape(arch.input, batch));
        Rng rng(2);
        for (float& v : x.data) v = float(rng.uniform());
        for (int threads : {1, all}) {
            if (threads == all && all == 1 && batch == big) continue;
            Compute c;
            c.threads = threads;
            Tape<float> tape;
            // Per conv layer, forward.
            net_forward(arch, params, x, tape, c);
            if (batch == big && threads == 1)
                for (std::size_t i = 0; i < arch.layers.size(); ++i) {
                    const Layer& l = arch.layers[i];
                    if (l.kind != LayerKind::conv) continue;
                    const Tensor<float>& in = i ? tape.out[i - 1] : tape.input;
                    ConvGeom g = conv_geom(in.shape, l.out_c, l.k, l.stride, l.pad);
                    Tensor<float> y(g.out_shape());
                    double s = median_seconds(reps, [&] {
                        conv_forward_fast(g, in.ptr(), params.weight[i].ptr(), params.bias[i].ptr(), y.ptr(), threads);
                    });
                    print({"  " + l.name + " forward", "fast", threads, batch, s, 2.0 * l.macs() * batch / s / 1e9});
                }
            double fwd = median_seconds(reps, [&] { net_forward(arch, params, x, tape, c); });
            print({"network forward", "fast", threads, batch, fwd, flop * batch / fwd / 1e9});
            Tensor<float> seed(tape.out[logits].shape, 1.0f), dx;
            for (Rule r : {Rule::backprop, Rule::deconvnet, Rule::guided}) {
                double s = median_seconds(reps, [&] { net_backward(arch, params, tape, logits, seed, r, &dx, (Params<float>*)nullptr, c); });
                print({std::string("backward to input, ") + rule_name(r), "fast", threads, batch, s, flop * batch / s / 1e9});
            }
            Params<float> grads = zero_params<float>(arch);
            std::vector<int> labels(batch, 3);
            Tensor<float> dlogits(tape.out[logits].shape);
            double step = median_seconds(reps, [&] {
                net_forward(arch, params, x, tape, c);
                softmax_cross_entropy(batch, int(dlogits.shape.c), tape.out[logits].ptr(), labels.data(), dlogits.ptr());
                net_backward(arch, params, tape, logits, dlogits, Rule::backprop, (Tensor<float>*)nullptr, &grads, c);
            });
            print({"training step (fwd+bwd+dW)", "fast", threads, batch, step, 3 * flop * batch / step / 1e9});
            if (batch == 1 && threads == 1) {
                Compute ref;
                ref.reference = true;
                double s = median_seconds(std::min(reps, 3), [&] { net_forward(arch, params, x, tape, ref); });
                print({"network forward", "reference", 1, 1, s, flop / s / 1e9});
                double b = median_seconds(std::min(reps, 3), [&] { net_backward(arch, params, tape, logits, seed, Rule::guided, &dx, (Params<float>*)nullptr, ref); });
                print({"backward to input, guided", "reference", 1, 1, b, flop / b / 1e9});
            }
        }
    }

    // The shipped model's architecture, training throughput; and one visualization.
    Arch fashion = parse_arch(zoo_spec("all-cnn-c", ZooOptions{{1, 1, 28, 28}, 1.0 / 3.0, 10}));
    Params<float> fp = init_params<float>(fashion, 1);
    Compute c;
    c.threads = all;
    const int fb = 64;
    Tensor<float> fx(batch_shape(fashion.input, fb), 0.3f);
    Tape<float> ft;
    Params<float> fg = zero_params<float>(fashion);
    std::vector<int> flabels(fb, 1);
    const int flog = fashion.logits_layer();
    Tensor<float> fd(Shape{fb, 10, 1, 1});
    double fstep = median_seconds(reps, [&] {
        net_forward(fashion, fp, fx, ft, c);
        softmax_cross_entropy(fb, 10, ft.out[flog].ptr(), flabels.data(), fd.ptr());
        net_backward(fashion, fp, ft, flog, fd, Rule::backprop, (Tensor<float>*)nullptr, &fg, c);
    });
    std::printf("\ntraining, all-cnn-c width 1/3 on 1x28x28 (the shipped model), batch %d, %d threads: %.0f images/s\n",
                fb, all, fb / fstep);
    Tensor<float> one(batch_shape(fashion.input, 1), 0.3f), seed, dx;
    double f1 = median_seconds(reps * 4, [&] { net_forward(fashion, fp, one, ft, c); });
    seed = Tensor<float>(ft.out[flog].shape, 0.f);
    seed.data[0] = 1;
    double v1 = median_seconds(reps * 4, [&] {
        net_forward(fashion, fp, one, ft, c);
        net_backward(fashion, fp, ft, flog, seed, Rule::guided, &dx, (Params<float>*)nullptr, c);
    });
    std::printf("one visualization (forward + guided backward), same model: %.3f ms = %.2f x one forward (%.3f ms)\n",
                1e3 * v1, v1 / f1, 1e3 * f1);
    std::printf("peak resident memory: %.1f MB\n", peak_rss_kb() / 1024.0);

    if (args.has("json")) {
        std::ostringstream j;
        j << "{\n  \"model\": \"" << name << "\",\n  \"rows\": [\n";
        for (std::size_t i = 0; i < rows.size(); ++i)
            j << "    {\"what\": \"" << rows[i].what << "\", \"path\": \"" << rows[i].path << "\", \"threads\": "
              << rows[i].threads << ", \"batch\": " << rows[i].batch << ", \"ms_per_image\": "
              << 1e3 * rows[i].seconds / rows[i].batch << ", \"gflops\": " << rows[i].gflops << "}"
              << (i + 1 < rows.size() ? ",\n" : "\n");
        j << "  ],\n  \"fashion_training_images_per_second\": " << fb / fstep << ",\n  \"visualize_over_forward\": "
          << v1 / f1 << ",\n  \"peak_rss_mb\": " << peak_rss_kb() / 1024.0 << "\n}\n";
        std::string text = j.str();
        std::ofstream(args.str("json", "")) << text;
    }
    return 0;
}

} // namespace allconv
