// kernels::f32_panels against a double-precision product: partial panels, row counts around
// the 12-row kernel, strided B and C, assign and accumulate, one and two threads, nothing
// written past C or into its stride's gap; gemm() on every transpose and across its blocks of
// rows, columns and k; the pair of side-by-side products. Skipped where the CPU has no AVX-512.
#include "kernels/f32_panels.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "common/pair_case.h"
#include "recur/rng.h"

namespace recur::kernels {
namespace {

// got = C0 (+)= A·B within float rounding, A's (m, k) = a(m, k) and B's (k, n) = b(k, n), with
// C [M, ldc] of which the first N columns are the product: nothing written into the columns
// past N or into the 16 values past C.
template <typename FA, typename FB>
void expect_product(const std::vector<float>& got, const std::vector<float>& C0, int64_t M,
                    int64_t N, int64_t K, int64_t ldc, FA a, FB b, bool acc, int threads) {
  for (int64_t i = M * ldc; i < M * ldc + 16; ++i) ASSERT_EQ(got[i], C0[i]) << "past the end";
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < ldc; ++n) {
      const float g = got[m * ldc + n];
      if (n >= N) {
        ASSERT_EQ(g, C0[m * ldc + n]) << "m=" << m << " n=" << n;
        continue;
      }
      double want = acc ? C0[m * ldc + n] : 0.0, size = std::abs(want);
      for (int64_t k = 0; k < K; ++k) {
        const double t = double(a(m, k)) * b(k, n);
        want += t;
        size += std::abs(t);
      }
      ASSERT_NEAR(g, want, 1e-6 * (1.0 + size))
          << "threads=" << threads << " acc=" << acc << " m=" << m << " n=" << n;
    }
}

// (M, N, K, trans_b, extra row stride of B, extra row stride of C)
using Shape = std::tuple<int64_t, int64_t, int64_t, bool, int64_t, int64_t>;
class F32Panels : public ::testing::TestWithParam<Shape> {};

TEST_P(F32Panels, MatchesReference) {
  if (!f32_panels::available()) GTEST_SKIP() << "no AVX-512 here";
  const auto [M, N, K, trans, extra_b, extra_c] = GetParam();
  const int64_t ldb = (trans ? K : N) + extra_b, ldc = N + extra_c;
  // C0 runs 16 values past the matrix: nothing may be written there.
  std::vector<float> B((trans ? N : K) * ldb), A(M * K), C0(M * ldc + 16);
  Rng rng(3);
  for (float& v : B) v = rng.normal();
  for (float& v : A) v = rng.normal();
  for (float& v : C0) v = rng.normal();
  std::vector<float> raw(f32_panels::packed_bytes(N, K) / sizeof(float) + 16);
  float* panels = raw.data();
  while (reinterpret_cast<std::uintptr_t>(panels) % 64) ++panels;
  f32_panels::pack(B.data(), N, K, trans, ldb, panels);
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (bool acc : {false, true}) {
      std::vector<float> got = C0;
      f32_panels::multiply(panels, N, K, M, A.data(), K, got.data(), ldc, acc);
      expect_product(
          got, C0, M, N, K, ldc, [&](int64_t m, int64_t k) { return A[m * K + k]; },
          [&](int64_t k, int64_t n) { return trans ? B[n * ldb + k] : B[k * ldb + n]; }, acc,
          threads);
    }
  }
  omp_set_num_threads(2);
}

INSTANTIATE_TEST_SUITE_P(
    OddShapes, F32Panels,
    ::testing::Values(Shape{1, 1, 1, true, 0, 0}, Shape{2, 31, 2, false, 0, 0},
                      Shape{11, 32, 3, true, 0, 0}, Shape{12, 33, 17, false, 2, 1},
                      Shape{13, 47, 64, true, 5, 3}, Shape{25, 16, 129, false, 0, 0},
                      Shape{37, 100, 300, true, 0, 7}, Shape{5, 63, 9, true, 0, 1},
                      Shape{300, 70, 33, false, 1, 0}, Shape{32, 512, 256, true, 0, 0}));

