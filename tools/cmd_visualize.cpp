// allconv visualize / predict: the paper's three views of what a unit sees,
// and the model's top classes for some images.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "canvas.hpp"
#include "cli.hpp"
#include "io/file.hpp"
#include "io/json.hpp"
#include "io/image.hpp"
#include "net/model.hpp"
#include "io/npy.hpp"
#include "fast/packed_weights.hpp"
#include "fast/parallel.hpp"
#include "io/png.hpp"
#include "layers/softmax.hpp"
#include "net/dataset.hpp"
#include "net/visualize.hpp"

namespace allconv {

extern const char* const visualize_help =
    "usage: allconv visualize --model model.npz IMAGE... [options] --out out.png\n"
    "\n"
    "Runs each image forward, seeds the top signal at a target and sends it back to\n"
    "the input under backprop, deconvnet and/or guided backprop (they differ only at\n"
    "the ReLU). Writes one PNG grid: a row per image, columns input | rules.\n"
    "\n"
    "  IMAGE               binary PGM (P5) / PPM (P6), or .npy (H,W), (C,H,W), (1,C,H,W) in [0, 1]\n"
    "  --rule R            backprop, deconvnet, guided or all (default all)\n"
    "  --target T          class:K (logit of class K), class:predicted (default),\n"
    "                      unit:LAYER:C:Y:X (one neuron), channel:LAYER:C (its strongest\n"
    "                      activation); LAYER as `allconv describe` names it (e.g. conv6)\n"
    "  --display D         common (default: (v-mean)/(std+1e-5)*0.1+0.5, clipped) or\n"
    "                      symmetric (v/max|v|, 0 = mid-gray)\n"
    "  --scale N           upscale factor, nearest neighbour (default: to about 112 px)\n"
    "  --raw FILE.npy      also save the unprocessed signals, shape (images, rules, C, H, W)\n"
    "  --threads T         default: all cores\n"
    "  --out FILE.png      the grid\n";

extern const char* const predict_help =
    "usage: allconv predict --model model.npz IMAGE... [--top K] [--raw FILE.npy] [--json FILE]\n"
    "\n"
    "Prints the top K classes (default 3) with their probabilities for each image.\n"
    "  --raw FILE.npy      also write the logits, unrounded: (images, classes) float32\n"
    "  --json FILE         also write logits and probabilities per image, every number\n"
    "                      exactly the float computed (for comparing another backend)\n"
    "  --threads T         default: all cores\n";

namespace {

std::vector<Rule> parse_rules(const std::string& s) {
    if (s == "all") return {Rule::backprop, Rule::deconvnet, Rule::guided};
    try {
        return {parse_rule(s)};
    } catch (const std::invalid_argument& e) {
        throw UsageError(std::string("--rule: ") + e.what() + " or all");
    }
}

Tensor<float> load_input(const Model& m, const std::string& path) {
    Tensor<float> x = read_image(path);
    if (x.shape.c != m.arch.input.c || x.shape.h != m.arch.input.h || x.shape.w != m.arch.input.w)
        throw std::runtime_error(path + ": image is " + chw_string(x.shape) + " (channels x height x width) but the model takes " +
                                 chw_string(m.arch.input));
    return x;
}

std::string class_name(int k, int classes) {
    const auto& names = fashion_mnist_classes();
    return classes == int(names.size()) ? names[k] : "class " + std::to_string(k);
}

// The probabilities of a forward pass that already ran.
std::vector<float> probabilities(const Model& m, const Tape<float>& tape) {
    const Tensor<float>& z = tape.out[m.arch.logits_layer()];
    std::vector<float> p(z.size());
    softmax_forward(1, int(z.size()), z.ptr(), p.data());
    return p;
}

// What a visualize run was asked for, read and checked before any work.
struct Request {
    Model model;
    std::vector<Rule> rules;
    Display display = Display::common;
    Target target;
    int scale = 1;
    Compute compute;
    std::vector<Tensor<float>> images; // pixels in [0, 1], every one read before any output is written
};

Request read_request(const Args& args) {
    Request q;
    q.rules = parse_rules(args.str("rule", "all"));
    try {
        q.display = parse_display(args.str("display", "common"));
    } catch (const std::invalid_argument& e) {
        throw UsageError(std::string("--display: ") + e.what());
    }
    q.model = load_model(args.str("model", ""));
    try {
        q.target = parse_target(args.str("target", "class:predicted"), q.model.arch);
    } catch (const std::invalid_argument& e) {
        throw UsageError(std::string("--target: ") + e.what());
    }
    const Shape in = q.model.arch.input;
    q.scale = args.integer("scale", std::max(1, 112 / std::max(in.h, in.w)), 1, 64);
    q.compute = Compute::fast_path(args.integer("threads", hardware_threads(), 1, 1024));
    for (const std::string& path : args.positional()) q.images.push_back(load_input(q.model, path));
    return q;
}

// The grid: a header row, then per image its input and one column per rule.
// Prints each image's predicted class; `raw` receives the unprocessed signals.
Canvas draw_grid(const Request& q, const std::vector<std::string>& paths, std::vector<float>& raw) {
    const Model& m = q.model;
    const Shape in = m.arch.input;
    const int cell_w = in.w * q.scale, cell_h = in.h * q.scale, gap = 6, text = 2, header = 7 * text + 2 * gap;
    const int columns = 1 + int(q.rules.size());
    Canvas canvas(gap + columns * (cell_w + gap), header + int(q.images.size()) * (cell_h + gap));
    canvas.draw_text(gap, gap, "input", text);
    for (std::size_t r = 0; r < q.rules.size(); ++r)
        canvas.draw_text(gap + int(r + 1) * (cell_w + gap), gap, rule_name(q.rules[r]), text);
    for (std::size_t i = 0; i < q.images.size(); ++i) {
        Tensor<float> x = q.images[i];
        normalise(m, x);
        Tape<float> tape;
        net_forward(m.arch, m.params, x, tape, q.compute);
        const std::vector<float> p = probabilities(m, tape);
        const int best = int(std::max_element(p.begin(), p.end()) - p.begin());
        std::printf("%s: %s (%.1f%%)\n", paths[i].c_str(), class_name(best, int(p.size())).c_str(), 100 * p[best]);
        const int y0 = header + int(i) * (cell_h + gap);
        canvas.draw_image(gap, y0, q.images[i], q.scale);
        for (std::size_t r = 0; r < q.rules.size(); ++r) {
            const Tensor<float> signal = explain(m.arch, m.params, tape, q.target, q.rules[r], q.compute);
            raw.insert(raw.end(), signal.data.begin(), signal.data.end());
            canvas.draw_image(gap + int(r + 1) * (cell_w + gap), y0, display_map(signal, q.display), q.scale);
        }
    }
    return canvas;
}

// "file:  Class 93.1%  Other 5.0%  ..." for the top classes.
void print_top(const std::string& file, const std::vector<float>& p, int top, int classes) {
    std::vector<int> order(p.size());
    for (std::size_t k = 0; k < p.size(); ++k) order[k] = int(k);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return p[a] != p[b] ? p[a] > p[b] : a < b; });
    std::printf("%s:", file.c_str());
    for (int k = 0; k < top; ++k) std::printf("  %s %.1f%%", class_name(order[k], classes).c_str(), 100 * p[order[k]]);
    std::printf("\n");
}

