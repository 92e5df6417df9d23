// Float panels: packing, the FMA micro-kernel and its loop (see f32_panels.h). The kernel code
// is compiled for AVX-512 whatever the build's target (function attributes) and only called
// where available() says the CPU has it, so a portable build keeps it too.
#include "kernels/f32_panels.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <array>
#include <utility>

#include "kernels/panel_block.h"

// GCC 12 reports the intrinsics' own _mm512_undefined_* temporaries as maybe uninitialized when
// they are inlined into a function with a target attribute (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#define RECUR_AVX512_TARGET __attribute__((target("avx512f")))

namespace recur::kernels::f32_panels {
namespace {

using panel_block::kCols;
using panel_block::kMaxRows;
using panel_block::Masks;
using panel_block::panels_of;
// Products from this many multiply-adds on are split over the threads.
constexpr int64_t kParallelFromMacs = int64_t{1} << 22;

// C[rows, 32] (+)= A[rows, K] · panel for rows <= kMaxRows (MR); the panel holds K rows of 32
// columns; m: the columns of C that exist (the last panel may be partial).
template <int MR>
RECUR_AVX512_TARGET void kernel(const float* a, int64_t lda, const float* panel, int64_t K,
                                float* c, int64_t ldc, Masks m, bool accumulate) {
  __m512 c0[MR], c1[MR];
  panel_block::load<MR>(c, ldc, m, accumulate, c0, c1);
  for (int64_t k = 0; k < K; ++k) {
    const __m512 b0 = _mm512_load_ps(panel + k * kCols);
    const __m512 b1 = _mm512_load_ps(panel + k * kCols + 16);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(a[r * lda + k]);
      c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
    }
  }
  panel_block::store<MR>(c0, c1, m, c, ldc);
}

using Kernel = void (*)(const float*, int64_t, const float*, int64_t, float*, int64_t, Masks, bool);

template <int... R>
constexpr auto kernel_table(std::integer_sequence<int, R...>) {
  return std::array<Kernel, sizeof...(R)>{&kernel<R + 1>...};
}

// Panels [q0, q1) times every row of A; each panel is read from memory once and from cache
// for the rows after the first 12.
void multiply_panels(const float* panels, int64_t N, int64_t K, int64_t q0, int64_t q1, int64_t M,
                     const float* A, int64_t lda, float* C, int64_t ldc, bool accumulate) {
  static constexpr auto kernels = kernel_table(std::make_integer_sequence<int, kMaxRows>{});
  for (int64_t q = q0; q < q1; ++q) {
    const int64_t n0 = q * kCols;
    const Masks m = panel_block::masks_of(N, q);
    // Rows in blocks as even as possible (16 = 8 + 8, not 12 + 4): a block of few rows has
    // too few accumulators to keep the FMA units busy.
    const int64_t blocks = (M + kMaxRows - 1) / kMaxRows;
    for (int64_t b = 0, r = 0; b < blocks; ++b) {
      const int64_t rows = M / blocks + (b < M % blocks ? 1 : 0);
      kernels[rows - 1](A + r * lda, lda, panels + q * K * kCols, K, C + r * ldc + n0, ldc, m,
                        accumulate);
      r += rows;
    }
  }
}

}  // namespace

bool available() {
  static const bool yes = __builtin_cpu_supports("avx512f");
  return yes && !panel_block::g_off_for_tests;
}

int64_t packed_bytes(int64_t N, int64_t K) {
  return panels_of(N) * K * kCols * static_cast<int64_t>(sizeof(float));
}

void pack(const float* B, int64_t N, int64_t K, bool trans_b, int64_t ldb, float* out) {
  const int64_t Q = panels_of(N);
#pragma omp parallel for if (N * K >= (1 << 18)) schedule(static)
  for (int64_t q = 0; q < Q; ++q) {
    float* panel = out + q * K * kCols;
    const int64_t n0 = q * kCols, cols = std::min(kCols, N - n0);
    if (trans_b) {  // column j of the panel is row n0 + j of B
      for (int64_t j = 0; j < kCols; ++j)
        for (int64_t k = 0; k < K; ++k)
          panel[k * kCols + j] = j < cols ? B[(n0 + j) * ldb + k] : 0.0f;
    } else {  // row k of the panel is 32 adjacent values of row k of B
      for (int64_t k = 0; k < K; ++k) {
        std::copy_n(B + k * ldb + n0, cols, panel + k * kCols);
        std::fill(panel + k * kCols + cols, panel + (k + 1) * kCols, 0.0f);
      }
    }
  }
}

void multiply(const float* panels, int64_t N, int64_t K, int64_t M, const float* A, int64_t lda,
              float* C, int64_t ldc, bool accumulate) {
  if (M == 0 || N == 0) return;
  const int64_t Q = panels_of(N);
  const bool parallel =
      !omp_in_parallel() && omp_get_max_threads() > 1 && M * N * K >= kParallelFromMacs && Q > 1;
  if (!parallel) {
    multiply_panels(panels, N, K, 0, Q, M, A, lda, C, ldc, accumulate);
    return;
  }
#pragma omp parallel
  {
    const int64_t t = omp_get_thread_num(), n = omp_get_num_threads();
    multiply_panels(panels, N, K, Q * t / n, Q * (t + 1) / n, M, A, lda, C, ldc, accumulate);
  }
}

}  // namespace recur::kernels::f32_panels
