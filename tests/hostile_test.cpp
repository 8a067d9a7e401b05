// Hostile input, from the outside: crafted files and argument lists for every
// command. Each must end with exit status 1 or 2 and one line on stderr,
// "allconv: ...", naming the file or option at fault; and must leave no file
// behind (the workspace is listed before and after every run). Under
// `make sanitize` the same runs use the sanitized binary, where a memory error
// would add lines to stderr and fail the case.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <set>

#include "cli_util.hpp"
#include "golden/golden.hpp"
#include "io/bytes.hpp"
#include "io/file.hpp"
#include "io/image.hpp"
#include "io/inflate.hpp"
#include "io/zip.hpp"
#include "net/model.hpp"

using namespace allconv;
namespace fs = std::filesystem;

namespace {

struct Case {
    std::string args;   // after "allconv", shell text
    std::string names;  // what the one-line error must contain (a file or an option)
    bool golden = false; // golden check: per-case FAIL lines on stdout instead of one error line
};

// The workspace: good files to start from, crafted ones beside them.
class Workspace {
public:
    Workspace() : root_(::testing::TempDir() + "allconv_hostile") {
        fs::remove_all(root_);
        fs::create_directories(root_ + "/out");
        model_ = model_entries();
        write("good.npz", npz_encode(model_));
        write("img.pgm", pnm_encode(Tensor<float>(Shape{1, 1, 8, 8}, 0.5f)));
        dataset("data", 16);
        suite("suite", [](Json&) {});
        text("s_ok.spec", "input 1x8x8; conv 10 k3 p1; relu; gap; softmax");
    }
    const std::string& root() const { return root_; }
    std::string path(const std::string& name) const { return root_ + "/" + name; }
    std::string out(const std::string& name) const { return root_ + "/out/" + name; }

    std::string write(const std::string& name, const std::vector<std::uint8_t>& bytes) const {
        fs::create_directories(fs::path(path(name)).parent_path());
        write_file_atomic(path(name), bytes);
        return path(name);
    }
    std::string text(const std::string& name, const std::string& t) const {
        return write(name, std::vector<std::uint8_t>(t.begin(), t.end()));
    }
    // The good model's arrays, changed by `edit`, as a file.
    std::string model(const std::string& name, const std::function<void(NpzEntries&)>& edit) const {
        NpzEntries e = model_;
        edit(e);
        return write(name, npz_encode(e));
    }
    const NpzEntries& good_model() const { return model_; }

    // A Fashion-MNIST-like folder of 8x8 images with labels 0..9.
    std::string dataset(const std::string& name, int count, int rows = 8) const {
        for (const char* split : {"train", "t10k"}) {
            std::vector<std::uint8_t> images = {0, 0, 8, 3}, labels = {0, 0, 8, 1};
            for (std::uint32_t d : {std::uint32_t(count), std::uint32_t(rows), 8u}) append_be32(images, d);
            append_be32(labels, std::uint32_t(count));
            for (int i = 0; i < count * rows * 8; ++i) images.push_back(std::uint8_t(i * 37));
            for (int i = 0; i < count; ++i) labels.push_back(std::uint8_t(i % 10));
            write(name + "/" + split + "-images-idx3-ubyte", images);
            write(name + "/" + split + "-labels-idx1-ubyte", labels);
        }
        return path(name);
    }

