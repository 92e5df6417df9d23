// bf16 matrix products on avx512_bf16's dot-product instruction (vdpbf16ps), for weights
// multiplied many times: op(B) [K, N] is packed once into panels of 32 columns in which each
// pair of k values of a column sits in one 32-bit lane, so one instruction multiplies 16
// columns by two k values of a row of A and adds both products into float accumulators.
// The micro-kernel holds up to 12 rows × 32 columns of C in 24 vector registers and reads each
// value of A as one broadcast pair.
//
// oneDNN 2.6's bf16 matmul ran the recurrent step's shape (32 × 2048 × 512, weights packed) at
// 283 GFLOP/s on the 2-core AVX-512 machine, well below the rate its own bf16 LSTM primitive
// reaches with its brgemm kernels; these panels are the engine's faster path there
// (kernels::PackedWeights uses them where the CPU has avx512_bf16).
// Leaves out: CPUs without avx512_bf16 (available() is false; callers keep oneDNN's or the
// portable path), bf16 outputs, alpha ≠ 1.
#pragma once

#include <cstdint>

namespace recur::kernels::bf16_panels {

// Whether this build and this CPU can run the panels (checked once).
bool available();

// Bytes of the panels for op(B) [K, N].
int64_t packed_bytes(int64_t N, int64_t K);

// Packs op(B) into `out` (packed_bytes(N, K) bytes, 64-byte aligned), each value rounded to
// bf16: B [N, K] with row stride ldb when trans_b (C = A · Bᵀ), B [K, N] otherwise.
void pack(const float* B, int64_t N, int64_t K, bool trans_b, int64_t ldb, uint16_t* out);

// C[M, N] (+)= round(A)[M, K] · panels, A float rows with stride lda, C rows with stride ldc.
// Splits the panels over OpenMP's threads when called outside a parallel region and the
// product is large; single-threaded inside one.
void multiply(const uint16_t* panels, int64_t N, int64_t K, int64_t M, const float* A, int64_t lda,
              float* C, int64_t ldc, bool accumulate);

// C[M, N] (+)= round(op(A)) · round(op(B)) in one call, B packed into this thread's buffer
// first: A [M, K] with row stride lda, or [K, M] when trans_a; B as pack() takes it.
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
          const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate);

// Two products with one left-hand side, converted once: C1 (+)= round(op(A)) · round(B1) and
// C2 (+)= round(op(A)) · round(B2), B1 [K, N1] and B2 [K, N2] as stored (row strides ldb1,
// ldb2). The engine's two weight gradients, dG_xᵀ·X and dG_hᵀ·H, where dG_x and dG_h are one.
void gemm_pair(bool trans_a, int64_t M, int64_t K, const float* A, int64_t lda, const float* B1,
               int64_t N1, int64_t ldb1, float* C1, int64_t ldc1, const float* B2, int64_t N2,
               int64_t ldb2, float* C2, int64_t ldc2, bool accumulate);

// Two weight matrices side by side along k, for a product of two left-hand sides side by side:
// C[M, N] (+)= round([A1 | A2]) · round([B1 | B2])ᵀ with B1 [N, K1] and B2 [N, K2] row-major
// (a layer's W_ih and W_hh: a step's input and state times both at once; as
// f32_panels::pack_pair). pack_pair writes packed_pair_bytes(N, K1, K2) bytes (64-byte
// aligned); multiply_pair runs on the calling thread. A1 and A2 rows with strides lda1, lda2;
// C rows with stride ldc.
int64_t packed_pair_bytes(int64_t N, int64_t K1, int64_t K2);
void pack_pair(const float* B1, int64_t K1, const float* B2, int64_t K2, int64_t N, uint16_t* out);
void multiply_pair(const uint16_t* panels, int64_t N, int64_t K1, int64_t K2, int64_t M,
                   const float* A1, int64_t lda1, const float* A2, int64_t lda2, float* C,
                   int64_t ldc, bool accumulate);

}  // namespace recur::kernels::bf16_panels
