// Float matrix products with weights packed once into panels of 32 columns, k by k, for the
// recurrent step's small left-hand sides: a 12-row × 32-column AVX-512 micro-kernel holds its
// block of C in 24 registers and broadcasts each value of A straight from its row.
//
// On the 2-core AVX-512 machine (1 thread) the per-step product of an LSTM with H = 512 at
// batch 32 (32 × 2048 × 512) ran at 209-213 GFLOP/s against oneDNN's packed sgemm's 181-188;
// dG·W_hh (32 × 512 × 2048) 209-213 against 197-201. kernels::PackedWeights uses the panels
// for float where the CPU has AVX-512, and so does gemm<float> for products of 2^22 to 2^32
// multiply-adds through gemm() below (any transposes, B packed per call).
// Leaves out: CPUs without AVX-512 (available() is false; PackedWeights keeps oneDNN's packed
// sgemm there), a transposed A in multiply(), alpha and beta other than 0 and 1.
#pragma once

#include <cstdint>

namespace recur::kernels::f32_panels {

// Whether this CPU can run the panels (checked once).
bool available();

// Bytes of the panels for op(B) [K, N].
int64_t packed_bytes(int64_t N, int64_t K);

// Packs op(B) into `out` (packed_bytes(N, K) bytes, 64-byte aligned): B [N, K] with row
// stride ldb when trans_b (C = A · Bᵀ), B [K, N] otherwise.
void pack(const float* B, int64_t N, int64_t K, bool trans_b, int64_t ldb, float* out);

// C[M, N] (+)= A[M, K] · panels, A rows with stride lda, C rows with stride ldc. Splits the
// panels over OpenMP's threads when called outside a parallel region and the product is large.
void multiply(const float* panels, int64_t N, int64_t K, int64_t M, const float* A, int64_t lda,
              float* C, int64_t ldc, bool accumulate);

// Two weight matrices side by side along k, for a product of two left-hand sides side by side:
// C[M, N] (+)= [A1 | A2] · [B1 | B2]ᵀ with B1 [N, K1] and B2 [N, K2] row-major (the layer's
// W_ih and W_hh: a step's input and state times both at once). pack_pair writes
// packed_pair_bytes(N, K1, K2) bytes (64-byte aligned); multiply_pair runs on the calling
// thread. A1 and A2 rows with strides lda1, lda2; C rows with stride ldc.
int64_t packed_pair_bytes(int64_t N, int64_t K1, int64_t K2);
void pack_pair(const float* B1, int64_t K1, const float* B2, int64_t K2, int64_t N, float* out);
void multiply_pair(const float* panels, int64_t N, int64_t K1, int64_t K2, int64_t M,
                   const float* A1, int64_t lda1, const float* A2, int64_t lda2, float* C,
                   int64_t ldc, bool accumulate);

// C[M, N] (+)= op(A) · op(B) in one call, op(B) packed block by block (512 KiB at a time) into
// this thread's buffer: A [M, K] with row stride lda, or [K, M] when trans_a; B as pack()
// takes it. Splits the columns over OpenMP's threads like multiply().
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
          const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate);

}  // namespace recur::kernels::f32_panels
