// Recurrent layers with PyTorch's semantics: torch.nn.RNN (tanh/relu), LSTM (with proj_size)
// and GRU; stacked, bidirectional, variable-length batches, forward, BPTT backward and
// streaming step(). Parameters carry PyTorch's names and shapes, so a state_dict loads as is.
// Leaves out: the autograd tape and optimizers (built on top of this), layer norm, peepholes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "recur/rng.h"
#include "recur/tensor.h"

namespace recur {

enum class RnnMode { kRnnTanh, kRnnRelu, kLstm, kGru };

std::string mode_name(RnnMode mode);          // "rnn_tanh", "rnn_relu", "lstm", "gru"
RnnMode parse_mode(const std::string& name);  // inverse of mode_name; Error when unknown
int64_t gate_count(RnnMode mode);             // 1, 1, 4, 3

// The precision of the matrix products. kBfloat16 (opt-in, like PyTorch's autocast to bf16):
// the inputs of every matrix product — weights, layer inputs, hidden states and, in backward,
// gradients — are rounded to bfloat16 and the products accumulated in float; the state, the
// gate math, the outputs and the gradients stay float. Twice the GEMM rate on CPUs with
// avx512_bf16 (or AMX); elsewhere the same numbers at the float rate.
enum class Precision { kFloat32, kBfloat16 };
std::string precision_name(Precision precision);     // "f32", "bf16"
Precision parse_precision(const std::string& name);  // inverse; Error when unknown

struct RnnOptions {
  RnnMode mode = RnnMode::kLstm;
  int64_t input_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 1;
  bool bias = true;
  bool batch_first = false;
  float dropout = 0.0f;  // on the outputs of every layer but the last, in training only
  bool bidirectional = false;
  int64_t proj_size = 0;                      // LSTM only; 0 = no projection
  Precision precision = Precision::kFloat32;  // of the matrix products; not a parameter

  int64_t num_directions() const { return bidirectional ? 2 : 1; }
  int64_t output_hidden_size() const { return proj_size > 0 ? proj_size : hidden_size; }
};

// Optional inputs of a forward pass. Empty tensors / vectors mean: zeros / full length.
struct RnnArgs {
  std::vector<int64_t> lengths;  // [B], each in 1..T, any order
  Tensor h0;                     // [L*D, B, H_out]
  Tensor c0;                     // [L*D, B, H], LSTM only
};

struct RnnOutput {
  Tensor output;  // [T, B, D*H_out] (or [B, T, ...] when batch_first), zeros at padded steps
  Tensor h_n;     // [L*D, B, H_out], at each sequence's last valid step
  Tensor c_n;     // [L*D, B, H], LSTM only (empty otherwise)
};

// Everything a backward pass needs, filled by forward_train() and read by backward().
// Reusable across steps; its buffers are kept and resized as needed.
class RnnWorkspace {
 public:
  RnnWorkspace();
  ~RnnWorkspace();
  RnnWorkspace(RnnWorkspace&&) noexcept;
  RnnWorkspace& operator=(RnnWorkspace&&) noexcept;
  bool filled() const;

  struct Impl;
  std::unique_ptr<Impl> impl;
};

struct RnnGrads {
  std::map<std::string, Tensor> parameters;  // d loss / d parameter, by PyTorch name
  Tensor input;                              // same shape as the forward input
  Tensor h0;                                 // [L*D, B, H_out]
  Tensor c0;                                 // [L*D, B, H], LSTM only
};

// Per-layer recurrent state for step(): copy it to branch, keep it to resume.
struct RnnState {
  Tensor h;  // [L, B, H_out]
  Tensor c;  // [L, B, H], LSTM only
};

class Rnn {
 public:
  // Parameters initialised like PyTorch: uniform(-1/sqrt(H), 1/sqrt(H)) from `seed`.
  explicit Rnn(const RnnOptions& options, uint64_t seed = 0);
  // Infers the configuration from a PyTorch state_dict's names and shapes. `mode_hint`
  // chooses rnn_relu over rnn_tanh; an empty hint accepts whatever the shapes say.
  static Rnn from_state_dict(const std::map<std::string, Tensor>& state_dict,
                             const std::string& mode_hint = "");
  ~Rnn();
  Rnn(const Rnn&);
  Rnn& operator=(const Rnn&);
  Rnn(Rnn&&) noexcept;
  Rnn& operator=(Rnn&&) noexcept;

