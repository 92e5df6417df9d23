// Optimizers, gradient clipping and learning-rate schedules with PyTorch's update rules:
// torch.optim.SGD (momentum, dampening, Nesterov, weight decay), Adam (+ amsgrad), AdamW,
// RMSprop (+ momentum, centered), Adagrad; torch.nn.utils.clip_grad_norm_; constant, step,
// cosine-with-warm-up and reduce-on-plateau schedules, stepped once per optimizer step.
// Leaves out: parameter groups, sparse gradients, closures.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "recur/parameter.h"
#include "recur/tensor.h"

namespace recur::optim {

class Optimizer {
 public:
  explicit Optimizer(ParameterList parameters, float lr);
  virtual ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter from its grad (a parameter with an empty grad is skipped,
  // as PyTorch skips grad=None). Increments step_count().
  virtual void step() = 0;
  void zero_grad();

  float lr() const { return lr_; }
  void set_lr(float lr) { lr_ = lr; }
  int64_t step_count() const { return step_count_; }
  virtual std::string name() const = 0;  // "sgd", "adam", ...
  const ParameterList& parameters() const { return parameters_; }

  // Everything needed to continue exactly: per-parameter slots keyed "<slot>/<parameter name>"
  // (e.g. "exp_avg/rnn.weight_ih_l0"), plus "step" and "lr" as 1-element tensors. Every
  // optimizer has the slot "step/<name>": the updates that parameter has had (PyTorch's
  // per-parameter state["step"], a float32 count; less than step() calls if grads were skipped).
  virtual std::map<std::string, Tensor> state_dict() const;
  // The inverse; an Error names a missing slot, an unknown name or a shape mismatch.
  virtual void load_state_dict(const std::map<std::string, Tensor>& state);

 protected:
  ParameterList parameters_;
  float lr_;
  int64_t step_count_ = 0;
  // Slots: name -> one tensor per parameter (same order as parameters_), created lazily.
  std::map<std::string, std::vector<Tensor>> slots_;
  std::vector<Tensor>& slot(const std::string& name);
  // Creates (once) a slot filled with `fill`: tensors shaped like each parameter, or one
  // 1-element tensor per parameter when `per_parameter_scalar` (e.g. the per-parameter "step").
  std::vector<Tensor>& add_slot(const std::string& name, float fill,
                                bool per_parameter_scalar = false);
  // Indices of the parameters that take part in this step (non-empty grad). Checks every grad
  // before anything is updated, so an Error leaves all parameters and state untouched.
  std::vector<size_t> parameters_with_grad() const;
};

struct SgdOptions {
  float lr = 0.01f;
  float momentum = 0.0f;
  float dampening = 0.0f;
  float weight_decay = 0.0f;
  bool nesterov = false;
};
struct AdamOptions {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;  // Adam: L2 added to the gradient; AdamW: decoupled decay
  bool amsgrad = false;
};
struct RmspropOptions {
  float lr = 0.01f;
  float alpha = 0.99f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
  float momentum = 0.0f;
  bool centered = false;
};
struct AdagradOptions {
  float lr = 0.01f;
  float lr_decay = 0.0f;
  float weight_decay = 0.0f;
  float initial_accumulator_value = 0.0f;
  float eps = 1e-10f;
};

std::unique_ptr<Optimizer> sgd(ParameterList parameters, const SgdOptions& options);
std::unique_ptr<Optimizer> adam(ParameterList parameters, const AdamOptions& options);
std::unique_ptr<Optimizer> adamw(ParameterList parameters, const AdamOptions& options);
std::unique_ptr<Optimizer> rmsprop(ParameterList parameters, const RmspropOptions& options);
std::unique_ptr<Optimizer> adagrad(ParameterList parameters, const AdagradOptions& options);
// By name ("sgd", "adam", "adamw", "rmsprop", "adagrad") with that optimizer's defaults
// except lr (and weight_decay when >= 0); an Error lists the known names. As in PyTorch,
// "adamw" defaults to weight_decay 0.01 (AdamOptions' default, 0, is Adam's).
std::unique_ptr<Optimizer> make_optimizer(const std::string& name, ParameterList parameters,
                                          float lr, float weight_decay = -1.0f);

// Scales all gradients so that their global L2 norm is at most max_norm, like
// torch.nn.utils.clip_grad_norm_; returns the norm before clipping.
float clip_grad_norm(const ParameterList& parameters, float max_norm);

// Learning rate as a function of the optimizer step (0-based) for the step about to be taken.
class LrSchedule {
 public:
  virtual ~LrSchedule();
  virtual float lr_at(int64_t step) const = 0;
  // Reduce-on-plateau is driven by validation losses; the others ignore this.
  virtual void observe(float /*validation_loss*/) {}
  virtual std::string describe() const = 0;
  // For checkpoints: whatever observe() accumulated (empty for stateless schedules).
  virtual std::map<std::string, Tensor> state_dict() const { return {}; }
  virtual void load_state_dict(const std::map<std::string, Tensor>& /*state*/) {}
};

std::unique_ptr<LrSchedule> constant_lr(float lr);
// lr * gamma^(step / step_size), as torch.optim.lr_scheduler.StepLR.
std::unique_ptr<LrSchedule> step_lr(float lr, int64_t step_size, float gamma);
// Linear warm-up over `warmup` steps, then cosine from lr to min_lr at total_steps, then min_lr:
//   step < warmup:          lr * (step + 1) / warmup
//   warmup <= step < total: min_lr + (lr - min_lr) * (1 + cos(pi * (step - warmup) /
//                                                             max(1, total - warmup))) / 2
//   step >= total:          min_lr
// With warmup 0 this is torch.optim.lr_scheduler.CosineAnnealingLR(T_max=total_steps,
// eta_min=min_lr) over steps 0..total_steps (PyTorch's then rises again; this one stays).
std::unique_ptr<LrSchedule> cosine_lr(float lr, int64_t warmup, int64_t total_steps,
                                      float min_lr = 0.0f);
// As torch.optim.lr_scheduler.ReduceLROnPlateau(mode="min", threshold_mode="rel").
std::unique_ptr<LrSchedule> reduce_on_plateau_lr(float lr, float factor = 0.1f,
                                                 int64_t patience = 10, float threshold = 1e-4f,
                                                 float min_lr = 0.0f);
// "constant", "step" (step_size max(1, total_steps / 3), gamma 0.1), "cosine" (min_lr 0),
// "plateau" (reduce_on_plateau_lr's defaults). `warmup` is for "cosine" only; an Error says so
// for the others, and lists the known names for an unknown one.
std::unique_ptr<LrSchedule> make_schedule(const std::string& name, float lr, int64_t total_steps,
                                          int64_t warmup = 0);

}  // namespace recur::optim