    // A small golden suite (a few cases of data/golden), its manifest changed by `edit`.
    std::string suite(const std::string& name, const std::function<void(Json&)>& edit) const {
        const std::set<std::string> keep = {"conv_k3_s2_p1_odd", "relu_backward_guided", "gap_forward_backward",
                                            "softmax_cross_entropy", "maxpool_3x3s2p1_ties", "net_all_cnn_a"};
        const std::vector<std::uint8_t> m = read_file_bytes("data/golden/manifest.json");
        Json manifest = parse_json(std::string(m.begin(), m.end()), "manifest.json");
        Json cases = Json::array();
        for (const Json& c : manifest.at("cases").items()) {
            if (!keep.count(c.at("name").str())) continue;
            cases.push(c);
            for (const char* group : {"inputs", "outputs"})
                for (const auto& [key, p] : c.at(group).members())
                    write(name + "/" + p.str(), read_file_bytes("data/golden/" + p.str()));
        }
        manifest.set("cases", cases);
        edit(manifest);
        text(name + "/manifest.json", manifest.dump());
        return path(name);
    }

private:
    static NpzEntries model_entries() {
        Model m;
        m.arch = parse_arch("input 1x8x8; conv 4 k3 p1; relu; maxpool k3 s2 p1; conv 10 k3 s2 p1; relu; gap; softmax");
        m.params = init_params<float>(m.arch, 7);
        for (Tensor<float>& b : m.params.bias) std::fill(b.data.begin(), b.data.end(), 0.1f);
        m.mean = {0.5f};
        m.std = {0.25f};
        return model_to_npz(m);
    }
    std::string root_;
    NpzEntries model_;
};

NpyArray& entry(NpzEntries& e, const std::string& key) {
    for (auto& [k, a] : e)
        if (k == key) return a;
    throw std::logic_error("no entry " + key);
}

void set_float(NpzEntries& e, const std::string& key, std::size_t i, float v) {
    std::vector<float> f = entry(e, key).to_float();
    f[i] = v;
    entry(e, key) = NpyArray::from_float(f, entry(e, key).shape);
}

void drop(NpzEntries& e, const std::string& key) {
    for (std::size_t i = 0; i < e.size(); ++i)
        if (e[i].first == key) {
            e.erase(e.begin() + long(i));
            return;
        }
}

// A model whose arch entry is `spec`.
std::function<void(NpzEntries&)> with_arch(const std::string& spec) {
    return [spec](NpzEntries& e) { entry(e, "arch") = NpyArray::from_bytes(spec); };
}

// ---- the cases ---------------------------------------------------------------

// Model files: what loading must refuse. Each is tried with predict and with
// one of visualize, export, eval, top-patches in turn.
std::vector<std::string> model_files(const Workspace& w) {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    std::vector<std::string> f = {
        w.model("m_nan_weight.npz", [&](NpzEntries& e) { set_float(e, "conv1.weight", 0, nan); }),
        w.model("m_inf_bias.npz", [&](NpzEntries& e) { set_float(e, "conv2.bias", 1, inf); }),
        w.model("m_nan_mean.npz", [&](NpzEntries& e) { set_float(e, "input.mean", 0, nan); }),
        w.model("m_zero_std.npz", [&](NpzEntries& e) { set_float(e, "input.std", 0, 0); }),
        w.model("m_negative_std.npz", [&](NpzEntries& e) { set_float(e, "input.std", 0, -1); }),
        w.model("m_huge_double.npz", [&](NpzEntries& e) {
            std::vector<double> v = entry(e, "conv1.weight").to_double();
            v[3] = 1e300; // finite in double, infinite as a float
            entry(e, "conv1.weight") = NpyArray::from_double(v, entry(e, "conv1.weight").shape);
        }),
        w.model("m_short_bias.npz", [&](NpzEntries& e) { entry(e, "conv1.bias") = NpyArray::from_float({0, 0, 0}, {3}); }),
        w.model("m_weight_shape.npz", [&](NpzEntries& e) { entry(e, "conv1.weight").shape = {4, 1, 9, 1}; }),
        w.model("m_missing_weight.npz", [&](NpzEntries& e) { drop(e, "conv2.weight"); }),
        w.model("m_missing_std.npz", [&](NpzEntries& e) { drop(e, "input.std"); }),
        w.model("m_mean_length.npz", [&](NpzEntries& e) { entry(e, "input.mean") = NpyArray::from_float({0, 1}, {2}); }),
        w.model("m_weight_bytes.npz", [&](NpzEntries& e) { entry(e, "conv2.bias") = NpyArray::from_bytes("0123456789"); }),
        w.model("m_arch_overflow.npz", with_arch("input 1x2x2; conv 1024 k1 p67108863; relu; gap")),
        w.model("m_arch_huge.npz", with_arch("input 1x2x2; conv 25000 k1; conv 25000 k1; gap")),
        w.model("m_arch_no_gap.npz", with_arch("input 1x8x8; conv 10 k3")),
        w.model("m_arch_empty.npz", with_arch("")),
        w.model("m_arch_no_layers.npz", with_arch("input 1x8x8")),
        w.model("m_arch_softmax_only.npz", with_arch("input 10x1x1; softmax")),
        w.model("m_arch_unknown.npz", with_arch("input 1x8x8; batchnorm")),
        w.model("m_arch_two_inputs.npz", with_arch("input 1x8x8; input 1x8x8; gap")),
        w.model("m_arch_big.npz", with_arch("input 1x8x8\n" + std::string(2 << 20, '\n') + "gap")),
        w.model("m_arch_float.npz", [&](NpzEntries& e) { entry(e, "arch") = NpyArray::from_float({1, 2}, {2}); }),
        w.model("m_arch_2d.npz", [&](NpzEntries& e) {
            NpyArray& a = entry(e, "arch");
            a.shape = {1, long(a.bytes.size())};
        }),
        w.model("m_two_arch.npz", [&](NpzEntries& e) { e.emplace_back("arch", NpyArray::from_bytes("input 1x8x8; gap")); }),
        w.text("m_not_a_zip.npz", "this is not a zip file"),
        w.text("m_empty.npz", ""),
    };
    // Byte-level damage to the good file.
    const std::vector<std::uint8_t> good = read_file_bytes(w.path("good.npz"));
    for (int k = 1; k <= 10; ++k)
        f.push_back(w.write("m_truncated_" + std::to_string(k) + ".npz",
                            std::vector<std::uint8_t>(good.begin(), good.begin() + long(good.size() * k / 11))));
    const std::size_t end = good.size() - 22; // the end-of-directory record (no comment)
    const std::uint32_t cd = load_le32(good.data() + end + 16);
    const auto patched = [&](const std::string& name, std::size_t at, std::uint32_t value, int width = 4) {
        std::vector<std::uint8_t> b = good;
        for (int i = 0; i < width; ++i) b[at + i] = std::uint8_t(value >> (8 * i));
        return w.write(name, b);
    };
    f.push_back(patched("m_cd_offset_wraps.npz", end + 16, 0xFFFFFFF0u));
    f.push_back(patched("m_cd_size_huge.npz", end + 12, 0x7FFFFFFFu));
    f.push_back(patched("m_zip64_no_locator.npz", end + 10, 0xFFFF, 2));
    f.push_back(patched("m_entry_count.npz", end + 10, 0x7FFF, 2));
    f.push_back(patched("m_local_offset_wraps.npz", cd + 42, 0xFFFFFFF0u));
    f.push_back(patched("m_local_offset_past.npz", cd + 42, 0x7FFFFFFFu));
    f.push_back(patched("m_compressed_size.npz", cd + 20, 0x7FFFFFFFu));
    f.push_back(patched("m_name_length.npz", cd + 28, 0xFFFF, 2));
    f.push_back(patched("m_extra_length.npz", cd + 30, 0xFFFF, 2));
    f.push_back(patched("m_method.npz", cd + 10, 99, 2));
    f.push_back(patched("m_crc.npz", cd + 16, 0x12345678u));
    {   // ZIP64: an end record that says "look elsewhere", a locator pointing far past the end
        std::vector<std::uint8_t> b(good.begin(), good.begin() + long(end));
        append_le32(b, 0x07064b50);
        append_le32(b, 0);
        append_le64(b, 0xFFFFFFFFFFFFFF00ull);
        append_le32(b, 1);
        b.insert(b.end(), good.begin() + long(end), good.end());
        for (int i = 0; i < 4; ++i) b[b.size() - 22 + 16 + i] = 0xFF;
        f.push_back(w.write("m_zip64_locator_wraps.npz", b));
    }
    {   // a deflated entry declaring 1 GiB (a bomb's header), whose .npy header says otherwise
        std::vector<ZipEntry> entries;
        for (const auto& [k, a] : w.good_model()) entries.push_back(ZipEntry{k + ".npy", npy_encode(a)});
        std::vector<std::uint8_t> b = zip_encode(entries);
        const std::size_t e2 = b.size() - 22, cd2 = load_le32(b.data() + e2 + 16);
        // Turn the first entry (arch) into a deflate stream of one stored block: method 8, same bytes + 5.
        const std::uint32_t size = load_le32(b.data() + 18), name_len = load_le16(b.data() + 26);
        std::vector<std::uint8_t> out(b.begin(), b.begin() + 30 + name_len);
        out.push_back(1);
        append_le16(out, std::uint16_t(size));
        append_le16(out, std::uint16_t(~size));
        out.insert(out.end(), b.begin() + 30 + name_len, b.begin() + 30 + name_len + size);
        const std::uint32_t shift = 5;
        out.insert(out.end(), b.begin() + 30 + name_len + size, b.end());
        out[8] = 8; // local header: method deflate
        for (int i = 0; i < 4; ++i) out[18 + i] = std::uint8_t((size + 5) >> (8 * i)); // compressed size
        for (int i = 0; i < 4; ++i) out[22 + i] = std::uint8_t((1u << 30) >> (8 * i)); // declared size: 1 GiB
        const std::size_t c = cd2 + shift;
        out[c + 10] = 8;
        for (int i = 0; i < 4; ++i) out[c + 20 + i] = std::uint8_t((size + 5) >> (8 * i));
        for (int i = 0; i < 4; ++i) out[c + 24 + i] = std::uint8_t((1u << 30) >> (8 * i));
        // later local headers moved by 5 bytes: fix every central record's offset, and the directory's
        for (std::size_t p = c, n = 0; n < entries.size(); ++n) {
            const std::uint32_t off = load_le32(out.data() + p + 42);
            if (off > 0)
                for (int i = 0; i < 4; ++i) out[p + 42 + i] = std::uint8_t((off + shift) >> (8 * i));
            p += 46 + load_le16(out.data() + p + 28) + load_le16(out.data() + p + 30) + load_le16(out.data() + p + 32);
        }
        for (int i = 0; i < 4; ++i) out[out.size() - 22 + 16 + i] = std::uint8_t((cd2 + shift) >> (8 * i));
        f.push_back(w.write("m_deflate_bomb.npz", out));
    }
    f.push_back(w.model("m_npy_shape_huge.npz", [&](NpzEntries& e) { entry(e, "conv1.bias").shape = {99999999, 99999}; }));
    f.push_back(w.model("m_npy_truncated.npz", [&](NpzEntries& e) { entry(e, "conv2.weight").bytes.resize(17); }));
    fs::create_directories(w.path("m_a_folder.npz"));
    f.push_back(w.path("m_a_folder.npz"));
    f.push_back(w.path("m_missing.npz"));
    std::error_code ec;
    fs::create_symlink("/dev/zero", w.path("m_dev_zero.npz"), ec);
    if (!ec) f.push_back(w.path("m_dev_zero.npz"));
    return f;
}

std::vector<Case> model_cases(const Workspace& w) {
    std::vector<Case> cases;
    const std::vector<std::string> files = model_files(w);
    const std::string img = w.path("img.pgm"), data = w.path("data");
    for (std::size_t i = 0; i < files.size(); ++i) {
        const std::string& m = files[i];
        const std::string name = fs::path(m).filename().string();
        cases.push_back({"predict --model " + m + " " + img, name});
        const std::string others[4] = {"visualize --model " + m + " " + img + " --out " + w.out("v.png"),
                                       "export --model " + m + " --onnx " + w.out("m.onnx"),
                                       "eval --model " + m + " --data " + data,
                                       "top-patches --model " + m + " --layer conv1 --data " + data + " --out " + w.out("t.png")};
        cases.push_back({others[i % 4], name});
    }
    return cases;
}

// A spec whose 9x9 kernel does not fit its 4x4 input (used by two groups).
const char* const kernel_larger_than_input = "input 1x4x4; conv 2 k9";

std::vector<Case> spec_cases(const Workspace& w) {
    const std::vector<std::pair<std::string, std::string>> specs = {
        {"s_overflow.spec", "input 1x2x2; conv 1024 k1 p67108863"},
        {"s_params.spec", "input 1x2x2; conv 25000 k1; conv 25000 k1"},
        {"s_memory.spec", "input 200x1024x1024; conv 200 k3 p1; conv 200 k3 p1"},
        {"s_kernel.spec", kernel_larger_than_input},
        {"s_stride0.spec", "input 1x4x4; conv 2 k3 s0"},
        {"s_pool_pad.spec", "input 1x4x4; maxpool k2 p2"},
        {"s_pool_pad_huge.spec", "input 1x4x4; maxpool k3 p99999999"},
        {"s_dropout.spec", "input 1x4x4; dropout 1.5"},
        {"s_dropout_nan.spec", "input 1x4x4; dropout nan"},
        {"s_no_input.spec", "conv 2 k3"},
        {"s_input_zero.spec", "input 0x4x4"},
        {"s_input_huge.spec", "input 99999999x99999999x99999999"},
        {"s_number.spec", "input 1x4x4; conv 2 k3x"},
        {"s_negative.spec", "input 1x4x4; conv -2 k3"},
        {"s_softmax.spec", "input 1x4x4; softmax"},
        {"s_empty.spec", "# nothing\n"},
    };
    std::vector<Case> cases;
    for (const auto& [name, text] : specs) {
        const std::string path = w.text(name, text);
        cases.push_back({"describe " + path, name});
        cases.push_back({"export --model " + path + " --onnx " + w.out("s.onnx"), name});
    }
    cases.push_back({"train --model " + w.path("s_kernel.spec") + " --data " + w.path("data") + " --out " + w.out("t.npz"),
                     "s_kernel.spec"});
    return cases;
}

std::vector<Case> image_cases(const Workspace& w) {
    const std::vector<std::pair<std::string, std::string>> pnm = {
        {"i_magic.pgm", "P2\n8 8\n255\n"},       {"i_maxval.pgm", "P5\n8 8\n65535\n"},
        {"i_maxval0.pgm", "P5\n8 8\n0\n"},        {"i_size0.pgm", "P5\n0 8\n255\n"},
        {"i_huge.ppm", "P6\n16384 16384\n255\n"}, {"i_truncated.pgm", "P5\n8 8\n255\nabc"},
        {"i_header.pgm", "P5\n8"},                 {"i_number.pgm", "P5\n99999999999 8\n255\n"},
    };
    std::vector<Case> cases;
    const std::string m = w.path("good.npz");
    for (const auto& [name, text] : pnm) cases.push_back({"predict --model " + m + " " + w.text(name, text), name});
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const std::vector<std::pair<std::string, NpyArray>> npy = {
        {"i_nan.npy", NpyArray::from_float({nan, 0, 0, 0}, {2, 2})},
        {"i_5d.npy", NpyArray::from_float({0}, {1, 1, 1, 1, 1})},
        {"i_channels.npy", NpyArray::from_float(std::vector<float>(3 * 64, 0.5f), {3, 8, 8})},
        {"i_size.npy", NpyArray::from_float(std::vector<float>(49, 0.5f), {7, 7})},
        {"i_empty.npy", NpyArray::from_float({}, {0, 8})},
    };
    for (const auto& [name, a] : npy)
        cases.push_back({"visualize --model " + m + " " + w.write(name, npy_encode(a)) + " --out " + w.out("i.png"), name});
    return cases;
}

std::vector<Case> golden_cases(const Workspace& w) {
    using Edit = std::function<void(Json&)>;
    const auto first_case = [](Json& m, const std::string& name) -> Json& {
        for (std::size_t i = 0; i < m.at("cases").items().size(); ++i)
            if (m.at("cases").items()[i].at("name").str() == name) return m.at("cases").item(i);
        throw std::logic_error(name);
    };
    const std::vector<std::tuple<std::string, Edit, std::string>> edits = {
        {"g_dev_zero", [&](Json& m) { first_case(m, "gap_forward_backward").at("inputs").set("x", "../../../../../../dev/zero"); }, "not a plain path"},
        {"g_absolute", [&](Json& m) { first_case(m, "gap_forward_backward").at("inputs").set("x", "/etc/passwd"); }, "not a plain path"},
        {"g_no_cases", [](Json& m) { m.set("cases", Json::array()); }, "no case"},
        {"g_version", [](Json& m) { m.set("format_version", 1); }, "format_version"},
        {"g_unknown_op", [&](Json& m) { first_case(m, "gap_forward_backward").set("op", "batchnorm"); }, "unknown golden operation"},
        {"g_kernel", [&](Json& m) { first_case(m, "conv_k3_s2_p1_odd").at("params").set("kernel", 99999); }, "kernel"},
        {"g_stride0", [&](Json& m) { first_case(m, "conv_k3_s2_p1_odd").at("params").set("stride", 0); }, "stride"},
        {"g_rule", [&](Json& m) { first_case(m, "relu_backward_guided").at("params").set("rule", "magic"); }, "unknown rule"},
        {"g_spec", [&](Json& m) { first_case(m, "net_all_cnn_a").at("params").set("spec", "input 1x2x2; conv 1024 k1 p67108863; gap"); }, "spec"},
        {"g_unit", [&](Json& m) { first_case(m, "net_all_cnn_a").at("params").at("targets").item(1) = "unit:conv1:999:0:0"; }, "999"},
        {"g_class", [&](Json& m) { first_case(m, "net_all_cnn_a").at("params").at("targets").item(0) = "class:99"; }, "99"},
        {"g_two_classes", [&](Json& m) { first_case(m, "net_all_cnn_a").at("params").at("targets").item(1) = "class:1"; }, "two targets"},
        {"g_image", [&](Json& m) { first_case(m, "net_all_cnn_a").at("params").set("signal_image", 7); }, "signal_image"},
        {"g_negative_tol", [&](Json& m) {
             first_case(m, "gap_forward_backward").at("tolerance").at("float32").at("y").set("rtol", -1.0);
         }, "negative"},
        {"g_no_outputs", [&](Json& m) { first_case(m, "gap_forward_backward").set("outputs", Json::object()); }, "no outputs"},
    };
    std::vector<Case> cases;
    for (const auto& [name, edit, says] : edits) // a manifest that lists no case, or another version: one error line
        cases.push_back({"golden check " + w.suite(name, edit), says, name != "g_no_cases" && name != "g_version"});
    // Arrays that do not fit their case.
    const auto array_case = [&](const std::string& name, const std::string& file, const NpyArray& a, const std::string& says) {
        const std::string dir = w.suite(name, [](Json&) {});
        write_file_atomic(dir + "/" + file, npy_encode(a));
        cases.push_back({"golden check " + dir, says, true});
    };
    array_case("g_short_bias", "conv_k3_s2_p1_odd/b.npy", NpyArray::from_float({1, 2}, {2}), "b has shape 2");
    array_case("g_relu_short", "relu_backward_guided/r.npy", NpyArray::from_float({1, 2, 3}, {1, 1, 1, 3}), "r has shape");
    array_case("g_gap_dy", "gap_forward_backward/dy.npy", NpyArray::from_float({1, 2, 3}, {1, 3}), "dy has shape");
    array_case("g_labels", "softmax_cross_entropy/labels.npy", NpyArray::from_int64({1, 2, 3, 4, 5}, {5}), "labels has 5");
    array_case("g_label_range", "softmax_cross_entropy/labels.npy", NpyArray::from_int64({1, 2, 300}, {3}), "300");
    array_case("g_net_weight", "net_all_cnn_a/conv1.weight.npy", NpyArray::from_float({1}, {1, 1, 1, 1}), "conv1.weight");
    array_case("g_nan_input", "gap_forward_backward/x.npy",
               NpyArray::from_float(std::vector<float>(120, std::numeric_limits<float>::quiet_NaN()), {2, 3, 5, 4}), "NaN");
    array_case("g_x_4d", "conv_k3_s2_p1_odd/x.npy", NpyArray::from_float({1, 2}, {2}), "x has 1 dimensions");
    array_case("g_labels_fraction", "net_all_cnn_a/labels.npy", NpyArray::from_double({1.5, 2}, {2}), "1.5");
    // Manifests that are not JSON a strict reader accepts, or not there.
    for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
             {"g_json_01", "{\"format_version\": 02, \"cases\": []}"},
             {"g_json_1dot", "{\"format_version\": 2., \"cases\": []}"},
             {"g_json_dup", "{\"format_version\": 2, \"format_version\": 2, \"cases\": []}"},
             {"g_json_deep", std::string(1000, '[')},
             {"g_json_trailing", "{\"format_version\": 2, \"cases\": [],}"}}) {
        w.text(name + "/manifest.json", text);
        cases.push_back({"golden check " + w.path(name), "manifest.json"});
    }
    cases.push_back({"golden check " + w.path("g_nothing_here"), "manifest.json"});
    return cases;
}

