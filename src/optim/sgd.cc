// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay,
// as torch.optim.SGD (single tensor path, maximize=False).
// Leaves out: sparse gradients, maximize.
#include <utility>

#include "optim/check.h"
#include "recur/error.h"
#include "recur/optim.h"

namespace recur::optim {
namespace {

// For each parameter p with gradient g, t its own update count (0 before its first update):
//   d = g + weight_decay * p
//   if momentum != 0:
//     buf = d                                          if t == 0
//     buf = momentum * buf + (1 - dampening) * d       otherwise
//     d = d + momentum * buf   (nesterov)   or   d = buf
//   p = p - lr * d
// Slots: "step", and "momentum_buffer" when momentum != 0.
class Sgd final : public Optimizer {
 public:
  Sgd(ParameterList parameters, const SgdOptions& options)
      : Optimizer(std::move(parameters), options.lr), options_(options) {
    steps_ = &add_slot("step", 0.0f, /*per_parameter_scalar=*/true);
    if (options_.momentum != 0.0f) buffers_ = &add_slot("momentum_buffer", 0.0f);
  }

  std::string name() const override { return "sgd"; }

  void step() override {
    const std::vector<size_t> active = parameters_with_grad();
    const float weight_decay = options_.weight_decay;
    const float momentum = options_.momentum;
    const float keep = static_cast<float>(1.0 - static_cast<double>(options_.dampening));
    const float neg_lr = -lr_;
    const bool nesterov = options_.nesterov;
    for (size_t i : active) {
      Parameter& parameter = *parameters_[i];
      float* p = parameter.value->data();
      const float* g = parameter.grad.data();
      float& t = (*steps_)[i][0];
      float* buf = buffers_ != nullptr ? (*buffers_)[i].data() : nullptr;
      const bool first = t == 0.0f;
      const int64_t n = parameter.value->numel();
      for (int64_t k = 0; k < n; ++k) {
        float d = g[k];
        if (weight_decay != 0.0f) d = d + weight_decay * p[k];
        if (buf != nullptr) {
          buf[k] = first ? d : buf[k] * momentum + keep * d;
          d = nesterov ? d + momentum * buf[k] : buf[k];
        }
        p[k] = p[k] + neg_lr * d;
      }
      t += 1.0f;
    }
    ++step_count_;
  }

 private:
  SgdOptions options_;
  std::vector<Tensor>* steps_ = nullptr;
  std::vector<Tensor>* buffers_ = nullptr;
};

}  // namespace

std::unique_ptr<Optimizer> sgd(ParameterList parameters, const SgdOptions& options) {
  detail::check_at_least("SGD", "lr", options.lr, 0.0);
  detail::check_at_least("SGD", "momentum", options.momentum, 0.0);
  detail::check_at_least("SGD", "weight_decay", options.weight_decay, 0.0);
  if (options.nesterov) {
    RECUR_CHECK(options.momentum > 0.0f,
                "SGD: nesterov needs momentum > 0, got " + detail::format_number(options.momentum));
    RECUR_CHECK(options.dampening == 0.0f,
                "SGD: nesterov needs dampening 0, got " + detail::format_number(options.dampening));
  }
  return std::make_unique<Sgd>(std::move(parameters), options);
}

}  // namespace recur::optim
