// model: .npz save/load of architecture, parameters and normalisation.
#include "model.hpp"

#include <stdexcept>

namespace allconv {

NpzEntries params_to_npz(const Arch& arch, const Params<float>& params, const std::string& prefix) {
    NpzEntries out;
    for (std::size_t i = 0; i < arch.layers.size(); ++i) {
        const Layer& l = arch.layers[i];
        if (l.kind != LayerKind::conv) continue;
        out.emplace_back(prefix + l.name + ".weight", NpyArray::from_float(params.weight[i].data, {l.out_c, l.in.c, l.k, l.k}));
        out.emplace_back(prefix + l.name + ".bias", NpyArray::from_float(params.bias[i].data, {l.out_c}));
    }
    return out;
}

namespace {

// The array `key` of a file, checked: it exists, has exactly the shape the
// architecture needs, and holds only finite numbers. Nothing is allocated
// from the architecture's sizes before the file's array has been checked.
std::vector<float> checked_array(const NpzEntries& entries, const std::string& key, const std::string& file,
                                 const std::vector<long>& want) {
    const NpyArray& a = npz_get(entries, key, file);
    if (a.shape != want) {
        NpyArray expected;
        expected.shape = want;
        throw std::runtime_error(file + ": " + key + " has shape " + a.shape_string() + ", the architecture needs " +
                                 expected.shape_string());
    }
    if (a.dtype != "<f4" && a.dtype != "<f8")
        throw std::runtime_error(file + ": " + key + " holds " + a.dtype + ", not float32 or float64");
    return a.to_finite_float(file + ": " + key);
}

} // namespace

void params_from_npz(const Arch& arch, const NpzEntries& entries, const std::string& file, Params<float>& params,
                     const std::string& prefix) {
    params.weight.assign(arch.layers.size(), Tensor<float>());
    params.bias.assign(arch.layers.size(), Tensor<float>());
    for (std::size_t i = 0; i < arch.layers.size(); ++i) {
        const Layer& l = arch.layers[i];
        if (l.kind != LayerKind::conv) continue;
        params.weight[i].shape = Shape{l.out_c, l.in.c, l.k, l.k};
        params.weight[i].data = checked_array(entries, prefix + l.name + ".weight", file, {l.out_c, l.in.c, l.k, l.k});
        params.bias[i].shape = Shape{1, l.out_c, 1, 1};
        params.bias[i].data = checked_array(entries, prefix + l.name + ".bias", file, {l.out_c});
    }
}

NpzEntries model_to_npz(const Model& m) {
    NpzEntries out;
    out.emplace_back("arch", NpyArray::from_bytes(arch_spec(m.arch)));
    NpzEntries p = params_to_npz(m.arch, m.params);
    out.insert(out.end(), p.begin(), p.end());
    out.emplace_back("input.mean", NpyArray::from_float(m.mean, {long(m.mean.size())}));
    out.emplace_back("input.std", NpyArray::from_float(m.std, {long(m.std.size())}));
    return out;
}

Model model_from_npz(const NpzEntries& entries, const std::string& file) {
    Model m;
    const NpyArray& spec = npz_get(entries, "arch", file);
    if (spec.dtype != "|u1" || spec.shape.size() != 1)
        throw std::runtime_error(file + ": arch must be the spec text as a 1-D uint8 array");
    m.arch = parse_arch(spec.to_text(), file + ":arch");
    if (m.arch.layers.empty() || (m.arch.layers.size() == 1 && m.arch.layers[0].kind == LayerKind::softmax))
        throw std::runtime_error(file + ": the network has no layer that gives the class scores");
    const Layer& logits = m.arch.layers.at(m.arch.logits_layer());
    if (logits.out.h != 1 || logits.out.w != 1)
        throw std::runtime_error(file + ": the network gives " + chw_string(logits.out) +
                                 " values, not one per class (a model ends in 'gap', then optionally 'softmax')");
    params_from_npz(m.arch, entries, file, m.params);
    m.mean = checked_array(entries, "input.mean", file, {m.arch.input.c});
    m.std = checked_array(entries, "input.std", file, {m.arch.input.c});
    for (float s : m.std)
        if (!(s > 0)) throw std::runtime_error(file + ": input.std must be positive");
    return m;
}

void save_model(const std::string& path, const Model& m) { write_npz(path, model_to_npz(m)); }

Model load_model(const std::string& path) { return model_from_npz(read_npz(path), path); }

void normalise(const Model& m, Tensor<float>& x) {
    const std::size_t plane = x.shape.plane();
    for (int n = 0; n < x.shape.n; ++n)
        for (int c = 0; c < x.shape.c; ++c) {
            float* p = x.ptr() + (std::size_t(n) * x.shape.c + c) * plane;
            for (std::size_t i = 0; i < plane; ++i) p[i] = (p[i] - m.mean[c]) / m.std[c];
        }
}

void save_checkpoint(const std::string& path, const TrainState& s, const Settings& settings) {
    NpzEntries e = model_to_npz(s.model);
    NpzEntries v = params_to_npz(s.model.arch, s.velocity, "velocity.");
    e.insert(e.end(), v.begin(), v.end());
    e.emplace_back("train.epochs_done", NpyArray::from_double({double(s.epochs_done)}, {1}));
    for (const auto& [name, values] : settings)
        e.emplace_back("train." + name, NpyArray::from_double(values, {long(values.size())}));
    write_npz(path, e);
}

Checkpoint load_checkpoint(const std::string& path) { return checkpoint_from_npz(read_npz(path), path); }

Checkpoint checkpoint_from_npz(const NpzEntries& e, const std::string& path) {
    Checkpoint c;
    c.state.model = model_from_npz(e, path);
    params_from_npz(c.state.model.arch, e, path, c.state.velocity, "velocity.");
    const std::vector<double> done = npz_get(e, "train.epochs_done", path).to_finite_double(path + ": train.epochs_done");
    if (done.size() != 1 || !(done[0] >= 0 && done[0] <= 100000) || done[0] != double(long(done[0])))
        throw std::runtime_error(path + ": train.epochs_done must be one whole number from 0 to 100000");
    c.state.epochs_done = int(done[0]);
    for (const auto& [key, array] : e)
        if (key.rfind("train.", 0) == 0 && key != "train.epochs_done")
            c.settings.emplace_back(key.substr(6), array.to_finite_double(path + ": " + key));
    return c;
}

} // namespace allconv
