// Shared helpers of the training commands (see common.h).
#include "cli/common.h"

#include <omp.h>
#include <pthread.h>

#include <atomic>

#include "recur/error.h"

namespace recur::cli {
namespace {

std::atomic<bool> g_interrupted{false};

sigset_t sigint_only() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  return s;
}

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
  const sigset_t s = sigint_only();
  pthread_sigmask(SIG_BLOCK, &s, &previous_mask_);
  // OpenMP's pool threads keep the mask they started with: block it on each of them.
#pragma omp parallel
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
  waiter_ = std::thread([this, s] {
    for (;;) {
      int sig = 0;
      if (sigwait(&s, &sig) != 0) continue;
      if (stopping_) return;
      g_interrupted = true;
    }
  });
}

InterruptGuard::~InterruptGuard() {
  stopping_ = true;
  pthread_kill(waiter_.native_handle(), SIGINT);  // ends its sigwait
  waiter_.join();
  // A Ctrl-C still pending counts as one during the guard's life rather than killing here.
  const sigset_t s = sigint_only();
  const timespec now{0, 0};
  while (sigtimedwait(&s, nullptr, &now) == SIGINT) g_interrupted = true;
  pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
}

bool InterruptGuard::interrupted() const { return g_interrupted.load(); }

}  // namespace recur::cli
