// bf16 rounding and bf16 products: rounding cases against hand-worked bit patterns, the
// native (oneDNN bf16 matmul) and portable paths against the plain-loop reference, and
// PackedWeights in bf16 against the same reference.
#include "kernels/bf16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/packed_gemm.h"
#include "recur/rng.h"

namespace recur::kernels {
namespace {

float bits(uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

TEST(Bf16Round, NearestEvenOnTies) {
  EXPECT_EQ(to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(to_bf16(bits(0x3f808000)), 0x3f80);  // tie, even below: down
  EXPECT_EQ(to_bf16(bits(0x3f818000)), 0x3f82);  // tie, odd below: up
  EXPECT_EQ(to_bf16(bits(0x3f808001)), 0x3f81);  // above the tie: up
  EXPECT_EQ(to_bf16(bits(0x3f807fff)), 0x3f80);  // below the tie: down
  EXPECT_EQ(to_bf16(-2.5f), 0xc020);
  // bf16's ulp at 1 is 2^-7.
  EXPECT_EQ(round_bf16(1.0f + 1.0f / 256), 1.0f);               // half an ulp: to even (down)
  EXPECT_EQ(round_bf16(1.0f + 3.0f / 256), 1.0f + 1.0f / 64);   // 1.5 ulp: to even (up)
  EXPECT_EQ(round_bf16(1.0f + 3.0f / 512), 1.0f + 1.0f / 128);  // 0.75 ulp: up
  EXPECT_EQ(round_bf16(bits(0x00000001)), 0.0f);                // smallest denormal
  EXPECT_EQ(to_bf16(bits(0x00018000)), 0x0002);                 // denormal tie: to even
}

TEST(Bf16Round, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(round_bf16(inf), inf);
  EXPECT_EQ(round_bf16(-inf), -inf);
  EXPECT_EQ(round_bf16(std::numeric_limits<float>::max()), inf);  // overflows on rounding
  EXPECT_TRUE(std::isnan(round_bf16(NAN)));
  EXPECT_TRUE(std::isnan(round_bf16(bits(0x7f800001))));  // would truncate to inf
  EXPECT_TRUE(std::isnan(round_bf16(bits(0xff80ffff))));
  EXPECT_EQ(std::signbit(round_bf16(-0.0f)), true);
}

TEST(Bf16Round, ArrayMatchesScalar) {
  std::vector<float> x(1000);
  Rng rng(3);
  for (float& v : x) v = rng.normal() * 100;
  x[7] = NAN;
  x[8] = std::numeric_limits<float>::infinity();
  std::vector<uint16_t> y(x.size());
  to_bf16(x.data(), static_cast<int64_t>(x.size()), y.data());
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(y[i], to_bf16(x[i])) << i;
}

struct Dims {
  int64_t M, N, K;
};

class Bf16Gemm : public ::testing::TestWithParam<std::tuple<Dims, bool, bool, bool>> {};

// Normal inputs are rarely bf16 values, so a path that forgot to round differs from the
// unrounded product by about 2^-9 relative per term; the test checks it does.
// beta 0 and 1 run on kernels::bf16_panels where the CPU has avx512_bf16, other betas on
// oneDNN's matmul.
TEST_P(Bf16Gemm, MatchesReference) {
  auto [d, ta, tb, native] = GetParam();
  const int64_t pad = 3;
  const int64_t lda = (ta ? d.M : d.K) + pad, ldb = (tb ? d.K : d.N) + pad, ldc = d.N + pad;
  std::vector<float> A((ta ? d.K : d.M) * lda), B((tb ? d.N : d.K) * ldb), C0(d.M * ldc);
  Rng rng(d.M * 7 + d.N * 3 + d.K);
  for (float& v : A) v = rng.normal();
  for (float& v : B) v = rng.normal();
  for (float& v : C0) v = rng.normal();
  std::vector<double> Ad(A.begin(), A.end()), Bd(B.begin(), B.end());
  for (const float beta : {0.5f, 1.0f, 0.0f}) {
    std::vector<float> C = C0;
    std::vector<double> Cd(C0.begin(), C0.end());
    gemm_bf16(ta, tb, d.M, d.N, d.K, A.data(), lda, B.data(), ldb, beta, C.data(), ldc, native);
    gemm_bf16_reference<double>(ta, tb, d.M, d.N, d.K, Ad.data(), lda, Bd.data(), ldb, beta,
                                Cd.data(), ldc);
    std::vector<double> exact(Cd.size(), 0.0);  // the rounded product alone (beta 0)
    gemm_bf16_reference<double>(ta, tb, d.M, d.N, d.K, Ad.data(), lda, Bd.data(), ldb, 0.0,
                                exact.data(), ldc);
    std::vector<double> plain(Cd.size());  // the same product without rounding
    for (int64_t m = 0; m < d.M; ++m)
      for (int64_t n = 0; n < d.N; ++n) {
        double acc = 0;
        for (int64_t k = 0; k < d.K; ++k)
          acc +=
              (ta ? Ad[k * lda + m] : Ad[m * lda + k]) * (tb ? Bd[n * ldb + k] : Bd[k * ldb + n]);
        plain[m * ldc + n] = acc;
      }
    const double tol = 8 * std::sqrt(double(std::max<int64_t>(d.K, 1))) * 1.2e-7 * 4;
    double off_plain = 0;
    for (int64_t m = 0; m < d.M; ++m)
      for (int64_t n = 0; n < d.N; ++n) {
        const double want = Cd[m * ldc + n];
        ASSERT_NEAR(C[m * ldc + n], want, tol * std::max(1.0, std::abs(want)))
            << "beta=" << beta << " m=" << m << " n=" << n;
      }
    // plain[] lacks the beta·C term: compare with what the reference added to it.
    for (int64_t m = 0; m < d.M; ++m)
      for (int64_t n = 0; n < d.N; ++n) {
        const double with_c = plain[m * ldc + n] + (Cd[m * ldc + n] - exact[m * ldc + n]);
        off_plain = std::max(off_plain, std::abs(double(C[m * ldc + n]) - with_c));
      }
    if (d.K >= 8) {
      EXPECT_GT(off_plain, 1e-4) << "beta=" << beta << ": the product does not look rounded";
    }
    for (int64_t m = 0; m < d.M; ++m)  // the row stride's gap is not written
      for (int64_t n = d.N; n < ldc; ++n) ASSERT_EQ(C[m * ldc + n], C0[m * ldc + n]);
  }
}

INSTANTIATE_TEST_SUITE_P(OddShapes, Bf16Gemm,
                         ::testing::Combine(::testing::Values(Dims{1, 1, 1}, Dims{1, 17, 33},
                                                              Dims{5, 1, 7}, Dims{13, 31, 1},
                                                              Dims{33, 65, 129}, Dims{3, 4, 0},
                                                              Dims{40, 70, 300}, Dims{200, 20, 30}),
                                            ::testing::Bool(), ::testing::Bool(),
                                            ::testing::Bool()));

TEST(Bf16Gemm, BetaZeroIgnoresGarbageInC) {
  std::vector<float> A = {1, 2}, B = {3, 4}, C = {NAN};
  for (bool native : {false, true}) {
    C[0] = NAN;
    gemm_bf16(false, false, 1, 1, 2, A.data(), 2, B.data(), 1, 0.0f, C.data(), 1, native);
    EXPECT_EQ(C[0], 11.0f);
  }
}

TEST(Bf16Packed, MatchesReferenceAssignAndAccumulate) {
  const int64_t N = 37, K = 53;
  for (bool trans : {false, true}) {
    std::vector<float> W(N * K), A(5 * K), C(5 * N), C0;
    Rng rng(11);
    for (float& v : W) v = rng.normal();
    for (float& v : A) v = rng.normal();
    for (float& v : C) v = rng.normal();
    C0 = C;
    PackedWeights packed;
    packed.pack(W.data(), N, K, trans, /*accumulating=*/true, /*bf16=*/true);
    for (int64_t M : {1, 5}) {
      for (bool acc : {false, true}) {
        std::vector<float> got = C0;
        packed.multiply(M, A.data(), got.data(), acc);
        std::vector<double> want(C0.begin(), C0.end()), Ad(A.begin(), A.end()),
            Wd(W.begin(), W.end());
        gemm_bf16_reference<double>(false, trans, M, N, K, Ad.data(), K, Wd.data(), trans ? K : N,
                                    acc ? 1.0 : 0.0, want.data(), N);
        for (int64_t i = 0; i < M * N; ++i)
          ASSERT_NEAR(got[i], want[i], 1e-5 * std::max(1.0, std::abs(want[i])))
              << "trans=" << trans << " M=" << M << " acc=" << acc << " i=" << i;
      }
    }
  }
}

}  // namespace
}  // namespace recur::kernels
