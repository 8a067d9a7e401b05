// allconv export / init: a model as ONNX, for other runtimes; a fresh model file, for other backends.
#include <cstdio>
#include <stdexcept>

#include "cli.hpp"
#include "io/file.hpp"
#include "net/onnx_export.hpp"
#include "net/zoo.hpp"

namespace allconv {

extern const char* const export_help =
    "usage: allconv export --model model.npz|NAME|SPECFILE --onnx out.onnx [--seed S]\n"
    "                      [--width W] [--input CxHxW] [--classes K]\n"
    "\n"
    "Writes an ONNX model (opset 13: Conv, Relu, MaxPool, GlobalAveragePool, Flatten,\n"
    "Softmax; Sub/Div for a trained model's input normalisation). A .npz model is\n"
    "exported with its weights; a zoo name or spec file with He-initialised weights\n"
    "from --seed (default 1). Input \"input\" (N,C,H,W); outputs \"logits\" and\n"
    "\"probabilities\" (N,K).\n";

int cmd_export(int argc, char** argv) {
    if (wants_help(argc, argv, export_help)) return 0;
    std::vector<std::string> valued = {"model", "onnx", "seed"};
    valued.insert(valued.end(), arch_options().begin(), arch_options().end());
    Args args(argc, argv, valued, {});
    if (!args.has("model") || !args.has("onnx")) throw UsageError("--model and --onnx are required");
    const std::string name = args.str("model", "");
    check_outputs({{"onnx", args.str("onnx", "")}}, {name});
    Model m;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npz") == 0) {
        m = load_model(name);
    } else {
        m.arch = load_arch(name, args);
        m.params = init_params<float>(m.arch, std::uint64_t(args.integer("seed", 1, 0, 2147483647)));
    }
    std::string graph = name.substr(name.find_last_of('/') + 1);
    try {
        write_onnx(args.str("onnx", ""), m, graph);
    } catch (const std::invalid_argument& e) { // what ONNX export does not cover, for this model
        throw std::runtime_error(name + ": " + e.what());
    }
    std::printf("wrote %s (%s parameters)\n", args.str("onnx", "").c_str(), with_commas(m.arch.params()).c_str());
    return 0;
}

extern const char* const init_help =
    "usage: allconv init --model NAME|SPECFILE --out model.npz [--seed S] [--bias B]\n"
    "                    [--width W] [--input CxHxW] [--classes K]\n"
    "\n"
    "Writes an untrained model file: He-initialised weights from --seed (default 1),\n"
    "biases drawn uniformly from [-B, B] (default 0, as He initialisation has it) and\n"
    "no input normalisation (mean 0, std 1). For checking another backend on any zoo\n"
    "network (tools/backends/onnxruntime/check.js). The network must end in gap.\n";

int cmd_init(int argc, char** argv) {
    if (wants_help(argc, argv, init_help)) return 0;
    std::vector<std::string> valued = {"model", "out", "seed", "bias"};
    valued.insert(valued.end(), arch_options().begin(), arch_options().end());
    const Args args(argc, argv, valued, {});
    if (!args.has("model") || !args.has("out")) throw UsageError("--model and --out are required");
    check_outputs({{"out", args.str("out", "")}}, {args.str("model", "")});
    const std::uint64_t seed = std::uint64_t(args.integer("seed", 1, 0, 2147483647));
    const double bias = args.real("bias", 0.0, 0.0, 10.0);
    Model m;
    m.arch = load_arch(args.str("model", ""), args);
    m.params = init_params<float>(m.arch, seed);
    Rng rng(seed ^ 0xB1A5ull);
    for (Tensor<float>& b : m.params.bias)
        for (float& v : b.data) v = float(bias * (2.0 * rng.uniform() - 1.0));
    m.mean.assign(std::size_t(m.arch.input.c), 0.0f);
    m.std.assign(std::size_t(m.arch.input.c), 1.0f);
    const NpzEntries entries = model_to_npz(m);
    model_from_npz(entries, args.str("model", "")); // the checks every reader of the file will make
    write_npz(args.str("out", ""), entries);
    std::printf("wrote %s (%s parameters)\n", args.str("out", "").c_str(), with_commas(m.arch.params()).c_str());
    return 0;
}

} // namespace allconv