// (M, N, K, trans_a, trans_b): gemm() packs op(B) by blocks of 512 values of k and 256 columns
// and takes A 96 rows at a time, so these cross every block edge, with partial panels.
using GemmShape = std::tuple<std::tuple<int64_t, int64_t, int64_t>, bool, bool>;
class F32PanelsGemm : public ::testing::TestWithParam<GemmShape> {};

TEST_P(F32PanelsGemm, MatchesReference) {
  if (!f32_panels::available()) GTEST_SKIP() << "no AVX-512 here";
  const auto [mnk, ta, tb] = GetParam();
  const auto [M, N, K] = mnk;
  // Strides wider than the matrices; C0 runs 16 values past C.
  const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 2;
  std::vector<float> A((ta ? K : M) * lda), B((tb ? N : K) * ldb), C0(M * ldc + 16);
  Rng rng(7);
  for (float& v : A) v = rng.normal();
  for (float& v : B) v = rng.normal();
  for (float& v : C0) v = rng.normal();
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (bool acc : {false, true}) {
      std::vector<float> got = C0;
      f32_panels::gemm(ta, tb, M, N, K, A.data(), lda, B.data(), ldb, got.data(), ldc, acc);
      expect_product(
          got, C0, M, N, K, ldc,
          [&](int64_t m, int64_t k) { return ta ? A[k * lda + m] : A[m * lda + k]; },
          [&](int64_t k, int64_t n) { return tb ? B[n * ldb + k] : B[k * ldb + n]; }, acc, threads);
    }
  }
  omp_set_num_threads(2);
}

std::string gemm_name(const ::testing::TestParamInfo<GemmShape>& info) {
  const auto& [mnk, ta, tb] = info.param;
  const auto& [M, N, K] = mnk;
  return "M" + std::to_string(M) + "N" + std::to_string(N) + "K" + std::to_string(K) +
         (ta ? "_At" : "_A") + (tb ? "Bt" : "B");
}

using Mnk = std::tuple<int64_t, int64_t, int64_t>;
INSTANTIATE_TEST_SUITE_P(Blocks, F32PanelsGemm,
                         ::testing::Combine(::testing::Values(Mnk{1, 1, 1}, Mnk{13, 33, 17},
                                                              Mnk{97, 290, 530}, Mnk{200, 20, 600},
                                                              Mnk{64, 520, 40}),
                                            ::testing::Bool(), ::testing::Bool()),
                         gemm_name);

// pack_pair / multiply_pair on the cases of pair_case.h.
TEST(F32PanelsPair, MatchesReference) {
  if (!f32_panels::available()) GTEST_SKIP() << "no AVX-512 here";
  for (const testing::PairCase& c : testing::pair_cases()) {
    std::vector<float> raw(f32_panels::packed_pair_bytes(c.N, c.K1, c.K2) / sizeof(float) + 16);
    float* panels = raw.data();
    while (reinterpret_cast<std::uintptr_t>(panels) % 64) ++panels;
    f32_panels::pack_pair(c.B1.data(), c.K1, c.B2.data(), c.K2, c.N, panels);
    for (bool acc : {false, true}) {
      std::vector<float> got = c.C0;
      f32_panels::multiply_pair(panels, c.N, c.K1, c.K2, c.M, c.A1.data(), c.lda1, c.A2.data(),
                                c.lda2, got.data(), c.ldc, acc);
      expect_product(
          got, c.C0, c.M, c.N, c.K1 + c.K2, c.ldc, [&](int64_t m, int64_t k) { return c.a(m, k); },
          [&](int64_t k, int64_t n) { return c.b(k, n); }, acc, 1);
    }
  }
}

}  // namespace
}  // namespace recur::kernels
