// recur_bench: recur against its peers, PyTorch and oneDNN, on the same problems, in the same
// run. For each problem (a descriptor such as lstm_t64_b32_i512_h512_l1_d1, or an alias C1..C7,
// S1), mode (inference, training step = forward + backward with weight and input gradients,
// or streaming step()) and thread count: every peer is first given recur's weights and inputs
// and its results are compared with recur's (outputs, and in training every weight gradient
// and the input gradient); a peer that disagrees is reported as a mismatch and not timed.
// Then warm-up runs and timed repeats (recur and oneDNN interleaved run by run, PyTorch in a
// child process, bench/peers/torch_rnn.py) and the medians, with tokens/s, GFLOP/s, the share
// of the GEMM ceiling (or for streaming, of the memory-bandwidth bound) measured in the same
// run, and recur's time over each peer's. --memory adds the peak memory of a training step,
// each peer in a fresh child process (harness/memory.h). Prints a markdown report; --json writes
// everything. docs/BENCHMARKS.md explains the columns. Leaves out: bf16, projections, variable
// lengths.
#include <malloc.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/bench_core.h"
#include "harness/ceilings.h"
#include "harness/memory.h"
#include "peers/onednn_rnn.h"
#include "recur/error.h"
#include "recur/io.h"

#ifndef RECUR_BENCH_DIR
#define RECUR_BENCH_DIR "bench"
#endif

namespace recur::bench {
namespace {

namespace fs = std::filesystem;
using cli::BenchProblem;
using cli::TimingStats;
using nlohmann::json;

// Agreement required before timing: max |peer - recur| / max(1, max |recur|) per tensor.
// Outputs go through T steps of float32 arithmetic in a different order; gradients sum T*B
// products more, so they get a looser bound. Measured on C1..C7 and S1: at most 2.2e-6 for
// both peers; a wrong gate order or a missed state is off by 1e-2 to 1.
constexpr double kOutputTolerance = 2e-5;
constexpr double kGradTolerance = 2e-4;
// bf16 problems: the peers round different values to bf16 (oneDNN keeps h and the outputs in
// bf16, recur in float), which moves results by about 2^-9 relative per step.
constexpr double kBf16OutputTolerance = 1e-2;
constexpr double kBf16GradTolerance = 2e-2;

struct Options {
  std::string problems = "all";
  std::string threads = "1,2";
  std::string modes = "inference,training";
  std::string peers = "onednn,torch";
  int warmup = 2;
  int repeats = 10;
  bool quick = false;
  bool self_test = false;
  bool memory = false;       // also the peak memory of each training row
  bool memory_only = false;  // only that: no ceilings, validation or timing
  int memory_steps = 4;      // steps per memory measurement: the first, and later ones
  std::string memory_probe;  // hidden: the child side of a memory measurement
  std::string probe_peer = "recur";
  int probe_threads = 1;
  std::string python = "/usr/bin/python3";
  std::string torch_script = std::string(RECUR_BENCH_DIR) + "/peers/torch_rnn.py";
  std::string json_path;
  int64_t ceiling_size = 2048;
};

struct PeerResult {
  std::string status = "off";  // off | ok | mismatch: ... | error: ...
  TimingStats stats;
  int threads = 0;  // the setting that gave `stats` (PyTorch: its best one <= the row's)
  double error = 0;
  std::string implementation;  // oneDNN: its kernel's name and the reorders of a step
};

struct Row {
  BenchProblem problem;
  std::string mode;
  int threads = 1;
  TimingStats recur;
  double flops = 0;           // per run
  double ceiling_gflops = 0;  // square GEMM at these threads
  double shape_gflops = 0;    // GEMM of the problem's input-projection shape
  // The GEMM ceiling: the faster of the two GEMMs measured at these threads.
  double ceiling() const { return std::max(ceiling_gflops, shape_gflops); }
  double bound_s = 0;    // streaming: weight bytes / read bandwidth, per step
  double bandwidth = 0;  // streaming: bytes/s
  PeerResult onednn, torch;
  // --memory, training rows: a fresh child process per peer (harness/memory.h).
  bool has_memory = false;
  MemoryResult memory_recur, memory_onednn, memory_torch;
  AnalyticMemory analytic;
};

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

bool has(const std::string& list, const std::string& item) {
  const auto items = split(list);
  return std::find(items.begin(), items.end(), item) != items.end();
}

// max |a - ref| / max(1, max |ref|); infinity when the shapes differ or a value is not finite.
double relative_error(const Tensor& a, const Tensor& ref) {
  if (a.shape() != ref.shape()) return INFINITY;
  double diff = 0, scale = 1;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - ref[i]);
    if (!std::isfinite(d)) return INFINITY;
    diff = std::max(diff, d);
    scale = std::max(scale, std::fabs(static_cast<double>(ref[i])));
  }
  return diff / scale;
}