// --raw FILE.npy: the logits, (images, classes) float32; --json FILE: logits and
// probabilities per image, every number exactly the float computed.
void write_predictions(const Args& args, const std::vector<float>& logits, const std::vector<float>& probs, int classes) {
    const long n = long(logits.size()) / classes;
    StagedFiles files;
    if (args.has("raw")) files.add(args.str("raw", ""), npy_encode(NpyArray::from_float(logits, {n, classes})));
    if (args.has("json")) {
        Json images = Json::array();
        for (long i = 0; i < n; ++i) {
            Json one = Json::object(), z = Json::array(), p = Json::array();
            one.set("file", args.positional()[std::size_t(i)]);
            for (int k = 0; k < classes; ++k) {
                z.push(double(logits[std::size_t(i * classes + k)]));
                p.push(double(probs[std::size_t(i * classes + k)]));
            }
            one.set("logits", z);
            one.set("probabilities", p);
            images.push(one);
        }
        Json doc = Json::object();
        doc.set("model", args.str("model", ""));
        doc.set("images", images);
        const std::string text = doc.dump();
        files.add(args.str("json", ""), std::vector<std::uint8_t>(text.begin(), text.end()));
    }
    files.commit();
}

} // namespace

int cmd_visualize(int argc, char** argv) {
    if (wants_help(argc, argv, visualize_help)) return 0;
    const Args args(argc, argv, {"model", "rule", "target", "display", "scale", "raw", "threads", "out"}, {});
    if (!args.has("model")) throw UsageError("--model is required");
    if (!args.has("out")) throw UsageError("--out is required (the PNG to write)");
    if (args.positional().empty()) throw UsageError("name at least one image");
    std::vector<std::pair<std::string, std::string>> outputs = {{"out", args.str("out", "")}};
    if (args.has("raw")) outputs.emplace_back("raw", args.str("raw", ""));
    std::vector<std::string> inputs = args.positional();
    inputs.push_back(args.str("model", ""));
    check_outputs(outputs, inputs);
    Request q = read_request(args);
    WeightPacks packs; // the model's weights stay fixed: packed once for every image and rule
    q.compute.packs = &packs;
    std::vector<float> raw;
    const Canvas canvas = draw_grid(q, args.positional(), raw);
    const std::string out = args.str("out", "");
    const Shape in = q.model.arch.input;
    StagedFiles files; // the picture and the raw signals: both or neither
    if (args.has("raw"))
        files.add(args.str("raw", ""),
                  npy_encode(NpyArray::from_float(raw, {long(q.images.size()), long(q.rules.size()), in.c, in.h, in.w})));
    files.add(out, png_encode(canvas.width, canvas.height, 3, canvas.rgb));
    files.commit();
    std::fflush(stdout); // the predictions first, then where the picture went
    std::fprintf(stderr, "wrote %s (%dx%d)\n", out.c_str(), canvas.width, canvas.height);
    return 0;
}

