// softmax: class probabilities from logits, and the training loss.
//   logits and probs are (N, K) (a tensor of shape N x K x 1 x 1).
#pragma once
#include <cstddef>

namespace allconv {

// probs[n][k] = exp(z_k - max z) / sum_j exp(z_j - max z).  Overwrites probs.
template <class T>
void softmax_forward(int batch, int classes, const T* logits, T* probs);

// Jacobian-vector product: dz = p * (dp - sum_k p_k dp_k).  Overwrites dz.
template <class T>
void softmax_backward(int batch, int classes, const T* probs, const T* dp, T* dz);

// Mean cross-entropy over the batch: L = -(1/N) sum_n log p[n][label_n].
// Writes dlogits = dL/dlogits = (p - onehot) / N (may be null) and returns L.
// Throws std::invalid_argument for a label outside [0, classes).
template <class T>
T softmax_cross_entropy(int batch, int classes, const T* logits, const int* labels, T* dlogits);
// The loss alone.
template <class T>
T softmax_cross_entropy(int batch, int classes, const T* logits, const int* labels) {
    return softmax_cross_entropy(batch, classes, logits, labels, static_cast<T*>(nullptr));
}

} // namespace allconv