// Compares one tensor; on failure, sets *why (once) and returns false.
bool agree(const std::string& name, const Tensor& peer, const Tensor& ref, double tolerance,
           double* worst, std::string* why) {
  const double e = relative_error(peer, ref);
  *worst = std::max(*worst, e);
  if (e <= tolerance) return true;
  if (why->empty())
    *why = name + " differs by " + std::to_string(e) + " (tolerance " + std::to_string(tolerance) +
           ", shapes " + shape_string(peer.shape()) + " / " + shape_string(ref.shape()) + ")";
  return false;
}

// Compares a peer's results of `mode` with recur's last run of it. `get(name)` returns the
// peer's tensor: "output", "input" (d input) or a parameter name (its gradient).
std::string validate(const cli::RecurRunner& recur, const std::string& mode,
                     const std::function<Tensor(const std::string&)>& get, double* worst) {
  std::string why;
  const bool bf16 = recur.rnn().options().precision == Precision::kBfloat16;
  const double out_tol = bf16 ? kBf16OutputTolerance : kOutputTolerance;
  const double grad_tol = bf16 ? kBf16GradTolerance : kGradTolerance;
  agree("output", get("output"), recur.output(), out_tol, worst, &why);
  if (mode == "training") {
    agree("d input", get("input"), recur.grads().input, grad_tol, worst, &why);
    for (const auto& [name, grad] : recur.grads().parameters)
      agree("d " + name, get(name), grad, grad_tol, worst, &why);
  }
  return why;
}

void run_mode(cli::RecurRunner& r, const std::string& mode) {
  if (mode == "inference") r.inference();
  if (mode == "training") r.training_step();
  if (mode == "stream") r.stream_run();
}

OnednnRun onednn_run(const std::string& mode) {
  return mode == "inference"  ? OnednnRun::kInference
         : mode == "training" ? OnednnRun::kTraining
                              : OnednnRun::kStream;
}

void run_mode(OnednnRnn& o, const std::string& mode) {
  if (mode == "inference") o.inference();
  if (mode == "training") o.training_step();
  if (mode == "stream") o.stream_run();
}

// Validates oneDNN against recur's last run of `mode`. Runs oneDNN twice so that a second call
// must not see state from the first (gradients accumulate in oneDNN unless zeroed).
std::string validate_onednn(const cli::RecurRunner& recur, OnednnRnn& peer, const std::string& mode,
                            double* worst) {
  run_mode(peer, mode);
  run_mode(peer, mode);
  const Tensor out = peer.output();
  std::map<std::string, Tensor> grads;
  Tensor dx;
  if (mode == "training") {
    grads = peer.weight_grads();
    dx = peer.input_grad();
  }
  return validate(
      recur, mode,
      [&](const std::string& name) -> Tensor {
        if (name == "output") return out;
        if (name == "input") return dx;
        const auto it = grads.find(name);
        return it == grads.end() ? Tensor() : it->second;
      },
      worst);
}

// Times the functions run by run in turn, so that a slow spell of a busy machine is shared.
std::vector<TimingStats> time_interleaved(const std::vector<std::function<void()>>& fns, int warmup,
                                          int repeats) {
  for (int i = 0; i < warmup; ++i)
    for (const auto& fn : fns) fn();
  std::vector<std::vector<double>> seconds(fns.size());
  for (int i = 0; i < repeats; ++i)
    for (std::size_t k = 0; k < fns.size(); ++k) {
      const double start = cli::seconds_now();
      fns[k]();
      seconds[k].push_back(cli::seconds_now() - start);
    }
  std::vector<TimingStats> stats;
  for (auto& s : seconds) stats.push_back(cli::timing_stats(std::move(s)));
  return stats;
}

// The PyTorch peer for one problem: validation (one child process), then timings at every
// thread setting in `torch_threads` (another). Fills `results[{mode, threads}]`; a failure or
// mismatch leaves the status in *status and no timings.
struct TorchOutcome {
  std::string status = "off";
  double error = 0;
  std::map<std::pair<std::string, int>, TimingStats> timings;
  std::string version;
};

// The problem as torch_rnn.py reads it: recur's state_dict, `input` and `grad_output`.
fs::path write_problem(const fs::path& dir, const cli::RecurRunner& recur) {
  SafeTensors problem;
  problem.tensors = recur.rnn().state_dict();
  problem.tensors["input"] = recur.input();
  problem.tensors["grad_output"] = recur.grad_output();
  const fs::path weights = dir / "problem.safetensors";
  save_safetensors(weights.string(), problem);
  return weights;
}

