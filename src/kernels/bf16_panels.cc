// bf16 panels: packing, the vdpbf16ps micro-kernel and its loops (see bf16_panels.h). The
// kernel code is compiled for avx512_bf16 whatever the build's target (function attributes) and
// only called where available() says the CPU has it, so a portable build keeps it too.
#include "kernels/bf16_panels.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>
#include <vector>

#include "kernels/bf16.h"
#include "kernels/panel_block.h"

// GCC 12 reports the intrinsics' own _mm512_undefined_* temporaries as maybe uninitialized when
// they are inlined into a function with a target attribute (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#define RECUR_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

namespace recur::kernels::bf16_panels {
namespace {

using panel_block::kCols;
using panel_block::kMaxRows;
using panel_block::Masks;
using panel_block::panels_of;
// Rows of A per pass over the panels: a block of A (bf16) of about this many bytes stays in
// L1 (48 KiB here) while every panel of the thread's range is multiplied with it. With 64 KiB,
// C1's input projection (2048 × 2048 × 512, 60-row blocks) ran at 323-343 GFLOP/s against
// 359-381 with 32 KiB (24 rows); the shapes with K ≥ 1024 moved by less than the noise.
constexpr int64_t kRowBlockBytes = 32 << 10;
// Products from this many multiply-adds on are split over the threads. A fork costs about 3 µs
// on the 2-core VM of recur_bench: with 2^20, C7's backward steps in bf16 (16 × 128 × 512)
// forked at every step, and its training step took 1.41-1.45 ms at 2 threads against
// 1.28-1.31 with 2^22 (as f32_panels). A product of few rows is bound by reading the panels
// instead, and splits from 1 MiB of them on (2^19 values of B): S1 and C3 in bf16 (one row
// times 2048 × 512) at 2 threads, 62 µs a step on one thread against 41 split.
constexpr int64_t kParallelFromMacs = int64_t{1} << 22;
constexpr int64_t kParallelFromValues = int64_t{1} << 19;

int64_t pairs_of(int64_t K) { return (K + 1) / 2; }

// This thread's copy of A in bf16 pairs (one 32-bit value per row and pair of k).
uint32_t* lhs_buffer(int64_t n) {
  thread_local std::vector<uint32_t> v;
  if (static_cast<int64_t>(v.size()) < n) v.resize(n);
  return v.data();
}

// This thread's panels of a B packed for one product (gemm()), 64-byte aligned.
uint16_t* rhs_buffer(int64_t bytes) {
  thread_local std::vector<char> v;
  if (static_cast<int64_t>(v.size()) < bytes + 64) v.resize(bytes + 64);
  const auto at = reinterpret_cast<std::uintptr_t>(v.data());
  return reinterpret_cast<uint16_t*>(v.data() + (64 - at % 64) % 64);
}

// 16 floats rounded as kernels::to_bf16 rounds (ties to even, NaN kept quiet): each lane's bf16
// in its upper 16 bits.
RECUR_BF16_TARGET inline __m512i round16(__m512i u) {
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), lsb));
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)),
                                                _mm512_set1_epi32(0x7f800000));
  return _mm512_mask_or_epi32(r, nan, u, _mm512_set1_epi32(0x00400000));
}

// y[0, n) = to_bf16(x[0, n)).
RECUR_BF16_TARGET void round_row(const float* x, int64_t n, uint16_t* y) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(
        reinterpret_cast<__m256i*>(y + i),
        _mm512_cvtepi32_epi16(_mm512_srli_epi32(round16(_mm512_loadu_si512(x + i)), 16)));
  for (; i < n; ++i) y[i] = to_bf16(x[i]);
}

// y[i] = to_bf16(lo[i]) | to_bf16(hi[i]) << 16 for i < n: two rows made into pairs. hi null:
// zeros (the padding of an odd K).
RECUR_BF16_TARGET void round_pairs(const float* lo, const float* hi, int64_t n, uint32_t* y) {
  int64_t i = 0;
  const __m512i upper = _mm512_set1_epi32(static_cast<int>(0xffff0000u));
  for (; i + 16 <= n; i += 16) {
    const __m512i l = _mm512_srli_epi32(round16(_mm512_loadu_si512(lo + i)), 16);
    const __m512i h =
        hi ? _mm512_and_si512(round16(_mm512_loadu_si512(hi + i)), upper) : _mm512_setzero_si512();
    _mm512_storeu_si512(y + i, _mm512_or_si512(l, h));
  }
  for (; i < n; ++i)
    y[i] = to_bf16(lo[i]) | (hi ? static_cast<uint32_t>(to_bf16(hi[i])) << 16 : 0u);
}

