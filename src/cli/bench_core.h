// What `recur bench` and the peer harness (bench/harness, `recur_bench`) share: benchmark
// problems named by compact descriptors (lstm_t64_b32_i512_h512_l1_d1, the aliases
// C1..C7 and S1), their FLOP and weight-byte counts, recur's own runs of a problem, and the
// median of repeated timings. Leaves out: the peers (bench/peers) and the report tables.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "recur/rnn.h"
#include "recur/tensor.h"

namespace recur::cli {

// A recurrent layer stack on a full-length batch. A streaming problem (descriptor suffix
// `_stream`) is T consecutive step() calls on a [B, I] input, the state carried from call to
// call; it is unidirectional.
struct BenchProblem {
  std::string alias;  // "C1" when named by an alias, else empty
  RnnMode mode = RnnMode::kLstm;
  int64_t T = 0, B = 0, I = 0, H = 0, L = 1;
  bool bidirectional = false;
  bool stream = false;
  bool bf16 = false;  // RnnOptions::precision bf16 (descriptor suffix _bf16)

  int64_t directions() const { return bidirectional ? 2 : 1; }
  int64_t tokens() const { return T * B; }  // per timed run
};

// <mode>_t<T>_b<B>_i<I>_h<H>_l<L>_d<1|2>[_stream][_bf16], mode = rnn_tanh|rnn_relu|lstm|gru.
std::string bench_descriptor(const BenchProblem& p);
// A descriptor or an alias (C1..C7, S1, case-insensitive); anything else is an Error that says
// what was expected.
BenchProblem parse_bench_problem(const std::string& text);
// Comma-separated; "all" = every alias in order.
std::vector<BenchProblem> parse_bench_problems(const std::string& list);
// The problems: {alias, descriptor}, in order.
const std::vector<std::pair<std::string, std::string>>& bench_aliases();

// 2 x multiply-adds of the input and recurrent GEMMs of one forward pass over all T steps, every
// layer and direction (the pointwise cell math is not counted). A training step counts 3x.
double bench_forward_flops(const BenchProblem& p);
// Bytes of all weights (bf16 problems: 2 bytes each, else 4) and biases (float32): what one
// streaming step must read at least once.
int64_t bench_weight_bytes(const BenchProblem& p);

// recur on one problem: weights from Rnn(options, seed 1), input x and output gradient dy drawn
// from N(0, 1) with fixed seeds, so every run (and every peer given them) sees the same numbers.
class RecurRunner {
 public:
  explicit RecurRunner(const BenchProblem& p);
  RecurRunner(const RecurRunner&) = delete;  // last_ points into the object
  RecurRunner& operator=(const RecurRunner&) = delete;
  const Rnn& rnn() const { return rnn_; }
  const Tensor& input() const { return x_; }         // [T, B, I] (stream: step t reads x[t])
  const Tensor& grad_output() const { return dy_; }  // [T, B, D*H]

  void inference();      // RnnInference::forward() over the whole sequence (snapshot made once)
  void training_step();  // forward_train() + backward(dy): weight and input gradients
  void stream_run();     // T RnnStream::step() calls from the zero state (stream made once)

  const Tensor& output() const { return *last_; }  // of the last run: [T, B, D*H]
  const RnnGrads& grads() const { return grads_; }

 private:
  BenchProblem p_;
  Rnn rnn_;
  Tensor x_, dy_, out_;
  RnnOutput inference_out_;     // inference() writes here, run after run
  const Tensor* last_ = &out_;  // the last run's output
  RnnWorkspace ws_;
  RnnGrads grads_;
  std::unique_ptr<RnnInference> inference_;
  std::unique_ptr<RnnStream> stream_;
};

RnnOptions bench_options(const BenchProblem& p);

// Median and spread of repeated timings, in seconds.
struct TimingStats {
  double median = 0, min = 0, max = 0;
  int64_t runs = 0;
};
TimingStats timing_stats(std::vector<double> seconds);
double seconds_now();  // steady clock
// `warmup` untimed calls, then `repeats` timed ones.
TimingStats time_calls(const std::function<void()>& fn, int warmup, int repeats);

}  // namespace recur::cli
