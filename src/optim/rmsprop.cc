// RMSprop with L2 weight decay, momentum and the centered variant, as torch.optim.RMSprop
// (single tensor path, maximize=False).
// Leaves out: maximize.
#include <cmath>
#include <utility>

#include "optim/check.h"
#include "recur/error.h"
#include "recur/optim.h"

namespace recur::optim {
namespace {

// For each parameter p with gradient g:
//   g = g + weight_decay * p
//   square_avg = alpha * square_avg + (1 - alpha) * g * g
//   centered:  grad_avg = alpha * grad_avg + (1 - alpha) * g
//              avg = sqrt(square_avg - grad_avg * grad_avg) + eps
//   otherwise: avg = sqrt(square_avg) + eps
//   momentum > 0: buf = momentum * buf + g / avg;  p = p - lr * buf
//   otherwise:    p = p - lr * g / avg
// Slots: "step" (kept as PyTorch keeps it, unused by the rule), "square_avg",
// "momentum_buffer" when momentum > 0, "grad_avg" when centered.
class Rmsprop final : public Optimizer {
 public:
  Rmsprop(ParameterList parameters, const RmspropOptions& options)
      : Optimizer(std::move(parameters), options.lr), options_(options) {
    steps_ = &add_slot("step", 0.0f, /*per_parameter_scalar=*/true);
    square_avg_ = &add_slot("square_avg", 0.0f);
    if (options_.momentum > 0.0f) momentum_buffer_ = &add_slot("momentum_buffer", 0.0f);
    if (options_.centered) grad_avg_ = &add_slot("grad_avg", 0.0f);
  }

  std::string name() const override { return "rmsprop"; }

  void step() override {
    const std::vector<size_t> active = parameters_with_grad();
    const float alpha = options_.alpha;
    const float one_minus_alpha = static_cast<float>(1.0 - static_cast<double>(options_.alpha));
    const float eps = options_.eps;
    const float weight_decay = options_.weight_decay;
    const float momentum = options_.momentum;
    const float neg_lr = -lr_;
    for (size_t i : active) {
      Parameter& parameter = *parameters_[i];
      float* p = parameter.value->data();
      const float* grad = parameter.grad.data();
      float* square_avg = (*square_avg_)[i].data();
      float* grad_avg = grad_avg_ != nullptr ? (*grad_avg_)[i].data() : nullptr;
      float* buf = momentum_buffer_ != nullptr ? (*momentum_buffer_)[i].data() : nullptr;
      (*steps_)[i][0] += 1.0f;
      const int64_t n = parameter.value->numel();
      for (int64_t k = 0; k < n; ++k) {
        float g = grad[k];
        if (weight_decay != 0.0f) g = g + weight_decay * p[k];
        square_avg[k] = square_avg[k] * alpha + one_minus_alpha * g * g;
        float avg;
        if (grad_avg != nullptr) {
          grad_avg[k] = grad_avg[k] * alpha + one_minus_alpha * g;
          avg = std::sqrt(square_avg[k] - grad_avg[k] * grad_avg[k]);
        } else {
          avg = std::sqrt(square_avg[k]);
        }
        avg = avg + eps;
        if (buf != nullptr) {
          buf[k] = buf[k] * momentum + g / avg;
          p[k] = p[k] + neg_lr * buf[k];
        } else {
          p[k] = p[k] + neg_lr * (g / avg);
        }
      }
    }
    ++step_count_;
  }

 private:
  RmspropOptions options_;
  std::vector<Tensor>* steps_ = nullptr;
  std::vector<Tensor>* square_avg_ = nullptr;
  std::vector<Tensor>* momentum_buffer_ = nullptr;
  std::vector<Tensor>* grad_avg_ = nullptr;
};

}  // namespace

std::unique_ptr<Optimizer> rmsprop(ParameterList parameters, const RmspropOptions& options) {
  detail::check_at_least("RMSprop", "lr", options.lr, 0.0);
  detail::check_at_least("RMSprop", "eps", options.eps, 0.0);
  detail::check_at_least("RMSprop", "momentum", options.momentum, 0.0);
  detail::check_at_least("RMSprop", "weight_decay", options.weight_decay, 0.0);
  detail::check_at_least("RMSprop", "alpha", options.alpha, 0.0);
  return std::make_unique<Rmsprop>(std::move(parameters), options);
}

}  // namespace recur::optim
