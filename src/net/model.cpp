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

void params_from_npz(const Arch& arch, const NpzEntries& entries, const std::string& file, Params<float>& params,
                     const std::string& prefix) {
    params = zero_params<float>(arch);
    for (std::size_t i = 0; i < arch.layers.size(); ++i) {
        const Layer& l = arch.layers[i];
        if (l.kind != LayerKind::conv) continue;
        for (int which = 0; which < 2; ++which) {
            std::string key = prefix + l.name + (which ? ".bias" : ".weight");
            const NpyArray& a = npz_get(entries, key, file);
            Tensor<float>& t = which ? params.bias[i] : params.weight[i];
            std::vector<long> want = which ? std::vector<long>{l.out_c} : std::vector<long>{l.out_c, l.in.c, l.k, l.k};
            if (a.shape != want) {
                std::string got, exp;
                for (long d : a.shape) got += (got.empty() ? "" : "x") + std::to_string(d);
                for (long d : want) exp += (exp.empty() ? "" : "x") + std::to_string(d);
                throw std::runtime_error(file + ": " + key + " has shape " + got + ", the architecture needs " + exp);
            }
            t.data = a.to_float();
        }
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
    m.arch = parse_arch(npz_get(entries, "arch", file).to_text(), file + ":arch");
    params_from_npz(m.arch, entries, file, m.params);
    m.mean = npz_get(entries, "input.mean", file).to_float();
    m.std = npz_get(entries, "input.std", file).to_float();
    if (int(m.mean.size()) != m.arch.input.c || int(m.std.size()) != m.arch.input.c)
        throw std::runtime_error(file + ": input.mean/input.std need one value per input channel");
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

void save_checkpoint(const std::string& path, const TrainState& s, std::uint64_t seed) {
    NpzEntries e = model_to_npz(s.model);
    NpzEntries v = params_to_npz(s.model.arch, s.velocity, "velocity.");
    e.insert(e.end(), v.begin(), v.end());
    e.emplace_back("train.epochs_done", NpyArray::from_double({double(s.epochs_done)}, {1}));
    e.emplace_back("train.seed", NpyArray::from_double({double(seed)}, {1}));
    write_npz(path, e);
}

Checkpoint load_checkpoint(const std::string& path) {
    const NpzEntries e = read_npz(path);
    Checkpoint c;
    c.state.model = model_from_npz(e, path);
    params_from_npz(c.state.model.arch, e, path, c.state.velocity, "velocity.");
    c.state.epochs_done = int(npz_get(e, "train.epochs_done", path).to_double().at(0));
    c.seed = std::uint64_t(npz_get(e, "train.seed", path).to_double().at(0));
    return c;
}

} // namespace allconv
