// zoo: writes the spec of each model of the paper.
//
// Table 1 base models (ReLU after every conv, "same" padding before the head):
//   A: 5x5 conv 96                 | pool | 5x5 conv 192                  | pool | head
//   B: 5x5 conv 96, 1x1 conv 96    | pool | 5x5 conv 192, 1x1 conv 192    | pool | head
//   C: 3x3 conv 96, 3x3 conv 96    | pool | 3x3 conv 192, 3x3 conv 192    | pool | head
// pool = 3x3 max-pool, stride 2, padding 1; head = 3x3 conv 192 (valid),
// 1x1 conv 192, 1x1 conv 10, global average, softmax.
// Table 2 derives from each base model:
//   Strided-CNN:  drop each pool; the conv before it gets stride 2.
//   ConvPool-CNN: before each pool, an extra 3x3 conv (stride 1) with as many channels.
//   All-CNN:      each pool becomes a 3x3 conv with stride 2 and as many channels.
#include "zoo.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace allconv {

namespace {

struct Conv {
    int channels, k;
};

int scaled(int channels, double width) {
    long v = std::lround(channels * width);
    return v < 1 ? 1 : int(v);
}

// The two blocks of Table 1 for model letter a/b/c.
std::vector<std::vector<Conv>> base_blocks(char letter) {
    switch (letter) {
    case 'a': return {{{96, 5}}, {{192, 5}}};
    case 'b': return {{{96, 5}, {96, 1}}, {{192, 5}, {192, 1}}};
    default: return {{{96, 3}, {96, 3}}, {{192, 3}, {192, 3}}};
    }
}

std::string cifar_spec(const std::string& variant, char letter, Shape in, double width, int classes) {
    std::ostringstream s;
    s << "input " << chw_string(in) << "\n";
    auto conv = [&](int channels, int k, int stride, int pad) {
        s << "conv " << scaled(channels, width) << " k" << k;
        if (stride != 1) s << " s" << stride;
        if (pad != 0) s << " p" << pad;
        s << "\nrelu\n";
    };
    for (const std::vector<Conv>& block : base_blocks(letter)) {
        for (std::size_t i = 0; i < block.size(); ++i) {
            bool last = i + 1 == block.size();
            int stride = (variant == "strided-cnn" && last) ? 2 : 1;
            conv(block[i].channels, block[i].k, stride, block[i].k / 2);
        }
        int c = block.back().channels;
        if (variant == "model") s << "maxpool k3 s2 p1\n";
        if (variant == "convpool-cnn") {
            conv(c, 3, 1, 1);
            s << "maxpool k3 s2 p1\n";
        }
        if (variant == "all-cnn") conv(c, 3, 2, 1);
    }
    conv(192, 3, 1, 0);
    conv(192, 1, 1, 0);
    s << "conv " << classes << " k1\nrelu\ngap\nsoftmax\n";
    return s.str();
}

// Table 6. With a 227x227 input the sizes run 55,55,27,27,27,13,13,13,6,6,6,6.
std::string imagenet_spec(Shape in, double width, int classes) {
    struct Row {
        int channels, k, stride, pad;
    };
    const Row rows[] = {{96, 11, 4, 0},  {96, 1, 1, 0},  {96, 3, 2, 0},  {256, 5, 1, 2},
                        {256, 1, 1, 0},  {256, 3, 2, 0}, {384, 3, 1, 1}, {384, 1, 1, 0},
                        {384, 3, 2, 0},  {1024, 3, 1, 1}, {1024, 1, 1, 0}};
    std::ostringstream s;
    s << "input " << chw_string(in) << "\n";
    for (const Row& r : rows) {
        s << "conv " << scaled(r.channels, width) << " k" << r.k;
        if (r.stride != 1) s << " s" << r.stride;
        if (r.pad != 0) s << " p" << r.pad;
        s << "\nrelu\n";
    }
    s << "conv " << classes << " k1\nrelu\ngap\nsoftmax\n";
    return s.str();
}

} // namespace

std::vector<std::string> zoo_names() {
    std::vector<std::string> names;
    for (const char* variant : {"model", "strided-cnn", "convpool-cnn", "all-cnn"})
        for (const char* letter : {"a", "b", "c"}) names.push_back(std::string(variant) + "-" + letter);
    names.push_back("all-cnn-imagenet");
    return names;
}

bool is_zoo_name(const std::string& name) {
    for (const std::string& n : zoo_names())
        if (n == name) return true;
    return false;
}

std::string zoo_spec(const std::string& name, const ZooOptions& options) {
    if (!is_zoo_name(name)) {
        std::string all;
        for (const std::string& n : zoo_names()) all += (all.empty() ? "" : ", ") + n;
        throw std::invalid_argument("unknown model '" + name + "' (known: " + all + ")");
    }
    if (!(options.width > 0.0 && options.width <= 64.0))
        throw std::invalid_argument("width multiplier must be in (0, 64]");
    bool imagenet = name == "all-cnn-imagenet";
    Shape in = options.input;
    if (in.c == 0) in = imagenet ? Shape{1, 3, 227, 227} : Shape{1, 3, 32, 32};
    int classes = options.classes > 0 ? options.classes : (imagenet ? 1000 : 10);
    if (imagenet) return imagenet_spec(in, options.width, classes);
    std::size_t dash = name.rfind('-');
    return cifar_spec(name.substr(0, dash), name[dash + 1], in, options.width, classes);
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
        const bool replaced_pool = l.kind == LayerKind::relu && after_strided_conv;
        if (p_pool > 0 && (l.kind == LayerKind::maxpool || replaced_pool)) out += "dropout " + std::to_string(p_pool) + "\n";
        after_strided_conv = l.kind == LayerKind::conv && l.stride > 1;
    }
    return parse_arch(out, "training spec");
}

} // namespace allconv
