// kernels::gemm<float> against the plain-loop reference on odd shapes, every transpose
// combination, alpha/beta, strided leading dimensions and empty dimensions: small products and
// alpha/beta other than 1 and 0/1 (oneDNN's sgemm), and large ones with alpha 1, beta 0 or 1
// (recur's float panels where the CPU has AVX-512).
#include "kernels/gemm.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <vector>

#include "recur/rng.h"

namespace recur::kernels {
namespace {

struct Dims {
  int64_t M, N, K;
};

class Gemm : public ::testing::TestWithParam<std::tuple<Dims, bool, bool>> {};

TEST_P(Gemm, MatchesReference) {
  auto [d, ta, tb] = GetParam();
  const int64_t pad = 3;  // leading dimensions larger than the logical width
  const int64_t lda = (ta ? d.M : d.K) + pad, ldb = (tb ? d.K : d.N) + pad, ldc = d.N + pad;
  std::vector<float> A((ta ? d.K : d.M) * lda), B((tb ? d.N : d.K) * ldb), C(d.M * ldc);
  Rng rng(d.M * 131 + d.N * 17 + d.K);
  for (float& v : A) v = rng.normal();
  for (float& v : B) v = rng.normal();
  for (float& v : C) v = rng.normal();
  std::vector<double> Ad(A.begin(), A.end()), Bd(B.begin(), B.end()), Cd(C.begin(), C.end());
  gemm<float>(ta, tb, d.M, d.N, d.K, 0.5f, A.data(), lda, B.data(), ldb, 2.0f, C.data(), ldc);
  gemm_reference<double>(ta, tb, d.M, d.N, d.K, 0.5, Ad.data(), lda, Bd.data(), ldb, 2.0, Cd.data(),
                         ldc);
  // Each entry sums K products of N(0,1) values: rounding error grows like sqrt(K)·eps·|terms|.
  const double tol = 8 * std::sqrt(double(std::max<int64_t>(d.K, 1))) * 1.2e-7 * 4;
  for (int64_t m = 0; m < d.M; ++m)
    for (int64_t n = 0; n < d.N; ++n)
      ASSERT_NEAR(C[m * ldc + n], Cd[m * ldc + n], tol * std::max(1.0, std::abs(Cd[m * ldc + n])))
          << "m=" << m << " n=" << n;
}

INSTANTIATE_TEST_SUITE_P(OddShapes, Gemm,
                         ::testing::Combine(::testing::Values(Dims{1, 1, 1}, Dims{1, 17, 33},
                                                              Dims{5, 1, 7}, Dims{13, 31, 1},
                                                              Dims{33, 65, 129}, Dims{3, 4, 0}),
                                            ::testing::Bool(), ::testing::Bool()));

// Products large enough for the panels (from 64 rows and 2^22 multiply-adds), beta 0 over a
// C full of NaN and beta 1, every transpose.
TEST(GemmLarge, MatchesReferenceOnEveryTranspose) {
  const int64_t M = 130, N = 300, K = 200, pad = 5;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (float beta : {0.0f, 1.0f}) {
        const int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
        std::vector<float> A((ta ? K : M) * lda), B((tb ? N : K) * ldb), C(M * ldc);
        Rng rng(11);
        for (float& v : A) v = rng.normal();
        for (float& v : B) v = rng.normal();
        for (float& v : C) v = beta == 0.0f ? NAN : rng.normal();
        std::vector<double> Ad(A.begin(), A.end()), Bd(B.begin(), B.end()), Cd(C.begin(), C.end());
        gemm<float>(ta, tb, M, N, K, 1.0f, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
        gemm_reference<double>(ta, tb, M, N, K, 1.0, Ad.data(), lda, Bd.data(), ldb, beta,
                               Cd.data(), ldc);
        const double tol = 8 * std::sqrt(double(K)) * 1.2e-7 * 4;
        for (int64_t m = 0; m < M; ++m)
          for (int64_t n = 0; n < N; ++n)
            ASSERT_NEAR(C[m * ldc + n], Cd[m * ldc + n],
                        tol * std::max(1.0, std::abs(Cd[m * ldc + n])))
                << "ta=" << ta << " tb=" << tb << " beta=" << beta << " m=" << m << " n=" << n;
      }
}

TEST(GemmEdge, BetaZeroIgnoresGarbageInC) {
  std::vector<float> A = {1, 2}, B = {3, 4}, C = {NAN};
  gemm<float>(false, false, 1, 1, 2, 1.0f, A.data(), 2, B.data(), 1, 0.0f, C.data(), 1);
  EXPECT_EQ(C[0], 11.0f);
}

// Small products run on the calling thread alone; the caller's thread setting comes back.
TEST(GemmEdge, SmallProductsLeaveTheThreadSettingAsItWas) {
  const int before = omp_get_max_threads();
  omp_set_num_threads(2);
  std::vector<float> A(8 * 8, 1.0f), B(8 * 8, 2.0f), C(8 * 8);
  gemm<float>(false, false, 8, 8, 8, 1.0f, A.data(), 8, B.data(), 8, 0.0f, C.data(), 8);
  EXPECT_EQ(C[9], 16.0f);
  EXPECT_EQ(omp_get_max_threads(), 2);
  omp_set_num_threads(before);
}

}  // namespace
}  // namespace recur::kernels
