// arch: the architecture spec parser and shape/cost bookkeeping.
#include "arch.hpp"

#include <cstdlib>
#include <initializer_list>
#include <sstream>
#include <stdexcept>

#include "../layers/conv.hpp"
#include "../layers/pool.hpp"

namespace allconv {

const char* kind_name(LayerKind k) {
    switch (k) {
    case LayerKind::conv: return "conv";
    case LayerKind::relu: return "relu";
    case LayerKind::maxpool: return "maxpool";
    case LayerKind::dropout: return "dropout";
    case LayerKind::gap: return "gap";
    case LayerKind::softmax: return "softmax";
    }
    return "?";
}

std::uint64_t Layer::params() const {
    if (kind != LayerKind::conv) return 0;
    return std::uint64_t(out_c) * in.c * k * k + out_c;
}

std::uint64_t Layer::macs() const {
    if (kind != LayerKind::conv) return 0;
    return std::uint64_t(out.c) * out.h * out.w * in.c * k * k;
}

std::uint64_t arch_memory_bytes(const Arch& a, int n) {
    std::uint64_t values = std::uint64_t(n) * a.input.size();
    for (const Layer& l : a.layers) values += std::uint64_t(n) * l.out.size() + l.params();
    return 4 * values;
}

std::uint64_t Arch::params() const {
    std::uint64_t sum = 0;
    for (const Layer& l : layers) sum += l.params();
    return sum;
}

std::uint64_t Arch::macs() const {
    std::uint64_t sum = 0;
    for (const Layer& l : layers) sum += l.macs();
    return sum;
}

int Arch::find(const std::string& name) const {
    std::string names;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        if (layers[i].name == name) return int(i);
        names += (i ? ", " : "") + layers[i].name;
    }
    throw std::invalid_argument("no layer named '" + name + "' (layers: " + names + ")");
}

int Arch::logits_layer() const {
    int last = int(layers.size()) - 1;
    if (last >= 0 && layers[last].kind == LayerKind::softmax) --last;
    if (last < 0) throw std::invalid_argument("the network has no layer before softmax");
    return last;
}

namespace {

// One statement's words, and where it stood, for error messages.
struct Statement {
    std::vector<std::string> words;
    int line;
};

std::vector<Statement> split_statements(const std::string& text) {
    std::vector<Statement> out;
    int line = 1;
    std::string current;
    auto flush = [&](int at) {
        std::istringstream words(current);
        Statement s{{}, at};
        for (std::string w; words >> w;) s.words.push_back(w);
        if (!s.words.empty()) out.push_back(s);
        current.clear();
    };
    bool comment = false;
    for (char ch : text) {
        if (ch == '\n') {
            flush(line);
            comment = false;
            ++line;
        } else if (comment) {
            continue;
        } else if (ch == '#') {
            comment = true;
        } else if (ch == ';') {
            flush(line);
        } else {
            current += ch;
        }
    }
    flush(line);
    return out;
}

// A whole non-negative decimal number that fits an int comfortably (< 10^8).
bool parse_count(const std::string& s, int& value) {
    if (s.empty() || s.size() > 8) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    value = std::atoi(s.c_str());
    return true;
}

class StatementParser {
public:
    StatementParser(const std::string& source, const Statement& st) : source_(source), st_(st) {}

    [[noreturn]] void fail(const std::string& problem) const {
        std::string text;
        for (const std::string& w : st_.words) text += (text.empty() ? "" : " ") + w;
        throw std::invalid_argument(source_ + ":" + std::to_string(st_.line) + ": '" + text + "': " + problem);
    }

    const std::vector<std::string>& words() const { return st_.words; }

    int count(const std::string& word, const char* what) const {
        int v = 0;
        if (!parse_count(word, v)) fail(std::string("expected ") + what + ", got '" + word + "'");
        return v;
    }