int cmd_predict(int argc, char** argv) {
    if (wants_help(argc, argv, predict_help)) return 0;
    const Args args(argc, argv, {"model", "top", "threads", "raw", "json"}, {});
    if (!args.has("model")) throw UsageError("--model is required");
    if (args.positional().empty()) throw UsageError("name at least one image");
    std::vector<std::pair<std::string, std::string>> outputs;
    for (const char* o : {"raw", "json"})
        if (args.has(o)) outputs.emplace_back(o, args.str(o, ""));
    std::vector<std::string> inputs = args.positional();
    inputs.push_back(args.str("model", ""));
    check_outputs(outputs, inputs);
    const Model m = load_model(args.str("model", ""));
    const int classes = m.arch.layers[m.arch.logits_layer()].out.c;
    const int top = args.integer("top", 3, 1, classes);
    WeightPacks packs; // the model's weights stay fixed: packed once for every image
    const Compute compute = Compute::fast_path(args.integer("threads", hardware_threads(), 1, 1024), &packs);
    std::vector<Tensor<float>> images; // every image read before anything is printed or written
    for (const std::string& path : args.positional()) images.push_back(load_input(m, path));
    std::vector<float> logits, probs;
    for (std::size_t i = 0; i < images.size(); ++i) {
        normalise(m, images[i]);
        Tape<float> tape;
        net_forward(m.arch, m.params, images[i], tape, compute);
        const std::vector<float> p = probabilities(m, tape);
        const Tensor<float>& z = tape.out[m.arch.logits_layer()];
        logits.insert(logits.end(), z.data.begin(), z.data.end());
        probs.insert(probs.end(), p.begin(), p.end());
        print_top(args.positional()[i], p, top, classes);
    }
    write_predictions(args, logits, probs, classes);
    return 0;
}

} // namespace allconv
