// What the float and bf16 panel kernels (f32_panels.*, bf16_panels.*) share: the panel and
// block sizes, the masks of a partial panel's columns, and loading and storing a block of C
// (up to 12 rows × 32 columns, two vectors per row) that a kernel accumulates in registers.
// Internal to src/kernels; compiled for AVX-512 by target attributes, as the kernels are.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace recur::kernels::panel_block {

// Tests turn the panels off to run the paths that CPUs without AVX-512 (or avx512_bf16) take:
// f32_panels::available() and bf16_panels::available() are false while this is.
inline std::atomic<bool> g_off_for_tests{false};

constexpr int64_t kCols = 32;  // columns per panel: two vectors of 16 float accumulators
constexpr int kMaxRows = 12;   // rows of C per kernel call: 24 accumulator registers

inline int64_t panels_of(int64_t N) { return (N + kCols - 1) / kCols; }

// Which of panel q's 32 columns exist in C[., N]: the low and high 16.
struct Masks {
  __mmask16 lo, hi;
};
inline Masks masks_of(int64_t N, int64_t q) {
  const int64_t cols = std::min(kCols, N - q * kCols);
  auto first = [](int64_t n) {
    return n >= 16  ? static_cast<__mmask16>(0xffff)
           : n <= 0 ? static_cast<__mmask16>(0)
                    : static_cast<__mmask16>((1u << n) - 1);
  };
  return {first(cols), first(cols - 16)};
}

// c0/c1[r] = C's row r (its two vectors) when accumulating, zeros otherwise.
template <int MR>
__attribute__((target("avx512f"), always_inline)) inline void load(const float* c, int64_t ldc,
                                                                   Masks m, bool accumulate,
                                                                   __m512* c0, __m512* c1) {
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) {
    c0[r] = accumulate ? _mm512_maskz_loadu_ps(m.lo, c + r * ldc) : _mm512_setzero_ps();
    c1[r] = accumulate ? _mm512_maskz_loadu_ps(m.hi, c + r * ldc + 16) : _mm512_setzero_ps();
  }
}

template <int MR>
__attribute__((target("avx512f"), always_inline)) inline void store(const __m512* c0,
                                                                    const __m512* c1, Masks m,
                                                                    float* c, int64_t ldc) {
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) {
    _mm512_mask_storeu_ps(c + r * ldc, m.lo, c0[r]);
    _mm512_mask_storeu_ps(c + r * ldc + 16, m.hi, c1[r]);
  }
}

}  // namespace recur::kernels::panel_block
