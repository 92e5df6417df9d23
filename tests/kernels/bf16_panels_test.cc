// kernels::bf16_panels (the vdpbf16ps panels) against the plain-loop bf16 reference: partial
// panels and odd K (padding), row counts around the 12-row kernel, strided B and C, assign and
// accumulate, one and two threads, and its rounding of A against kernels::to_bf16 on special
// values. Skipped where the CPU has no avx512_bf16.
#include "kernels/bf16_panels.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <tuple>
#include <vector>

#include "common/pair_case.h"
#include "kernels/bf16.h"
#include "recur/rng.h"

namespace recur::kernels {
namespace {

struct Aligned {
  explicit Aligned(int64_t bytes) : raw(bytes + 64) {}
  uint16_t* get() {
    const auto at = reinterpret_cast<std::uintptr_t>(raw.data());
    return reinterpret_cast<uint16_t*>(raw.data() + (64 - at % 64) % 64);
  }
  std::vector<char> raw;
};

// (M, N, K, trans_b, extra row stride of B, extra row stride of C)
using Shape = std::tuple<int64_t, int64_t, int64_t, bool, int64_t, int64_t>;
class Bf16Panels : public ::testing::TestWithParam<Shape> {};

TEST_P(Bf16Panels, MatchesReference) {
  if (!bf16_panels::available()) GTEST_SKIP() << "no avx512_bf16 here";
  const auto [M, N, K, trans, extra_b, extra_c] = GetParam();
  const int64_t ldb = (trans ? K : N) + extra_b, ldc = N + extra_c;
  // C0 runs 16 values past the matrix: nothing may be written there.
  std::vector<float> B((trans ? N : K) * ldb), A(M * K), C0(M * ldc + 16);
  Rng rng(7);
  for (float& v : B) v = rng.normal();
  for (float& v : A) v = rng.normal();
  for (float& v : C0) v = rng.normal();
  Aligned panels(bf16_panels::packed_bytes(N, K));
  bf16_panels::pack(B.data(), N, K, trans, ldb, panels.get());
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (bool acc : {false, true}) {
      std::vector<float> got = C0;
      bf16_panels::multiply(panels.get(), N, K, M, A.data(), K, got.data(), ldc, acc);
      for (int64_t i = M * ldc; i < M * ldc + 16; ++i) ASSERT_EQ(got[i], C0[i]) << "past the end";
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < ldc; ++n) {
          const float g = got[m * ldc + n];
          if (n >= N) {  // the stride's gap is never written
            ASSERT_EQ(g, C0[m * ldc + n]) << "m=" << m << " n=" << n;
            continue;
          }
          double want = acc ? C0[m * ldc + n] : 0.0;
          for (int64_t k = 0; k < K; ++k)
            want += double(round_bf16(A[m * K + k])) *
                    round_bf16(trans ? B[n * ldb + k] : B[k * ldb + n]);
          ASSERT_NEAR(g, want, 2e-5 * std::max(1.0, std::abs(want)))
              << "threads=" << threads << " acc=" << acc << " m=" << m << " n=" << n;
        }
    }
  }
  omp_set_num_threads(2);
}

INSTANTIATE_TEST_SUITE_P(
    OddShapes, Bf16Panels,
    ::testing::Values(Shape{1, 1, 1, true, 0, 0}, Shape{1, 31, 2, false, 0, 0},
                      Shape{11, 32, 3, true, 0, 0}, Shape{12, 33, 17, false, 2, 1},
                      Shape{13, 47, 64, true, 5, 3}, Shape{25, 16, 129, false, 0, 0},
                      Shape{37, 100, 300, true, 0, 7}, Shape{300, 70, 33, false, 1, 0},
                      Shape{5, 63, 9, true, 0, 1}, Shape{1, 64, 37, false, 0, 0},
                      Shape{2, 40, 50, true, 1, 2}, Shape{32, 512, 256, true, 0, 0}));

