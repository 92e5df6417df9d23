// The plain GEMM: float calls oneDNN's dnnl_sgemm; double is a plain-loop reference used by the
// finite-difference checks. Its siblings: kernels/packed_gemm.h (weights packed once, for the
// per-step recurrent product) and kernels/bf16.h (bf16 inputs, float accumulation).
// Leaves out: batched GEMM.
#pragma once

#include <cstdint>

namespace recur::kernels {

// Row-major C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, op = transpose when trans_*.
// lda/ldb/ldc are the row strides of A, B, C as stored.
template <typename S>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, S alpha, const S* A,
          int64_t lda, const S* B, int64_t ldb, S beta, S* C, int64_t ldc);

// gemm<float> with the N columns of C split into one block per thread (a multiple of 16
// columns each), every block a single-threaded sgemm. For products bound by reading B — a
// matrix-vector product streaming a weight matrix from L3 — so that every core's bandwidth
// counts (sgemm keeps a matrix-vector product on one core). One thread: plain gemm<float>.
void gemm_split_n(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A,
                  int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// The plain-loop reference for any S; gemm<double> is exactly this.
template <typename S>
void gemm_reference(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, S alpha,
                    const S* A, int64_t lda, const S* B, int64_t ldb, S beta, S* C, int64_t ldc);

}  // namespace recur::kernels
