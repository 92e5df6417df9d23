// Adagrad with learning-rate decay, L2 weight decay and an initial accumulator value, as
// torch.optim.Adagrad (dense gradients, single tensor path, maximize=False).
// Leaves out: sparse gradients, maximize.
#include <cmath>
#include <utility>

#include "optim/check.h"
#include "recur/error.h"
#include "recur/optim.h"

namespace recur::optim {
namespace {

// For each parameter p with gradient g, t its own update count after this update (1, 2, ...):
//   g = g + weight_decay * p
//   clr = lr / (1 + (t - 1) * lr_decay)          (in double, rounded to float)
//   sum = sum + g * g                             (sum starts at initial_accumulator_value)
//   p = p - clr * g / (sqrt(sum) + eps)
// Slots: "step", "sum".
class Adagrad final : public Optimizer {
 public:
  Adagrad(ParameterList parameters, const AdagradOptions& options)
      : Optimizer(std::move(parameters), options.lr), options_(options) {
    steps_ = &add_slot("step", 0.0f, /*per_parameter_scalar=*/true);
    sum_ = &add_slot("sum", options_.initial_accumulator_value);
  }

  std::string name() const override { return "adagrad"; }

  void step() override {
    const std::vector<size_t> active = parameters_with_grad();
    const float weight_decay = options_.weight_decay;
    const float eps = options_.eps;
    for (size_t i : active) {
      Parameter& parameter = *parameters_[i];
      float* p = parameter.value->data();
      const float* grad = parameter.grad.data();
      float* sum = (*sum_)[i].data();
      float& t = (*steps_)[i][0];
      t += 1.0f;
      const double clr =
          static_cast<double>(lr_) / (1.0 + (static_cast<double>(t) - 1.0) * options_.lr_decay);
      const float neg_clr = static_cast<float>(-clr);
      const int64_t n = parameter.value->numel();
      for (int64_t k = 0; k < n; ++k) {
        float g = grad[k];
        if (weight_decay != 0.0f) g = g + weight_decay * p[k];
        sum[k] = sum[k] + g * g;
        const float std_dev = std::sqrt(sum[k]) + eps;
        p[k] = p[k] + neg_clr * (g / std_dev);
      }
    }
    ++step_count_;
  }

 private:
  AdagradOptions options_;
  std::vector<Tensor>* steps_ = nullptr;
  std::vector<Tensor>* sum_ = nullptr;
};

}  // namespace

std::unique_ptr<Optimizer> adagrad(ParameterList parameters, const AdagradOptions& options) {
  detail::check_at_least("Adagrad", "lr", options.lr, 0.0);
  detail::check_at_least("Adagrad", "lr_decay", options.lr_decay, 0.0);
  detail::check_at_least("Adagrad", "weight_decay", options.weight_decay, 0.0);
  detail::check_at_least("Adagrad", "initial_accumulator_value", options.initial_accumulator_value,
                         0.0);
  detail::check_at_least("Adagrad", "eps", options.eps, 0.0);
  return std::make_unique<Adagrad>(std::move(parameters), options);
}

}  // namespace recur::optim
