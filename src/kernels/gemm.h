// The plain GEMM: float runs recur's float panels or oneDNN's dnnl_sgemm (gemm.cc says which
// shapes take which); double is a plain-loop reference used by the
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

// Whether gemm<float> takes recur's own panels (kernels/f32_panels.h) on this CPU (AVX-512),
// for products from 64 rows and 2^22 up to 2^32 multiply-adds; the others run on oneDNN's
// sgemm.
bool gemm_uses_panels();

// The plain-loop reference for any S; gemm<double> is exactly this.
template <typename S>
void gemm_reference(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, S alpha,
                    const S* A, int64_t lda, const S* B, int64_t ldb, S beta, S* C, int64_t ldc);

}  // namespace recur::kernels
