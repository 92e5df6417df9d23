// kernels::PackedWeights in float and bf16, on each back end this CPU has: the panels
// (f32_panels, bf16_panels) and, with the panels turned off, oneDNN's packed matmul that CPUs
// without AVX-512 / avx512_bf16 run. Odd shapes, a column block of a wider B (ldb) and of a
// wider C (ldc), assign and accumulate, against the double reference (bf16: of the rounded
// inputs).
#include "kernels/packed_gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/bf16.h"
#include "kernels/gemm.h"
#include "kernels/panel_block.h"
#include "recur/rng.h"

namespace recur::kernels {
namespace {

struct PanelsOff {  // for the life of a scope
  explicit PanelsOff(bool off) { panel_block::g_off_for_tests = off; }
  ~PanelsOff() { panel_block::g_off_for_tests = false; }
};

void check(bool bf16, bool panels_off) {
  PanelsOff scope(panels_off);
  // B is the column block [n0, n0 + N) of a [Nw, K] (trans) or [K, Nw] matrix; C is written at
  // column c0 of rows ldc wide.
  const int64_t Nw = 61, n0 = 9, N = 45, K = 29, ldc = 50, c0 = 3;
  for (bool trans : {false, true}) {
    std::vector<float> W((trans ? Nw : K) * (trans ? K : Nw)), A(13 * K), C0(13 * ldc);
    Rng rng(bf16 * 2 + trans);
    for (float& v : W) v = rng.normal();
    for (float& v : A) v = rng.normal();
    for (float& v : C0) v = rng.normal();
    const int64_t ldb = trans ? K : Nw;
    const float* B = trans ? W.data() + n0 * K : W.data() + n0;
    PackedWeights packed;
    packed.pack(B, N, K, trans, /*accumulating=*/true, bf16, ldb);
    for (int64_t M : {1, 2, 13}) {
      for (bool acc : {false, true}) {
        std::vector<float> got = C0;
        packed.multiply(M, A.data(), got.data() + c0, acc, ldc);
        for (int64_t m = 0; m < M; ++m)
          for (int64_t j = 0; j < ldc; ++j) {
            const float g = got[m * ldc + j];
            if (j < c0 || j >= c0 + N) {
              ASSERT_EQ(g, C0[m * ldc + j]) << "outside the block: m=" << m << " j=" << j;
              continue;
            }
            const int64_t n = j - c0;
            double want = acc ? C0[m * ldc + j] : 0.0;
            for (int64_t k = 0; k < K; ++k) {
              double a = A[m * K + k], b = trans ? B[n * ldb + k] : B[k * ldb + n];
              if (bf16) {
                a = round_bf16(static_cast<float>(a));
                b = round_bf16(static_cast<float>(b));
              }
              want += a * b;
            }
            ASSERT_NEAR(g, want, 2e-5 * std::max(1.0, std::abs(want)))
                << "bf16=" << bf16 << " panels_off=" << panels_off << " trans=" << trans
                << " M=" << M << " acc=" << acc << " m=" << m << " n=" << n;
          }
      }
    }
  }
}

TEST(PackedWeights, FloatOnEveryBackEnd) {
  check(/*bf16=*/false, /*panels_off=*/false);
  check(/*bf16=*/false, /*panels_off=*/true);
}

TEST(PackedWeights, Bf16OnEveryBackEnd) {
  check(/*bf16=*/true, /*panels_off=*/false);
  check(/*bf16=*/true, /*panels_off=*/true);
}

// gemm_bf16 with beta 0 / 1 takes the panels; with them off, oneDNN's matmul: the same result.
TEST(PackedWeights, GemmBf16SameWithPanelsOff) {
  const int64_t M = 14, N = 33, K = 40;
  std::vector<float> A(K * M), B(K * N), C(M * N), C_off(M * N);
  Rng rng(5);
  for (float& v : A) v = rng.normal();
  for (float& v : B) v = rng.normal();
  gemm_bf16(true, false, M, N, K, A.data(), M, B.data(), N, 0.0f, C.data(), N);
  {
    PanelsOff scope(true);
    gemm_bf16(true, false, M, N, K, A.data(), M, B.data(), N, 0.0f, C_off.data(), N);
  }
  for (int64_t i = 0; i < M * N; ++i)
    ASSERT_NEAR(C[i], C_off[i], 2e-5 * std::max(1.0f, std::abs(C[i]))) << i;
}

}  // namespace
}  // namespace recur::kernels
