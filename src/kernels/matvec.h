// MatVec: a weight matrix times one vector, y = W·x or y = Wᵀ·a — the per-step recurrent
// product of a batch of one (recur_bench C3) and of streaming (RnnStream, S1).
//
// Such a product does two flops per weight it reads, so it runs at the speed the weights come
// in: an LSTM with H = 512 has 4 MiB of W_hh, read from L3 at every step, while a core's L2
// holds 1 MiB on the 2-core machine. Walking W in the same order on every call makes that L2
// useless (the oldest lines, evicted first, are the next call's first). MatVec walks W in the
// opposite order on every other call, so each call starts on the rows the last call read most
// recently, still in L2. With two threads each core walks its own half of W, and half of that
// half can stay in its L2.
//
// Plain C++ on GCC vector types as wide as the build's target registers: AVX-512 on the host
// build here, AVX or SSE on a portable one (RECUR_NATIVE=OFF).
// Leaves out: batches of more than one (those go to kernels/packed_gemm.h), bf16.
#pragma once

#include <cstdint>
#include <vector>

namespace recur::kernels {

class MatVec {
 public:
  // Products with fewer weights than this (1 MiB of floats) stay on one thread: below it,
  // waking the second one costs more than the half of the read it takes over (an OpenMP region
  // ends with a system call, after which reads run slower on the 2-core VM: docs/BENCHMARKS.md,
  // session 10). A batch of one, T = 100, at 2 threads with 2^16: LSTM I = H = 128 0.640 ms
  // against 0.309 at 1 thread; GRU I = 128, H = 160 0.639 against 0.363.
  static constexpr int64_t kSplitFromWeights = int64_t{1} << 18;

  MatVec() = default;
  // W [rows, cols] row-major with row stride ldw (0: cols). W is read, not copied: it must
  // stay alive and unchanged while this object is used.
  MatVec(const float* w, int64_t rows, int64_t cols, int64_t ldw = 0);

  // y[rows] = W·x, or y += W·x when `accumulate`.
  void times(const float* x, float* y, bool accumulate);
  // y[cols] = Wᵀ·a, or y += Wᵀ·a when `accumulate`.
  void transposed_times(const float* a, float* y, bool accumulate);

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }

 private:
  const float* w_ = nullptr;
  int64_t rows_ = 0, cols_ = 0, ldw_ = 0;
  bool reverse_ = false;        // the direction of the next call's walk over the rows
  std::vector<float> partial_;  // transposed_times: the other threads' partial sums
};

}  // namespace recur::kernels