// C[rows, 32] (+)= A[rows, 2P] · panel, for rows <= kMaxRows (MR). A's pair p of row r is
// a[r·rs + p·ps] (bf16 pairs, see Lhs); the panel holds P pairs × 32 columns × 2; m: the
// columns of C that exist (the last panel may be partial).
// Pair p into the partial sums c0/c1[h·MR + r] of the MR rows (see kernel).
template <int MR>
RECUR_BF16_TARGET __attribute__((always_inline)) inline void kernel_step(const uint32_t* a,
                                                                         int64_t rs, int64_t ps,
                                                                         const uint16_t* panel,
                                                                         int64_t p, int h,
                                                                         __m512* c0, __m512* c1) {
  const __m512bh b0 = (__m512bh)_mm512_load_si512(panel + p * 2 * kCols);
  const __m512bh b1 = (__m512bh)_mm512_load_si512(panel + p * 2 * kCols + kCols);
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) {
    const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[r * rs + p * ps]));
    c0[h * MR + r] = _mm512_dpbf16_ps(c0[h * MR + r], av, b0);
    c1[h * MR + r] = _mm512_dpbf16_ps(c1[h * MR + r], av, b1);
  }
}

template <int MR>
RECUR_BF16_TARGET void kernel(const uint32_t* a, int64_t rs, int64_t ps, const uint16_t* panel,
                              int64_t P, float* c, int64_t ldc, Masks m, bool accumulate) {
  // With one or two rows, 2·MR accumulators are too few to cover the instruction's latency:
  // the pairs go round PH partial sums each (12 chains in all), added up at the end. A batch
  // of one (streaming in bf16) runs on this.
  constexpr int PH = MR <= 2 ? 12 / (2 * MR) : 1;
  __m512 c0[MR * PH], c1[MR * PH];
  panel_block::load<MR>(c, ldc, m, accumulate, c0, c1);
  for (int i = MR; i < MR * PH; ++i) c0[i] = c1[i] = _mm512_setzero_ps();
  int64_t p = 0;
  for (; p + PH <= P; p += PH)
#pragma GCC unroll 6
    for (int h = 0; h < PH; ++h) kernel_step<MR>(a, rs, ps, panel, p + h, h, c0, c1);
  for (; p < P; ++p) kernel_step<MR>(a, rs, ps, panel, p, 0, c0, c1);
  for (int h = 1; h < PH; ++h)
    for (int r = 0; r < MR; ++r) {
      c0[r] = _mm512_add_ps(c0[r], c0[h * MR + r]);
      c1[r] = _mm512_add_ps(c1[r], c1[h * MR + r]);
    }
  panel_block::store<MR>(c0, c1, m, c, ldc);
}

using Kernel = void (*)(const uint32_t*, int64_t, int64_t, const uint16_t*, int64_t, float*,
                        int64_t, Masks, bool);

// A in bf16 pairs, P per row: the rows from r (a multiple of kMaxRows) start at a + r·P, and in
// there pair p of the row r + i is at i·rs + p·ps. Rows of A as stored give rs = P, ps = 1; a
// transposed A (stored [K, M]) is packed in blocks of kMaxRows rows, pair by pair (rs = 1,
// ps = kMaxRows), so that the kernel reads each pair of its rows from one place.
struct Lhs {
  const uint32_t* a;
  int64_t rs, ps;
};

// op(A) [M, K] (A [M, K] with row stride lda, or [K, M] when trans_a) into this thread's pairs;
// rows (or pairs) over the threads when `parallel`.
Lhs convert_lhs(bool trans_a, int64_t M, int64_t K, const float* A, int64_t lda, bool parallel) {
  const int64_t P = pairs_of(K);
  const int64_t blocks = (M + kMaxRows - 1) / kMaxRows;
  uint32_t* a = lhs_buffer(blocks * kMaxRows * P);
  if (!trans_a) {
#pragma omp parallel for if (parallel && M * K >= (1 << 16)) schedule(static)
    for (int64_t r = 0; r < M; ++r) {
      uint16_t* row = reinterpret_cast<uint16_t*>(a + r * P);
      round_row(A + r * lda, K, row);
      if (2 * P > K) row[K] = 0;
    }
    return {a, P, 1};
  }
  // By groups of 16 blocks (192 columns of the source): each pair's two rows are read 768
  // bytes at a time, and each block of the group is written in order, pair after pair.
  constexpr int64_t kGroup = 16;
  const int64_t groups = (blocks + kGroup - 1) / kGroup;
#pragma omp parallel for if (parallel && M * K >= (1 << 16)) schedule(static)
  for (int64_t g = 0; g < groups; ++g) {
    const int64_t m0 = g * kGroup * kMaxRows, m1 = std::min(M, m0 + kGroup * kMaxRows);
    uint32_t pairs[kGroup * kMaxRows];
    for (int64_t p = 0; p < P; ++p) {
      round_pairs(A + 2 * p * lda + m0, 2 * p + 1 < K ? A + (2 * p + 1) * lda + m0 : nullptr,
                  m1 - m0, pairs);
      for (int64_t m = m0; m < m1; m += kMaxRows) {
        const uint32_t* from = pairs + (m - m0);
        uint32_t* to = a + (m / kMaxRows * P + p) * kMaxRows;
        if (m + kMaxRows <= m1)
          for (int i = 0; i < kMaxRows; ++i) to[i] = from[i];
        else
          std::copy_n(from, m1 - m, to);
      }
    }
  }
  return {a, 1, kMaxRows};
}

