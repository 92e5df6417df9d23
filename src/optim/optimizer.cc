// Optimizer's shared machinery: parameter bookkeeping, per-parameter state slots, the
// state_dict round trip and make_optimizer; plus the option checks of check.h.
// Leaves out: the update rules (sgd.cc, adam.cc, rmsprop.cc, adagrad.cc).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "optim/check.h"
#include "recur/error.h"
#include "recur/optim.h"

namespace recur::optim {

namespace detail {

std::string format_number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.9g", value);
  // Prefer the shortest form that still reads back as the same float.
  for (int digits = 1; digits <= 9; ++digits) {
    char shorter[32];
    std::snprintf(shorter, sizeof(shorter), "%.*g", digits, value);
    if (static_cast<float>(std::strtod(shorter, nullptr)) == static_cast<float>(value))
      return shorter;
  }
  return buffer;
}

void check_at_least(const char* who, const char* what, double value, double minimum) {
  RECUR_CHECK(value >= minimum, std::string(who) + ": " + what + " must be >= " +
                                    format_number(minimum) + ", got " + format_number(value));
}

void check_in_unit_interval(const char* who, const char* what, double value) {
  RECUR_CHECK(value >= 0.0 && value < 1.0,
              std::string(who) + ": " + what + " must be in [0, 1), got " + format_number(value));
}

}  // namespace detail

Optimizer::Optimizer(ParameterList parameters, float lr)
    : parameters_(std::move(parameters)), lr_(lr) {
  std::set<std::string> names;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const Parameter* p = parameters_[i];
    RECUR_CHECK(p != nullptr, "Optimizer: parameter " + std::to_string(i) + " is null");
    RECUR_CHECK(p->value != nullptr, "Optimizer: parameter '" + p->name + "' has no value");
    RECUR_CHECK(names.insert(p->name).second, "Optimizer: two parameters are named '" + p->name +
                                                  "'; state_dict keys need unique names");
  }
}

Optimizer::~Optimizer() = default;

void Optimizer::zero_grad() {
  for (Parameter* p : parameters_) p->zero_grad();
}

std::vector<Tensor>& Optimizer::slot(const std::string& name) { return add_slot(name, 0.0f); }

std::vector<Tensor>& Optimizer::add_slot(const std::string& name, float fill,
                                         bool per_parameter_scalar) {
  auto it = slots_.find(name);
  if (it != slots_.end()) return it->second;
  std::vector<Tensor> tensors;
  tensors.reserve(parameters_.size());
  for (const Parameter* p : parameters_)
    tensors.push_back(Tensor::full(per_parameter_scalar ? Shape{1} : p->value->shape(), fill));
  return slots_.emplace(name, std::move(tensors)).first->second;
}

std::vector<size_t> Optimizer::parameters_with_grad() const {
  std::vector<size_t> active;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const Parameter& p = *parameters_[i];
    if (p.grad.empty()) continue;
    RECUR_CHECK(p.grad.shape() == p.value->shape(),
                name() + ": parameter '" + p.name + "' has a grad of shape " +
                    shape_string(p.grad.shape()) + ", expected " + shape_string(p.value->shape()));
    active.push_back(i);
  }
  return active;
}

std::map<std::string, Tensor> Optimizer::state_dict() const {
  std::map<std::string, Tensor> state;
  state.emplace("step", Tensor({1}, {static_cast<float>(step_count_)}));
  state.emplace("lr", Tensor({1}, {lr_}));
  for (const auto& [slot_name, tensors] : slots_)
    for (size_t i = 0; i < parameters_.size(); ++i)
      state.emplace(slot_name + "/" + parameters_[i]->name, tensors[i]);
  return state;
}

void Optimizer::load_state_dict(const std::map<std::string, Tensor>& state) {
  // Check everything first, so that a bad state leaves this optimizer as it was.
  auto scalar = [&](const char* key) {
    auto it = state.find(key);
    RECUR_CHECK(it != state.end(), std::string("load_state_dict: missing '") + key + "'");
    RECUR_CHECK(it->second.numel() == 1, std::string("load_state_dict: '") + key + "' has shape " +
                                             shape_string(it->second.shape()) + ", expected [1]");
    return it->second[0];
  };
  const float step = scalar("step");
  const float lr = scalar("lr");
  RECUR_CHECK(
      step >= 0 && std::floor(step) == step,
      "load_state_dict: 'step' must be a whole number >= 0, got " + detail::format_number(step));
  RECUR_CHECK(lr >= 0, "load_state_dict: 'lr' must be >= 0, got " + detail::format_number(lr));
  size_t expected = 2;
  for (const auto& [slot_name, tensors] : slots_) {
    for (size_t i = 0; i < parameters_.size(); ++i) {
      const std::string key = slot_name + "/" + parameters_[i]->name;
      auto it = state.find(key);
      RECUR_CHECK(it != state.end(), "load_state_dict: missing slot '" + key + "'");
      RECUR_CHECK(it->second.shape() == tensors[i].shape(),
                  "load_state_dict: '" + key + "' has shape " + shape_string(it->second.shape()) +
                      ", expected " + shape_string(tensors[i].shape()));
      ++expected;
    }
  }
  if (state.size() != expected) {
    for (const auto& [key, tensor] : state) {
      const size_t slash = key.find('/');
      const bool known = key == "step" || key == "lr" ||
                         (slash != std::string::npos && slots_.count(key.substr(0, slash)) && [&] {
                           for (const Parameter* p : parameters_)
                             if (p->name == key.substr(slash + 1)) return true;
                           return false;
                         }());
      RECUR_CHECK(known, "load_state_dict: unexpected entry '" + key + "' for this " + name() +
                             " optimizer (not 'step', 'lr' or '<slot>/<parameter name>')");
    }
  }
  step_count_ = static_cast<int64_t>(step);
  lr_ = lr;
  for (auto& [slot_name, tensors] : slots_)
    for (size_t i = 0; i < parameters_.size(); ++i)
      tensors[i] = state.at(slot_name + "/" + parameters_[i]->name);
}

std::unique_ptr<Optimizer> make_optimizer(const std::string& name, ParameterList parameters,
                                          float lr, float weight_decay) {
  const bool decay = weight_decay >= 0;
  if (name == "sgd") {
    SgdOptions o;
    o.lr = lr;
    if (decay) o.weight_decay = weight_decay;
    return sgd(std::move(parameters), o);
  }
  if (name == "adam" || name == "adamw") {
    AdamOptions o;
    o.lr = lr;
    if (name == "adamw") o.weight_decay = 1e-2f;
    if (decay) o.weight_decay = weight_decay;
    return name == "adam" ? adam(std::move(parameters), o) : adamw(std::move(parameters), o);
  }
  if (name == "rmsprop") {
    RmspropOptions o;
    o.lr = lr;
    if (decay) o.weight_decay = weight_decay;
    return rmsprop(std::move(parameters), o);
  }
  if (name == "adagrad") {
    AdagradOptions o;
    o.lr = lr;
    if (decay) o.weight_decay = weight_decay;
    return adagrad(std::move(parameters), o);
  }
  throw_error("make_optimizer: unknown optimizer '" + name +
              "'; known: sgd, adam, adamw, rmsprop, adagrad");
}

}  // namespace recur::optim
