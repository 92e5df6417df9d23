// bfloat16 products for the opt-in bf16 mode: the inputs of a matrix product are rounded to
// bf16 (round to nearest, ties to even: 8 bits of mantissa), the products are accumulated in
// float, and the result is float. State, cell math and weight updates stay float.
//
// On CPUs with avx512_bf16 (or AMX) the product runs on oneDNN's bf16 matmul, twice the f32
// rate; elsewhere the portable path rounds copies of the inputs to bf16 values and runs the
// float GEMM, which computes the same thing (up to the order of the float additions) at the
// float rate.
// Leaves out: bf16 outputs, alpha ≠ 1.
#pragma once

#include <cstdint>
#include <cstring>

namespace recur::kernels {

// Round to nearest even; NaN stays NaN (quiet), ±Inf stays ±Inf, overflow rounds to ±Inf.
inline uint16_t to_bf16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

inline float from_bf16(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// x rounded to the nearest bf16 value, as a float.
inline float round_bf16(float x) { return from_bf16(to_bf16(x)); }

// y[i] = to_bf16(x[i]) for n values.
void to_bf16(const float* x, int64_t n, uint16_t* y);
// Rows × cols from a row-major source with row stride ld into a contiguous bf16 block.
void to_bf16(const float* x, int64_t rows, int64_t cols, int64_t ld, uint16_t* y);

// Whether oneDNN runs bf16 matmul natively on this CPU (checked once).
bool bf16_native();

// Row-major C[M,N] = round(op(A))[M,K] · round(op(B))[K,N] + beta·C, as gemm() (kernels/gemm.h)
// with alpha = 1; round = to bf16. `allow_native = false` forces the portable path (tests).
void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A,
               int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
               bool allow_native = true);

// The same in S precision with plain loops (S = double: the reference engine's bf16 mode).
template <typename S>
void gemm_bf16_reference(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const S* A,
                         int64_t lda, const S* B, int64_t ldb, S beta, S* C, int64_t ldc);

}  // namespace recur::kernels
