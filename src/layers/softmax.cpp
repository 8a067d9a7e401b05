// softmax: numerically stable softmax and mean cross-entropy.
#include "softmax.hpp"

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace allconv {

template <class T>
void softmax_forward(int batch, int classes, const T* logits, T* probs) {
    for (int n = 0; n < batch; ++n) {
        const T* z = logits + std::size_t(n) * classes;
        T* p = probs + std::size_t(n) * classes;
        T zmax = z[0];
        for (int k = 1; k < classes; ++k) zmax = z[k] > zmax ? z[k] : zmax;
        T sum = T(0);
        for (int k = 0; k < classes; ++k) {
            p[k] = std::exp(z[k] - zmax); // subtracting the max keeps exp from overflowing
            sum += p[k];
        }
        for (int k = 0; k < classes; ++k) p[k] /= sum;
    }
}

template <class T>
void softmax_backward(int batch, int classes, const T* probs, const T* dp, T* dz) {
    for (int n = 0; n < batch; ++n) {
        const std::size_t row = std::size_t(n) * classes;
        T dot = T(0);
        for (int k = 0; k < classes; ++k) dot += probs[row + k] * dp[row + k];
        for (int k = 0; k < classes; ++k) dz[row + k] = probs[row + k] * (dp[row + k] - dot);
    }
}

// One pass per row: exp(z - max) once, giving both log p[label] (for the
// loss) and every p (for the gradient).
template <class T>
T softmax_cross_entropy(int batch, int classes, const T* logits, const int* labels, T* dlogits) {
    if (classes < 1 || batch < 1) throw std::invalid_argument("softmax_cross_entropy: empty batch or no classes");
    std::vector<T> e(static_cast<std::size_t>(classes)); // exp(z_k - max z) of one row
    T loss = T(0);
    for (int n = 0; n < batch; ++n) {
        const int label = labels[n];
        if (label < 0 || label >= classes)
            throw std::invalid_argument("label " + std::to_string(label) + " of image " + std::to_string(n) +
                                        " is outside 0.." + std::to_string(classes - 1));
        const T* z = logits + std::size_t(n) * classes;
        T zmax = z[0];
        for (int k = 1; k < classes; ++k) zmax = z[k] > zmax ? z[k] : zmax;
        T sum = T(0);
        for (int k = 0; k < classes; ++k) {
            e[k] = std::exp(z[k] - zmax);
            sum += e[k];
        }
        loss -= z[label] - zmax - std::log(sum); // log p[label], from the logits for accuracy
        if (dlogits)
            for (int k = 0; k < classes; ++k)
                dlogits[std::size_t(n) * classes + k] = (e[k] / sum - (k == label ? T(1) : T(0))) / T(batch);
    }
    return loss / T(batch);
}

template void softmax_forward<float>(int, int, const float*, float*);
template void softmax_forward<double>(int, int, const double*, double*);
template void softmax_backward<float>(int, int, const float*, const float*, float*);
template void softmax_backward<double>(int, int, const double*, const double*, double*);
template float softmax_cross_entropy<float>(int, int, const float*, const int*, float*);
template double softmax_cross_entropy<double>(int, int, const double*, const int*, double*);

} // namespace allconv
