// clip_grad_norm: global L2 gradient-norm clipping, as torch.nn.utils.clip_grad_norm_ with
// norm_type 2 and error_if_nonfinite=False.
// Leaves out: other norm types, per-parameter clipping, clipping by value.
#include <cmath>
#include <string>

#include "optim/check.h"
#include "recur/error.h"
#include "recur/optim.h"

namespace recur::optim {

// total = sqrt(sum over every grad element of g^2)   (accumulated in double, then float)
// coef = max_norm / (total + 1e-6)                   (float, as PyTorch's float tensors)
// if coef < 1 (or NaN, as PyTorch's clamp passes NaN): g = g * coef for every grad
// Parameters with an empty grad take no part; with none at all the norm is 0.
float clip_grad_norm(const ParameterList& parameters, float max_norm) {
  RECUR_CHECK(max_norm >= 0.0f,
              "clip_grad_norm: max_norm must be >= 0, got " + detail::format_number(max_norm));
  double sum_of_squares = 0.0;
  for (size_t i = 0; i < parameters.size(); ++i) {
    const Parameter* p = parameters[i];
    RECUR_CHECK(p != nullptr, "clip_grad_norm: parameter " + std::to_string(i) + " is null");
    const float* g = p->grad.data();
    for (int64_t k = 0; k < p->grad.numel(); ++k)
      sum_of_squares += static_cast<double>(g[k]) * static_cast<double>(g[k]);
  }
  const float total = static_cast<float>(std::sqrt(sum_of_squares));
  const float coef = max_norm / (total + 1e-6f);
  if (!(coef >= 1.0f)) {
    for (Parameter* p : parameters) {
      float* g = p->grad.data();
      for (int64_t k = 0; k < p->grad.numel(); ++k) g[k] = g[k] * coef;
    }
  }
  return total;
}

}  // namespace recur::optim
