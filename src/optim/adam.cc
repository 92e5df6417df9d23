// Adam (L2 weight decay added to the gradient) and AdamW (decoupled weight decay), both with
// the amsgrad option, as torch.optim.Adam / torch.optim.AdamW (single tensor path,
// maximize=False, capturable=False).
// Leaves out: maximize, fused and multi-tensor variants (same results, other speed).
#include <algorithm>
#include <cmath>
#include <utility>

#include "optim/check.h"
#include "recur/error.h"
#include "recur/optim.h"

namespace recur::optim {
namespace {

// For each parameter p with gradient g, t its own update count after this update (1, 2, ...):
//   Adam:  g = g + weight_decay * p          AdamW:  p = p * (1 - lr * weight_decay)
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g * g
//   amsgrad: v_max = max(v_max, v), used for v below
//   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// The scalars (1 - beta1, the bias corrections, the step size) are computed in double and
// rounded to float where they meet the tensors, as PyTorch's Python scalars are.
// Slots: "step", "exp_avg", "exp_avg_sq", and "max_exp_avg_sq" with amsgrad.
class Adam final : public Optimizer {
 public:
  Adam(ParameterList parameters, const AdamOptions& options, bool decoupled)
      : Optimizer(std::move(parameters), options.lr), options_(options), decoupled_(decoupled) {
    steps_ = &add_slot("step", 0.0f, /*per_parameter_scalar=*/true);
    exp_avg_ = &add_slot("exp_avg", 0.0f);
    exp_avg_sq_ = &add_slot("exp_avg_sq", 0.0f);
    if (options_.amsgrad) max_exp_avg_sq_ = &add_slot("max_exp_avg_sq", 0.0f);
  }

  std::string name() const override { return decoupled_ ? "adamw" : "adam"; }

  void step() override {
    const std::vector<size_t> active = parameters_with_grad();
    const double beta1 = options_.beta1;
    const double beta2 = options_.beta2;
    const float b1 = options_.beta1;
    const float b2 = options_.beta2;
    const float one_minus_b1 = static_cast<float>(1.0 - beta1);
    const float one_minus_b2 = static_cast<float>(1.0 - beta2);
    const float eps = options_.eps;
    // Adam's L2 term, or AdamW's decay factor.
    const float l2 = decoupled_ ? 0.0f : options_.weight_decay;
    const float decay = static_cast<float>(1.0 - static_cast<double>(lr_) *
                                                     static_cast<double>(options_.weight_decay));
    for (size_t i : active) {
      Parameter& parameter = *parameters_[i];
      float* p = parameter.value->data();
      const float* grad = parameter.grad.data();
      float* m = (*exp_avg_)[i].data();
      float* v = (*exp_avg_sq_)[i].data();
      float* v_max = max_exp_avg_sq_ != nullptr ? (*max_exp_avg_sq_)[i].data() : nullptr;
      float& t = (*steps_)[i][0];
      t += 1.0f;
      const double step = t;
      const double bias_correction1 = 1.0 - std::pow(beta1, step);
      const double bias_correction2 = 1.0 - std::pow(beta2, step);
      const float neg_step_size =
          static_cast<float>(-(static_cast<double>(lr_) / bias_correction1));
      const float bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
      const int64_t n = parameter.value->numel();
      for (int64_t k = 0; k < n; ++k) {
        float g = grad[k];
        if (decoupled_) {
          if (options_.weight_decay != 0.0f) p[k] = p[k] * decay;
        } else if (l2 != 0.0f) {
          g = g + l2 * p[k];
        }
        m[k] = m[k] * b1 + one_minus_b1 * g;
        v[k] = v[k] * b2 + one_minus_b2 * g * g;
        float second = v[k];
        if (v_max != nullptr) {
          v_max[k] = std::max(v_max[k], v[k]);
          second = v_max[k];
        }
        const float denom = std::sqrt(second) / bias_correction2_sqrt + eps;
        p[k] = p[k] + neg_step_size * (m[k] / denom);
      }
    }
    ++step_count_;
  }

 private:
  AdamOptions options_;
  bool decoupled_;
  std::vector<Tensor>* steps_ = nullptr;
  std::vector<Tensor>* exp_avg_ = nullptr;
  std::vector<Tensor>* exp_avg_sq_ = nullptr;
  std::vector<Tensor>* max_exp_avg_sq_ = nullptr;
};

void check_options(const char* who, const AdamOptions& options) {
  detail::check_at_least(who, "lr", options.lr, 0.0);
  detail::check_at_least(who, "eps", options.eps, 0.0);
  detail::check_in_unit_interval(who, "beta1", options.beta1);
  detail::check_in_unit_interval(who, "beta2", options.beta2);
  detail::check_at_least(who, "weight_decay", options.weight_decay, 0.0);
}

}  // namespace

std::unique_ptr<Optimizer> adam(ParameterList parameters, const AdamOptions& options) {
  check_options("Adam", options);
  return std::make_unique<Adam>(std::move(parameters), options, /*decoupled=*/false);
}

std::unique_ptr<Optimizer> adamw(ParameterList parameters, const AdamOptions& options) {
  check_options("AdamW", options);
  return std::make_unique<Adam>(std::move(parameters), options, /*decoupled=*/true);
}

}  // namespace recur::optim
