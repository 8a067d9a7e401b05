// allconv: the command line. Each sub-command lives in a cmd_*.cpp file (a
// few related ones share a file: train and eval, visualize and predict,
// models and describe); this file only dispatches and turns exceptions into
// one-line errors and exit codes.
#include <cstring>
#include <exception>
#include <iostream>
#include <new>

#include "cli.hpp"

namespace allconv {

extern const char* const models_help;
extern const char* const describe_help;
int cmd_models(int argc, char** argv);
int cmd_describe(int argc, char** argv);
extern const char* const train_help;
extern const char* const eval_help;
int cmd_train(int argc, char** argv);
int cmd_eval(int argc, char** argv);
extern const char* const visualize_help;
extern const char* const predict_help;
int cmd_visualize(int argc, char** argv);
int cmd_predict(int argc, char** argv);
extern const char* const extract_help;
int cmd_extract(int argc, char** argv);
extern const char* const bench_help;
int cmd_bench(int argc, char** argv);
extern const char* const top_patches_help;
int cmd_top_patches(int argc, char** argv);
extern const char* const golden_help;
int cmd_golden(int argc, char** argv);
extern const char* const export_help;
int cmd_export(int argc, char** argv);
extern const char* const init_help;
int cmd_init(int argc, char** argv);
extern const char* const onnx_tests_help;
int cmd_onnx_tests(int argc, char** argv);

const std::vector<Command>& commands() {
    static const std::vector<Command> list = {
        {"models", "list the paper's models with parameters and multiply-adds", models_help, cmd_models},
        {"describe", "print a model's layers, shapes, parameters and costs", describe_help, cmd_describe},
        {"train", "train a model on Fashion-MNIST with SGD as in the paper", train_help, cmd_train},
        {"eval", "accuracy and confusion matrix on the Fashion-MNIST test set", eval_help, cmd_eval},
        {"predict", "top classes with probabilities for some images", predict_help, cmd_predict},
        {"visualize", "backprop / deconvnet / guided backprop images as a PNG grid", visualize_help, cmd_visualize},
        {"top-patches", "the paper's figures: top images per unit, deconvnet vs guided", top_patches_help, cmd_top_patches},
        {"export", "write a model as ONNX (opset 13)", export_help, cmd_export},
        {"init", "write an untrained model file (He weights), for testing backends", init_help, cmd_init},
        {"golden", "write or check the golden suite for other backends", golden_help, cmd_golden},
        {"onnx-tests", "ONNX's own conformance tests through our layers", onnx_tests_help, cmd_onnx_tests},
        {"bench", "time the forward, backward and training passes (make bench)", bench_help, cmd_bench},
        {"extract", "write dataset images as PGM files", extract_help, cmd_extract},
    };
    return list;
}

} // namespace allconv

namespace {

void print_usage(std::ostream& out) {
    out << "usage: allconv <command> [options]     (allconv <command> --help for details)\n\n"
           "allconv: the All Convolutional Net (Springenberg et al. 2015) and the three ways it\n"
           "uses to see what a CNN learned: backprop, deconvnet, guided backprop.\n\ncommands:\n";
    for (const allconv::Command& c : allconv::commands()) {
        out << "  " << c.name;
        for (std::size_t i = std::strlen(c.name); i < 13; ++i) out << ' ';
        out << c.summary << "\n";
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        print_usage(std::cerr);
        return 2;
    }
    std::string name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") {
        print_usage(std::cout);
        return 0;
    }
    for (const allconv::Command& c : allconv::commands()) {
        if (name != c.name) continue;
        try {
            return c.run(argc - 2, argv + 2);
        } catch (const std::bad_alloc&) {
            std::cerr << "allconv: out of memory\n";
            return 1;
        } catch (const allconv::UsageError& e) {
            std::cerr << "allconv: " << e.what() << "\n";
            return 2;
        } catch (const std::exception& e) {
            std::cerr << "allconv: " << e.what() << "\n";
            return 1;
        }
    }
    std::cerr << "allconv: unknown command '" << name << "' (see allconv --help)\n";
    return 2;
}
