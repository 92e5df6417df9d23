// InterruptGuard: Ctrl-C sets the flag, and a signal arriving while oneDNN's sgemm runs leaves
// the heap intact (oneDNN 2.6's JIT sgemm points the stack pointer at heap memory; a handler
// run on that thread wrote its signal frame there, see cli/common.h).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "cli/common.h"
#include "gtest/gtest.h"
#include "kernels/gemm.h"

namespace recur::cli {
namespace {

TEST(InterruptGuard, SigintSetsTheFlagInsteadOfKilling) {
  {
    InterruptGuard guard;
    EXPECT_FALSE(guard.interrupted());
    ASSERT_EQ(kill(getpid(), SIGINT), 0);
    for (int i = 0; i < 2000 && !guard.interrupted(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_TRUE(guard.interrupted());
  }
  InterruptGuard again;  // a new guard starts clear
  EXPECT_FALSE(again.interrupted());
}

// Signals sent throughout a loop of sgemm calls of the shape that aborted `train lm` (the d x
// product of a tiny LSTM: 64 × 16 × 192), each with fresh heap buffers around it, so that a
// corrupted heap is caught by malloc's own checks. Before the fix this aborted the process.
TEST(InterruptGuard, SignalsDuringSgemmLeaveTheHeapIntact) {
  InterruptGuard guard;
  std::atomic<bool> done{false};
  std::atomic<int> sent{0};
  std::thread sender([&] {
    while (!done) {
      kill(getpid(), SIGINT);
      ++sent;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  });
  const int64_t M = 64, N = 16, K = 192;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(700);
  double checksum = 0;
  while (std::chrono::steady_clock::now() < until) {
    std::vector<float> a(M * K, 0.5f), b(K * N, 0.25f), c(M * N, 1.0f);
    std::vector<char> around(77024);  // the size of the chunk that was found corrupted
    kernels::gemm<float>(false, false, M, N, K, 1.0f, a.data(), K, b.data(), N, 1.0f, c.data(), N);
    checksum = c[M * N - 1];
    around[0] = 1;
  }
  done = true;
  sender.join();
  EXPECT_GT(sent.load(), 100);
  EXPECT_FLOAT_EQ(checksum, 1.0f + K * 0.5f * 0.25f);
  EXPECT_TRUE(guard.interrupted());
}

}  // namespace
}  // namespace recur::cli