std::vector<Case> dataset_cases(const Workspace& w) {
    std::vector<Case> cases;
    const std::string m = w.path("good.npz"), out = " --out " + w.out("d.npz");
    w.dataset("d_empty", 0);
    cases.push_back({"train --model " + w.path("s_ok.spec") + " --data " + w.path("d_empty") + out, "holds no images"});
    w.dataset("d_rows", 4, 7); // 7x8 images: not the model's 8x8
    cases.push_back({"eval --model " + m + " --data " + w.path("d_rows"), "does not fit"});
    const auto damaged = [&](const std::string& name, const std::string& file, const std::vector<std::uint8_t>& bytes,
                             const std::string& says) {
        w.dataset(name, 4);
        w.write(name + "/" + file, bytes);
        cases.push_back({"eval --model " + m + " --data " + w.path(name), says});
        cases.push_back({"extract --index 0 --out-dir " + w.path("out") + " --data " + w.path(name), says});
    };
    damaged("d_magic", "t10k-images-idx3-ubyte", {0, 0, 9, 3, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 8}, "bad magic");
    damaged("d_truncated", "t10k-images-idx3-ubyte", {0, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 8, 0, 0, 0, 8, 1, 2}, "truncated");
    damaged("d_labels", "t10k-labels-idx1-ubyte", {0, 0, 8, 1, 0, 0, 0, 4, 1, 2, 3, 200}, "label 200");
    damaged("d_count", "t10k-labels-idx1-ubyte", {0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3}, "3 labels for 4 images");
    damaged("d_dims", "t10k-images-idx3-ubyte", {0, 0, 8, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 8}, "absurdly large");
    // A gzip whose IDX header promises 4 images of 8x8 and whose stream keeps going: stopped at the promise.
    std::vector<std::uint8_t> idx = {0, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 8, 0, 0, 0, 8};
    idx.resize(idx.size() + 4 * 64 + 60000, 7);
    std::vector<std::uint8_t> gz = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    for (std::size_t at = 0; at < idx.size(); at += 65535) { // stored deflate blocks
        const std::size_t n = std::min<std::size_t>(65535, idx.size() - at);
        gz.push_back(at + n == idx.size() ? 1 : 0);
        append_le16(gz, std::uint16_t(n));
        append_le16(gz, std::uint16_t(~n));
        gz.insert(gz.end(), idx.begin() + long(at), idx.begin() + long(at + n));
    }
    append_le32(gz, crc32(idx.data(), idx.size()));
    append_le32(gz, std::uint32_t(idx.size()));
    w.dataset("d_gzip", 4);
    fs::remove(w.path("d_gzip/t10k-images-idx3-ubyte"));
    w.write("d_gzip/t10k-images-idx3-ubyte.gz", gz);
    cases.push_back({"eval --model " + m + " --data " + w.path("d_gzip"), "larger than the allowed"});
    w.dataset("d_zero", 4);
    fs::remove(w.path("d_zero/t10k-images-idx3-ubyte"));
    std::error_code ec;
    fs::create_symlink("/dev/zero", w.path("d_zero/t10k-images-idx3-ubyte"), ec);
    if (!ec) cases.push_back({"eval --model " + m + " --data " + w.path("d_zero"), "not a regular file"});
    cases.push_back({"train --model all-cnn-c --data " + w.path("nowhere") + out, "dataset-fashion-mnist"});
    return cases;
}