TorchOutcome run_torch(const Options& o, const fs::path& dir, const fs::path& weights,
                       const BenchProblem& p, cli::RecurRunner& recur,
                       const std::vector<std::string>& modes, const std::set<int>& torch_threads) {
  TorchOutcome result;
  const fs::path checked = dir / "torch.safetensors";
  std::string modes_arg, threads_arg;
  for (const auto& m : modes) modes_arg += (modes_arg.empty() ? "" : ",") + m;
  for (int t : torch_threads) threads_arg += (threads_arg.empty() ? "" : ",") + std::to_string(t);
  const std::string base = shell_quote(o.python) + " " + shell_quote(o.torch_script) +
                           " --problem " + cli::bench_descriptor(p) + " --weights " +
                           shell_quote(weights.string()) + " --modes " + modes_arg;
  std::string out;
  if (run_command(base + " --validate " + shell_quote(checked.string()), &out) != 0) {
    result.status = "error: " + o.python + " " + o.torch_script + " failed (is torch installed?)";
    return result;
  }
  const SafeTensors torch = load_safetensors(checked.string());
  result.version = torch.metadata.count("torch") ? torch.metadata.at("torch") : "";
  for (const std::string& mode : modes) {
    run_mode(recur, mode);
    const std::string prefix = mode == "inference" ? "" : mode == "training" ? "train." : "stream.";
    const std::string why = validate(
        recur, mode,
        [&](const std::string& name) -> Tensor {
          const std::string key = mode == "inference" ? "output" : prefix + name;
          const auto it = torch.tensors.find(key);
          return it == torch.tensors.end() ? Tensor() : it->second;
        },
        &result.error);
    if (!why.empty()) {
      result.status = "mismatch: " + mode + ": " + why;
      return result;
    }
  }
  out.clear();
  const int rc =
      run_command(base + " --threads " + threads_arg + " --warmup " + std::to_string(o.warmup) +
                      " --repeats " + std::to_string(o.repeats),
                  &out);
  if (rc != 0) {
    result.status = "error: timing run failed";
    return result;
  }
  std::stringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] != '{') continue;
    const json j = json::parse(line);
    TimingStats s;
    s.median = j.at("median_s");
    s.min = j.at("min_s");
    s.max = j.at("max_s");
    s.runs = j.at("runs");
    result.timings[{j.at("mode").get<std::string>(), j.at("threads").get<int>()}] = s;
  }
  result.status = "ok";
  return result;
}

std::string cpu_name() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

std::string today() {
  const std::time_t now = std::time(nullptr);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M", std::localtime(&now));
  return buffer;
}

std::string fixed(double v, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, v);
  return buffer;
}

// 3 significant digits, at least `min_digits` after the point for small values.
std::string sig3(double v) {
  const double a = std::fabs(v);
  return fixed(v, a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3);
}

std::string time_cell(double seconds, bool stream) {
  return stream ? sig3(seconds * 1e6) + " µs" : sig3(seconds * 1e3) + " ms";
}

// Per-run time of a row, per step for streaming rows.
double per_unit(const Row& r, double seconds) {
  return r.problem.stream ? seconds / static_cast<double>(r.problem.T) : seconds;
}

std::string peer_cell(const Row& r, const PeerResult& peer, bool show_threads) {
  if (peer.status == "off") return "–";
  if (peer.status != "ok") return peer.status.substr(0, peer.status.find(':'));
  std::string cell = time_cell(per_unit(r, peer.stats.median), r.problem.stream);
  if (show_threads) cell += " (" + std::to_string(peer.threads) + "t)";
  return cell;
}

std::string ratio_cell(const Row& r, const PeerResult& peer) {
  if (peer.status != "ok") return "–";
  return fixed(r.recur.median / peer.stats.median, 2);
}

std::string name_of(const BenchProblem& p) {
  return (p.alias.empty() ? "" : p.alias + " ") + "`" + cli::bench_descriptor(p) + "`";
}

std::string mib(int64_t bytes) { return fixed(static_cast<double>(bytes) / 1048576.0, 1); }

// A peer's peak (the highest of its steps), or "–" / "error".
std::string memory_cell(const Row& r, const MemoryResult& m) {
  if (!r.has_memory || m.status == "off") return "–";
  return m.status == "ok" ? mib(m.peak()) : "error";
}

std::string memory_steps_cell(const MemoryResult& m) {
  if (m.status == "off") return "–";
  return m.status == "ok" ? mib(m.first()) + " / " + mib(m.later()) : "error";
}

std::string memory_ratio_cell(const Row& r) {
  const MemoryResult &a = r.memory_recur, &b = r.memory_torch;
  if (!r.has_memory || a.status != "ok" || b.status != "ok" || b.peak() <= 0) return "–";
  return fixed(static_cast<double>(a.peak()) / static_cast<double>(b.peak()), 2);
}

