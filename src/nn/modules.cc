// Module bookkeeping and the Embedding, Linear and Recurrent modules.
// Leaves out: the math (src/autograd ops).
#include <cmath>

#include "recur/error.h"
#include "recur/nn.h"

namespace recur::nn {

Parameter& Module::register_parameter(const std::string& name, Tensor* value) {
  for (const Parameter* p : list_)
    RECUR_CHECK(p->name != name, "module: parameter '" + name + "' registered twice");
  own_.push_back(std::make_unique<Parameter>());
  Parameter& p = *own_.back();
  p.name = name;
  p.value = value;
  list_.push_back(&p);
  return p;
}

void Module::register_module(Module& child) {
  for (Parameter* p : child.list_) {
    for (const Parameter* q : list_)
      RECUR_CHECK(q->name != p->name, "module: parameter '" + p->name + "' registered twice");
    list_.push_back(p);
  }
}

void Module::unregister_parameter(const Parameter* parameter) {
  for (auto it = list_.begin(); it != list_.end(); ++it) {
    if (*it == parameter) {
      list_.erase(it);
      return;
    }
  }
}

std::map<std::string, Tensor> Module::state_dict() const {
  std::map<std::string, Tensor> out;
  for (const Parameter* p : list_) out[p->name] = *p->value;
  return out;
}

void Module::load_state_dict(const std::map<std::string, Tensor>& state_dict, bool strict) {
  for (Parameter* p : list_) {
    auto it = state_dict.find(p->name);
    RECUR_CHECK(it != state_dict.end(), "load_state_dict: missing parameter '" + p->name + "'");
    RECUR_CHECK(it->second.shape() == p->value->shape(),
                "load_state_dict: '" + p->name + "' has shape " + shape_string(it->second.shape()) +
                    ", expected " + shape_string(p->value->shape()));
  }
  if (strict) {
    for (const auto& [name, tensor] : state_dict) {
      bool known = false;
      for (const Parameter* p : list_) known = known || p->name == name;
      RECUR_CHECK(known, "load_state_dict: unexpected parameter '" + name + "'");
    }
  }
  for (Parameter* p : list_) *p->value = state_dict.at(p->name);
}

int64_t Module::parameter_count() const {
  int64_t n = 0;
  for (const Parameter* p : list_) n += p->value->numel();
  return n;
}

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim, Rng& rng,
                     const std::string& prefix) {
  RECUR_CHECK(num_embeddings > 0 && embedding_dim > 0, "Embedding: sizes must be positive, got " +
                                                           std::to_string(num_embeddings) + " x " +
                                                           std::to_string(embedding_dim));
  weight_ = Tensor({num_embeddings, embedding_dim});
  for (int64_t i = 0; i < weight_.numel(); ++i) weight_[i] = rng.normal();
  weight_param_ = &register_parameter(prefix + "weight", &weight_);
}

ag::Var Embedding::forward(ag::Tape& tape, const std::vector<int64_t>& ids, const Shape& shape) {
  return ag::embedding(tape, tape.parameter(*weight_param_), ids, shape);
}

Linear::Linear(int64_t in_features, int64_t out_features, bool bias, Rng& rng,
               const std::string& prefix) {
  RECUR_CHECK(in_features > 0 && out_features > 0, "Linear: sizes must be positive, got " +
                                                       std::to_string(in_features) + " -> " +
                                                       std::to_string(out_features));
  const float bound = 1.0f / std::sqrt(static_cast<float>(in_features));
  weight_ = Tensor({out_features, in_features});
  for (int64_t i = 0; i < weight_.numel(); ++i) weight_[i] = rng.uniform(-bound, bound);
  weight_param_ = &register_parameter(prefix + "weight", &weight_);
  if (bias) {
    bias_ = Tensor({out_features});
    for (int64_t i = 0; i < bias_.numel(); ++i) bias_[i] = rng.uniform(-bound, bound);
    bias_param_ = &register_parameter(prefix + "bias", &bias_);
  }
}

void Linear::tie_weight(Parameter* shared) {
  RECUR_CHECK(shared != nullptr && shared->value->shape() == weight_.shape(),
              "Linear: cannot tie a weight of shape " +
                  (shared ? shape_string(shared->value->shape()) : std::string("(none)")) +
                  " to a layer whose weight is " + shape_string(weight_.shape()));
  tied_ = shared;
  unregister_parameter(weight_param_);
  weight_ = Tensor();
}

ag::Var Linear::forward(ag::Tape& tape, const ag::Var& x) {
  ag::Var w = tape.parameter(tied_ ? *tied_ : *weight_param_);
  ag::Var b = bias_param_ ? tape.parameter(*bias_param_) : ag::Var();
  return ag::linear(tape, x, w, b);
}

Recurrent::Recurrent(const RnnOptions& options, uint64_t seed, const std::string& prefix)
    : rnn_(options, seed) {
  for (const std::string& name : rnn_.parameter_names())
    ordered_.push_back(&register_parameter(prefix + name, &rnn_.parameter(name)));
}

ag::RnnVars Recurrent::forward(ag::Tape& tape, const ag::Var& input,
                               const std::vector<int64_t>& lengths, const ag::Var& h0,
                               const ag::Var& c0, Rng* rng) {
  if (!workspace_ || workspace_.use_count() > 1) workspace_ = std::make_shared<RnnWorkspace>();
  return ag::rnn(tape, rnn_, ordered_, input, lengths, h0, c0, rng, workspace_);
}

}  // namespace recur::nn
