// kernels::gemm<float> (oneDNN) against the plain-loop reference on odd shapes, every
// transpose combination, alpha/beta, strided leading dimensions and empty dimensions.
#include "kernels/gemm.h"

#include <gtest/gtest.h>

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

TEST(GemmEdge, BetaZeroIgnoresGarbageInC) {
  std::vector<float> A = {1, 2}, B = {3, 4}, C = {NAN};
  gemm<float>(false, false, 1, 1, 2, 1.0f, A.data(), 2, B.data(), 1, 0.0f, C.data(), 1);
  EXPECT_EQ(C[0], 11.0f);
}

}  // namespace
}  // namespace recur::kernels
