// dataset: labelled images in memory, and Fashion-MNIST read from its IDX
// files (gzipped or plain), where the Debian package dataset-fashion-mnist
// puts them. Pixels are scaled to [0, 1].
#pragma once
#include <string>
#include <vector>

#include "../tensor.hpp"

namespace allconv {

struct Dataset {
    Shape image;               // C x H x W of one image (n = 1)
    std::vector<float> pixels; // count * C * H * W, in [0, 1]
    std::vector<int> labels;
    int count() const { return int(labels.size()); }
    // Image i as a (1, C, H, W) tensor of pixels in [0, 1].
    Tensor<float> at(int i) const;
};

// Fashion-MNIST's "train" or "t10k" split from `dir`. `limit` > 0 keeps the
// first images. Throws naming the package to install when the files are missing.
Dataset load_fashion_mnist(const std::string& dir, const std::string& split, int limit = 0);
const char* default_data_dir(); // /usr/share/datasets/fashion-mnist
const std::vector<std::string>& fashion_mnist_classes();
// A class name for file names: "Ankle boot" -> "ankle-boot", "T-shirt/top" -> "t-shirt-top".
std::string class_slug(const std::string& name);

// Per-channel mean and standard deviation of a dataset's pixels.
void channel_statistics(const Dataset& d, std::vector<float>& mean, std::vector<float>& std);

// Throws std::runtime_error("<what>: the network's input CxHxW does not fit the data's CxHxW").
void check_fits(Shape network_input, const Dataset& d, const std::string& what);

} // namespace allconv