// pack_pair / multiply_pair on the cases of pair_case.h: round([A1 | A2]) · round([B1 | B2])ᵀ,
// odd K1 and K2 padded inside.
TEST(Bf16PanelsPair, MatchesReference) {
  if (!bf16_panels::available()) GTEST_SKIP() << "no avx512_bf16 here";
  for (const testing::PairCase& c : testing::pair_cases()) {
    Aligned panels(bf16_panels::packed_pair_bytes(c.N, c.K1, c.K2));
    bf16_panels::pack_pair(c.B1.data(), c.K1, c.B2.data(), c.K2, c.N, panels.get());
    for (bool acc : {false, true}) {
      std::vector<float> got = c.C0;
      bf16_panels::multiply_pair(panels.get(), c.N, c.K1, c.K2, c.M, c.A1.data(), c.lda1,
                                 c.A2.data(), c.lda2, got.data(), c.ldc, acc);
      for (int64_t i = c.M * c.ldc; i < c.M * c.ldc + 16; ++i)
        ASSERT_EQ(got[i], c.C0[i]) << "past the end";
      for (int64_t m = 0; m < c.M; ++m)
        for (int64_t n = 0; n < c.ldc; ++n) {
          const float g = got[m * c.ldc + n];
          if (n >= c.N) {
            ASSERT_EQ(g, c.C0[m * c.ldc + n]) << "m=" << m << " n=" << n;
            continue;
          }
          double want = acc ? c.C0[m * c.ldc + n] : 0.0;
          for (int64_t k = 0; k < c.K1 + c.K2; ++k)
            want += double(round_bf16(c.a(m, k))) * round_bf16(c.b(k, n));
          ASSERT_NEAR(g, want, 2e-5 * std::max(1.0, std::abs(want)))
              << "M=" << c.M << " N=" << c.N << " K1=" << c.K1 << " K2=" << c.K2 << " acc=" << acc
              << " m=" << m << " n=" << n;
        }
    }
  }
}

TEST(Bf16Panels, RoundsLikeToBf16) {
  if (!bf16_panels::available()) GTEST_SKIP() << "no avx512_bf16 here";
  auto bits = [](uint32_t u) {
    float x;
    std::memcpy(&x, &u, sizeof x);
    return x;
  };
  // Ties both ways, NaNs (quiet and signalling, both signs), infinities, overflow to infinity,
  // the largest finite values, denormals, zeros: 37 values, so the vector loop and its tail run.
  std::vector<float> a = {bits(0x3f808000u),
                          bits(0x3f818000u),
                          bits(0x3f807fffu),
                          bits(0x7fc00001u),
                          bits(0x7f800001u),
                          bits(0xff800001u),
                          std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(),
                          bits(0x7f7fffffu),
                          bits(0xff7fffffu),
                          bits(0x00000001u),
                          bits(0x80018000u),
                          0.0f,
                          -0.0f,
                          1.0f / 3.0f,
                          -2.5e-3f};
  while (a.size() < 37) a.push_back(static_cast<float>(a.size()) * 0.37f - 5.0f);
  const int64_t K = static_cast<int64_t>(a.size());
  // One column of B with a single 1 at k picks A[k] (exact in float: one product, others 0·x),
  // except for NaN and infinity, which poison every column: compare those through isnan/isinf.
  for (int64_t k = 0; k < K; ++k) {
    std::vector<float> B(K, 0.0f);
    B[k] = 1.0f;
    Aligned panels(bf16_panels::packed_bytes(1, K));
    bf16_panels::pack(B.data(), 1, K, /*trans_b=*/true, K, panels.get());
    std::vector<float> A = a;
    for (int64_t j = 0; j < K; ++j)
      if (j != k && !std::isfinite(round_bf16(A[j]))) A[j] = 0.0f;  // 0 · inf would be NaN
    float got = 0;
    bf16_panels::multiply(panels.get(), 1, K, 1, A.data(), K, &got, 1, false);
    const float want = round_bf16(a[k]);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got)) << "k=" << k;
    } else if (std::fpclassify(want) == FP_SUBNORMAL) {
      EXPECT_TRUE(got == want || got == 0.0f) << "k=" << k;  // the instruction may flush them
    } else {
      EXPECT_EQ(got, want) << "k=" << k;
    }
  }
}

}  // namespace
}  // namespace recur::kernels
