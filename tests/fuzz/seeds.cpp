// make fuzz: writes seed inputs for the fuzz targets that start from valid
// project files (a model, a checkpoint, a golden suite, images), so the
// fuzzers mutate real structure from their first run.
//   seeds OUT_DIR     (run from the repository root)
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>

#include "golden/golden.hpp"
#include "io/file.hpp"
#include "io/image.hpp"
#include "io/zip.hpp"
#include "net/model.hpp"
#include "net/onnx_export.hpp"

using namespace allconv;

namespace {

void write(const std::string& dir, const std::string& name, const std::vector<std::uint8_t>& bytes) {
    std::filesystem::create_directories(dir);
    write_file_atomic(dir + "/" + name, bytes);
}

Model tiny_model() {
    Model m;
    m.arch = parse_arch("input 1x5x4; conv 3 k3 s2 p1; relu; maxpool k3 s2 p1; conv 2 k1; relu; gap; softmax");
    m.params = init_params<float>(m.arch, 3);
    m.mean = {0.25f};
    m.std = {0.5f};
    return m;
}

// A few small cases of data/golden, zipped with a manifest that lists only them.
std::vector<std::uint8_t> golden_seed() {
    const std::set<std::string> keep = {"conv_k3_s2_p1_odd", "maxpool_3x3s2p1_ties", "relu_backward_guided",
                                        "gap_forward_backward", "softmax_cross_entropy", "net_all_cnn_c"};
    const std::vector<std::uint8_t> m = read_file_bytes("data/golden/manifest.json");
    Json manifest = parse_json(std::string(m.begin(), m.end()), "manifest.json");
    Json cases = Json::array();
    std::vector<ZipEntry> files;
    for (const Json& c : manifest.at("cases").items()) {
        if (!keep.count(c.at("name").str())) continue;
        cases.push(c);
        for (const char* group : {"inputs", "outputs"})
            for (const auto& [key, path] : c.at(group).members())
                files.push_back(ZipEntry{path.str(), read_file_bytes("data/golden/" + path.str())});
    }
    manifest.set("cases", cases);
    const std::string text = manifest.dump();
    files.insert(files.begin(), ZipEntry{"manifest.json", std::vector<std::uint8_t>(text.begin(), text.end())});
    return zip_encode(files);
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: seeds OUT_DIR (from the repository root)\n");
        return 2;
    }
    const std::string out = argv[1];
    const Model m = tiny_model();
    write(out + "/model", "tiny.npz", npz_encode(model_to_npz(m)));
    write(out + "/onnx", "tiny.onnx", onnx_encode(m, "tiny"));
    Model strided = m;
    strided.arch = parse_arch("input 3x6x6; dropout 0.2; conv 4 k3 s2 p1; relu; conv 3 k1; relu; gap");
    strided.params = init_params<float>(strided.arch, 4);
    strided.mean = {0.1f, 0.2f, 0.3f};
    strided.std = {1.f, 2.f, 3.f};
    write(out + "/model", "strided.npz", npz_encode(model_to_npz(strided)));
    TrainState s{m, zero_params<float>(m.arch), 2};
    NpzEntries ck = model_to_npz(m);
    NpzEntries v = params_to_npz(m.arch, s.velocity, "velocity.");
    ck.insert(ck.end(), v.begin(), v.end());
    ck.emplace_back("train.epochs_done", NpyArray::from_double({2}, {1}));
    ck.emplace_back("train.seed", NpyArray::from_double({5}, {1}));
    ck.emplace_back("train.lr_steps", NpyArray::from_double({3, 5}, {2}));
    write(out + "/checkpoint", "tiny.ckpt.npz", npz_encode(ck));
    write(out + "/golden", "small-suite.zip", golden_seed());
    write(out + "/image", "ankle-boot.pgm", read_file_bytes("data/samples/t10k-0-ankle-boot.pgm"));
    write(out + "/image", "rgb.npy", npy_encode(NpyArray::from_float(std::vector<float>(48, 0.5f), {3, 4, 4})));
    std::printf("wrote fuzz seeds to %s\n", out.c_str());
    return 0;
}