std::vector<Case> checkpoint_cases(const Workspace& w) {
    std::vector<Case> cases;
    const Model good = model_from_npz(w.good_model(), "good");
    const TrainState s{good, zero_params<float>(good.arch), 1};
    const std::string data = " --data " + w.path("data") + " --out " + w.out("r.npz") + " --epochs 2";
    const std::vector<std::tuple<std::string, Settings, std::string>> bad = {
        {"c_seed_nan.npz", {{"seed", {std::nan("")}}}, "train.seed"},
        {"c_seed_negative.npz", {{"seed", {-3}}}, "train.seed"},
        {"c_seed_huge.npz", {{"seed", {1e300}}}, "train.seed"},
        {"c_seed_fraction.npz", {{"seed", {1.5}}}, "train.seed"},
        {"c_batch_zero.npz", {{"batch", {0}}}, "train.batch"},
        {"c_lr_two.npz", {{"lr", {0.1, 0.2}}}, "train.lr"},
        {"c_steps_fraction.npz", {{"lr_steps", {2.5}}}, "train.lr_steps"},
    };
    for (const auto& [name, settings, says] : bad) {
        save_checkpoint(w.path(name), s, settings);
        cases.push_back({"train --resume " + w.path(name) + data, says});
    }
    save_checkpoint(w.path("c_ok.npz"), s, {{"seed", {3}}, {"batch", {8}}});
    cases.push_back({"train --resume " + w.path("c_ok.npz") + data + " --batch 16", "--batch"});
    cases.push_back({"train --resume " + w.path("c_ok.npz") + data + " --seed 4", "--seed"});
    cases.push_back({"train --resume " + w.path("c_ok.npz") + data + " --model all-cnn-c", "--model"});
    cases.push_back({"train --resume " + w.path("c_ok.npz") + " --data " + w.path("data") + " --out " + w.path("c_ok.npz"), "--out"});
    NpzEntries epochs = w.good_model();
    for (const auto& p : params_to_npz(good.arch, s.velocity, "velocity.")) epochs.push_back(p);
    for (double v : {-1.0, 2.5, 1e9}) {
        NpzEntries e = epochs;
        e.emplace_back("train.epochs_done", NpyArray::from_double({v}, {1}));
        const std::string name = "c_epochs_" + std::to_string(int(v * 10)) + ".npz";
        w.write(name, npz_encode(e));
        cases.push_back({"train --resume " + w.path(name) + data, "epochs_done"});
    }
    cases.push_back({"train --resume " + w.path("good.npz") + data, "velocity"});
    return cases;
}