  const RnnOptions& options() const { return options_; }
  // Switches the precision of the matrix products (see Precision); parameters are unchanged.
  void set_precision(Precision precision) { options_.precision = precision; }
  const std::vector<std::string>& parameter_names() const { return names_; }
  Tensor& parameter(const std::string& name);
  const Tensor& parameter(const std::string& name) const;
  std::map<std::string, Tensor> state_dict() const;
  // Copies matching tensors in; every name must be known and every shape right.
  void load_state_dict(const std::map<std::string, Tensor>& state_dict, bool strict = true);

  // Inference: no dropout, nothing saved.
  RnnOutput forward(const Tensor& input, const RnnArgs& args = {}) const;
  // The same, written into `out`: tensors of `out` that already have the right shapes are
  // overwritten in place, others are replaced. A loop that calls it with the same `out` and
  // inputs of one shape allocates nothing after the first call (batch_first inputs excepted:
  // they are transposed through a copy).
  void forward(const Tensor& input, const RnnArgs& args, RnnOutput* out) const;
  // Training: applies dropout between layers (drawing masks from `rng`, which may be null
  // when dropout is 0) and fills `workspace` for backward().
  RnnOutput forward_train(const Tensor& input, const RnnArgs& args, RnnWorkspace* workspace,
                          Rng* rng = nullptr) const;
  // Gradients given d loss / d output (same shape as output) and optionally d loss / d h_n,
  // d loss / d c_n (empty = zeros). Values at padded output steps have no effect.
  RnnGrads backward(const RnnWorkspace& workspace, const Tensor& grad_output,
                    const Tensor& grad_h_n = {}, const Tensor& grad_c_n = {}) const;

  // Streaming (unidirectional only): one time step for a batch. x is [B, input_size];
  // returns the top layer's output [B, H_out] and advances `state`.
  RnnState initial_state(int64_t batch) const;
  Tensor step(const Tensor& x, RnnState* state) const;

 private:
  friend class RnnInference;
  int64_t index_of(const std::string& name) const;

  RnnOptions options_;
  std::vector<std::string> names_;
  std::vector<Tensor> params_;  // same order as names_
};

// Inference on weights prepared once, for serving a trained RNN over whole sequences: a
// snapshot of an Rnn's parameters that keeps the packed forms of the weights its matrix
// products use, each packed by the first call that needs it (they depend on the batch, the
// length and the threads) and reused by every call after, where Rnn::forward packs them at
// every call. forward() computes what Rnn::forward computes on the same weights, bit for bit.
// Later changes to the Rnn are not seen: make a new RnnInference after training. One call at
// a time: give each thread its own.
class RnnInference {
 public:
  explicit RnnInference(const Rnn& rnn);
  ~RnnInference();
  RnnInference(RnnInference&&) noexcept;
  RnnInference& operator=(RnnInference&&) noexcept;

  const Rnn& rnn() const;  // the snapshot
  // As Rnn::forward (the same arguments, checks and out-parameter reuse).
  RnnOutput forward(const Tensor& input, const RnnArgs& args = {});
  void forward(const Tensor& input, const RnnArgs& args, RnnOutput* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Streaming inference on weights prepared once, for generation and online use: a snapshot of
// an Rnn's parameters (packed for the matrix products, in bf16 when the Rnn's precision is
// bf16), the state of every layer, and every buffer a step needs, so that step(x, y) allocates
// nothing. Later changes to the Rnn are not seen: make a new RnnStream after training.
// Rnn::step computes the same (within float rounding) without a snapshot. Unidirectional only.
class RnnStream {
 public:
  RnnStream(const Rnn& rnn, int64_t batch);  // zero state
  ~RnnStream();
  RnnStream(RnnStream&&) noexcept;
  RnnStream& operator=(RnnStream&&) noexcept;

  // One time step: x [B, input_size] -> the top layer's output [B, H_out]; advances the state.
  Tensor step(const Tensor& x);
  // The same on raw rows (x: B*input_size floats, y: B*H_out floats), with no checks.
  void step(const float* x, float* y);

  int64_t batch() const;
  const RnnState& state() const;          // h [L, B, H_out], c [L, B, H] (LSTM)
  void set_state(const RnnState& state);  // copies; shapes as state()'s
  void reset();                           // zeros

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace recur
