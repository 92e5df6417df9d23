// Modules with named parameters for building models on the tape: Embedding, Linear and
// Recurrent (an Rnn: RNN/LSTM/GRU, stacked, bidirectional). Parameter names and
// initialisation follow PyTorch (nn.Embedding: N(0, 1); nn.Linear: U(-1/sqrt(in), 1/sqrt(in));
// nn.LSTM etc.: U(-1/sqrt(H), 1/sqrt(H))), so a PyTorch state_dict loads as is.
// Leaves out: attention, layer norm, CRF (later issues). Modules are not copyable: the
// optimizer and the tape refer to their parameters.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "recur/autograd.h"
#include "recur/parameter.h"
#include "recur/rnn.h"

namespace recur::nn {

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Parameters named "<prefix><own name>", e.g. "rnn.weight_ih_l0".
  ParameterList parameters() { return list_; }
  std::map<std::string, Tensor> state_dict() const;
  // Every parameter must be present with the right shape; extra names are an Error when
  // `strict`.
  void load_state_dict(const std::map<std::string, Tensor>& state_dict, bool strict = true);
  int64_t parameter_count() const;

 protected:
  // Registers a parameter owned by a subclass (the tensor must not move afterwards).
  Parameter& register_parameter(const std::string& name, Tensor* value);
  void register_module(Module& child);
  // Drops a parameter from the list (its tensor is no longer trained or saved).
  void unregister_parameter(const Parameter* parameter);

 private:
  std::vector<std::unique_ptr<Parameter>> own_;
  ParameterList list_;
};

class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim, Rng& rng,
            const std::string& prefix = "embedding.");
  // ids laid out as `shape` -> [shape..., embedding_dim].
  ag::Var forward(ag::Tape& tape, const std::vector<int64_t>& ids, const Shape& shape);
  Tensor& weight() { return weight_; }
  const Tensor& weight() const { return weight_; }
  Parameter* weight_parameter() { return weight_param_; }

 private:
  Tensor weight_;  // [num_embeddings, embedding_dim]
  Parameter* weight_param_;
};

class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias, Rng& rng,
         const std::string& prefix = "linear.");
  ag::Var forward(ag::Tape& tape, const ag::Var& x);
  // The weight in use (the shared one when tied) and the bias (empty without bias).
  const Tensor& weight() const { return tied_ ? *tied_->value : weight_; }
  const Tensor& bias() const { return bias_; }
  // Makes this layer use another module's weight (weight tying: decoder = embedding); the
  // shapes must agree. The tied weight is then not a parameter of this module.
  void tie_weight(Parameter* shared);

 private:
  Tensor weight_;  // [out_features, in_features]
  Tensor bias_;    // [out_features]
  Parameter* weight_param_;
  Parameter* bias_param_ = nullptr;
  Parameter* tied_ = nullptr;
};

class Recurrent : public Module {
 public:
  Recurrent(const RnnOptions& options, uint64_t seed, const std::string& prefix = "rnn.");
  // Training/inference on the tape. h0/c0 may be undefined Vars. `rng` draws the dropout
  // masks between layers (training only; may be null when options().dropout is 0).
  ag::RnnVars forward(ag::Tape& tape, const ag::Var& input, const std::vector<int64_t>& lengths,
                      const ag::Var& h0, const ag::Var& c0, Rng* rng);
  const Rnn& rnn() const { return rnn_; }
  const RnnOptions& options() const { return rnn_.options(); }

 private:
  Rnn rnn_;
  std::vector<Parameter*> ordered_;          // rnn_.parameter_names() order
  std::shared_ptr<RnnWorkspace> workspace_;  // reused when no tape still holds it
};

}  // namespace recur::nn
