// Scalar sigmoid and tanh used by the cell math. The float versions are the reference
// (std::exp / std::tanh); vectorised variants sit behind kernels/dispatch (later) and are
// tested against these. Leaves out: the vectorised kernels themselves.
#pragma once

#include <cmath>

namespace recur::kernels {

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline float tanh_(float x) { return std::tanh(x); }
inline double tanh_(double x) { return std::tanh(x); }

}  // namespace recur::kernels