    // Options like k3 s2 p1: letter then number.
    void options(std::size_t from, int* k, int* s, int* p) const {
        for (std::size_t i = from; i < st_.words.size(); ++i) {
            const std::string& w = st_.words[i];
            const char letter = w.empty() ? ' ' : w[0];
            if ((letter != 'k' && letter != 's' && letter != 'p') || w.size() < 2)
                fail("unknown option '" + w + "' (expected kN, sN, pN)");
            const int v = count(w.substr(1), "a number after the option letter");
            if (letter == 'k') *k = v;
            if (letter == 's') *s = v;
            if (letter == 'p') *p = v;
        }
    }

private:
    const std::string& source_;
    const Statement& st_;
};

// One function per layer kind: each reads its words and sets the layer's
// settings and output shape (layer.in is set by the caller).

Shape parse_input(const StatementParser& parse) {
    if (parse.words().size() != 2) parse.fail("expected 'input CxHxW'");
    int c = 0, h = 0, w = 0;
    const std::string& dims = parse.words()[1];
    const std::size_t x1 = dims.find('x'), x2 = dims.find('x', x1 == std::string::npos ? 0 : x1 + 1);
    if (x1 == std::string::npos || x2 == std::string::npos || !parse_count(dims.substr(0, x1), c) ||
        !parse_count(dims.substr(x1 + 1, x2 - x1 - 1), h) || !parse_count(dims.substr(x2 + 1), w))
        parse.fail("expected 'input CxHxW' with whole numbers, like 'input 3x32x32'");
    if (c < 1 || h < 1 || w < 1) parse.fail("input sizes must be at least 1");
    if (std::uint64_t(c) * h * w > (std::uint64_t(1) << 28)) parse.fail("input is unreasonably large");
    return Shape{1, c, h, w};
}

void parse_conv(const StatementParser& parse, Layer& layer) {
    if (parse.words().size() < 2) parse.fail("expected 'conv OUT kK [sS] [pP]'");
    layer.kind = LayerKind::conv;
    layer.out_c = parse.count(parse.words()[1], "the number of output channels");
    layer.k = 0;
    parse.options(2, &layer.k, &layer.stride, &layer.pad);
    if (layer.k == 0) parse.fail("a conv needs a kernel size, like k3");
    if (layer.out_c < 1) parse.fail("a conv needs at least 1 output channel");
    const ConvGeom g = conv_geom(layer.in, layer.out_c, layer.k, layer.stride, layer.pad);
    layer.out = Shape{1, g.out_c, g.out_h, g.out_w};
}

void parse_maxpool(const StatementParser& parse, Layer& layer) {
    layer.kind = LayerKind::maxpool;
    layer.k = 0;
    layer.stride = 0;
    parse.options(1, &layer.k, &layer.stride, &layer.pad);
    if (layer.k == 0) parse.fail("a maxpool needs a window size, like k3");
    if (layer.stride == 0) layer.stride = layer.k;
    const PoolGeom g = pool_geom(layer.in, layer.k, layer.stride, layer.pad);
    layer.out = Shape{1, layer.in.c, g.out_h, g.out_w};
}

void parse_dropout(const StatementParser& parse, Layer& layer) {
    if (parse.words().size() != 2) parse.fail("expected 'dropout P' with 0 <= P < 1");
    char* end = nullptr;
    layer.p = std::strtod(parse.words()[1].c_str(), &end);
    if (*end != '\0' || !(layer.p >= 0.0 && layer.p < 1.0)) parse.fail("expected 'dropout P' with 0 <= P < 1");
    layer.kind = LayerKind::dropout;
    layer.out = layer.in;
}

// relu, gap and softmax take no options.
void parse_plain(const StatementParser& parse, const std::string& kind, Layer& layer) {
    if (parse.words().size() != 1) parse.fail("'" + kind + "' takes no options");
    layer.out = layer.in;
    if (kind == "relu") layer.kind = LayerKind::relu;
    if (kind == "gap") {
        layer.kind = LayerKind::gap;
        layer.out = Shape{1, layer.in.c, 1, 1};
    }
    if (kind == "softmax") {
        layer.kind = LayerKind::softmax;
        if (layer.in.h != 1 || layer.in.w != 1) parse.fail("softmax needs a Cx1x1 input (put 'gap' before it)");
    }
}

// conv1, conv2, ...; relu1, ...; pool1, ...; dropout1, ...; gap, gap2, ...; softmax, softmax2, ...
std::string layer_name(LayerKind kind, int (&counts)[6]) {
    const int n = ++counts[int(kind)];
    switch (kind) {
    case LayerKind::conv: return "conv" + std::to_string(n);
    case LayerKind::relu: return "relu" + std::to_string(n);
    case LayerKind::maxpool: return "pool" + std::to_string(n);
    case LayerKind::dropout: return "dropout" + std::to_string(n);
    case LayerKind::gap: return n > 1 ? "gap" + std::to_string(n) : "gap";
    case LayerKind::softmax: return n > 1 ? "softmax" + std::to_string(n) : "softmax";
    }
    return "?";
}

// The product of the factors, or `limit + 1` as soon as it would exceed limit
// (each factor checked before it multiplies, so nothing overflows).
std::uint64_t product_up_to(std::initializer_list<int> factors, std::uint64_t limit) {
    std::uint64_t p = 1;
    for (int f : factors) {
        if (f != 0 && p > limit / std::uint64_t(f)) return limit + 1;
        p *= std::uint64_t(f);
    }
    return p;
}

// A layer's sizes against the limits.
void check_layer_limits(const StatementParser& parse, const Layer& l) {
    if (product_up_to({l.out.c, l.out.h, l.out.w}, max_tensor_elements) > max_tensor_elements)
        parse.fail("its output " + chw_string(l.out) + " has more than " + std::to_string(max_tensor_elements) + " values");
    if (l.kind == LayerKind::conv && product_up_to({l.out_c, l.in.c, l.k, l.k}, max_arch_params) > max_arch_params)
        parse.fail("more than " + std::to_string(max_arch_params) + " weights");
}

Layer parse_layer(const StatementParser& parse, Shape in) {
    Layer layer;
    layer.in = in;
    const std::string& kind = parse.words()[0];
    try {
        if (kind == "conv") parse_conv(parse, layer);
        else if (kind == "maxpool") parse_maxpool(parse, layer);
        else if (kind == "dropout") parse_dropout(parse, layer);
        else if (kind == "relu" || kind == "gap" || kind == "softmax") parse_plain(parse, kind, layer);
        else parse.fail("unknown layer kind '" + kind + "' (expected input, conv, relu, maxpool, dropout, gap, softmax)");
    } catch (const std::invalid_argument& e) {
        if (std::string(e.what()).find(": '") != std::string::npos) throw; // already names its place
        parse.fail(e.what()); // a shape error from conv_geom/pool_geom: add the place
    }
    check_layer_limits(parse, layer);
    return layer;
}

} // namespace

