// dataset: Fashion-MNIST loading, class names and channel statistics.
#include "dataset.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <stdexcept>

#include "../io/idx.hpp"

namespace allconv {

Tensor<float> Dataset::at(int i) const {
    if (i < 0 || i >= count()) throw std::out_of_range("image " + std::to_string(i) + " of " + std::to_string(count()));
    Tensor<float> t(image);
    const std::size_t size = image.image();
    std::copy_n(pixels.data() + std::size_t(i) * size, size, t.ptr());
    return t;
}

const char* default_data_dir() { return "/usr/share/datasets/fashion-mnist"; }

const std::vector<std::string>& fashion_mnist_classes() {
    static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                   "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return names;
}

std::string class_slug(const std::string& name) {
    std::string slug = name;
    for (char& c : slug) c = (c == '/' || c == ' ') ? '-' : char(std::tolower(static_cast<unsigned char>(c)));
    return slug;
}

namespace {
std::string find_idx(const std::string& dir, const std::string& stem) {
    for (const char* ext : {".gz", ""}) {
        std::string path = dir + "/" + stem + ext;
        if (std::ifstream(path).good()) return path;
    }
    throw std::runtime_error(dir + "/" + stem + ".gz: not found (install the dataset: apt-get install "
                             "dataset-fashion-mnist, or pass --data DIR)");
}
} // namespace

Dataset load_fashion_mnist(const std::string& dir, const std::string& split, int limit) {
    const std::string images_path = find_idx(dir, split + "-images-idx3-ubyte");
    const std::string labels_path = find_idx(dir, split + "-labels-idx1-ubyte");
    const IdxImages im = read_idx_images(images_path);
    const std::vector<std::uint8_t> labels = read_idx_labels(labels_path, 10);
    if (int(labels.size()) != im.count)
        throw std::runtime_error(labels_path + ": " + std::to_string(labels.size()) + " labels for " +
                                 std::to_string(im.count) + " images in " + images_path);
    if (im.count == 0) throw std::runtime_error(images_path + ": holds no images");
    const int count = limit > 0 && limit < im.count ? limit : im.count;
    Dataset d;
    d.image = Shape{1, 1, im.rows, im.cols};
    const std::size_t size = std::size_t(count) * im.rows * im.cols;
    d.pixels.resize(size);
    for (std::size_t i = 0; i < size; ++i) d.pixels[i] = im.pixels[i] / 255.0f;
    d.labels.assign(labels.begin(), labels.begin() + count);
    return d;
}

void channel_statistics(const Dataset& d, std::vector<float>& mean, std::vector<float>& std) {
    const int C = d.image.c;
    const std::size_t plane = d.image.plane();
    mean.assign(C, 0.f);
    std.assign(C, 1.f);
    for (int c = 0; c < C; ++c) {
        double sum = 0, sum2 = 0;
        for (int n = 0; n < d.count(); ++n) {
            const float* p = d.pixels.data() + (std::size_t(n) * C + c) * plane;
            for (std::size_t i = 0; i < plane; ++i) {
                sum += p[i];
                sum2 += double(p[i]) * p[i];
            }
        }
        const double count = double(d.count()) * plane, m = sum / count;
        mean[c] = float(m);
        std[c] = float(std::sqrt(std::max(sum2 / count - m * m, 1e-12)));
    }
}

void check_fits(Shape network_input, const Dataset& d, const std::string& what) {
    if (network_input.c != d.image.c || network_input.h != d.image.h || network_input.w != d.image.w)
        throw std::runtime_error(what + ": the network's input " + chw_string(network_input) + " does not fit the data's " +
                                 chw_string(d.image));
}

} // namespace allconv
