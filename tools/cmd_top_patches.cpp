// allconv top-patches: the paper's figures. For each unit of a layer, the
// images that excite it most, reconstructed from that single neuron with
// deconvnet and with guided backprop, cropped to the unit's receptive field.
#include <algorithm>
#include <cstdio>
#include <sstream>

#include "canvas.hpp"
#include "cli.hpp"
#include "io/file.hpp"
#include "fast/packed_weights.hpp"
#include "fast/parallel.hpp"
#include "io/png.hpp"
#include "progress.hpp"
#include "net/dataset.hpp"
#include "net/train.hpp"
#include "net/visualize.hpp"

namespace allconv {

extern const char* const top_patches_help =
    "usage: allconv top-patches --model model.npz --layer LAYER --out fig.png [options]\n"
    "\n"
    "Scans Fashion-MNIST images, finds for each unit (channel) of LAYER the images and\n"
    "positions where it responds most, and for each one sends a signal back from that\n"
    "single neuron with deconvnet and with guided backprop, as in the paper's figures.\n"
    "Everything is cropped to the neuron's receptive field. One block per unit: a row\n"
    "of image patches, a row of deconvnet, a row of guided backprop reconstructions.\n"
    "\n"
    "  --units A-B|A,B,..  which channels (default 0-7)\n"
    "  --top K             images per unit (default 9)\n"
    "  --split S           t10k (default) or train\n"
    "  --limit N           scan only the first N images (default all)\n"
    "  --data DIR          default /usr/share/datasets/fashion-mnist\n"
    "  --scale N           pixel magnification (default 3)\n"
    "  --threads T         default: all cores\n";

namespace {

// A whole number 0..limit-1 from the whole of s, or -1.
long channel_number(const std::string& s, int limit) {
    if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) return -1;
    const long v = std::stol(s);
    return v < limit ? v : -1;
}

// "3", "0-7", "1,4,9-11": channels below `channels`, in the order given.
std::vector<int> parse_units(const std::string& s, int channels) {
    std::vector<int> out;
    std::stringstream in(s);
    for (std::string item; std::getline(in, item, ',');) {
        const std::size_t dash = item.find('-');
        const long a = channel_number(item.substr(0, dash), channels);
        const long b = dash == std::string::npos ? a : channel_number(item.substr(dash + 1), channels);
        if (a < 0 || b < a)
            throw UsageError("--units: '" + item + "' is not a channel or range below " + std::to_string(channels));
        for (long u = a; u <= b; ++u) out.push_back(int(u));
    }
    if (out.empty()) throw UsageError("--units: expected channels like 0-7 or 1,4,9, got '" + s + "'");
    return out;
}

struct Hit {
    float value;
    int image, y, x;
};

// The crop of a (1, C, H, W) tensor to a region.
Tensor<float> crop(const Tensor<float>& t, const Region& r) {
    Tensor<float> out({1, t.shape.c, r.y1 - r.y0 + 1, r.x1 - r.x0 + 1});
    for (int c = 0; c < t.shape.c; ++c)
        for (int y = r.y0; y <= r.y1; ++y)
            for (int x = r.x0; x <= r.x1; ++x) out.at(0, c, y - r.y0, x - r.x0) = t.at(0, c, y, x);
    return out;
}

// Step 1. For each unit, its strongest response in every image; the top K images.
std::vector<std::vector<Hit>> scan(const Model& m, const Dataset& d, int layer, const std::vector<int>& units, int top,
                                   const Compute& compute) {
    const Shape ls = m.arch.layers[layer].out;
    std::vector<std::vector<Hit>> best(units.size());
    Tape<float> tape;
    Tensor<float> x;
    std::vector<int> labels;
    const int batch = 128;
    for (int first = 0; first < d.count(); first += batch) {
        const int n = std::min(batch, d.count() - first);
        make_batch(m, d, {}, first, n, x, labels);
        net_forward(m.arch, m.params, x, tape, compute, nullptr, layer);
        const Tensor<float>& out = tape.out[layer];
        for (std::size_t u = 0; u < units.size(); ++u)
            for (int j = 0; j < n; ++j) {
                Hit h{-1e30f, first + j, 0, 0};
                for (int y = 0; y < ls.h; ++y)
                    for (int xx = 0; xx < ls.w; ++xx)
                        if (out.at(j, units[u], y, xx) > h.value) h = Hit{out.at(j, units[u], y, xx), first + j, y, xx};
                best[u].push_back(h);
            }
        for (auto& hits : best) { // largest first; ties in image order (an image has one hit per unit)
            std::sort(hits.begin(), hits.end(),
                      [](const Hit& a, const Hit& b) { return a.value != b.value ? a.value > b.value : a.image < b.image; });
            if (int(hits.size()) > top) hits.resize(top);
        }
        char line[160];
        std::snprintf(line, sizeof line, "scanning %s %d/%d images", bar(double(first + n) / d.count()).c_str(), first + n,
                      d.count());
        progress_line(line);
    }
    progress_done();
    return best;
}

// Step 2. One hit, cropped to its receptive field: the image patch, then its
// deconvnet and guided reconstructions from that single neuron.
std::vector<Tensor<float>> reconstruct(const Model& m, const Dataset& d, int layer, int unit, const Hit& h,
                                       const Compute& compute) {
    Tape<float> tape;
    Tensor<float> x;
    std::vector<int> labels;
    make_batch(m, d, {}, h.image, 1, x, labels);
    net_forward(m.arch, m.params, x, tape, compute, nullptr, layer);
    Target t;
    t.kind = Target::Kind::unit;
    t.layer = layer;
    t.c = unit;
    t.y = h.y;
    t.x = h.x;
    const Region r = receptive_field(m.arch, layer, h.y, h.x);
    std::vector<Tensor<float>> rows = {crop(d.at(h.image), r)};
    for (Rule rule : {Rule::deconvnet, Rule::guided})
        rows.push_back(display_map(crop(explain(m.arch, m.params, tape, t, rule, compute), r), Display::common));
    return rows;
}

// Step 3. One block per unit: a title, then rows of patches, deconvnet, guided.
Canvas draw(const Model& m, const Dataset& d, int layer, const std::vector<int>& units,
            const std::vector<std::vector<Hit>>& best, int top, int scale, const Compute& compute) {
    int cell = 0;
    for (std::size_t u = 0; u < units.size(); ++u)
        for (const Hit& h : best[u]) {
            const Region r = receptive_field(m.arch, layer, h.y, h.x);
            cell = std::max({cell, r.y1 - r.y0 + 1, r.x1 - r.x0 + 1});
        }
    const int gap = 4, text = 2, label_w = Canvas::text_width("deconvnet", text) + 2 * gap;
    const int cw = cell * scale, row_h = cw + gap, block_h = 3 * row_h + 7 * text + 2 * gap;
    Canvas canvas(label_w + top * (cw + gap) + gap, gap + int(units.size()) * block_h);
    const char* names[3] = {"image", "deconvnet", "guided"};
    for (std::size_t u = 0; u < units.size(); ++u) {
        const int y0 = gap + int(u) * block_h, rows_y = y0 + 7 * text + gap;
        canvas.draw_text(gap, y0, m.arch.layers[layer].name + " unit " + std::to_string(units[u]), text);
        for (int row = 0; row < 3; ++row) canvas.draw_text(gap, rows_y + row * row_h + cw / 2 - 7, names[row], text);
        for (std::size_t k = 0; k < best[u].size(); ++k) {
            const std::vector<Tensor<float>> rows = reconstruct(m, d, layer, units[u], best[u][k], compute);
            for (int row = 0; row < 3; ++row)
                canvas.draw_image(label_w + int(k) * (cw + gap), rows_y + row * row_h, rows[row], scale);
        }
    }
    return canvas;
}

} // namespace

