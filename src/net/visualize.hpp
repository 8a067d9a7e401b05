// visualize: what a unit "sees", by the three rules of the paper.
//
// Paper, claim 2: run a forward pass, set the top signal to 1 at one neuron
// (0 elsewhere), send it back to the input. Targets here:
//   class:K              the logit of class K (default: the predicted class)
//   unit:LAYER:C:Y:X     one neuron of a layer, as in the paper
//   channel:LAYER:C      the strongest activation of channel C in that image
#pragma once
#include <string>
#include <vector>

#include "net.hpp"

namespace allconv {

struct Target {
    enum class Kind { predicted_class, class_logit, unit, channel } kind = Kind::predicted_class;
    int layer = -1;           // index into arch.layers
    int c = 0, y = 0, x = 0;  // class index for class_logit; unit position for unit
};

// Parses a target and checks it against the architecture's shapes; throws
// std::invalid_argument naming the problem ("conv6 has 192 channels, not 200").
Target parse_target(const std::string& text, const Arch& arch);

// The seed: 1 at the chosen neuron of the target layer, 0 elsewhere, for a
// batch of one already run forward on `tape` (which must reach that layer).
template <class T>
Tensor<T> make_seed(const Arch& arch, const Tape<T>& tape, const Target& t, int& layer);

// Forward-pass-dependent seed, then backward under `rule`: the input-space signal.
Tensor<float> explain(const Arch& arch, const Params<float>& params, const Tape<float>& tape, const Target& t,
                      Rule rule, const Compute& compute = {});

// The input rows [y0, y1] and columns [x0, x1] (inclusive, clipped to the
// image) that can influence output (y, x) of layer `layer`: walk down through
// every conv and pool, where output o sees inputs o*stride - pad .. + k - 1.
struct Region {
    int y0, y1, x0, x1;
};
Region receptive_field(const Arch& arch, int layer, int y, int x);

enum class Display { common, symmetric };
Display parse_display(const std::string& name);
// Maps a signal (1, C, H, W) to [0, 1] for viewing:
//   common:    (v - mean) / (std + 1e-5) * 0.1 + 0.5, clipped to [0, 1]
//   symmetric: v / max|v| * 0.5 + 0.5 (0 is mid-gray)
Tensor<float> display_map(const Tensor<float>& signal, Display d);

} // namespace allconv
