// `recur bench`: recur's own timings of benchmark problems (descriptors or the aliases,
// see cli/bench_core.h): inference and a training step, median of repeats, tokens/s and
// GFLOP/s. Leaves out: the peers (PyTorch, oneDNN), validation and ceilings — the harness
// bench/harness (`recur_bench`, preset `bench`) does those; docs/BENCHMARKS.md.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/bench_core.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "recur/error.h"

namespace recur::cli {
namespace {

struct BenchArgs {
  std::string problems = "C1";
  std::string modes = "inference,training";
  int threads = 1;
  int warmup = 2;
  int repeats = 10;
};

void run_bench(const BenchArgs& a) {
  bool inference = false, training = false;
  std::stringstream modes(a.modes);
  for (std::string mode; std::getline(modes, mode, ',');) {
    RECUR_CHECK(mode == "inference" || mode == "training",
                "--modes: '" + mode + "' is not inference or training");
    inference |= mode == "inference";
    training |= mode == "training";
  }
  const std::vector<BenchProblem> problems = parse_bench_problems(a.problems);
  set_threads(a.threads);
  std::cout << fmt::format("{:<38} {:<9} {:>7} {:>14} {:>12} {:>9}\n", "problem", "mode", "threads",
                           "median", "tokens/s", "GFLOP/s");
  for (const BenchProblem& p : problems) {
    RecurRunner runner(p);
    auto report = [&](const char* mode, const TimingStats& s, double flops) {
      // Streaming runs are T step() calls: the time shown is per call.
      const std::string time =
          p.stream ? fmt::format("{:.1f} us/step", s.median / static_cast<double>(p.T) * 1e6)
                   : fmt::format("{:.3f} ms", s.median * 1e3);
      std::cout << fmt::format("{:<38} {:<9} {:>7} {:>14} {:>12.0f} {:>9.1f}\n",
                               bench_descriptor(p), mode, a.threads, time,
                               static_cast<double>(p.tokens()) / s.median, flops / s.median * 1e-9);
    };
    if (p.stream) {
      report("stream", time_calls([&] { runner.stream_run(); }, a.warmup, a.repeats),
             bench_forward_flops(p));
      continue;
    }
    if (inference)
      report("inference", time_calls([&] { runner.inference(); }, a.warmup, a.repeats),
             bench_forward_flops(p));
    if (training)
      report("training", time_calls([&] { runner.training_step(); }, a.warmup, a.repeats),
             3 * bench_forward_flops(p));
  }
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "time recur's recurrent layers on benchmark problems (the peers: recur_bench, "
      "docs/BENCHMARKS.md)");
  cmd->add_option("problems", args->problems,
                  "comma-separated descriptors (lstm_t64_b32_i512_h512_l1_d1[_stream]) or "
                  "aliases C1..C7, S1, or all")
      ->capture_default_str();
  cmd->add_option("--modes", args->modes, "inference, training or both (comma-separated)")
      ->capture_default_str();
  cmd->add_option("--threads", args->threads, "threads")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", args->warmup, "untimed runs first")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--repeats", args->repeats, "timed runs (the median is reported)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->callback([args] { run_bench(*args); });
}

}  // namespace recur::cli
