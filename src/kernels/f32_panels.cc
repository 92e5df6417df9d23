// Float panels: packing, the FMA micro-kernel and its loop (see f32_panels.h). The kernel code
// is compiled for AVX-512 whatever the build's target (function attributes) and only called
// where available() says the CPU has it, so a portable build keeps it too.
#include "kernels/f32_panels.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>
#include <vector>

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
// columns; m: the columns of C that exist (the last panel may be partial). A's value (r, k) is
// a[r·lda + k], or a[k·lda + r] when TA (A stored transposed: each k's values of the rows are
// adjacent). `next`, when not null, is the block of C that the next call will load or store:
// its lines are fetched while this call computes. In gemm()'s large products C's rows are often
// a multiple of 4 KiB apart, so that the hardware prefetcher does not follow them and the 12
// rows share one set of L1; without this, those ran 10-20 % slower.
template <int MR, bool TA>
RECUR_AVX512_TARGET void kernel(const float* a, int64_t lda, const float* panel, int64_t K,
                                float* c, int64_t ldc, Masks m, bool accumulate,
                                const float* next) {
  if (next != nullptr)
#pragma GCC unroll 12
    for (int r = 0; r < kMaxRows; ++r) {
      _mm_prefetch(reinterpret_cast<const char*>(next + r * ldc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(next + r * ldc + 16), _MM_HINT_T0);
    }
  __m512 c0[MR], c1[MR];
  panel_block::load<MR>(c, ldc, m, accumulate, c0, c1);
  for (int64_t k = 0; k < K; ++k) {
    const __m512 b0 = _mm512_load_ps(panel + k * kCols);
    const __m512 b1 = _mm512_load_ps(panel + k * kCols + 16);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(TA ? a[k * lda + r] : a[r * lda + k]);
      c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
    }
  }
  panel_block::store<MR>(c0, c1, m, c, ldc);
}

// c0/c1 += A[MR, K] · panel's K rows (A's value (r, k) at a[r·lda + k]).
template <int MR>
RECUR_AVX512_TARGET __attribute__((always_inline)) inline void add_part(const float* a, int64_t lda,
                                                                        int64_t K,
                                                                        const float* panel,
                                                                        __m512* c0, __m512* c1) {
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
}

// C[rows, 32] (+)= [A1 | A2] · panel, the panel's first K1 rows against A1's K1 columns and
// the next K2 against A2's: two left-hand sides side by side without copying them together.
template <int MR>
RECUR_AVX512_TARGET void kernel_pair(const float* a1, int64_t lda1, int64_t K1, const float* a2,
                                     int64_t lda2, int64_t K2, const float* panel, float* c,
                                     int64_t ldc, Masks m, bool accumulate) {
  __m512 c0[MR], c1[MR];
  panel_block::load<MR>(c, ldc, m, accumulate, c0, c1);
  add_part<MR>(a1, lda1, K1, panel, c0, c1);
  add_part<MR>(a2, lda2, K2, panel + K1 * kCols, c0, c1);
  panel_block::store<MR>(c0, c1, m, c, ldc);
}

using PairKernel = void (*)(const float*, int64_t, int64_t, const float*, int64_t, int64_t,
                            const float*, float*, int64_t, Masks, bool);

template <int... R>
constexpr auto pair_kernel_table(std::integer_sequence<int, R...>) {
  return std::array<PairKernel, sizeof...(R)>{&kernel_pair<R + 1>...};
}

using Kernel = void (*)(const float*, int64_t, const float*, int64_t, float*, int64_t, Masks, bool,
                        const float*);

template <bool TA, int... R>
constexpr auto kernel_table(std::integer_sequence<int, R...>) {
  return std::array<Kernel, sizeof...(R)>{&kernel<R + 1, TA>...};
}

// The kernels for 1..12 rows, A as stored (false) or transposed (true).
const Kernel* kernels_for(bool trans_a) {
  static constexpr auto plain = kernel_table<false>(std::make_integer_sequence<int, kMaxRows>{});
  static constexpr auto transposed =
      kernel_table<true>(std::make_integer_sequence<int, kMaxRows>{});
  return trans_a ? transposed.data() : plain.data();
}

// Rows [0, M) in blocks as even as possible (16 = 8 + 8, not 12 + 4): a block of few rows has
// too few accumulators to keep the FMA units busy. f(block, first row, rows) for each block.
template <typename F>
void for_row_blocks(int64_t M, F f) {
  const int64_t blocks = (M + kMaxRows - 1) / kMaxRows;
  for (int64_t b = 0, r = 0; b < blocks; ++b) {
    const int64_t rows = M / blocks + (b < M % blocks ? 1 : 0);
    f(b, r, rows);
    r += rows;
  }
}