// Argument lists: usage errors, outputs that cannot be written, outputs that are inputs.
std::vector<Case> argument_cases(const Workspace& w) {
    const std::string m = w.path("good.npz"), img = w.path("img.pgm"), data = " --data " + w.path("data");
    const std::string spec = w.path("s_ok.spec");
    w.text("s_kernel.spec", kernel_larger_than_input);
    return {
        {"frobnicate", "frobnicate"},
        {"predict", "--model"},
        {"predict --model " + m, "image"},
        {"predict --model " + m + " " + img + " --top 0", "--top"},
        {"predict --model " + m + " " + img + " --top 11", "--top"},
        {"predict --model " + m + " " + img + " --threads 0", "--threads"},
        {"predict --model " + m + " " + img + " --bogus", "--bogus"},
        {"visualize --model " + m + " " + img, "--out"},
        {"visualize --model " + m + " " + img + " --out \"\"", "--out"},
        {"visualize --model " + m + " " + img + " --out " + w.path("out"), "--out"},
        {"visualize --model " + m + " " + img + " --out " + w.path("no/such/dir/x.png"), "--out"},
        {"visualize --model " + m + " " + img + " --out " + w.out("x.png") + " --raw " + w.path("no/such/r.npy"), "--raw"},
        {"visualize --model " + m + " " + img + " --out " + w.out("x.png") + " --raw " + w.out("x.png"), "--raw"},
        {"visualize --model " + m + " " + img + " --out " + img, "--out"},
        {"visualize --model " + m + " " + img + " --out " + m, "--out"},
        {"visualize --model " + m + " " + img + " --out " + w.out("x.png") + " --rule magic", "--rule"},
        {"visualize --model " + m + " " + img + " --out " + w.out("x.png") + " --target class:99", "--target"},
        {"visualize --model " + m + " " + img + " --out " + w.out("x.png") + " --target unit:conv9:0:0:0", "--target"},
        {"visualize --model " + m + " " + img + " --out " + w.out("x.png") + " --target unit:conv1:0:99:0", "--target"},
        {"visualize --model " + m + " " + img + " --out " + w.out("x.png") + " --target nonsense", "--target"},
        {"visualize --model " + m + " " + img + " --out " + w.out("x.png") + " --display loud", "--display"},
        {"visualize --model " + m + " " + img + " --out " + w.out("x.png") + " --scale 0", "--scale"},
        {"visualize --model " + m + " " + img + " " + w.path("missing.pgm") + " --out " + w.out("x.png"), "missing.pgm"},
        {"export --model " + m + " --onnx " + m, "--onnx"},
        {"export --model " + m + " --onnx \"\"", "--onnx"},
        {"export --model " + m, "--onnx"},
        {"export --model all-cnn-c --onnx " + w.out("x.onnx") + " --width 0", "--width"},
        {"export --model " + spec + " --onnx " + w.out("x.onnx") + " --width 2", "--width"},
        {"describe " + spec + " --input 1x8x8", "--input"},
        {"describe all-cnn-c --input 3x32", "--input"},
        {"describe all-cnn-c --classes 0", "--classes"},
        {"describe all-cnn-imagenet --input 3x4x4", "all-cnn-imagenet"},
        {"describe nosuchmodel", "nosuchmodel"},
        {"models extra", "models"},
        {"top-patches --model " + m + " --layer conv1 --out " + w.out("t.png") + " --units \"\"" + data, "--units"},
        {"top-patches --model " + m + " --layer conv1 --out " + w.out("t.png") + " --units 3x-5" + data, "--units"},
        {"top-patches --model " + m + " --layer conv1 --out " + w.out("t.png") + " --units abc-2" + data, "--units"},
        {"top-patches --model " + m + " --layer conv1 --out " + w.out("t.png") + " --units -3" + data, "--units"},
        {"top-patches --model " + m + " --layer conv1 --out " + w.out("t.png") + " --units 2-1" + data, "--units"},
        {"top-patches --model " + m + " --layer conv1 --out " + w.out("t.png") + " --units 0-99" + data, "--units"},
        {"top-patches --model " + m + " --layer conv7 --out " + w.out("t.png") + data, "--layer"},
        {"top-patches --model " + m + " --layer conv1 --out " + m + data, "--out"},
        {"extract --index 0,1,99999 --out-dir " + w.path("out") + data, "--index"},
        {"extract --index 0,,1 --out-dir " + w.path("out") + data, "--index"},
        {"extract --index 0 --out-dir \"\"" + data, "--out-dir"},
        {"extract --index 0 --out-dir " + w.path("no/such/dir") + data, "--out-dir"},
        {"extract --index 0 --out-dir " + w.out("out") + data + " --split dev", "--split"},
        {"golden write \"\"", "empty"},
        {"golden write " + w.path("img.pgm"), "img.pgm"},
        {"golden write " + w.path("data"), "manifest.json"},
        {"golden check", "golden"},
        {"golden check \"\"", "empty"},
        {"golden check " + w.path("suite") + " --precision float16", "--precision"},
        {"golden check " + w.path("suite") + " --backend-outputs \"\"", "--backend-outputs"},
        {"golden frobnicate x", "golden"},
        {"bench --json " + w.path("no/such/dir/x.json") + " --reps 1", "--json"},
        {"bench --batch 0", "--batch"},
        {"train --model " + spec + " --out \"\"" + data, "--out"},
        {"train --model " + spec + " --out " + w.path("out") + data, "--out"},
        {"train --model " + spec + " --out " + w.out("x.npz") + " --checkpoint " + w.out("x.npz") + data, "--checkpoint"},
        {"train --model " + spec + " --out " + w.path("no/such/x.npz") + data, "--out"},
        {"train --model " + spec + " --out " + w.out("x.npz") + " --width 0" + data, "--width"},
        {"train --model " + spec + " --out " + w.out("x.npz") + " --lr-steps 2,x" + data, "--lr-steps"},
        {"train --model " + spec + " --out " + w.out("x.npz") + " --lr -1" + data, "--lr"},
        {"train --model " + spec + " --out " + w.out("x.npz") + " --batch 0" + data, "--batch"},
        {"train --model " + spec + " --out " + w.out("x.npz") + " --dropout-input 1" + data, "--dropout-input"},
        {"train --out " + w.out("x.npz") + data, "--model"},
        {"train --model " + w.path("s_kernel.spec") + " --out " + w.out("x.npz") + data, "s_kernel.spec"},
        {"eval --model " + m + " --limit -1" + data, "--limit"},
        {"onnx-tests", "folder"},
        {"onnx-tests " + w.path("nowhere"), "nowhere"},
        {"onnx-tests " + w.path("out"), "no ONNX test"},
    };
}

