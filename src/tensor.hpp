// tensor: the one data type of allconv, a dense NCHW array of float or double.
//
// A Tensor is a Shape (batch n, channels c, height h, width w) and a flat vector
// in row-major order, so element (n, c, y, x) lives at ((n*C + c)*H + y)*W + x.
// That is PyTorch's and ONNX's layout, which is why golden files transfer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace allconv {

// The most values one tensor may hold: the layers index with int arithmetic,
// which stays exact below 2^31. Architectures and files are checked against it.
constexpr std::uint64_t max_tensor_elements = (std::uint64_t(1) << 31) - 1;

struct Shape {
    int n = 1, c = 1, h = 1, w = 1;
    std::size_t size() const { return std::size_t(n) * c * h * w; }
    std::size_t plane() const { return std::size_t(h) * w; }     // one channel of one image
    std::size_t image() const { return std::size_t(c) * h * w; } // one whole image
    bool operator==(const Shape& o) const { return n == o.n && c == o.c && h == o.h && w == o.w; }
    bool operator!=(const Shape& o) const { return !(*this == o); }
};

// "2x3x32x32", the form every error message and `describe` use.
std::string to_string(const Shape& s);
// "3x32x32" (no batch), used in architecture specs.
std::string chw_string(const Shape& s);
// The four sizes {n, c, h, w}, as array files store a shape.
std::vector<long> nchw(const Shape& s);
// The same image shape with batch size n.
Shape batch_shape(Shape one, int n);

template <class T>
struct Tensor {
    Shape shape;
    std::vector<T> data;

    Tensor() = default;
    explicit Tensor(Shape s, T fill = T(0)) : shape(s), data(s.size(), fill) {}

    T* ptr() { return data.data(); }
    const T* ptr() const { return data.data(); }
    std::size_t size() const { return data.size(); }
    T& at(int n, int c, int y, int x) { return data[index(n, c, y, x)]; }
    const T& at(int n, int c, int y, int x) const { return data[index(n, c, y, x)]; }
    std::size_t index(int n, int c, int y, int x) const {
        return ((std::size_t(n) * shape.c + c) * shape.h + y) * shape.w + x;
    }
    // Re-shape, keeping the allocation when it is big enough (hot loops reuse tensors).
    void resize(Shape s) { shape = s; data.resize(s.size()); }
};

} // namespace allconv