void print_memory(std::ostream& out, const std::vector<Row>& rows) {
  out << "\nPeak memory of a training step, MiB: the peak resident memory (VmHWM) during the step "
         "over the resident memory before the first step, when weights, input and dy are "
         "allocated and touched; each peer in a fresh process; first step / highest of the "
         "later steps. recur/PyTorch compares the highest of all. Analytic: recur's saved "
         "workspace + "
         "every gradient (must be live at the end of backward), and recur's scratch + the "
         "output. Code pages: file-backed resident memory (RssFile) that the steps added, "
         "part of the peaks.\n\n";
  out << "| problem | threads | recur | oneDNN | PyTorch | recur/PyTorch | kept after step 1, "
         "recur / PyTorch | code pages, recur / PyTorch | workspace + gradients | scratch + "
         "output |\n";
  out << "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const Row& r : rows) {
    if (!r.has_memory) continue;
    const AnalyticMemory& a = r.analytic;
    const auto pair = [&](int64_t MemoryResult::*field) {
      const auto one = [&](const MemoryResult& m) {
        return m.status == "ok" ? mib(m.*field) : std::string("–");
      };
      return one(r.memory_recur) + " / " + one(r.memory_torch);
    };
    out << "| " << name_of(r.problem) << " | " << r.threads << " | "
        << memory_steps_cell(r.memory_recur) << " | " << memory_steps_cell(r.memory_onednn) << " | "
        << memory_steps_cell(r.memory_torch) << " | " << memory_ratio_cell(r) << " | "
        << pair(&MemoryResult::retained) << " | " << pair(&MemoryResult::file) << " | "
        << mib(a.workspace) << " + " << mib(a.gradients) << " = " << mib(a.workspace + a.gradients)
        << " | " << mib(a.scratch) << " + " << mib(a.output) << " |\n";
  }
  bool notes = false;
  for (const Row& r : rows)
    for (const auto* m : {&r.memory_recur, &r.memory_onednn, &r.memory_torch})
      if (r.has_memory && m->status != "ok" && m->status != "off") {
        if (!notes) out << "\nNot measured:\n";
        notes = true;
        out << "- " << name_of(r.problem) << " " << r.threads << "t, "
            << (m == &r.memory_recur    ? "recur"
                : m == &r.memory_onednn ? "oneDNN"
                                        : "PyTorch")
            << ": " << m->status << "\n";
      }
}

void print_markdown(std::ostream& out, const std::vector<Row>& rows, const json& meta,
                    const Options& o) {
  out << "recur_bench, " << meta["date"].get<std::string>() << ", "
      << meta["cpu"].get<std::string>() << " (" << meta["cores"].get<int>() << " cores), oneDNN "
      << meta["onednn"].get<std::string>() << ", PyTorch " << meta["torch"].get<std::string>()
      << "\n\n`" << meta["command"].get<std::string>() << "`\n";
  if (o.memory_only) {
    print_memory(out, rows);
    return;
  }
  out << "\nMedian of " << meta["repeats"].get<int>() << " timed runs after "
      << meta["warmup"].get<int>()
      << " warm-up runs. Ratios are recur's time over the peer's (below 1: recur is faster).\n\n";
  out << "| problem | mode | threads | recur | tokens/s | GFLOP/s | % of ceiling | oneDNN | "
         "PyTorch | recur/oneDNN | recur/PyTorch |"
      << (o.memory ? " recur MiB | oneDNN MiB | PyTorch MiB | memory recur/PyTorch |" : "")
      << "\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
      << (o.memory ? "---:|---:|---:|---:|" : "") << "\n";
  for (const Row& r : rows) {
    const double t = r.recur.median;
    const double unit = per_unit(r, t);
    const double gflops = r.flops / t * 1e-9;
    const std::string share = r.problem.stream ? fixed(100 * r.bound_s / unit, 0) + " % of bw bound"
                                               : fixed(100 * gflops / r.ceiling(), 0) + " %";
    out << "| " << name_of(r.problem) << " | " << r.mode << " | " << r.threads << " | "
        << time_cell(unit, r.problem.stream) << " | "
        << fixed(static_cast<double>(r.problem.tokens()) / t, 0) << " | " << fixed(gflops, 1)
        << " | " << share << " | " << peer_cell(r, r.onednn, false) << " | "
        << peer_cell(r, r.torch, true) << " | " << ratio_cell(r, r.onednn) << " | "
        << ratio_cell(r, r.torch) << " |";
    if (o.memory)
      out << " " << memory_cell(r, r.memory_recur) << " | " << memory_cell(r, r.memory_onednn)
          << " | " << memory_cell(r, r.memory_torch) << " | " << memory_ratio_cell(r) << " |";
    out << "\n";
  }
  out << "\nCeilings measured in this run (% of ceiling: of the faster GEMM at the row's "
         "threads, the square one or the problem's own shape): f32 GEMM (dnnl_sgemm, "
      << meta["ceiling_size"].get<int64_t>() << "³)";
  for (const auto& [threads, g] : meta["gemm_square_gflops"].items())
    out << ", " << threads << " thread(s) " << fixed(g.get<double>(), 0) << " GFLOP/s";
  if (meta.contains("gemm_bf16_square_gflops")) {
    out << "; bf16 GEMM (oneDNN matmul, bf16 inputs, f32 result; the ceiling of _bf16 rows)";
    for (const auto& [threads, g] : meta["gemm_bf16_square_gflops"].items())
      out << ", " << threads << " thread(s) " << fixed(g.get<double>(), 0) << " GFLOP/s";
  }
  out << ".\n";
  std::set<std::string> seen;
  for (const Row& r : rows) {
    const std::string key = cli::bench_descriptor(r.problem) + std::to_string(r.threads);
    if (!seen.insert(key).second) continue;
    if (r.problem.stream)
      out << "- " << name_of(r.problem) << ", " << r.threads << " thread(s): bound "
          << fixed(r.bound_s * 1e6, 1) << " µs per step = "
          << fixed(static_cast<double>(cli::bench_weight_bytes(r.problem)) / 1048576.0, 2)
          << " MiB of weights at " << fixed(r.bandwidth * 1e-9, 1) << " GB/s read bandwidth\n";
    else
      out << "- " << name_of(r.problem) << ", " << r.threads
          << " thread(s): GEMM of its input projection [T·B × G·H × I] " << fixed(r.shape_gflops, 0)
          << " GFLOP/s\n";
  }
  bool notes = false;
  for (const Row& r : rows)
    for (const auto* peer : {&r.onednn, &r.torch})
      if (peer->status != "ok" && peer->status != "off") {
        if (!notes) out << "\nNot timed:\n";
        notes = true;
        out << "- " << name_of(r.problem) << " " << r.mode << " " << r.threads << "t, "
            << (peer == &r.onednn ? "oneDNN" : "PyTorch") << ": " << peer->status << "\n";
      }
  if (o.memory) print_memory(out, rows);
}

