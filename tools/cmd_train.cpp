// allconv train / eval: SGD on Fashion-MNIST, and accuracy with a confusion matrix.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli.hpp"
#include "io/file.hpp"
#include "fast/parallel.hpp"
#include "progress.hpp"
#include "net/dataset.hpp"
#include "net/train.hpp"
#include "net/zoo.hpp"

namespace allconv {

extern const char* const train_help =
    "usage: allconv train --model NAME|SPECFILE --out model.npz [options]\n"
    "\n"
    "Trains on Fashion-MNIST (read from its IDX files, gzipped or not) with minibatch\n"
    "SGD, momentum and weight decay, dropout where the paper puts it (input, and after\n"
    "each pool or the stride-2 conv that replaced it) and a step learning-rate schedule.\n"
    "Per-channel input normalisation is computed from the training set and stored in\n"
    "the model. After every epoch: test accuracy, and an atomic checkpoint.\n"
    "\n"
    "  --model M            zoo name (allconv models) or spec file\n"
    "  --width W            channel multiplier for zoo models (default 1)\n"
    "  --input CxHxW        default: the dataset's 1x28x28\n"
    "  --data DIR           default /usr/share/datasets/fashion-mnist\n"
    "  --epochs N           default 10\n"
    "  --batch B            default 64\n"
    "  --lr L               default 0.05\n"
    "  --momentum M         default 0.9\n"
    "  --weight-decay D     default 0.001 (weights only)\n"
    "  --dropout-input P    default 0.2\n"
    "  --dropout-pool P     default 0.5\n"
    "  --lr-steps E1,E2     multiply the rate by 0.1 from these epochs on (1-based)\n"
    "  --warmup N           grow the rate linearly over the first N batches (default 0:\n"
    "                       off, as in the paper; helps nets whose last ReLU dies early)\n"
    "  --seed S             default 1 (weights, shuffling, dropout)\n"
    "  --threads T          default: all cores (results do not depend on it)\n"
    "  --limit N            train on the first N images only\n"
    "  --test-limit N       evaluate on the first N test images only\n"
    "  --checkpoint PATH    default OUT.ckpt.npz\n"
    "  --resume PATH        continue a run from its checkpoint, exactly\n"
    "  --out PATH           the trained model (.npz)\n";

extern const char* const eval_help =
    "usage: allconv eval --model model.npz [--data DIR] [--limit N] [--threads T]\n"
    "\n"
    "Accuracy, per-class accuracy and the confusion matrix on the Fashion-MNIST test set.\n";

namespace {

std::vector<int> parse_steps(const std::string& s) {
    std::vector<int> out;
    std::stringstream in(s);
    for (std::string item; std::getline(in, item, ',');) {
        char* end = nullptr;
        long v = std::strtol(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0' || v < 1 || v > 100000)
            throw UsageError("--lr-steps: expected epochs like 20,30, got '" + s + "'");
        out.push_back(int(v));
    }
    return out;
}

void print_evaluation(const Evaluation& e, int count) {
    const auto& names = fashion_mnist_classes();
    std::printf("accuracy %.2f%% on %d test images (loss %.4f)\n\n", 100 * e.accuracy, count, e.loss);
    std::printf("%-12s %8s   confusion (rows: true class, columns: predicted)\n", "class", "accuracy");
    for (std::size_t t = 0; t < e.confusion.size(); ++t) {
        int total = 0;
        for (int v : e.confusion[t]) total += v;
        std::printf("%-12s %7.1f%%  ", t < names.size() ? names[t].c_str() : std::to_string(t).c_str(),
                    total ? 100.0 * e.confusion[t][t] / total : 0.0);
        for (int v : e.confusion[t]) std::printf(" %4d", v);
        std::printf("\n");
    }
}

TrainConfig read_config(const Args& args) {
    TrainConfig c;
    c.epochs = args.integer("epochs", 10, 1, 100000);
    c.batch = args.integer("batch", 64, 1, 65536);
    c.lr = args.real("lr", 0.05, 0.0, 100.0);
    c.momentum = args.real("momentum", 0.9, 0.0, 0.999999);
    c.weight_decay = args.real("weight-decay", 1e-3, 0.0, 1.0);
    c.lr_steps = args.has("lr-steps") ? parse_steps(args.str("lr-steps", "")) : std::vector<int>{};
    c.seed = std::uint64_t(args.integer("seed", 1, 0, 2147483647));
    c.warmup_batches = args.integer("warmup", 0, 0, 100000000);
    c.threads = args.integer("threads", hardware_threads(), 1, 1024);
    return c;
}

// Each setting a resumed run keeps, and the option that sets it.
const std::pair<const char*, const char*> kSettingOptions[] = {
    {"seed", "seed"},         {"batch", "batch"},   {"lr", "lr"},             {"momentum", "momentum"},
    {"weight_decay", "weight-decay"}, {"warmup", "warmup"}, {"lr_steps", "lr-steps"}, {"limit", "limit"}};

// A resumed run takes the checkpoint's settings; an option given on the
// command line must agree with them.
void resume_settings(const Checkpoint& ck, const Args& args, const std::string& file, TrainConfig& c, int& limit) {
    TrainConfig stored = c;
    int stored_limit = limit;
    apply_settings(ck.settings, file, stored, stored_limit);
    const Settings given = run_settings(c, limit), kept = run_settings(stored, stored_limit);
    for (const auto& [setting, option] : kSettingOptions)
        for (std::size_t i = 0; i < given.size(); ++i)
            if (given[i].first == setting && args.has(option) && given[i].second != kept[i].second)
                throw UsageError("--" + std::string(option) + " differs from the run in " + file +
                                 " (a resumed run keeps its settings; start a new run to change them)");
    c = stored;
    limit = stored_limit;
}

// A new run: the network, the paper's dropout, He weights, the data's statistics.
TrainState start(const Args& args, const TrainConfig& c, const Dataset& train) {
    const std::string name = args.str("model", "");
    Arch base = load_arch(name, args);
    if (!args.has("input") && base.input != train.image && is_zoo_name(name)) { // a zoo model takes the data's size
        ZooOptions o;
        o.input = train.image;
        o.width = args.real("width", 1.0, 1e-3, 64.0);
        o.classes = args.integer("classes", 0, 1, 100000);
        base = parse_arch(zoo_spec(name, o), name);
    }
    check_fits(base.input, train, name);
    TrainState s;
    s.model.arch = with_paper_dropout(base, args.real("dropout-input", 0.2, 0.0, 0.95), args.real("dropout-pool", 0.5, 0.0, 0.95));
    s.model.params = init_params<float>(s.model.arch, c.seed);
    s.velocity = zero_params<float>(s.model.arch);
    channel_statistics(train, s.model.mean, s.model.std);
    return s;
}

// Every output is checked before the first epoch: a bad --out fails now, not after hours.
void check_outputs(const Args& args, const std::string& out, const std::string& checkpoint) {
    check_output_path(out, "--out");
    check_output_path(checkpoint, "--checkpoint");
    if (out == checkpoint) throw UsageError("--out and --checkpoint name the same file");
    if (args.has("resume")) {
        check_not_same_file(out, args.str("resume", ""), "--out");
        if (checkpoint != args.str("resume", "")) check_not_same_file(checkpoint, args.str("resume", ""), "--checkpoint");
    }
}

// The progress bar of one epoch (on a terminal only).
void show_progress(const Progress& p) {
    if (p.batch % 5 != 0 && p.batch != p.batches) return;
    const double eta = p.seconds / p.batch * (p.batches - p.batch);
    char line[256];
    std::snprintf(line, sizeof line, "epoch %d/%d %s %d/%d loss %.4f acc %.2f%% %.0f img/s ETA %s", p.epoch, p.epochs,
                  bar(double(p.batch) / p.batches).c_str(), p.batch, p.batches, p.loss, 100 * p.accuracy,
                  p.images_per_second, duration(eta).c_str());
    progress_line(line);
}

// Epochs until c.epochs: after each, test accuracy and a checkpoint.
void run_epochs(TrainState& s, const TrainConfig& c, const Settings& settings, const Dataset& train,
                const Dataset& test, const std::string& checkpoint) {
    const bool tty = stderr_is_terminal();
    while (s.epochs_done < c.epochs) {
        Progress last{};
        train_epoch(s, train, c, [&](const Progress& p) {
            last = p;
            if (tty) show_progress(p);
        });
        progress_done();
        const Evaluation e = evaluate(s.model, test, c.threads);
        std::fprintf(stderr, "epoch %d/%d  lr %.4g  train loss %.4f  train acc %.2f%%  test acc %.2f%%  %.0f img/s  %s\n",
                     s.epochs_done, c.epochs, learning_rate(c, s.epochs_done - 1), last.loss, 100 * last.accuracy,
                     100 * e.accuracy, last.images_per_second, duration(last.seconds).c_str());
        save_checkpoint(checkpoint, s, settings);
    }
}

} // namespace

int cmd_train(int argc, char** argv) {
    if (wants_help(argc, argv, train_help)) return 0;
    std::vector<std::string> valued = {"model", "out", "data", "epochs", "batch", "lr", "momentum", "weight-decay",
                                       "dropout-input", "dropout-pool", "lr-steps", "seed", "threads", "limit",
                                       "test-limit", "checkpoint", "resume", "warmup"};
    valued.insert(valued.end(), arch_options().begin(), arch_options().end());
    const Args args(argc, argv, valued, {});
    if (!args.positional().empty()) throw UsageError("unexpected argument '" + args.positional()[0] + "'");
    if (!args.has("out")) throw UsageError("--out is required (where to write the model)");
    const bool resume = args.has("resume");
    if (!args.has("model") && !resume) throw UsageError("--model is required (a zoo name or spec file)");
    for (const char* o : {"model", "width", "input", "classes", "dropout-input", "dropout-pool"})
        if (resume && args.has(o)) throw UsageError(std::string("--") + o + " does not go with --resume (the checkpoint holds the network)");
    const std::string out = args.str("out", ""), checkpoint = args.str("checkpoint", out + ".ckpt.npz");
    check_outputs(args, out, checkpoint);
    TrainConfig c = read_config(args);
    int limit = args.integer("limit", 0, 0, 100000000);
    Checkpoint ck;
    if (resume) {
        ck = load_checkpoint(args.str("resume", ""));
        resume_settings(ck, args, args.str("resume", ""), c, limit);
    }
    const std::string dir = args.str("data", default_data_dir());
    const Dataset train = load_fashion_mnist(dir, "train", limit);
    const Dataset test = load_fashion_mnist(dir, "t10k", args.integer("test-limit", 0, 0, 100000000));
    TrainState s = resume ? ck.state : start(args, c, train);
    if (resume) {
        check_fits(s.model.arch.input, train, args.str("resume", ""));
        std::fprintf(stderr, "resuming %s after epoch %d\n", args.str("resume", "").c_str(), s.epochs_done);
    }
    std::fprintf(stderr, "training %s parameters on %d images (%d test), batch %d, %d threads\n",
                 with_commas(s.model.arch.params()).c_str(), train.count(), test.count(), c.batch, c.threads);
    const auto begin = std::chrono::steady_clock::now();
    run_epochs(s, c, run_settings(c, limit), train, test, checkpoint);
    save_model(out, s.model);
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    std::fprintf(stderr, "wrote %s (%s total)\n", out.c_str(), duration(total).c_str());
    return 0;
}

int cmd_eval(int argc, char** argv) {
    if (wants_help(argc, argv, eval_help)) return 0;
    const Args args(argc, argv, {"model", "data", "limit", "threads"}, {});
    if (!args.has("model")) throw UsageError("--model is required");
    const Model m = load_model(args.str("model", ""));
    const Dataset test = load_fashion_mnist(args.str("data", default_data_dir()), "t10k", args.integer("limit", 0, 0, 100000000));
    check_fits(m.arch.input, test, args.str("model", ""));
    print_evaluation(evaluate(m, test, args.integer("threads", hardware_threads(), 1, 1024)), test.count());
    return 0;
}

} // namespace allconv
