// Peak memory of a training step (forward_train + backward, as the harness times it), for recur
// and its peers, each measured in a fresh child process: the harness re-executes itself with a
// hidden --memory-probe option (recur, oneDNN) or runs bench/peers/torch_rnn.py --memory
// (PyTorch). The child allocates and touches the weights, the input and dy, reads its resident
// memory (VmRSS), resets its peak (writing 5 to /proc/self/clear_refs), runs one step, reads the
// peak (VmHWM); then the same for each further step. The measure is the peak over the resident
// memory before the first step, so memory kept from step to step (workspaces, caches, gradients,
// heap fragmentation) counts in the later steps; it can take more than two steps to settle
// (recur: three). Also the sizes that must be live, computed from recur's workspace layout
// (src/rnn/engine.h), so a measured number can be judged. Linux only (/proc).
// Leaves out: virtual memory never touched, memory of other processes, inference.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/bench_core.h"

namespace recur::bench {

// One measurement, in bytes. peak() is what the report calls a step's peak memory.
struct MemoryResult {
  std::string status = "off";  // off | ok | error: ...
  int64_t baseline = 0;        // VmRSS with weights, input and dy allocated and touched
  std::vector<int64_t> steps;  // VmHWM during each step - baseline
  int64_t retained = 0;        // VmRSS after step 1 - baseline (kept for the next step)
  int64_t file = 0;            // RssFile after the last step - baseline: code pages faulted in
  std::string version;         // PyTorch: torch.__version__

  int64_t first() const { return steps.empty() ? 0 : steps.front(); }
  int64_t later() const;  // the highest of steps 2, 3, ...
  int64_t peak() const { return first() > later() ? first() : later(); }
};

// Sizes from the problem's shapes (float32), in bytes.
struct AnalyticMemory {
  // recur's StackWorkspace after forward_train: per layer its input (T, B, I_l); per layer and
  // direction h_all (T+1, B, H), c_all (T+1, B, H) for LSTM, saved gates (T, B, 4H) for LSTM and
  // GRU (a vanilla RNN's are in h_all).
  int64_t workspace = 0;
  // Every weight and bias gradient, d input (T, B, I), d h0 and d c0 (L*D, B, H).
  int64_t gradients = 0;
  int64_t output = 0;  // y (T, B, D*H)
  // recur's per-thread scratch in engine.cc, for each thread that runs a direction: xw, the
  // input projections and then the gate gradients, (T, B, G*H), and the packed W_hh (G*H, H).
  int64_t scratch = 0;
};
AnalyticMemory analytic_memory(const cli::BenchProblem& p, int threads);

// Parent side, `steps` (>= 2) steps. `self` is this executable; `peer` is "recur" or "onednn".
MemoryResult probe_in_child(const std::string& self, const cli::BenchProblem& p,
                            const std::string& peer, int threads, int steps);
// PyTorch: `weights` is the problem file the harness wrote for torch_rnn.py.
MemoryResult probe_torch(const std::string& python, const std::string& script,
                         const std::string& weights, const cli::BenchProblem& p, int threads,
                         int steps);

// Child side of --memory-probe: builds the problem, measures `steps` steps, prints one JSON line
// {"baseline_rss", "baseline_rss_file", "steps": [{"hwm", "rss", "rss_file"}, ...]} (bytes, the
// step's peak and what is resident after it) on stdout. torch_rnn.py --memory prints the same.
int memory_probe_main(const std::string& descriptor, const std::string& peer, int threads,
                      int steps);

// Child processes (also the PyTorch peer's timing runs in main.cc): a shell-quoted argument;
// runs a command, returns its exit status and its stdout in *out.
std::string shell_quote(const std::string& s);
int run_command(const std::string& command, std::string* out);

}  // namespace recur::bench