// The files under a folder (all of them, or its top level only), with their
// sizes: nothing may appear, vanish or change.
std::map<std::string, std::uintmax_t> listing(const std::string& root, bool recursive = true) {
    std::map<std::string, std::uintmax_t> files;
    const auto add = [&](const fs::directory_entry& e) {
        std::error_code ec;
        const auto size = e.is_regular_file(ec) ? e.file_size(ec) : 0;
        files[fs::relative(e.path(), root).generic_string()] = size;
    };
    if (recursive)
        for (const auto& e : fs::recursive_directory_iterator(root)) add(e);
    else
        for (const auto& e : fs::directory_iterator(root)) add(e);
    return files;
}

// Every case of one group (its own workspace), each checked as it runs.
// The groups are separate tests so that make test's shards share them out.
void run_hostile(std::vector<Case> (*make_cases)(const Workspace&), std::size_t at_least) {
    if (!fs::exists("data/golden/manifest.json")) GTEST_SKIP() << "run from the repository root";
    const Workspace w;
    const std::vector<Case> cases = make_cases(w);
    const auto before = listing(w.root()), top = listing(w.root(), false), outputs = listing(w.out(""), false);
    for (const Case& c : cases) {
        const allconv::testing::Outcome r = allconv::testing::run_allconv(c.args);
        const std::string shown = "allconv " + c.args + "\n  exit " + std::to_string(r.status) + "\n  stderr: " + r.err +
                                  "\n  stdout: " + r.out.substr(0, 2000);
        if (c.golden) {
            EXPECT_EQ(r.status, 1) << shown;
            EXPECT_NE(r.out.find("FAIL"), std::string::npos) << shown;
            EXPECT_NE(r.out.find(c.names), std::string::npos) << shown;
            EXPECT_EQ(r.err, "") << shown;
        } else {
            EXPECT_TRUE(r.status == 1 || r.status == 2) << shown;
            EXPECT_EQ(allconv::testing::lines(r.err), 1) << shown;
            EXPECT_EQ(r.err.rfind("allconv: ", 0), 0u) << shown;
            EXPECT_NE(r.err.find(c.names), std::string::npos) << shown;
        }
        // Where outputs go, after every case; the whole workspace once at the end.
        EXPECT_TRUE(listing(w.root(), false) == top && listing(w.out(""), false) == outputs) << shown << "\n  a file was left behind";
    }
    EXPECT_TRUE(listing(w.root()) == before) << "the workspace changed";
    EXPECT_GE(cases.size(), at_least) << "fewer cases than this group is known to hold";
    std::printf("[ %zu hostile cases ]\n", cases.size());
}

} // namespace

// In this order (the heaviest first, in turn), make test's two shards get about equal shares.
TEST(Hostile, ModelFiles) { run_hostile(model_cases, 100); }
TEST(Hostile, GoldenSuites) { run_hostile(golden_cases, 28); }
TEST(Hostile, ArchitectureSpecs) { run_hostile(spec_cases, 30); }
TEST(Hostile, Arguments) { run_hostile(argument_cases, 70); }
TEST(Hostile, Images) { run_hostile(image_cases, 12); }
TEST(Hostile, Datasets) { run_hostile(dataset_cases, 14); }
TEST(Hostile, Checkpoints) { run_hostile(checkpoint_cases, 15); }