json stats_json(const TimingStats& s) {
  return {{"median_s", s.median}, {"min_s", s.min}, {"max_s", s.max}, {"runs", s.runs}};
}

json memory_json(const MemoryResult& m) {
  json j = {{"status", m.status}};
  if (m.status == "ok")
    j.update({{"peak_bytes", m.peak()},
              {"first_step_bytes", m.first()},
              {"later_steps_bytes", m.later()},
              {"each_step_bytes", m.steps},
              {"kept_after_first_step_bytes", m.retained},
              {"file_backed_growth_bytes", m.file},
              {"baseline_rss_bytes", m.baseline}});
  return j;
}

json peer_json(const PeerResult& p) {
  json j = {{"status", p.status}, {"max_relative_error", p.error}};
  if (!p.implementation.empty()) j["implementation"] = p.implementation;
  if (p.status == "ok") {
    j["timing"] = stats_json(p.stats);
    j["threads"] = p.threads;
  }
  return j;
}

// Fills row->memory_* for row->problem at row->threads: recur, and each peer in use, in a fresh
// child process (harness/memory.h).
void measure_memory(const Options& o, const fs::path& weights, bool use_onednn, bool use_torch,
                    Row* row) {
  const BenchProblem& p = row->problem;
  std::cerr << cli::bench_descriptor(p) << " memory " << row->threads << "t" << std::endl;
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  row->has_memory = true;
  row->analytic = analytic_memory(p, row->threads);
  const int t = row->threads, steps = o.memory_steps;
  row->memory_recur = probe_in_child(self, p, "recur", t, steps);
  if (use_onednn) row->memory_onednn = probe_in_child(self, p, "onednn", t, steps);
  if (use_torch)
    row->memory_torch = probe_torch(o.python, o.torch_script, weights.string(), p, t, steps);
}

