// The oneDNN peer of the benchmark harness: oneDNN 2.6's RNN primitives (vanilla_rnn, lstm,
// lbr_gru — the GRU whose candidate is tanh(W_in x + b_in + r * (W_hn h + b_hn)), PyTorch's)
// run on the weights of a PyTorch-named state_dict, one primitive per layer, forward and
// backward. The gate orders are mapped here (PyTorch LSTM i,f,g,o = oneDNN i,f,c~,o; PyTorch
// GRU r,z,n -> oneDNN u(=z),r,o(=n) plus the extra bias b_hn), and the gradients are mapped
// back to PyTorch names, so the harness can compare both with recur before timing anything.
//
// What is timed: inference runs the forward primitives on weights reordered once, up front, to
// the layout oneDNN prefers (its best case). A training step starts from and ends at PyTorch's
// layout, as recur's does: weight reorders into the forward and backward primitives' layouts,
// zeroing the gradients (the backward primitive accumulates into them), forward_training,
// backward, and reorders of the gradients back when their layout differs.
// bf16 problems (descriptor suffix _bf16): layer data, hidden states and weights in bf16, the
// biases, cell states and all gradients in f32 (oneDNN 2.6's only bf16 backward); the input
// is converted to bf16 once, before timing.
// Leaves out: projections, variable lengths.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "cli/bench_core.h"
#include "recur/tensor.h"

namespace recur::bench {

enum class OnednnRun { kInference, kTraining, kStream };

class OnednnRnn {
 public:
  // x [T, B, I] and dy [T, B, D*H] are copied in once. Builds the primitives for `run` with the
  // current OpenMP thread count (oneDNN sizes its scratchpads for it): construct after setting
  // the threads.
  OnednnRnn(const cli::BenchProblem& p, const std::map<std::string, Tensor>& state_dict,
            const Tensor& x, const Tensor& dy, OnednnRun run);
  ~OnednnRnn();
  OnednnRnn(const OnednnRnn&) = delete;
  OnednnRnn& operator=(const OnednnRnn&) = delete;

  void inference();      // kInference
  void training_step();  // kTraining
  void stream_run();     // kStream: T forward calls with T = 1, the state passed back in

  Tensor output() const;                               // of the last run: [T, B, D*H]
  std::map<std::string, Tensor> weight_grads() const;  // after training_step, PyTorch names
  Tensor input_grad() const;                           // after training_step: [T, B, I]
  // oneDNN's name for the forward kernel; in training, how many reorders a step runs.
  std::string implementation() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace recur::bench
