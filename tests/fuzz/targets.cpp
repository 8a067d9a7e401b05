// Fuzz targets: what each command does with a file from outside.
#include "targets.hpp"

#include <map>
#include <stdexcept>

#include "golden/golden.hpp"
#include "io/idx.hpp"
#include "io/image.hpp"
#include "io/inflate.hpp"
#include "io/json.hpp"
#include "io/npy.hpp"
#include "io/onnx.hpp"
#include "io/zip.hpp"
#include "net/model.hpp"
#include "net/train.hpp"
#include "net/onnx_export.hpp"
#include "net/visualize.hpp"

namespace allconv::fuzz {

namespace {

// What predict, visualize and export do with a model, on a blank image, for
// networks small enough to run quickly (the limits of arch.hpp allow 2 GiB;
// the shipped model's files are checked whole by the loading above).
void use_model(const Model& m) {
    if (arch_memory_bytes(m.arch) > (std::uint64_t(16) << 20) || m.arch.macs() > 2000000) return;
    Tensor<float> x(m.arch.input, 0.5f);
    normalise(m, x);
    Tape<float> tape;
    net_forward(m.arch, m.params, x, tape, Compute::fast_path(1));
    const Target t = parse_target("class:predicted", m.arch);
    for (Rule r : {Rule::backprop, Rule::deconvnet, Rule::guided}) explain(m.arch, m.params, tape, t, r);
    onnx_encode(m, "fuzz");
}

// A golden suite as a zip of its files: manifest.json and the case arrays.
void check_suite(const std::vector<std::uint8_t>& bytes) {
    std::map<std::string, std::vector<std::uint8_t>> files;
    for (ZipEntry& e : zip_decode(bytes, "fuzz-suite.zip")) files[e.name] = std::move(e.data);
    const SuiteFiles suite = [&](const std::string& path) {
        const auto it = files.find(path);
        if (it == files.end()) throw std::runtime_error(path + ": not in the suite");
        return it->second;
    };
    for (const GoldenResult& r : golden_check(suite, "fuzz-suite", nullptr, "", "float32")) // as `golden check` exits 1
        if (!r.pass) throw std::runtime_error(r.case_name + ": " + r.output + ": " + r.problem);
}

} // namespace

const std::vector<std::string>& target_names() {
    static const std::vector<std::string> names = {"npy",  "npz",   "inflate",    "idx",    "pnm",   "json",
                                                   "spec", "model", "checkpoint", "golden", "image", "onnx"};
    return names;
}

void run_target(const std::string& name, const std::vector<std::uint8_t>& bytes) {
    const std::string text(bytes.begin(), bytes.end());
    if (name == "npy") npy_decode(bytes.data(), bytes.size(), "fuzz.npy");
    else if (name == "npz") npz_decode(bytes, "fuzz.npz");
    else if (name == "inflate") {
        if (is_gzip(bytes)) gunzip(bytes, "fuzz.gz", 1 << 24);
        else inflate_raw(bytes.data(), bytes.size(), "fuzz.deflate", 1 << 24);
    } else if (name == "idx") {
        if (bytes.size() > 3 && bytes[3] == 1) parse_idx_labels(bytes, "fuzz.idx", 10);
        else parse_idx_images(bytes, "fuzz.idx");
    } else if (name == "pnm") parse_pnm(bytes, "fuzz.pgm");
    else if (name == "json") parse_json(text, "fuzz.json");
    else if (name == "spec") parse_arch(text, "fuzz.spec");
    else if (name == "model") use_model(model_from_npz(npz_decode(bytes, "fuzz.npz"), "fuzz.npz"));
    else if (name == "checkpoint") { // as `train --resume` reads it
        const Checkpoint ck = checkpoint_from_npz(npz_decode(bytes, "fuzz.npz"), "fuzz.npz");
        TrainConfig c;
        int limit = 0;
        apply_settings(ck.settings, "fuzz.npz", c, limit);
        use_model(ck.state.model);
    }
    else if (name == "golden") check_suite(bytes);
    else if (name == "image") image_from_bytes(bytes, bytes.size() > 6 && bytes[1] == 'N' ? "fuzz.npy" : "fuzz.pgm");
    else if (name == "onnx") { // a model for onnx-tests; the tensors inside it are TensorProtos, as the .pb files
        if (bytes.size() > 1 && bytes[0] == 0x08 && bytes[1] < 0x20) onnx_decode_tensor(bytes.data(), bytes.size(), "fuzz.pb");
        else onnx_decode_model(bytes, "fuzz.onnx");
    } else throw std::invalid_argument("unknown fuzz target '" + name + "'");
}

} // namespace allconv::fuzz
