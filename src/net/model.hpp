// model: a trained network as one file: architecture, weights and the input
// normalisation, in a .npz that numpy.load opens; and a training checkpoint,
// the same file with what it takes to continue the run exactly.
//   arch          |u1  the spec text
//   convK.weight  <f4  (O, C, k, k)        convK.bias  <f4  (O,)
//   input.mean    <f4  (C,)                input.std   <f4  (C,)
// Pixels are scaled to [0, 1], then (x - mean[c]) / std[c].
#pragma once
#include <string>
#include <vector>

#include "../io/npy.hpp"
#include "arch.hpp"
#include "net.hpp"

namespace allconv {

struct Model {
    Arch arch;
    Params<float> params;
    std::vector<float> mean, std; // per input channel
};

// Parameter arrays named like a PyTorch state_dict.
NpzEntries params_to_npz(const Arch& arch, const Params<float>& params, const std::string& prefix = "");
// Fills params (shaped for arch) from entries; throws naming the file and array
// when one is missing or has the wrong shape.
void params_from_npz(const Arch& arch, const NpzEntries& entries, const std::string& file, Params<float>& params,
                     const std::string& prefix = "");

NpzEntries model_to_npz(const Model& m);
Model model_from_npz(const NpzEntries& entries, const std::string& file);
void save_model(const std::string& path, const Model& m); // atomic
Model load_model(const std::string& path);

// x (N, C, H, W) of pixels in [0, 1] -> normalised in place.
void normalise(const Model& m, Tensor<float>& x);

// A training run at the end of an epoch.
struct TrainState {
    Model model;
    Params<float> velocity; // SGD momentum buffers
    int epochs_done = 0;
};

// A run's settings as named numbers ("seed", "batch", "lr", ...): what a
// resumed run must keep to continue exactly. Stored as train.<name> arrays.
using Settings = std::vector<std::pair<std::string, std::vector<double>>>;

// Checkpoint = model + velocity.* + train.epochs_done + train.<setting>.
void save_checkpoint(const std::string& path, const TrainState& s, const Settings& settings); // atomic
struct Checkpoint {
    TrainState state;
    Settings settings;
};
// Checks everything model_from_npz checks, the velocity like the weights,
// epochs_done a whole number from 0 to 100000, every setting finite.
Checkpoint load_checkpoint(const std::string& path);
Checkpoint checkpoint_from_npz(const NpzEntries& entries, const std::string& file);

} // namespace allconv