// r[0..16) transposed in place: r[i][j] becomes r[j][i].
RECUR_AVX512_TARGET inline void transpose16(__m512* r) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {  // 32-bit pairs of rows i, i + 1
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4)  // 64-bit pairs of those
    for (int h = 0; h < 2; ++h) {
      const __m512d a = _mm512_castps_pd(t[i + h]), b = _mm512_castps_pd(t[i + 2 + h]);
      r[i + 2 * h] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
      r[i + 2 * h + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
    }
  for (int i = 0; i < 16; i += 8)  // 128-bit lanes: 0 2 of two rows, then 1 3
    for (int h = 0; h < 4; ++h) {
      t[i + h] = _mm512_shuffle_f32x4(r[i + h], r[i + 4 + h], 0x88);
      t[i + 4 + h] = _mm512_shuffle_f32x4(r[i + h], r[i + 4 + h], 0xdd);
    }
  for (int h = 0; h < 8; ++h) {  // 256-bit halves
    r[h] = _mm512_shuffle_f32x4(t[h], t[h + 8], 0x88);
    r[h + 8] = _mm512_shuffle_f32x4(t[h], t[h + 8], 0xdd);
  }
}

// Columns [j0, j0 + 16) of the panel from rows n0 + j0 ... of B (C = A · Bᵀ), 16 values of k
// at a time by a transpose in registers; rows past `cols` are zeros.
RECUR_AVX512_TARGET void pack_transposed(const float* B, int64_t ldb, int64_t K, int64_t j0,
                                         int64_t cols, float* panel) {
  for (int64_t k0 = 0; k0 < K; k0 += 16) {
    const int64_t kn = std::min<int64_t>(16, K - k0);
    const __mmask16 km = static_cast<__mmask16>((1u << kn) - 1);
    __m512 r[16];
    for (int j = 0; j < 16; ++j)
      r[j] =
          j0 + j < cols ? _mm512_maskz_loadu_ps(km, B + (j0 + j) * ldb + k0) : _mm512_setzero_ps();
    transpose16(r);
    for (int64_t k = 0; k < kn; ++k) _mm512_store_ps(panel + (k0 + k) * kCols + j0, r[k]);
  }
}

// Panel q of op(B) [K, N] into `panel` (K × 32 values, 64-byte aligned).
void pack_panel(const float* B, int64_t N, int64_t K, bool trans_b, int64_t ldb, int64_t q,
                float* panel) {
  const int64_t n0 = q * kCols, cols = std::min(kCols, N - n0);
  if (trans_b) {  // column j of the panel is row n0 + j of B
    pack_transposed(B + n0 * ldb, ldb, K, 0, cols, panel);
    pack_transposed(B + n0 * ldb, ldb, K, 16, cols, panel);
  } else {  // row k of the panel is 32 adjacent values of row k of B
    for (int64_t k = 0; k < K; ++k) {
      std::copy_n(B + k * ldb + n0, cols, panel + k * kCols);
      std::fill(panel + k * kCols + cols, panel + (k + 1) * kCols, 0.0f);
    }
  }
}

