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