template <int... R>
constexpr auto kernel_table(std::integer_sequence<int, R...>) {
  return std::array<Kernel, sizeof...(R)>{&kernel<R + 1>...};
}

// Panels [q0, q1) times rows [0, M) of the bf16 copy of A.
void multiply_panels(const uint16_t* panels, int64_t N, int64_t P, int64_t q0, int64_t q1,
                     int64_t M, const Lhs& a, float* C, int64_t ldc, bool accumulate) {
  static constexpr auto kernels = kernel_table(std::make_integer_sequence<int, kMaxRows>{});
  const int64_t block = std::max<int64_t>(kMaxRows, kRowBlockBytes / (P * 4) / kMaxRows * kMaxRows);
  for (int64_t m0 = 0; m0 < M; m0 += block) {
    const int64_t m1 = std::min(M, m0 + block);
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t n0 = q * kCols;
      const Masks m = panel_block::masks_of(N, q);
      const uint16_t* panel = panels + q * P * 2 * kCols;
      for (int64_t r = m0; r < m1; r += kMaxRows) {
        const int64_t rows = std::min<int64_t>(kMaxRows, m1 - r);
        kernels[rows - 1](a.a + r * P, a.rs, a.ps, panel, P, C + r * ldc + n0, ldc, m, accumulate);
      }
    }
  }
}

}  // namespace

bool available() {
  static const bool yes =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && bf16_native();
  return yes && !panel_block::g_off_for_tests;
}

int64_t packed_bytes(int64_t N, int64_t K) {
  return panels_of(N) * pairs_of(K) * 2 * kCols * static_cast<int64_t>(sizeof(uint16_t));
}

namespace {

// Panel q of op(B) [K, N]: its P pairs of k into `lanes` (P · 32 lanes), each 32-bit lane one
// column's pair (k = 2p, 2p + 1), low half first.
void pack_panel(const float* B, int64_t N, int64_t K, bool trans_b, int64_t ldb, int64_t q,
                uint32_t* lanes) {
  const int64_t P = pairs_of(K);
  const int64_t n0 = q * kCols, cols = std::min(kCols, N - n0);
  if (trans_b) {  // column n of op(B) is row n of B: round it whole, then deal its pairs
    std::vector<uint16_t> row(2 * P, 0);
    for (int64_t j = 0; j < kCols; ++j) {
      if (j < cols) round_row(B + (n0 + j) * ldb, K, row.data());
      for (int64_t p = 0; p < P; ++p)
        lanes[p * kCols + j] =
            j < cols ? row[2 * p] | static_cast<uint32_t>(row[2 * p + 1]) << 16 : 0;
    }
  } else {  // rows 2p and 2p + 1 of B hold the pair's two values for 32 adjacent columns
    for (int64_t p = 0; p < P; ++p) {
      uint32_t* dst = lanes + p * kCols;
      round_pairs(B + 2 * p * ldb + n0, 2 * p + 1 < K ? B + (2 * p + 1) * ldb + n0 : nullptr, cols,
                  dst);
      std::fill(dst + cols, dst + kCols, 0u);
    }
  }
}

}  // namespace

void pack(const float* B, int64_t N, int64_t K, bool trans_b, int64_t ldb, uint16_t* out) {
  const int64_t P = pairs_of(K), Q = panels_of(N);
#pragma omp parallel for if (N * K >= (1 << 18)) schedule(static)
  for (int64_t q = 0; q < Q; ++q)
    pack_panel(B, N, K, trans_b, ldb, q, reinterpret_cast<uint32_t*>(out + q * P * 2 * kCols));
}

