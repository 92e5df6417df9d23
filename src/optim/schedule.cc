// Learning-rate schedules: constant, step decay (torch.optim.lr_scheduler.StepLR), cosine with
// linear warm-up (CosineAnnealingLR when warm-up is 0) and reduce-on-plateau
// (ReduceLROnPlateau, mode "min", threshold_mode "rel", cooldown 0); plus make_schedule.
// Leaves out: cooldown, mode "max", absolute thresholds, warm restarts, parameter groups.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <string>

#include "optim/check.h"
#include "recur/error.h"
#include "recur/optim.h"

namespace recur::optim {

LrSchedule::~LrSchedule() = default;

namespace {

using detail::format_number;

class ConstantLr final : public LrSchedule {
 public:
  explicit ConstantLr(float lr) : lr_(lr) {}
  float lr_at(int64_t /*step*/) const override { return lr_; }
  std::string describe() const override { return "constant(lr=" + format_number(lr_) + ")"; }

 private:
  float lr_;
};

// lr_k = lr * gamma^floor(k / step_size), multiplied out one gamma at a time in double as
// StepLR's recursive form does, then rounded to float. Past kExactDecays decays the rest is one
// std::pow (differences of a few double ulps, which the rounding to float almost always hides),
// so that lr_at stays cheap late in a long run.
class StepLr final : public LrSchedule {
 public:
  StepLr(float lr, int64_t step_size, float gamma)
      : lr_(lr), step_size_(step_size), gamma_(gamma) {}
  float lr_at(int64_t step) const override {
    constexpr int64_t kExactDecays = 1024;
    const int64_t decays = std::max<int64_t>(step, 0) / step_size_;
    double lr = lr_;
    for (int64_t d = 0; d < std::min(decays, kExactDecays); ++d) lr *= static_cast<double>(gamma_);
    if (decays > kExactDecays)
      lr *= std::pow(static_cast<double>(gamma_), static_cast<double>(decays - kExactDecays));
    return static_cast<float>(lr);
  }
  std::string describe() const override {
    return "step(lr=" + format_number(lr_) + ", step_size=" + std::to_string(step_size_) +
           ", gamma=" + format_number(gamma_) + ")";
  }

 private:
  float lr_;
  int64_t step_size_;
  float gamma_;
};

// See cosine_lr in optim.h for the formula; computed in double.
class CosineLr final : public LrSchedule {
 public:
  CosineLr(float lr, int64_t warmup, int64_t total_steps, float min_lr)
      : lr_(lr), warmup_(warmup), total_(total_steps), min_lr_(min_lr) {}
  float lr_at(int64_t step) const override {
    const double lr = lr_;
    const double min_lr = min_lr_;
    if (step < 0) step = 0;
    if (step < warmup_)
      return static_cast<float>(lr * static_cast<double>(step + 1) / static_cast<double>(warmup_));
    if (step >= total_) return min_lr_;
    const double progress = static_cast<double>(step - warmup_) /
                            static_cast<double>(std::max<int64_t>(1, total_ - warmup_));
    const double pi = 3.14159265358979323846;
    return static_cast<float>(min_lr + (lr - min_lr) * 0.5 * (1.0 + std::cos(pi * progress)));
  }
  std::string describe() const override {
    return "cosine(lr=" + format_number(lr_) + ", warmup=" + std::to_string(warmup_) +
           ", total_steps=" + std::to_string(total_) + ", min_lr=" + format_number(min_lr_) + ")";
  }

 private:
  float lr_;
  int64_t warmup_;
  int64_t total_;
  float min_lr_;
};

// On observe(loss), with best starting at +inf:
//   loss < best * (1 - threshold):  best = loss, bad_epochs = 0
//   otherwise:                      bad_epochs += 1
//   bad_epochs > patience:          new = max(lr * factor, min_lr); lr = new if lr - new > 1e-8;
//                                   bad_epochs = 0
// The lr is kept in double as PyTorch's is. The state is (best, num_bad_epochs, reductions):
// the lr is replayed from the number of reductions, so a reload continues bit for bit.
class ReduceOnPlateau final : public LrSchedule {
 public:
  ReduceOnPlateau(float lr, float factor, int64_t patience, float threshold, float min_lr)
      : lr0_(lr),
        factor_(factor),
        patience_(patience),
        threshold_(threshold),
        min_lr_(min_lr),
        lr_(lr) {}

  float lr_at(int64_t /*step*/) const override { return static_cast<float>(lr_); }

  void observe(float validation_loss) override {
    const double loss = validation_loss;
    if (loss < best_ * (1.0 - static_cast<double>(threshold_))) {
      best_ = loss;
      num_bad_epochs_ = 0;
    } else {
      ++num_bad_epochs_;
    }
    if (num_bad_epochs_ > patience_) {
      reduce();
      ++reductions_;
      num_bad_epochs_ = 0;
    }
  }

  std::string describe() const override {
    return "plateau(lr=" + format_number(lr0_) + ", factor=" + format_number(factor_) +
           ", patience=" + std::to_string(patience_) + ", threshold=" + format_number(threshold_) +
           ", min_lr=" + format_number(min_lr_) + ")";
  }

