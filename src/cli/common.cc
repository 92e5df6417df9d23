// Shared helpers of the training commands (see common.h).
#include "cli/common.h"

#include <omp.h>

#include <atomic>
#include <csignal>

#include "recur/error.h"

namespace recur::cli {
namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) { g_interrupted = true; }
using Handler = void (*)(int);
Handler g_previous = SIG_DFL;

}  // namespace

RnnMode parse_cell(const std::string& cell) {
  if (cell == "lstm") return RnnMode::kLstm;
  if (cell == "gru") return RnnMode::kGru;
  if (cell == "rnn" || cell == "rnn_tanh") return RnnMode::kRnnTanh;
  if (cell == "rnn_relu") return RnnMode::kRnnRelu;
  throw_error("--cell " + cell + ": unknown cell; expected lstm, gru, rnn or rnn_relu");
}

void set_threads(int threads) {
  if (threads > 0) omp_set_num_threads(threads);
}

InterruptGuard::InterruptGuard() {
  g_interrupted = false;
  g_previous = std::signal(SIGINT, on_sigint);
}

InterruptGuard::~InterruptGuard() { std::signal(SIGINT, g_previous); }

bool InterruptGuard::interrupted() const { return g_interrupted.load(); }

}  // namespace recur::cli
