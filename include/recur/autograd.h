// A tape of coarse operations with hand-written backward passes, for training. Each op
// computes its forward at once and records a closure that, run in reverse order by
// Tape::backward, turns the gradient of its output into gradients of its inputs. The whole
// recurrent stack is one op (its backward is the BPTT of recur::Rnn).
// Leaves out: higher-order gradients, in-place ops, broadcasting beyond what the ops state.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "recur/parameter.h"
#include "recur/rng.h"
#include "recur/rnn.h"
#include "recur/tensor.h"

namespace recur::ag {

// A value on the tape. Cheap to copy (shared). A Var made from a Parameter refers to the
// parameter's tensor and sends its gradient to Parameter::grad.
class Var {
 public:
  Var() = default;
  const Tensor& value() const;
  const Shape& shape() const { return value().shape(); }
  bool requires_grad() const;
  bool defined() const { return node_ != nullptr; }
  // d loss / d this, after Tape::backward (empty when nothing flowed here).
  const Tensor& grad() const;

  struct Node;
  explicit Var(std::shared_ptr<Node> node) : node_(std::move(node)) {}
  Node* node() const { return node_.get(); }

 private:
  std::shared_ptr<Node> node_;
};

struct Var::Node {
  Tensor value;
  const Tensor* external = nullptr;  // a parameter's value, not copied
  Parameter* parameter = nullptr;    // gradient goes to parameter->grad
  Tensor grad;                       // allocated on first accumulation
  bool requires_grad = false;

  const Tensor& get() const { return external ? *external : value; }
  // The gradient buffer, zero-filled on first use (the parameter's for parameter leaves).
  Tensor& grad_buffer();
};

class Tape {
 public:
  // A training tape records backward closures and applies dropout; an inference tape
  // (training = false, like PyTorch's eval() under no_grad) records nothing, makes no Var
  // require a gradient, skips dropout and runs the recurrent stack without saving anything.
  explicit Tape(bool training = true) : training_(training) {}
  bool training() const { return training_; }
  // A value with no gradient (data, detached states).
  Var constant(Tensor value);
  // A trainable leaf; backward adds into parameter.grad (allocated and zeroed if empty).
  Var parameter(Parameter& parameter);
  // A new result of an op; requires_grad when any input does.
  Var result(Tensor value, bool requires_grad);
  // Registers the backward closure of the op that just produced a result.
  void record(std::function<void()> backward);

  // Seeds d loss / d loss = 1 (loss must hold one element), runs every recorded closure in
  // reverse order, then clears the tape.
  void backward(const Var& loss);
  void clear();
  size_t size() const { return ops_.size(); }

 private:
  std::vector<std::function<void()>> ops_;
  bool training_ = true;
};

// ---- ops ----------------------------------------------------------------------------------

// Rows of `table` [V, E] picked by `ids` (each in [0, V)); result shape = shape + [E].
Var embedding(Tape& tape, const Var& table, const std::vector<int64_t>& ids, Shape shape);

// x [..., in] @ weight[out, in]^T + bias[out] -> [..., out]. `bias` may be undefined.
Var linear(Tape& tape, const Var& x, const Var& weight, const Var& bias);

// Inverted dropout: each element kept with probability 1-p and scaled by 1/(1-p). With
// `variational` and x of shape [T, B, F], one mask [B, F] is drawn and used at every step.
// p == 0 returns x unchanged.
Var dropout(Tape& tape, const Var& x, float p, Rng& rng, bool variational = false);

// Concatenation along the last axis; all other axes must agree.
Var concat_last(Tape& tape, const std::vector<Var>& parts);

// Mean softmax cross-entropy of logits [..., C] (N rows) against class ids `targets` (N of them);
// targets equal to `ignore_index` contribute nothing and are not counted. When every target
// is ignored the loss is 0. `sum_out`/`count_out`, when given, receive the summed loss (in
// double) and the number of counted targets, for exact evaluation over many batches.
Var cross_entropy(Tape& tape, const Var& logits, const std::vector<int64_t>& targets,
                  int64_t ignore_index = -100, double* sum_out = nullptr,
                  int64_t* count_out = nullptr);

// Mean squared error against a constant target of the same shape.
Var mse(Tape& tape, const Var& prediction, const Tensor& target);

// The recurrent stack as one op. The parameters are the Rnn's own tensors; `parameters`
// (same order as rnn.parameter_names()) receive their gradients. h0/c0 may be undefined
// Vars (zeros) or constants/results (their gradient flows back). Dropout between layers
// uses `rng` in training.
struct RnnVars {
  Var output, h_n, c_n;
};
RnnVars rnn(Tape& tape, const Rnn& rnn, const std::vector<Parameter*>& parameters, const Var& input,
            const std::vector<int64_t>& lengths, const Var& h0, const Var& c0, Rng* rng,
            std::shared_ptr<RnnWorkspace> workspace = nullptr);

// Elementwise activations.
Var relu(Tape& tape, const Var& x);
Var tanh(Tape& tape, const Var& x);

// Same data, another shape with the same number of elements.
Var reshape(Tape& tape, const Var& x, Shape shape);

// x[index] along the first axis: [N, ...] -> [...].
Var select(Tape& tape, const Var& x, int64_t index);

// Pooling over the valid steps of x [T, B, F] (steps t < lengths[b]; lengths empty = all T):
// mean or max -> [B, F]. Max sends the gradient to the first maximal step.
Var mean_over_time(Tape& tape, const Var& x, const std::vector<int64_t>& lengths);
Var max_over_time(Tape& tape, const Var& x, const std::vector<int64_t>& lengths);

// [T, B, F] -> [B, T*F] (each sequence's steps side by side, for a one-to-one MLP).
Var flatten_time(Tape& tape, const Var& x);

// Softmax over the valid steps of scores [T, B] (padded steps get weight 0) -> [T, B].
Var softmax_over_time(Tape& tape, const Var& scores, const std::vector<int64_t>& lengths);
// sum_t weights[t, b] * x[t, b, :] for weights [T, B] and x [T, B, F] -> [B, F].
Var weighted_sum_over_time(Tape& tape, const Var& weights, const Var& x);

}  // namespace recur::ag