  std::map<std::string, Tensor> state_dict() const override {
    return {{"best", Tensor({1}, {static_cast<float>(best_)})},
            {"num_bad_epochs", Tensor({1}, {static_cast<float>(num_bad_epochs_)})},
            {"reductions", Tensor({1}, {static_cast<float>(reductions_)})}};
  }

  void load_state_dict(const std::map<std::string, Tensor>& state) override {
    auto get = [&](const char* key) {
      auto it = state.find(key);
      RECUR_CHECK(it != state.end(),
                  std::string("plateau schedule load_state_dict: missing '") + key + "'");
      RECUR_CHECK(it->second.numel() == 1, std::string("plateau schedule load_state_dict: '") +
                                               key + "' has shape " +
                                               shape_string(it->second.shape()) + ", expected [1]");
      return it->second[0];
    };
    const float best = get("best");
    const float bad = get("num_bad_epochs");
    const float reductions = get("reductions");
    auto whole = [](float v) { return v >= 0.0f && std::floor(v) == v; };
    RECUR_CHECK(whole(bad) && whole(reductions),
                "plateau schedule load_state_dict: num_bad_epochs and reductions must be whole "
                "numbers >= 0, got " +
                    format_number(bad) + " and " + format_number(reductions));
    RECUR_CHECK(state.size() == 3,
                "plateau schedule load_state_dict: expected 3 entries "
                "(best, num_bad_epochs, reductions), got " +
                    std::to_string(state.size()));
    best_ = best;
    num_bad_epochs_ = static_cast<int64_t>(bad);
    reductions_ = static_cast<int64_t>(reductions);
    lr_ = lr0_;
    for (int64_t r = 0; r < reductions_; ++r) reduce();
  }

 private:
  void reduce() {
    const double reduced =
        std::max(lr_ * static_cast<double>(factor_), static_cast<double>(min_lr_));
    if (lr_ - reduced > 1e-8) lr_ = reduced;
  }

  float lr0_;
  float factor_;
  int64_t patience_;
  float threshold_;
  float min_lr_;
  double lr_;
  double best_ = std::numeric_limits<double>::infinity();
  int64_t num_bad_epochs_ = 0;
  int64_t reductions_ = 0;
};

}  // namespace

std::unique_ptr<LrSchedule> constant_lr(float lr) {
  detail::check_at_least("constant_lr", "lr", lr, 0.0);
  return std::make_unique<ConstantLr>(lr);
}

std::unique_ptr<LrSchedule> step_lr(float lr, int64_t step_size, float gamma) {
  detail::check_at_least("step_lr", "lr", lr, 0.0);
  RECUR_CHECK(step_size >= 1, "step_lr: step_size must be >= 1, got " + std::to_string(step_size));
  detail::check_at_least("step_lr", "gamma", gamma, 0.0);
  return std::make_unique<StepLr>(lr, step_size, gamma);
}

std::unique_ptr<LrSchedule> cosine_lr(float lr, int64_t warmup, int64_t total_steps, float min_lr) {
  detail::check_at_least("cosine_lr", "lr", lr, 0.0);
  detail::check_at_least("cosine_lr", "min_lr", min_lr, 0.0);
  RECUR_CHECK(total_steps >= 1,
              "cosine_lr: total_steps must be >= 1, got " + std::to_string(total_steps));
  RECUR_CHECK(warmup >= 0 && warmup <= total_steps,
              "cosine_lr: warmup must be in [0, total_steps=" + std::to_string(total_steps) +
                  "], got " + std::to_string(warmup));
  return std::make_unique<CosineLr>(lr, warmup, total_steps, min_lr);
}

std::unique_ptr<LrSchedule> reduce_on_plateau_lr(float lr, float factor, int64_t patience,
                                                 float threshold, float min_lr) {
  const char* who = "reduce_on_plateau_lr";
  detail::check_at_least(who, "lr", lr, 0.0);
  detail::check_in_unit_interval(who, "factor", factor);
  RECUR_CHECK(patience >= 0,
              std::string(who) + ": patience must be >= 0, got " + std::to_string(patience));
  detail::check_at_least(who, "threshold", threshold, 0.0);
  detail::check_at_least(who, "min_lr", min_lr, 0.0);
  return std::make_unique<ReduceOnPlateau>(lr, factor, patience, threshold, min_lr);
}

std::unique_ptr<LrSchedule> make_schedule(const std::string& name, float lr, int64_t total_steps,
                                          int64_t warmup) {
  RECUR_CHECK(
      name == "constant" || name == "step" || name == "cosine" || name == "plateau",
      "make_schedule: unknown schedule '" + name + "'; known: constant, step, cosine, plateau");
  if (name == "cosine") return cosine_lr(lr, warmup, total_steps);
  RECUR_CHECK(warmup == 0, "make_schedule: warmup is only supported by 'cosine', got warmup=" +
                               std::to_string(warmup) + " with '" + name + "'");
  if (name == "constant") return constant_lr(lr);
  if (name == "step") return step_lr(lr, std::max<int64_t>(1, total_steps / 3), 0.1f);
  return reduce_on_plateau_lr(lr);
}

}  // namespace recur::optim
