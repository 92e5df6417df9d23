// recur's own timings of the recurrent layers on the problems of the performance issue,
// named by compact descriptors (lstm_t64_b32_i512_h512_l1_d1). Inference and a training
// step (forward + backward with weight gradients); reports tokens/s and GFLOP/s.
// Leaves out: the peers (PyTorch, oneDNN) and the side-by-side ratios — recur_bench
// (bench/harness) does those.
#include <benchmark/benchmark.h>

#include <string>

#include "recur/recur.h"

namespace {

struct Problem {
  recur::RnnMode mode;
  int64_t T, B, I, H, L;
  bool bidirectional;
};

std::string descriptor(const Problem& p) {
  return recur::mode_name(p.mode) + "_t" + std::to_string(p.T) + "_b" + std::to_string(p.B) + "_i" +
         std::to_string(p.I) + "_h" + std::to_string(p.H) + "_l" + std::to_string(p.L) + "_d" +
         (p.bidirectional ? "2" : "1");
}

// Multiply-adds of the forward pass x2: input and recurrent GEMMs of every layer/direction.
double forward_flops(const Problem& p) {
  const double G = static_cast<double>(recur::gate_count(p.mode)), D = p.bidirectional ? 2 : 1;
  double flops = 0;
  for (int64_t l = 0; l < p.L; ++l) {
    const double in = l == 0 ? p.I : D * p.H;
    flops += D * 2.0 * p.T * p.B * G * p.H * (in + p.H);
  }
  return flops;
}

void run(benchmark::State& state, Problem p, bool training) {
  recur::RnnOptions o;
  o.mode = p.mode;
  o.input_size = p.I;
  o.hidden_size = p.H;
  o.num_layers = p.L;
  o.bidirectional = p.bidirectional;
  recur::Rnn rnn(o, 1);
  recur::Tensor x({p.T, p.B, p.I});
  recur::Rng rng(2);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = rng.normal();
  recur::RnnWorkspace ws;
  for (auto _ : state) {
    if (training) {
      recur::RnnOutput y = rnn.forward_train(x, {}, &ws);
      recur::RnnGrads g = rnn.backward(ws, y.output);
      benchmark::DoNotOptimize(g.input.data());
    } else {
      recur::RnnOutput y = rnn.forward(x);
      benchmark::DoNotOptimize(y.output.data());
    }
  }
  const double flops = forward_flops(p) * (training ? 3 : 1);
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(p.T * p.B),
                                                  benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void register_all() {
  using recur::RnnMode;
  const Problem problems[] = {
      {RnnMode::kLstm, 64, 32, 512, 512, 1, false},     // C1
      {RnnMode::kLstm, 100, 1, 512, 512, 1, false},     // C3
      {RnnMode::kGru, 64, 32, 512, 512, 1, false},      // C4
      {RnnMode::kRnnTanh, 64, 32, 512, 512, 1, false},  // C5
      {RnnMode::kLstm, 64, 32, 256, 256, 2, true},      // C6
      {RnnMode::kLstm, 32, 16, 64, 128, 1, false},      // C7
  };
  for (const Problem& p : problems) {
    benchmark::RegisterBenchmark(("inference/" + descriptor(p)).c_str(), run, p, false)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("training/" + descriptor(p)).c_str(), run, p, true)
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