Arch parse_arch(const std::string& text, const std::string& source) {
    if (text.size() > (std::size_t(1) << 20)) throw std::invalid_argument(source + ": a spec of more than 1 MiB");
    const std::vector<Statement> statements = split_statements(text);
    if (statements.empty()) throw std::invalid_argument(source + ": empty architecture spec");
    Arch arch;
    int counts[6] = {0, 0, 0, 0, 0, 0};
    bool have_input = false;
    for (const Statement& st : statements) {
        const StatementParser parse(source, st);
        if (st.words[0] == "input") {
            if (have_input) parse.fail("'input' may appear only once, as the first line");
            arch.input = parse_input(parse);
            have_input = true;
            continue;
        }
        if (!have_input) parse.fail("the spec must start with 'input CxHxW'");
        Layer layer = parse_layer(parse, arch.output());
        layer.line = st.line;
        layer.name = layer_name(layer.kind, counts);
        arch.layers.push_back(layer);
        if (arch.params() > max_arch_params)
            parse.fail("the network has more than " + std::to_string(max_arch_params) + " parameters");
        if (arch_memory_bytes(arch) > max_image_bytes)
            parse.fail("the network needs more than " + std::to_string(max_image_bytes >> 20) +
                       " MiB for its parameters and the outputs of one image");
    }
    return arch;
}

std::string arch_spec(const Arch& a) {
    std::ostringstream s;
    s << "input " << chw_string(a.input) << "\n";
    for (const Layer& l : a.layers) {
        s << kind_name(l.kind);
        if (l.kind == LayerKind::conv) {
            s << " " << l.out_c << " k" << l.k;
            if (l.stride != 1) s << " s" << l.stride;
            if (l.pad != 0) s << " p" << l.pad;
        } else if (l.kind == LayerKind::maxpool) {
            s << " k" << l.k << " s" << l.stride;
            if (l.pad != 0) s << " p" << l.pad;
        } else if (l.kind == LayerKind::dropout) {
            s << " " << l.p;
        }
        s << "\n";
    }
    return s.str();
}

} // namespace allconv
