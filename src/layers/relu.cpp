// relu: forward, and the three backward rules of Springenberg et al. (2015).
#include "relu.hpp"

#include <stdexcept>

namespace allconv {

const char* rule_name(Rule r) {
    switch (r) {
    case Rule::backprop: return "backprop";
    case Rule::deconvnet: return "deconvnet";
    case Rule::guided: return "guided";
    }
    return "?";
}

Rule parse_rule(const std::string& name) {
    if (name == "backprop") return Rule::backprop;
    if (name == "deconvnet") return Rule::deconvnet;
    if (name == "guided") return Rule::guided;
    throw std::invalid_argument("unknown rule '" + name + "' (expected backprop, deconvnet or guided)");
}

template <class T>
void relu_forward(std::size_t count, const T* f, T* y) {
    for (std::size_t i = 0; i < count; ++i) y[i] = f[i] > T(0) ? f[i] : T(0);
}

// The table of relu.hpp, one loop per rule.
template <class T>
void relu_backward(Rule rule, std::size_t count, const T* f, const T* r, T* out) {
    // One loop per rule (the rule is fixed for the whole call), so each loop is
    // a plain select the compiler can vectorise.
    switch (rule) {
    case Rule::backprop: // R * [f > 0]
        for (std::size_t i = 0; i < count; ++i) out[i] = f[i] > T(0) ? r[i] : T(0);
        break;
    case Rule::deconvnet: // R * [R > 0]
        for (std::size_t i = 0; i < count; ++i) out[i] = r[i] > T(0) ? r[i] : T(0);
        break;
    case Rule::guided: // R * [f > 0] * [R > 0]
        for (std::size_t i = 0; i < count; ++i) out[i] = (f[i] > T(0) && r[i] > T(0)) ? r[i] : T(0);
        break;
    }
}

template void relu_forward<float>(std::size_t, const float*, float*);
template void relu_forward<double>(std::size_t, const double*, double*);
template void relu_backward<float>(Rule, std::size_t, const float*, const float*, float*);
template void relu_backward<double>(Rule, std::size_t, const double*, const double*, double*);

} // namespace allconv
