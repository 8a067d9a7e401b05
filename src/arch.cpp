// arch: the architecture spec parser and shape/cost bookkeeping.
#include "arch.hpp"

#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "conv.hpp"
#include "pool.hpp"

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

    int count(const std::string& word, const char* what) const {
        int v = 0;
        if (!parse_count(word, v)) fail(std::string("expected ") + what + ", got '" + word + "'");
        return v;
    }

    // Options like k3 s2 p1: letter then number.
    void options(std::size_t from, const std::string& allowed, int* k, int* s, int* p) const {
        for (std::size_t i = from; i < st_.words.size(); ++i) {
            const std::string& w = st_.words[i];
            char letter = w.empty() ? ' ' : w[0];
            if (allowed.find(letter) == std::string::npos || w.size() < 2)
                fail("unknown option '" + w + "' (expected " + allowed_help(allowed) + ")");
            int v = count(w.substr(1), "a number after the option letter");
            if (letter == 'k') *k = v;
            if (letter == 's') *s = v;
            if (letter == 'p') *p = v;
        }
    }

    static std::string allowed_help(const std::string& allowed) {
        std::string h;
        for (char c : allowed) h += (h.empty() ? "" : ", ") + std::string(1, c) + "N";
        return h;
    }

private:
    const std::string& source_;
    const Statement& st_;
};

} // namespace

Arch parse_arch(const std::string& text, const std::string& source) {
    std::vector<Statement> statements = split_statements(text);
    if (statements.empty()) throw std::invalid_argument(source + ": empty architecture spec");
    Arch arch;
    int counts[6] = {0, 0, 0, 0, 0, 0};
    bool have_input = false;
    Shape shape;
    for (const Statement& st : statements) {
        StatementParser parse(source, st);
        const std::string& kind = st.words[0];
        const std::size_t nwords = st.words.size();
        if (kind == "input") {
            if (have_input) parse.fail("'input' may appear only once, as the first line");
            if (nwords != 2) parse.fail("expected 'input CxHxW'");
            int c = 0, h = 0, w = 0;
            std::string dims = st.words[1];
            std::size_t x1 = dims.find('x'), x2 = dims.find('x', x1 == std::string::npos ? 0 : x1 + 1);
            if (x1 == std::string::npos || x2 == std::string::npos || !parse_count(dims.substr(0, x1), c) ||
                !parse_count(dims.substr(x1 + 1, x2 - x1 - 1), h) || !parse_count(dims.substr(x2 + 1), w))
                parse.fail("expected 'input CxHxW' with whole numbers, like 'input 3x32x32'");
            if (c < 1 || h < 1 || w < 1) parse.fail("input sizes must be at least 1");
            if (std::uint64_t(c) * h * w > (std::uint64_t(1) << 28)) parse.fail("input is unreasonably large");
            shape = Shape{1, c, h, w};
            arch.input = shape;
            have_input = true;
            continue;
        }
        if (!have_input) parse.fail("the spec must start with 'input CxHxW'");
        Layer layer;
        layer.line = st.line;
        layer.in = shape;
        try {
            if (kind == "conv") {
                if (nwords < 2) parse.fail("expected 'conv OUT kK [sS] [pP]'");
                layer.kind = LayerKind::conv;
                layer.out_c = parse.count(st.words[1], "the number of output channels");
                layer.k = 0;
                parse.options(2, "ksp", &layer.k, &layer.stride, &layer.pad);
                if (layer.k == 0) parse.fail("a conv needs a kernel size, like k3");
                if (layer.out_c < 1) parse.fail("a conv needs at least 1 output channel");
                ConvGeom g = conv_geom(shape, layer.out_c, layer.k, layer.stride, layer.pad);
                layer.out = Shape{1, g.out_c, g.out_h, g.out_w};
                layer.name = "conv" + std::to_string(++counts[0]);
            } else if (kind == "maxpool") {
                layer.kind = LayerKind::maxpool;
                layer.k = 0;
                layer.stride = 0;
                parse.options(1, "ksp", &layer.k, &layer.stride, &layer.pad);
                if (layer.k == 0) parse.fail("a maxpool needs a window size, like k3");
                if (layer.stride == 0) layer.stride = layer.k;
                PoolGeom g = pool_geom(shape, layer.k, layer.stride, layer.pad);
                layer.out = Shape{1, shape.c, g.out_h, g.out_w};
                layer.name = "pool" + std::to_string(++counts[2]);
            } else if (kind == "relu" || kind == "gap" || kind == "softmax") {
                if (nwords != 1) parse.fail("'" + kind + "' takes no options");
                layer.kind = kind == "relu" ? LayerKind::relu : kind == "gap" ? LayerKind::gap : LayerKind::softmax;
                layer.out = shape;
                if (kind == "relu") layer.name = "relu" + std::to_string(++counts[1]);
                if (kind == "gap") {
                    layer.out = Shape{1, shape.c, 1, 1};
                    layer.name = counts[4]++ ? "gap" + std::to_string(counts[4]) : "gap";
                }
                if (kind == "softmax") {
                    if (shape.h != 1 || shape.w != 1) parse.fail("softmax needs a Cx1x1 input (put 'gap' before it)");
                    layer.name = counts[5]++ ? "softmax" + std::to_string(counts[5]) : "softmax";
                }
            } else if (kind == "dropout") {
                if (nwords != 2) parse.fail("expected 'dropout P' with 0 <= P < 1");
                char* end = nullptr;
                layer.p = std::strtod(st.words[1].c_str(), &end);
                if (*end != '\0' || !(layer.p >= 0.0 && layer.p < 1.0)) parse.fail("expected 'dropout P' with 0 <= P < 1");
                layer.kind = LayerKind::dropout;
                layer.out = shape;
                layer.name = "dropout" + std::to_string(++counts[3]);
            } else {
                parse.fail("unknown layer kind '" + kind + "' (expected input, conv, relu, maxpool, dropout, gap, softmax)");
            }
        } catch (const std::invalid_argument& e) {
            std::string msg = e.what();
            if (msg.rfind(source + ":", 0) == 0) throw;
            parse.fail(msg); // a shape error from conv_geom/pool_geom: add the place
        }
        shape = layer.out;
        arch.layers.push_back(layer);
    }
    if (!have_input) throw std::invalid_argument(source + ": the spec has no 'input CxHxW' line");
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

Arch with_input(const Arch& a, Shape chw) {
    std::string spec = arch_spec(a);
    std::string first = "input " + chw_string(a.input) + "\n";
    return parse_arch("input " + chw_string(chw) + "\n" + spec.substr(first.size()), "spec");
}

} // namespace allconv