int cmd_top_patches(int argc, char** argv) {
    if (wants_help(argc, argv, top_patches_help)) return 0;
    const Args args(argc, argv, {"model", "layer", "units", "top", "split", "limit", "data", "scale", "threads", "out"}, {});
    for (const char* required : {"model", "layer", "out"})
        if (!args.has(required)) throw UsageError(std::string("--") + required + " is required");
    check_outputs({{"out", args.str("out", "")}}, {args.str("model", "")});
    const Model m = load_model(args.str("model", ""));
    int layer = 0;
    try {
        layer = m.arch.find(args.str("layer", ""));
    } catch (const std::invalid_argument& e) {
        throw UsageError(std::string("--layer: ") + e.what());
    }
    const std::vector<int> units = parse_units(args.str("units", "0-7"), m.arch.layers[layer].out.c);
    const int top = args.integer("top", 9, 1, 100), scale = args.integer("scale", 3, 1, 32);
    WeightPacks packs; // the model's weights stay fixed: packed once for the whole scan
    const Compute compute = Compute::fast_path(args.integer("threads", hardware_threads(), 1, 1024), &packs);
    const Dataset d = load_fashion_mnist(args.str("data", default_data_dir()), args.str("split", "t10k"),
                                         args.integer("limit", 0, 0, 100000000));
    check_fits(m.arch.input, d, args.str("model", ""));
    const std::vector<std::vector<Hit>> best = scan(m, d, layer, units, top, compute);
    const Canvas canvas = draw(m, d, layer, units, best, top, scale, compute);
    write_png(args.str("out", ""), canvas.width, canvas.height, 3, canvas.rgb);
    std::fprintf(stderr, "wrote %s: %zu units of %s, top %d of %d images each\n", args.str("out", "").c_str(),
                 units.size(), m.arch.layers[layer].name.c_str(), top, d.count());
    return 0;
}

} // namespace allconv
