// Small helpers shared by the training commands: the --cell flag, --threads, and Ctrl-C
// handling that lets a training loop stop cleanly and save. Leaves out: the commands.
#pragma once

#include <string>

#include "recur/rnn.h"

namespace recur::cli {

// "lstm", "gru", "rnn" (= rnn_tanh), "rnn_tanh", "rnn_relu"; anything else is an Error naming
// the flag and the choices.
RnnMode parse_cell(const std::string& cell);

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