int run(const Options& o, const std::string& command) {
  const std::vector<BenchProblem> problems = cli::parse_bench_problems(o.problems);
  std::vector<int> threads;
  for (const auto& t : split(o.threads)) threads.push_back(std::stoi(t));
  RECUR_CHECK(!threads.empty(), "--threads: give at least one thread count");
  const bool use_onednn = has(o.peers, "onednn"), use_torch = has(o.peers, "torch");
  std::set<int> torch_threads(threads.begin(), threads.end());
  torch_threads.insert(1);

  const dnnl_version_t* v = dnnl_version();
  json meta = {{"date", today()},
               {"cpu", cpu_name()},
               {"cores", static_cast<int>(std::thread::hardware_concurrency())},
               {"onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                              std::to_string(v->patch)},
               {"torch", use_torch ? "?" : "off"},
               {"command", command},
               {"warmup", o.warmup},
               {"repeats", o.repeats},
               {"ceiling_size", o.ceiling_size},
               {"tolerances", {{"output", kOutputTolerance}, {"gradients", kGradTolerance}}}};
  if (o.memory)
    meta["memory_definition"] =
        "peak VmHWM during a training step minus VmRSS before the first step (weights, input, dy "
        "allocated and touched, malloc_trim(0) first), each peer in a fresh process; the first "
        "step, and the highest of steps 2.." +
        std::to_string(o.memory_steps);

  std::map<int, double> square, square_bf16;
  const bool any_bf16 = std::any_of(problems.begin(), problems.end(),
                                    [](const BenchProblem& p) { return p.bf16 && !p.stream; });
  for (int t : o.memory_only ? std::vector<int>{} : threads) {
    omp_set_num_threads(t);
    square[t] = gemm_gflops(o.ceiling_size, o.ceiling_size, o.ceiling_size, false, 1,
                            std::max(3, o.repeats / 2));
    std::cerr << "GEMM ceiling, " << t << " thread(s): " << fixed(square[t], 1) << " GFLOP/s\n";
    meta["gemm_square_gflops"][std::to_string(t)] = square[t];
    if (any_bf16) {
      square_bf16[t] = gemm_gflops_bf16(o.ceiling_size, o.ceiling_size, o.ceiling_size, false, 1,
                                        std::max(3, o.repeats / 2));
      std::cerr << "bf16 GEMM ceiling, " << t << " thread(s): " << fixed(square_bf16[t], 1)
                << " GFLOP/s\n";
      meta["gemm_bf16_square_gflops"][std::to_string(t)] = square_bf16[t];
    }
  }

  const fs::path dir = fs::temp_directory_path() / ("recur_bench." + std::to_string(getpid()));
  fs::create_directories(dir);
  std::vector<Row> rows;
  for (const BenchProblem& p : problems) {
    std::vector<std::string> modes;
    if (p.stream) {
      modes = {"stream"};
    } else {
      for (const std::string m : {"inference", "training"})
        if (has(o.modes, m)) modes.push_back(m);
    }
    if (modes.empty() || (o.memory_only && (p.stream || !has(o.modes, "training")))) continue;
    cli::RecurRunner recur(p);
    // bf16 problems have no PyTorch peer: PyTorch 1.13 has no bf16 recurrent layer on the CPU
    // that computes what recur's bf16 mode does (bf16 GEMM inputs, float state).
    const bool torch_here = use_torch && !p.bf16;
    const fs::path weights = torch_here ? write_problem(dir, recur) : fs::path();
    if (o.memory_only) {  // training rows, measured in child processes; nothing timed
      for (int t : threads) {
        Row row;
        row.problem = p;
        row.mode = "training";
        row.threads = t;
        measure_memory(o, weights, use_onednn, torch_here, &row);
        if (!row.memory_torch.version.empty()) meta["torch"] = row.memory_torch.version;
        rows.push_back(row);
      }
      continue;
    }
    omp_set_num_threads(threads.front());
    TorchOutcome torch;
    if (torch_here) {
      std::cerr << cli::bench_descriptor(p) << ": PyTorch" << std::endl;
      torch = run_torch(o, dir, weights, p, recur, modes, torch_threads);
      if (!torch.version.empty()) meta["torch"] = torch.version;
      if (torch.status != "ok") std::cerr << "  PyTorch: " << torch.status << "\n";
    }
    for (int t : threads) {
      omp_set_num_threads(t);
      double shape = 0, bound = 0, bandwidth = 0;
      if (p.stream) {
        bandwidth = read_bandwidth(cli::bench_weight_bytes(p), 5, std::max(51, o.repeats));
        bound = static_cast<double>(cli::bench_weight_bytes(p)) / bandwidth;
      } else {
        shape = (p.bf16 ? gemm_gflops_bf16 : gemm_gflops)(p.T * p.B, gate_count(p.mode) * p.H, p.I,
                                                          true, 1, std::max(3, o.repeats / 2));
      }
      for (const std::string& mode : modes) {
        std::cerr << cli::bench_descriptor(p) << " " << mode << " " << t << "t" << std::endl;
        Row row;
        row.problem = p;
        row.mode = mode;
        row.threads = t;
        row.flops = cli::bench_forward_flops(p) * (mode == "training" ? 3 : 1);
        row.ceiling_gflops = p.bf16 ? square_bf16[t] : square[t];
        row.shape_gflops = shape;
        row.bound_s = bound;
        row.bandwidth = bandwidth;
        std::vector<std::function<void()>> fns = {[&] { run_mode(recur, mode); }};
        std::unique_ptr<OnednnRnn> onednn;
        if (use_onednn) {
          try {
            onednn = std::make_unique<OnednnRnn>(p, recur.rnn().state_dict(), recur.input(),
                                                 recur.grad_output(), onednn_run(mode));
            run_mode(recur, mode);
            const std::string why = validate_onednn(recur, *onednn, mode, &row.onednn.error);
            row.onednn.status = why.empty() ? "ok" : "mismatch: " + why;
            row.onednn.implementation = onednn->implementation();
          } catch (const std::exception& e) {
            row.onednn.status = std::string("error: ") + e.what();
          }
          if (row.onednn.status == "ok") {
            fns.push_back([&] { run_mode(*onednn, mode); });
          } else {
            std::cerr << "  oneDNN: " << row.onednn.status << "\n";
          }
        }
        const std::vector<TimingStats> stats = time_interleaved(fns, o.warmup, o.repeats);
        row.recur = stats[0];
        if (fns.size() > 1) {
          row.onednn.stats = stats[1];
          row.onednn.threads = t;
        }
        row.torch.status = torch.status;
        row.torch.error = torch.error;
        if (torch.status == "ok") {
          // PyTorch at its best setting with at most t threads.
          for (int tt : torch_threads) {
            const auto it = torch.timings.find({mode, tt});
            if (tt > t || it == torch.timings.end()) continue;
            if (row.torch.threads == 0 || it->second.median < row.torch.stats.median) {
              row.torch.stats = it->second;
              row.torch.threads = tt;
            }
          }
          if (row.torch.threads == 0) row.torch.status = "error: no timing";
        }
        if (o.memory && mode == "training")
          measure_memory(o, weights, use_onednn, torch_here, &row);
        rows.push_back(row);
      }
    }
  }
  fs::remove_all(dir);

  print_markdown(std::cout, rows, meta, o);
  if (!o.json_path.empty()) {
    json j = meta;
    for (const Row& r : rows) {
      json row = {{"problem", cli::bench_descriptor(r.problem)},
                  {"alias", r.problem.alias},
                  {"mode", r.mode},
                  {"threads", r.threads}};
      if (r.has_memory) {
        const AnalyticMemory& a = r.analytic;
        row["memory"] = {{"recur", memory_json(r.memory_recur)},
                         {"onednn", memory_json(r.memory_onednn)},
                         {"pytorch", memory_json(r.memory_torch)},
                         {"analytic_bytes",
                          {{"recur_workspace", a.workspace},
                           {"gradients", a.gradients},
                           {"output", a.output},
                           {"recur_scratch", a.scratch}}}};
        if (r.memory_recur.status == "ok" && r.memory_torch.status == "ok")
          row["memory"]["recur_over_pytorch"] = static_cast<double>(r.memory_recur.peak()) /
                                                static_cast<double>(r.memory_torch.peak());
      }
      if (o.memory_only) {
        j["rows"].push_back(row);
        continue;
      }
      row.update({{"tokens_per_run", r.problem.tokens()},
                  {"flops_per_run", r.flops},
                  {"recur", stats_json(r.recur)},
                  {"onednn", peer_json(r.onednn)},
                  {"pytorch", peer_json(r.torch)}});
      if (r.problem.stream) {
        row["bound_s_per_step"] = r.bound_s;
        row["read_bandwidth_bytes_per_s"] = r.bandwidth;
        row["weight_bytes"] = cli::bench_weight_bytes(r.problem);
      } else {
        row["gemm_square_gflops"] = r.ceiling_gflops;
        row["gemm_ceiling_gflops"] = r.ceiling();
        row["gemm_shape_gflops"] = r.shape_gflops;
      }
      j["rows"].push_back(row);
    }
    std::ofstream(o.json_path) << j.dump(2) << "\n";
  }
  return 0;
}

// The checks that need no timing: the descriptor grammar and, on small problems of every cell
// kind, stacked and bidirectional, that oneDNN fed through the gate-order mapping computes what
// recur computes (outputs, every gradient, streaming).
int self_test() {
  int failures = 0;
  auto expect = [&](bool ok, const std::string& what) {
    std::cout << (ok ? "ok   " : "FAIL ") << what << "\n";
    failures += ok ? 0 : 1;
  };
  const BenchProblem c6 = cli::parse_bench_problem("c6");
  expect(c6.alias == "C6" && c6.mode == RnnMode::kLstm && c6.T == 64 && c6.B == 32 && c6.I == 256 &&
             c6.H == 256 && c6.L == 2 && c6.bidirectional && !c6.stream,
         "alias C6");
  const BenchProblem s = cli::parse_bench_problem("rnn_relu_t3_b2_i5_h7_l2_d1_stream");
  expect(s.mode == RnnMode::kRnnRelu && s.T == 3 && s.B == 2 && s.I == 5 && s.H == 7 && s.L == 2 &&
             s.stream && cli::bench_descriptor(s) == "rnn_relu_t3_b2_i5_h7_l2_d1_stream",
         "descriptor round trip");
  for (const char* bad :
       {"lstm_t64_b32_i512_h512_l1", "lstm_t0_b1_i1_h1_l1_d1", "lsmt_t1_b1_i1_h1_l1_d1",
        "lstm_t1_b1_i1_h1_l1_d3", "lstm_t1_b1_i1_h1_l1_d2_stream", "lstm_t1_b1_i1_h1_l1_d1_x",
        "lstm_b1_t1_i1_h1_l1_d1", "C9"}) {
    bool threw = false;
    try {
      cli::parse_bench_problem(bad);
    } catch (const Error&) {
      threw = true;
    }
    expect(threw, std::string("rejects ") + bad);
  }
  expect(cli::parse_bench_problems("all").size() == cli::bench_aliases().size(), "all");
  for (const char* mode : {"rnn_tanh", "rnn_relu", "lstm", "gru"}) {
    for (const char* shape : {"_t5_b3_i4_h6_l1_d1", "_t5_b3_i4_h6_l2_d2", "_t4_b2_i3_h5_l3_d1"}) {
      const BenchProblem p = cli::parse_bench_problem(mode + std::string(shape));
      cli::RecurRunner recur(p);
      for (const std::string m : {"inference", "training"}) {
        OnednnRnn peer(p, recur.rnn().state_dict(), recur.input(), recur.grad_output(),
                       onednn_run(m));
        run_mode(recur, m);
        double error = 0;
        const std::string why = validate_onednn(recur, peer, m, &error);
        expect(why.empty(), "oneDNN " + m + " " + cli::bench_descriptor(p) + " (error " +
                                std::to_string(error) + ") " + why);
      }
      if (p.bidirectional) continue;
      BenchProblem sp = p;
      sp.stream = true;
      cli::RecurRunner streaming(sp);
      OnednnRnn peer(sp, streaming.rnn().state_dict(), streaming.input(), streaming.grad_output(),
                     OnednnRun::kStream);
      streaming.stream_run();
      double error = 0;
      const std::string why = validate_onednn(streaming, peer, "stream", &error);
      expect(why.empty(), "oneDNN stream " + cli::bench_descriptor(sp) + " (error " +
                              std::to_string(error) + ") " + why);
    }
  }
  // The memory probe, in child processes as --memory runs it: each step's peak over the
  // baseline must hold at least the gradients the step leaves behind (8 MiB of weight gradients
  // here), and stay below a bound far above what either allocates, so that a probe reading the
  // wrong field, unit or moment fails.
  const BenchProblem small = cli::parse_bench_problem("lstm_t2_b2_i512_h512_l1_d1");
  const AnalyticMemory a = analytic_memory(small, 1);
  const int64_t bound = 8 * (a.workspace + a.gradients + a.scratch + a.output) + (64 << 20);
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  for (const std::string peer : {"recur", "onednn"}) {
    const MemoryResult m = probe_in_child(self, small, peer, 1, 2);
    expect(m.status == "ok" && m.first() >= a.gradients && m.later() >= a.gradients &&
               m.peak() <= bound,
           "memory probe " + peer + " " + cli::bench_descriptor(small) + ": " + m.status +
               ", steps " + std::to_string(m.first() >> 10) + " / " +
               std::to_string(m.later() >> 10) + " KiB over the baseline, gradients " +
               std::to_string(a.gradients >> 10) + " KiB, bound " + std::to_string(bound >> 10) +
               " KiB");
  }
  std::cout << (failures ? std::to_string(failures) + " check(s) failed\n" : "all checks passed\n");
  return failures ? 1 : 0;
}

}  // namespace
}  // namespace recur::bench

