// PackedWeights: a weight matrix packed once, then multiplied by many small left-hand sides —
// the recurrent product of every time step (h_{t-1} · W_hhᵀ forward, dgates · W_hh backward).
// A general sgemm call re-packs the weights at every step; packing once makes the per-step
// product run at the GEMM ceiling (measured on the 2-core AVX-512 machine, M=32 N=2048 K=512,
// 1 thread: 134 GFLOP/s → 191). Back ends, picked when packing: recur's float panels
// (kernels/f32_panels.h) where the CPU has AVX-512, its bf16 panels (kernels/bf16_panels.h)
// where it has avx512_bf16, oneDNN's matmul with a run-time M otherwise.
// Leaves out: double (the reference engine calls gemm()), strided operands.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace recur::kernels {

class PackedWeights {
 public:
  PackedWeights();
  ~PackedWeights();
  PackedWeights(PackedWeights&&) noexcept;
  PackedWeights& operator=(PackedWeights&&) noexcept;

  // For C = A · Bᵀ with B [N, K] row-major (trans_b), or C = A · B with B [K, N] row-major.
  // Copies B; later changes to B are not seen. `accumulating` prepares multiply(.., true) too.
  // `bf16`: B and every A are rounded to bf16 and the products accumulated in float
  // (kernels/bf16.h), on oneDNN's bf16 matmul where the CPU has it.
  // `ldb`: B's row stride when it is a block of a wider matrix (0: dense, K or N).
  // `storage`, when given, holds the packed weights instead of memory of this object's own:
  // grown as needed and reused from call to call (the engine's per-thread scratch, so that the
  // packed weights of every call land in the same bytes). It must outlive this object's use of
  // it and serve no other PackedWeights in use at the same time.
  void pack(const float* B, int64_t N, int64_t K, bool trans_b, bool accumulating = false,
            bool bf16 = false, int64_t ldb = 0, std::vector<char>* storage = nullptr);
  // C[M, N] = A[M, K] · op(B), or C += ... when `accumulate`. A and C contiguous rows.
  // `ldc`: C's row stride when C is a column block of a wider matrix (0: dense, N).
  void multiply(int64_t M, const float* A, float* C, bool accumulate, int64_t ldc = 0) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace recur::kernels
