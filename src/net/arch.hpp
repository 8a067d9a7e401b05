// arch: networks as text, and the shapes and costs that follow from the text.
//
// A spec is one layer per line or ';'-separated; '#' starts a comment:
//
//   input 3x32x32            # C x H x W of one image; must come first
//   conv 96 k3 s2 p1         # out channels, kernel k, stride s (default 1), padding p (default 0)
//   relu
//   maxpool k3 s2 p1         # window k, stride s (default k), padding p (default 0)
//   dropout 0.5              # inverted dropout, active only while training
//   gap                      # global average pooling: C x H x W -> C x 1 x 1 (the logits)
//   softmax                  # class probabilities
//
// Layers are named in order of their kind: conv1, conv2, ..., relu1, ...,
// pool1, ..., dropout1, ..., gap, softmax: the paper's names (conv6, conv9).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "../tensor.hpp"

namespace allconv {

enum class LayerKind { conv, relu, maxpool, dropout, gap, softmax };
const char* kind_name(LayerKind k);

struct Layer {
    LayerKind kind = LayerKind::relu;
    std::string name;              // conv3, relu2, pool1, ...
    int out_c = 0;                 // conv only
    int k = 1, stride = 1, pad = 0;// conv and maxpool
    double p = 0.0;                // dropout only
    Shape in, out;                 // shapes of one image (n = 1)
    int line = 0;                  // where the layer stands in its spec, for messages

    std::uint64_t params() const;  // weights + biases
    std::uint64_t macs() const;    // multiply-adds of one forward pass, one image (conv only)
};

struct Arch {
    Shape input;                   // one image, n = 1
    std::vector<Layer> layers;

    std::uint64_t params() const;
    std::uint64_t macs() const;
    Shape output() const { return layers.empty() ? input : layers.back().out; }
    // Index of the layer with this name; throws std::invalid_argument listing the names.
    int find(const std::string& name) const;
    // Index of the layer whose output is the logits (gap, else the last layer before softmax).
    int logits_layer() const;
};

// Limits, checked as a spec is parsed, before anything is allocated: every
// layer's output for one image at most max_tensor_elements (2^31 - 1), at most
// max_arch_params parameters in all, and at most max_image_bytes for the
// parameters and every layer's output of one image, in float.
constexpr std::uint64_t max_arch_params = std::uint64_t(1) << 28;   // 268,435,456: 1 GiB of float
constexpr std::uint64_t max_image_bytes = std::uint64_t(2) << 30;   // 2 GiB

// Bytes of float for the parameters and every layer's output, for a batch of n.
std::uint64_t arch_memory_bytes(const Arch& a, int n = 1);

// Parses a spec. `source` names it in errors: "<source>:<line>: <problem>".
// Throws std::invalid_argument for unknown kinds, malformed or missing
// numbers, impossible shapes, sizes beyond the limits above, and a missing or
// misplaced input line.
Arch parse_arch(const std::string& text, const std::string& source = "spec");

// The canonical spec text of an architecture, one layer per line.
std::string arch_spec(const Arch& a);

} // namespace allconv