int main(int argc, char** argv) {
  // The heap settings of the `recur` command (src/cli/main.cc), so that recur runs here as it
  // runs there: freed activation buffers stay in the heap instead of being unmapped. Set before
  // anything else, so the --memory-probe child measures recur under the same settings.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  recur::bench::Options o;
  CLI::App app{
      "recur_bench: recur against PyTorch and oneDNN on the same recurrent-layer problems, "
      "validated, then timed in the same run (docs/BENCHMARKS.md)"};
  app.add_option("--problems", o.problems,
                 "comma-separated descriptors <mode>_t<T>_b<B>_i<I>_h<H>_l<L>_d<1|2>[_stream] "
                 "or aliases C1..C7, S1, or all")
      ->capture_default_str();
  app.add_option("--threads", o.threads, "comma-separated thread counts")->capture_default_str();
  app.add_option("--modes", o.modes, "inference,training (streaming problems: stream)")
      ->capture_default_str();
  app.add_option("--peers", o.peers, "onednn,torch, either, or none")->capture_default_str();
  app.add_option("--warmup", o.warmup, "untimed runs first")->capture_default_str();
  app.add_option("--repeats", o.repeats, "timed runs; the median is reported")
      ->capture_default_str();
  app.add_flag("--quick", o.quick, "1 warm-up, 3 repeats, 1024³ GEMM ceiling: a smoke run");
  app.add_option("--python", o.python, "Python with torch")->capture_default_str();
  app.add_option("--torch-script", o.torch_script, "the PyTorch peer")->capture_default_str();
  app.add_option("--ceiling-size", o.ceiling_size, "side of the square GEMM ceiling")
      ->capture_default_str();
  app.add_option("--json", o.json_path, "also write every number to this JSON file");
  app.add_flag("--self-test", o.self_test,
               "check the descriptor parser and oneDNN against recur on small problems");
  app.add_flag("--memory", o.memory,
               "also the peak memory of each training row (recur and each peer in a fresh "
               "process)");
  app.add_flag("--memory-only", o.memory_only,
               "only the peak memory of training steps: no ceilings, validation or timing");
  app.add_option("--memory-steps", o.memory_steps,
                 "training steps per memory measurement (>= 2): the first, and the highest of "
                 "the later ones")
      ->capture_default_str()
      ->check(CLI::Range(2, 100));
  // The child side of a memory measurement (harness/memory.h); not for users.
  app.add_option("--memory-probe", o.memory_probe)->group("");
  app.add_option("--probe-peer", o.probe_peer)->group("");
  app.add_option("--probe-threads", o.probe_threads)->group("");
  CLI11_PARSE(app, argc, argv);
  if (o.memory_only) o.memory = true;
  if (o.quick) {
    o.warmup = 1;
    o.repeats = 3;
    o.ceiling_size = 1024;
  }
  std::string command = "recur_bench";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
  try {
    if (!o.memory_probe.empty())
      return recur::bench::memory_probe_main(o.memory_probe, o.probe_peer, o.probe_threads,
                                             o.memory_steps);
    return o.self_test ? recur::bench::self_test() : recur::bench::run(o, command);
  } catch (const std::exception& e) {
    std::cerr << "recur_bench: error: " << e.what() << "\n";
    return 1;
  }
}