// Panels [q0, q1) times every row of A; each panel is read from memory once and from cache
// for the rows after the first 12.
void multiply_panels(const float* panels, int64_t N, int64_t K, int64_t q0, int64_t q1, int64_t M,
                     const float* A, int64_t lda, float* C, int64_t ldc, bool accumulate) {
  const Kernel* kernels = kernels_for(/*trans_a=*/false);
  for (int64_t q = q0; q < q1; ++q) {
    const int64_t n0 = q * kCols;
    const Masks m = panel_block::masks_of(N, q);
    for_row_blocks(M, [&](int64_t, int64_t r, int64_t rows) {
      // No prefetch of the next block: the per-step products' C is small and in cache (with
      // it, C1's and C2's step shapes ran 3-10 % slower).
      kernels[rows - 1](A + r * lda, lda, panels + q * K * kCols, K, C + r * ldc + n0, ldc, m,
                        accumulate, nullptr);
    });
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
  for (int64_t q = 0; q < Q; ++q) pack_panel(B, N, K, trans_b, ldb, q, out + q * K * kCols);
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

int64_t packed_pair_bytes(int64_t N, int64_t K1, int64_t K2) { return packed_bytes(N, K1 + K2); }

void pack_pair(const float* B1, int64_t K1, const float* B2, int64_t K2, int64_t N, float* out) {
  const int64_t K = K1 + K2;
  for (int64_t q = 0; q < panels_of(N); ++q) {
    pack_panel(B1, N, K1, /*trans_b=*/true, K1, q, out + q * K * kCols);
    pack_panel(B2, N, K2, /*trans_b=*/true, K2, q, out + q * K * kCols + K1 * kCols);
  }
}

void multiply_pair(const float* panels, int64_t N, int64_t K1, int64_t K2, int64_t M,
                   const float* A1, int64_t lda1, const float* A2, int64_t lda2, float* C,
                   int64_t ldc, bool accumulate) {
  static constexpr auto kernels = pair_kernel_table(std::make_integer_sequence<int, kMaxRows>{});
  const int64_t K = K1 + K2;
  for (int64_t q = 0; q < panels_of(N); ++q) {
    const Masks m = panel_block::masks_of(N, q);
    for_row_blocks(M, [&](int64_t, int64_t r, int64_t rows) {
      kernels[rows - 1](A1 + r * lda1, lda1, K1, A2 + r * lda2, lda2, K2, panels + q * K * kCols,
                        C + r * ldc + q * kCols, ldc, m, accumulate);
    });
  }
}

namespace {

// gemm() packs op(B) kKc values of k by kNc columns at a time (512 KiB, in L2) and takes the
// rows of A kMc at a time, so that their part of A stays in L2 too. A long kKc means few passes
// over C (each pass loads and stores it): 512 ran C1's and C2's shapes 5-15 % faster than 256.
constexpr int64_t kKc = 512, kNc = 256, kMc = 96;

// This thread's buffer for one block of packed panels, 64-byte aligned.
float* block_buffer() {
  thread_local std::vector<float> v;
  if (v.empty()) v.resize(kKc * kNc + 16);
  const auto at = reinterpret_cast<std::uintptr_t>(v.data());
  return v.data() + (64 - at % 64) % 64 / sizeof(float);
}

// Rows [r0, r1) of C's columns [nb, nb + nc) (+)= op(A)'s rows times the packed block of op(B)
// for k in [kb, kb + kc): A's rows kMc at a time against each panel of the block.
void multiply_block(const Kernel* kernels, bool trans_a, const float* A, int64_t lda, int64_t kb,
                    int64_t kc, int64_t r0, int64_t r1, const float* panels, int64_t nb, int64_t nc,
                    float* C, int64_t ldc, bool acc) {
  const int64_t Q = panels_of(nc);
  for (int64_t mb = r0; mb < r1; mb += kMc) {
    const int64_t mc = std::min(kMc, r1 - mb);
    for (int64_t q = 0; q < Q; ++q) {
      const Masks m = panel_block::masks_of(nc, q);
      float* c = C + nb + q * kCols;
      for_row_blocks(mc, [&](int64_t, int64_t r, int64_t rows) {
        const int64_t row = mb + r;
        const float* a = trans_a ? A + kb * lda + row : A + row * lda + kb;
        const float* next = r + rows < mc ? c + (row + rows) * ldc
                            : q + 1 < Q   ? c + kCols + mb * ldc
                                          : nullptr;
        kernels[rows - 1](a, lda, panels + q * kc * kCols, kc, c + row * ldc, ldc, m, acc, next);
      });
    }
  }
}

// Columns [n0, n1) of C (n0 a multiple of 32) for every row: the whole product on one thread.
void gemm_columns(bool trans_a, bool trans_b, int64_t M, int64_t n0, int64_t n1, int64_t K,
                  const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
                  bool accumulate) {
  const Kernel* kernels = kernels_for(trans_a);
  float* panels = block_buffer();
  for (int64_t nb = n0; nb < n1; nb += kNc) {
    const int64_t nc = std::min(kNc, n1 - nb), Q = panels_of(nc);
    for (int64_t kb = 0; kb < K; kb += kKc) {
      const int64_t kc = std::min(kKc, K - kb);
      const float* b = trans_b ? B + nb * ldb + kb : B + kb * ldb + nb;
      for (int64_t q = 0; q < Q; ++q)
        pack_panel(b, nc, kc, trans_b, ldb, q, panels + q * kc * kCols);
      multiply_block(kernels, trans_a, A, lda, kb, kc, 0, M, panels, nb, nc, C, ldc,
                     accumulate || kb > 0);
    }
  }
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
          const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate)
      for (int64_t m = 0; m < M; ++m) std::fill_n(C + m * ldc, N, 0.0f);
    return;
  }
  const int64_t Q = panels_of(N);
  const bool parallel =
      !omp_in_parallel() && omp_get_max_threads() > 1 && M * N * K >= kParallelFromMacs;
  if (!parallel) {
    gemm_columns(trans_a, trans_b, M, 0, N, K, A, lda, B, ldb, C, ldc, accumulate);
    return;
  }
  // The columns over the threads, by whole panels; with a single panel, the rows. (Sharing
  // each packed block of op(B) and splitting the rows instead measured no faster at 2 threads.)
#pragma omp parallel
  {
    const int64_t t = omp_get_thread_num(), n = omp_get_num_threads();
    if (Q > 1) {
      const int64_t c0 = Q * t / n * kCols, c1 = std::min(N, Q * (t + 1) / n * kCols);
      if (c1 > c0) gemm_columns(trans_a, trans_b, M, c0, c1, K, A, lda, B, ldb, C, ldc, accumulate);
    } else {
      const int64_t r0 = M * t / n, r1 = M * (t + 1) / n;
      if (r1 > r0)
        gemm_columns(trans_a, trans_b, r1 - r0, 0, N, K, trans_a ? A + r0 : A + r0 * lda, lda, B,
                     ldb, C + r0 * ldc, ldc, accumulate);
    }
  }
}

}  // namespace recur::kernels::f32_panels
