// zoo: the paper's models (Tables 1, 2 and 6) as architecture specs, and
// where the paper puts dropout when it trains them.
//
// CIFAR models: model-{a,b,c} (base), strided-cnn-{a,b,c}, convpool-cnn-{a,b,c},
// all-cnn-{a,b,c}; ImageNet: all-cnn-imagenet. Each has a configurable input
// (channels x height x width), a width multiplier applied to every hidden
// layer's channel count, and a number of classes.
#pragma once
#include <string>
#include <vector>

#include "../tensor.hpp"
#include "arch.hpp"

namespace allconv {

struct ZooOptions {
    Shape input{1, 0, 0, 0}; // c, h, w; 0 = the model's own default (3x32x32 or 3x227x227)
    double width = 1.0;      // multiplies hidden channel counts (rounded, at least 1)
    int classes = 0;         // 0 = the model's default (10 or 1000)
};

std::vector<std::string> zoo_names();
bool is_zoo_name(const std::string& name);
// The spec text; throws std::invalid_argument for an unknown name or bad options.
std::string zoo_spec(const std::string& name, const ZooOptions& options = {});

// The paper's dropout recipe, for training: the same network with dropout
// layers added, p_input after the input, p_pool after every max-pool and
// after the ReLU that follows a convolution with stride > 1 (the layer that
// replaced a pool). A p of 0 adds nothing.
Arch with_paper_dropout(const Arch& a, double p_input, double p_pool);

} // namespace allconv
