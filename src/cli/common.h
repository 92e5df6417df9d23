// Small helpers shared by the training commands: the --cell and --precision flags, --threads, and
// Ctrl-C handling that lets a training loop stop cleanly and save. Leaves out: the commands.
#pragma once

#include <string>

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

// While alive, Ctrl-C (SIGINT) sets a flag instead of killing the process; the previous
// handler comes back on destruction. One at a time.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  bool interrupted() const;
};

}  // namespace recur::cli