namespace {

bool split_over_threads(int64_t M, int64_t N, int64_t K) {
  return !omp_in_parallel() && omp_get_max_threads() > 1 &&
         (M * N * K >= kParallelFromMacs || N * K >= kParallelFromValues) && panels_of(N) > 1;
}

// C[M, N] (+)= a · panels, a converted already.
void multiply_converted(const uint16_t* panels, int64_t N, int64_t K, int64_t M, const Lhs& a,
                        float* C, int64_t ldc, bool accumulate, bool parallel) {
  const int64_t P = pairs_of(K), Q = panels_of(N);
  if (!parallel) {
    multiply_panels(panels, N, P, 0, Q, M, a, C, ldc, accumulate);
    return;
  }
#pragma omp parallel
  {
    const int64_t t = omp_get_thread_num(), n = omp_get_num_threads();
    multiply_panels(panels, N, P, Q * t / n, Q * (t + 1) / n, M, a, C, ldc, accumulate);
  }
}

void multiply_lhs(const uint16_t* panels, int64_t N, int64_t K, int64_t M, bool trans_a,
                  const float* A, int64_t lda, float* C, int64_t ldc, bool accumulate) {
  if (M == 0 || N == 0) return;
  const bool parallel = split_over_threads(M, N, K);
  const Lhs a = convert_lhs(trans_a, M, K, A, lda, parallel);
  multiply_converted(panels, N, K, M, a, C, ldc, accumulate, parallel);
}

}  // namespace

void multiply(const uint16_t* panels, int64_t N, int64_t K, int64_t M, const float* A, int64_t lda,
              float* C, int64_t ldc, bool accumulate) {
  multiply_lhs(panels, N, K, M, /*trans_a=*/false, A, lda, C, ldc, accumulate);
}

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
          const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate) {
  if (M == 0 || N == 0) return;
  uint16_t* panels = rhs_buffer(packed_bytes(N, K));
  pack(B, N, K, trans_b, ldb, panels);
  multiply_lhs(panels, N, K, M, trans_a, A, lda, C, ldc, accumulate);
}

void gemm_pair(bool trans_a, int64_t M, int64_t K, const float* A, int64_t lda, const float* B1,
               int64_t N1, int64_t ldb1, float* C1, int64_t ldc1, const float* B2, int64_t N2,
               int64_t ldb2, float* C2, int64_t ldc2, bool accumulate) {
  if (M == 0) return;
  const bool parallel = split_over_threads(M, N1 + N2, K);
  const Lhs a = convert_lhs(trans_a, M, K, A, lda, parallel);
  for (int i = 0; i < 2; ++i) {
    const int64_t N = i == 0 ? N1 : N2;
    if (N == 0) continue;
    uint16_t* panels = rhs_buffer(packed_bytes(N, K));
    pack(i == 0 ? B1 : B2, N, K, /*trans_b=*/false, i == 0 ? ldb1 : ldb2, panels);
    multiply_converted(panels, N, K, M, a, i == 0 ? C1 : C2, i == 0 ? ldc1 : ldc2, accumulate,
                       parallel);
  }
}

int64_t packed_pair_bytes(int64_t N, int64_t K1, int64_t K2) {
  return panels_of(N) * (pairs_of(K1) + pairs_of(K2)) * 2 * kCols *
         static_cast<int64_t>(sizeof(uint16_t));
}

void pack_pair(const float* B1, int64_t K1, const float* B2, int64_t K2, int64_t N, uint16_t* out) {
  const int64_t P1 = pairs_of(K1), P = P1 + pairs_of(K2);
  for (int64_t q = 0; q < panels_of(N); ++q) {
    uint32_t* lanes = reinterpret_cast<uint32_t*>(out + q * P * 2 * kCols);
    pack_panel(B1, N, K1, /*trans_b=*/true, K1, q, lanes);
    pack_panel(B2, N, K2, /*trans_b=*/true, K2, q, lanes + P1 * kCols);
  }
}

void multiply_pair(const uint16_t* panels, int64_t N, int64_t K1, int64_t K2, int64_t M,
                   const float* A1, int64_t lda1, const float* A2, int64_t lda2, float* C,
                   int64_t ldc, bool accumulate) {
  if (M == 0 || N == 0) return;
  // Each row of [A1 | A2] in bf16 pairs, A1's from pair 0 and A2's from pair P1, an odd K1 or
  // K2 padded with a zero (the panels hold zeros there too).
  const int64_t P1 = pairs_of(K1), P = P1 + pairs_of(K2);
  uint32_t* a = lhs_buffer((M + kMaxRows - 1) / kMaxRows * kMaxRows * P);
  for (int64_t r = 0; r < M; ++r) {
    uint16_t* row = reinterpret_cast<uint16_t*>(a + r * P);
    round_row(A1 + r * lda1, K1, row);
    if (2 * P1 > K1) row[K1] = 0;
    round_row(A2 + r * lda2, K2, row + 2 * P1);
    if (2 * (P - P1) > K2) row[2 * P1 + K2] = 0;
  }
  multiply_converted(panels, N, 2 * P, M, Lhs{a, P, 1}, C, ldc, accumulate, /*parallel=*/false);
}

}  // namespace recur::kernels::bf16_panels
