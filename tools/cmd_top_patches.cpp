// allconv top-patches: the paper's figures. For each unit of a layer, the
// images that excite it most, reconstructed from that single neuron with
// deconvnet and with guided backprop, cropped to the unit's receptive field.
#include <algorithm>
#include <cstdio>
#include <sstream>

#include "canvas.hpp"
#include "cli.hpp"
#include "parallel.hpp"
#include "png.hpp"
#include "progress.hpp"
#include "train.hpp"
#include "visualize.hpp"

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

std::vector<int> parse_units(const std::string& s, int channels) {
    std::vector<int> out;
    std::stringstream in(s);
    for (std::string item; std::getline(in, item, ',');) {
        std::size_t dash = item.find('-');
        char* end = nullptr;
        long a = std::strtol(item.substr(0, dash).c_str(), &end, 10);
        long b = dash == std::string::npos ? a : std::strtol(item.substr(dash + 1).c_str(), &end, 10);
        if (item.empty() || *end != '\0' || a < 0 || b < a || b >= channels)
            throw UsageError("--units: '" + item + "' is not a channel or range below " + std::to_string(channels));
        for (long u = a; u <= b; ++u) out.push_back(int(u));
    }
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

} // namespace

int cmd_top_patches(int argc, char** argv) {
    if (wants_help(argc, argv, top_patches_help)) return 0;
    Args args(argc, argv, {"model", "layer", "units", "top", "split", "limit", "data", "scale", "threads", "out"}, {});
    for (const char* required : {"model", "layer", "out"})
        if (!args.has(required)) throw UsageError(std::string("--") + required + " is required");
    Model m = load_model(args.str("model", ""));
    int layer = 0;
    try {
        layer = m.arch.find(args.str("layer", ""));
    } catch (const std::invalid_argument& e) {
        throw UsageError(std::string("--layer: ") + e.what());
    }
    const Shape lshape = m.arch.layers[layer].out;
    const std::vector<int> units = parse_units(args.str("units", "0-7"), lshape.c);
    const int top = args.integer("top", 9, 1, 100), scale = args.integer("scale", 3, 1, 32);
    Compute compute;
    compute.threads = args.integer("threads", hardware_threads(), 1, 1024);
    Dataset d = load_fashion_mnist(args.str("data", default_data_dir()), args.str("split", "t10k"),
                                   args.integer("limit", 0, 0, 100000000));
    if (d.image != m.arch.input) throw std::runtime_error("the model's input " + chw_string(m.arch.input) + " does not fit the data");

    // 1. Scan: for each unit, its strongest response in every image; keep the top K images.
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
                for (int y = 0; y < lshape.h; ++y)
                    for (int xx = 0; xx < lshape.w; ++xx)
                        if (out.at(j, units[u], y, xx) > h.value) h = Hit{out.at(j, units[u], y, xx), first + j, y, xx};
                best[u].push_back(h);
            }
        for (auto& hits : best) {
            // Largest first; ties in image order (each image holds one hit per unit).
            std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
                return a.value != b.value ? a.value > b.value : a.image < b.image;
            });
            if (int(hits.size()) > top) hits.resize(top);
        }
        char line[160];
        std::snprintf(line, sizeof line, "scanning %s %d/%d images", bar(double(first + n) / d.count()).c_str(), first + n, d.count());
        progress_line(line);
    }
    progress_done();

    // 2. Reconstruct each hit from its single neuron, crop to the receptive field.
    int cell = 0;
    for (std::size_t u = 0; u < units.size(); ++u)
        for (const Hit& h : best[u]) {
            Region r = receptive_field(m.arch, layer, h.y, h.x);
            cell = std::max({cell, r.y1 - r.y0 + 1, r.x1 - r.x0 + 1});
        }
    const int gap = 4, text = 2, label_w = Canvas::text_width("deconvnet", text) + 2 * gap;
    const int cw = cell * scale, row_h = cw + gap, block_h = 3 * row_h + 7 * text + 2 * gap;
    Canvas canvas(label_w + top * (cw + gap) + gap, gap + int(units.size()) * block_h);
    for (std::size_t u = 0; u < units.size(); ++u) {
        const int y0 = gap + int(u) * block_h;
        canvas.draw_text(gap, y0, m.arch.layers[layer].name + " unit " + std::to_string(units[u]), text);
        const int rows_y = y0 + 7 * text + gap;
        const char* names[3] = {"image", "deconvnet", "guided"};
        for (int row = 0; row < 3; ++row) canvas.draw_text(gap, rows_y + row * row_h + cw / 2 - 7, names[row], text);
        for (std::size_t k = 0; k < best[u].size(); ++k) {
            const Hit& h = best[u][k];
            make_batch(m, d, {}, h.image, 1, x, labels);
            net_forward(m.arch, m.params, x, tape, compute, nullptr, layer);
            Target t;
            t.kind = Target::Kind::unit;
            t.layer = layer;
            t.c = units[u];
            t.y = h.y;
            t.x = h.x;
            Region r = receptive_field(m.arch, layer, h.y, h.x);
            Tensor<float> image(d.image);
            std::copy_n(d.pixels.data() + std::size_t(h.image) * d.image.image(), d.image.image(), image.ptr());
            const int cx = label_w + int(k) * (cw + gap);
            canvas.draw_image(cx, rows_y, crop(image, r), scale);
            Rule rules[2] = {Rule::deconvnet, Rule::guided};
            for (int row = 0; row < 2; ++row) {
                Tensor<float> signal = crop(explain(m.arch, m.params, tape, t, rules[row], compute), r);
                canvas.draw_image(cx, rows_y + (row + 1) * row_h, display_map(signal, Display::common), scale);
            }
        }
    }
    write_png(args.str("out", ""), canvas.width, canvas.height, 3, canvas.rgb);
    std::fprintf(stderr, "wrote %s: %zu units of %s, top %d of %d images each\n", args.str("out", "").c_str(),
                 units.size(), m.arch.layers[layer].name.c_str(), top, d.count());
    return 0;
}

} // namespace allconv
