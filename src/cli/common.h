// Small helpers shared by the training commands: the --cell and --precision flags, --threads, and
// Ctrl-C handling that lets a training loop stop cleanly and save. Leaves out: the commands.
#pragma once

#include <signal.h>

#include <atomic>
#include <string>
#include <thread>

#include "recur/rnn.h"

namespace recur::cli {

// "lstm", "gru", "rnn" (= rnn_tanh), "rnn_tanh", "rnn_relu"; anything else is an Error naming
// the flag and the choices.
RnnMode parse_cell(const std::string& cell);

// The help of every training command's --precision (parsed with recur::parse_precision).
inline constexpr const char* kPrecisionHelp =
    "f32, or bf16: the recurrent layers' matrix products on bf16 inputs with float "
    "accumulation (twice the rate on CPUs with avx512_bf16)";

// Sets the OpenMP thread count when threads > 0 (0 keeps the default: all cores).
void set_threads(int threads);

// While alive, Ctrl-C (SIGINT) sets a flag instead of killing the process; on destruction the
// signal mask comes back and Ctrl-C kills again. One at a time.
//
// No thread that computes ever handles the signal. oneDNN 2.6's JIT sgemm kernels point the
// stack pointer at heap memory while they run (oneDNN issue #4845, fixed in 3.11), so a handler
// run on a thread inside one writes its signal frame into the heap: `train lm` interrupted that
// way aborted on "corrupted size vs. prev_size" about once in 30 runs on a loaded machine. The
// guard blocks SIGINT on the calling thread and on OpenMP's threads (threads started later
// inherit the mask), and one thread of its own takes it with sigwait.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  bool interrupted() const;

 private:
  sigset_t previous_mask_;
  std::atomic<bool> stopping_{false};
  std::thread waiter_;
};

}  // namespace recur::cli
