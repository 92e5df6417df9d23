// Peak memory of a training step, in child processes (see memory.h).
#include "harness/memory.h"

#include <malloc.h>
#include <omp.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "peers/onednn_rnn.h"
#include "recur/error.h"
#include "rnn/cell.h"

namespace recur::bench {
namespace {

using nlohmann::json;

struct ProcMemory {
  int64_t rss = 0, hwm = 0, rss_file = 0;  // bytes
};

// VmRSS and VmHWM of this process, from /proc/self/status (kB there).
ProcMemory read_proc_memory() {
  std::ifstream in("/proc/self/status");
  ProcMemory m;
  for (std::string line; std::getline(in, line);) {
    int64_t* field = line.rfind("VmRSS:", 0) == 0     ? &m.rss
                     : line.rfind("VmHWM:", 0) == 0   ? &m.hwm
                     : line.rfind("RssFile:", 0) == 0 ? &m.rss_file
                                                      : nullptr;
    if (field) *field = std::stoll(line.substr(line.find(':') + 1)) * 1024;
  }
  RECUR_CHECK(m.rss > 0 && m.hwm > 0, "memory probe: no VmRSS/VmHWM in /proc/self/status");
  return m;
}

// Sets VmHWM to the current VmRSS (Linux 4.0 and later).
void reset_peak() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.close();
  RECUR_CHECK(!out.fail(), "memory probe: cannot write /proc/self/clear_refs");
}

// `steps` steps, measured as memory.h says. malloc_trim first, so that heap memory freed while
// the problem was built is not resident in the baseline, ready to be reused unseen by a step.
json measure_steps(const std::function<void()>& step, int steps) {
  malloc_trim(0);
  const ProcMemory baseline = read_proc_memory();
  json j = {{"baseline_rss", baseline.rss}, {"baseline_rss_file", baseline.rss_file}};
  for (int i = 0; i < steps; ++i) {
    reset_peak();
    step();
    const ProcMemory m = read_proc_memory();
    j["steps"].push_back({{"hwm", m.hwm}, {"rss", m.rss}, {"rss_file", m.rss_file}});
  }
  return j;
}

// Reads the child's JSON line; an error status when there is none.
MemoryResult parse_probe(int rc, const std::string& out, const std::string& what) {
  MemoryResult r;
  if (rc != 0) {
    r.status = "error: " + what + " exited with " + std::to_string(rc);
    return r;
  }
  std::stringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] != '{') continue;
    const json j = json::parse(line);
    if (!j.contains("baseline_rss")) continue;
    r.baseline = j.at("baseline_rss");
    const json& steps = j.at("steps");
    if (steps.size() < 2) break;
    for (const json& s : steps) r.steps.push_back(s.at("hwm").get<int64_t>() - r.baseline);
    r.retained = steps.front().at("rss").get<int64_t>() - r.baseline;
    r.file = steps.back().at("rss_file").get<int64_t>() - j.at("baseline_rss_file").get<int64_t>();
    if (j.contains("torch")) r.version = j.at("torch");
    r.status = "ok";
    return r;
  }
  r.status = "error: " + what + " printed no measurement";
  return r;
}

}  // namespace

int64_t MemoryResult::later() const {
  int64_t high = 0;
  for (std::size_t i = 1; i < steps.size(); ++i) high = std::max(high, steps[i]);
  return high;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

int run_command(const std::string& command, std::string* out) {
  FILE* pipe = popen(command.c_str(), "r");
  RECUR_CHECK(pipe != nullptr, "cannot run: " + command);
  char buffer[4096];
  for (std::size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) out->append(buffer, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

AnalyticMemory analytic_memory(const cli::BenchProblem& p, int threads) {
  const int64_t T = p.T, B = p.B, H = p.H, L = p.L, D = p.directions();
  const int64_t G = gate_count(p.mode), W = rnn::saved_gate_width(p.mode, H);
  const int64_t states = p.mode == RnnMode::kLstm ? 2 : 1;  // h, and c for LSTM
  int64_t workspace = 0;
  for (int64_t l = 0; l < L; ++l) {
    const int64_t in = l == 0 ? p.I : D * H;
    const int64_t saved = p.mode == RnnMode::kLstm || p.mode == RnnMode::kGru ? T * B * W : 0;
    workspace += T * B * in + D * (states * (T + 1) * B * H + saved);
  }
  const int64_t f = static_cast<int64_t>(sizeof(float));
  AnalyticMemory a;
  a.workspace = workspace * f;
  a.gradients = cli::bench_weight_bytes(p) + (T * B * p.I + states * L * D * B * H) * f;
  a.output = T * B * D * H * f;
  const int64_t scratch_threads = D == 2 && threads >= 2 ? 2 : 1;  // see for_each_direction
  a.scratch = scratch_threads * (T * B * G * H + G * H * H) * f;
  return a;
}

MemoryResult probe_in_child(const std::string& self, const cli::BenchProblem& p,
                            const std::string& peer, int threads, int steps) {
  const std::string command = shell_quote(self) + " --memory-probe " + cli::bench_descriptor(p) +
                              " --probe-peer " + peer + " --probe-threads " +
                              std::to_string(threads) + " --memory-steps " + std::to_string(steps);
  std::string out;
  return parse_probe(run_command(command, &out), out, "the " + peer + " memory probe");
}

MemoryResult probe_torch(const std::string& python, const std::string& script,
                         const std::string& weights, const cli::BenchProblem& p, int threads,
                         int steps) {
  const std::string command = shell_quote(python) + " " + shell_quote(script) + " --problem " +
                              cli::bench_descriptor(p) + " --weights " + shell_quote(weights) +
                              " --memory --memory-steps " + std::to_string(steps) + " --threads " +
                              std::to_string(threads);
  std::string out;
  return parse_probe(run_command(command, &out), out, "the PyTorch memory probe");
}

int memory_probe_main(const std::string& descriptor, const std::string& peer, int threads,
                      int steps) {
  RECUR_CHECK(peer == "recur" || peer == "onednn",
              "--probe-peer: expected recur or onednn, found '" + peer + "'");
  RECUR_CHECK(steps >= 2, "--memory-steps: at least 2 (the first step, and later ones)");
  const cli::BenchProblem p = cli::parse_bench_problem(descriptor);
  RECUR_CHECK(!p.stream, "--memory-probe: a training step needs a non-streaming problem");
  omp_set_num_threads(threads);
  cli::RecurRunner recur(p);
  std::unique_ptr<OnednnRnn> onednn;
  std::function<void()> step = [&] { recur.training_step(); };
  if (peer == "onednn") {
    onednn = std::make_unique<OnednnRnn>(p, recur.rnn().state_dict(), recur.input(),
                                         recur.grad_output(), OnednnRun::kTraining);
    step = [&] { onednn->training_step(); };
  }
  std::cout << measure_steps(step, steps).dump() << std::endl;
  return 0;
}

}  // namespace recur::bench
