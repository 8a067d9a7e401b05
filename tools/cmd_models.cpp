// allconv models / describe: the zoo, and each layer's shape and cost.
#include <cstdio>
#include <iostream>

#include "cli.hpp"
#include "net/zoo.hpp"

namespace allconv {

extern const char* const models_help =
    "usage: allconv models [--width W] [--input CxHxW] [--classes K]\n"
    "\n"
    "Lists the paper's models (Tables 1, 2 and 6) with their parameter count,\n"
    "multiply-adds of one forward pass and the shape of the map the global\n"
    "average pool reads. Defaults: full width, 3x32x32 (CIFAR) or 3x227x227\n"
    "(ImageNet), 10 or 1000 classes.\n";

extern const char* const describe_help =
    "usage: allconv describe NAME|SPECFILE [--width W] [--input CxHxW] [--classes K]\n"
    "\n"
    "Prints each layer of a zoo model or of your own spec file: its name (the\n"
    "names other commands take, e.g. conv6), output shape, parameters and\n"
    "multiply-adds, then the canonical spec text. Spec grammar: src/net/arch.hpp.\n"
    "--width, --input and --classes apply to zoo models only.\n"
    "\n"
    "Limits: at most 2^31-1 values in any layer's output, 2^28 parameters, and 2 GiB\n"
    "for the parameters and every layer's output of one image (in float); a spec of\n"
    "at most 1 MiB.\n";

int cmd_models(int argc, char** argv) {
    if (wants_help(argc, argv, models_help)) return 0;
    Args args(argc, argv, arch_options(), {});
    if (!args.positional().empty()) throw UsageError("models takes no arguments (see --help)");
    std::printf("%-18s %-10s %12s %16s %10s\n", "model", "input", "parameters", "multiply-adds", "gap input");
    for (const std::string& name : zoo_names()) {
        Arch a;
        try {
            a = load_arch(name, args);
        } catch (const std::invalid_argument& e) { // e.g. --input too small for ImageNet's strides
            std::printf("%-18s does not fit this input: %s\n", name.c_str(), e.what());
            continue;
        }
        Shape last = a.layers[a.logits_layer()].in;
        std::printf("%-18s %-10s %12s %16s %10s\n", name.c_str(), chw_string(a.input).c_str(),
                    with_commas(a.params()).c_str(), with_commas(a.macs()).c_str(), chw_string(last).c_str());
    }
    return 0;
}

int cmd_describe(int argc, char** argv) {
    if (wants_help(argc, argv, describe_help)) return 0;
    Args args(argc, argv, arch_options(), {});
    if (args.positional().size() != 1) throw UsageError("describe takes one model name or spec file (see --help)");
    Arch a = load_arch(args.positional()[0], args);
    std::printf("%-10s %-8s %-26s %-12s %12s %16s\n", "layer", "kind", "settings", "output", "parameters",
                "multiply-adds");
    std::printf("%-10s %-8s %-26s %-12s %12s %16s\n", "input", "", "", chw_string(a.input).c_str(), "", "");
    for (const Layer& l : a.layers) {
        char settings[64] = "";
        if (l.kind == LayerKind::conv)
            std::snprintf(settings, sizeof settings, "%d out, k%d s%d p%d", l.out_c, l.k, l.stride, l.pad);
        if (l.kind == LayerKind::maxpool) std::snprintf(settings, sizeof settings, "k%d s%d p%d", l.k, l.stride, l.pad);
        if (l.kind == LayerKind::dropout) std::snprintf(settings, sizeof settings, "p=%g", l.p);
        std::printf("%-10s %-8s %-26s %-12s %12s %16s\n", l.name.c_str(), kind_name(l.kind), settings,
                    chw_string(l.out).c_str(), l.params() ? with_commas(l.params()).c_str() : "",
                    l.macs() ? with_commas(l.macs()).c_str() : "");
    }
    std::printf("%-10s %-8s %-26s %-12s %12s %16s\n", "total", "", "", "", with_commas(a.params()).c_str(),
                with_commas(a.macs()).c_str());
    std::printf("\nspec:\n%s", arch_spec(a).c_str());
    return 0;
}

} // namespace allconv
