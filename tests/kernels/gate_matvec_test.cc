// kernels::GateMatVec against a double reference: float and bf16, gates that read both inputs,
// only the first or only the second, hidden sizes that are and are not a multiple of the
// 16-unit block, input lengths that are not a multiple of a chunk, the blocks split into
// ranges as threads take them, walks in both directions (the same bits either way) and
// accumulation. kernels::ColumnMatVec likewise, with row strides wider than the rows.
#include "kernels/gate_matvec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/bf16.h"
#include "recur/rng.h"

namespace recur::kernels {
namespace {

struct Shape {
  int64_t H, K1, K2;
  bool bf16;
};

class GateMatVecTest : public ::testing::TestWithParam<Shape> {};

TEST_P(GateMatVecTest, MatchesTheReferenceInEveryRangeAndDirection) {
  const Shape s = GetParam();
  if (!GateMatVec::available(s.bf16)) GTEST_SKIP() << "this CPU has no kernel for it";
  // Gates: both inputs, both, only a1, only a2 (a GRU's r, z, n_x, n_h).
  constexpr int kGates = 4;
  Rng rng(s.H * 7 + s.K1 * 3 + s.K2 + s.bf16);
  std::vector<std::vector<float>> w1(kGates), w2(kGates);
  std::vector<GateMatVec::Gate> gates(kGates);
  for (int p = 0; p < kGates; ++p) {
    w1[p].resize(s.H * s.K1);
    w2[p].resize(s.H * s.K2);
    for (float& v : w1[p]) v = rng.normal();
    for (float& v : w2[p]) v = rng.normal();
    gates[p].w1 = p == 3 ? nullptr : w1[p].data();
    gates[p].w2 = p == 2 ? nullptr : w2[p].data();
  }
  std::vector<float> a1(s.K1), a2(s.K2);
  for (float& v : a1) v = rng.normal();
  for (float& v : a2) v = rng.normal();
  const auto r = [&](float v) { return s.bf16 ? double(round_bf16(v)) : double(v); };
  std::vector<std::vector<double>> want(kGates, std::vector<double>(s.H));
  for (int p = 0; p < kGates; ++p)
    for (int64_t u = 0; u < s.H; ++u) {
      double sum = 0;
      if (gates[p].w1)
        for (int64_t k = 0; k < s.K1; ++k) sum += r(w1[p][u * s.K1 + k]) * r(a1[k]);
      if (gates[p].w2)
        for (int64_t k = 0; k < s.K2; ++k) sum += r(w2[p][u * s.K2 + k]) * r(a2[k]);
      want[p][u] = sum;
    }

  GateMatVec mv(gates, s.H, s.K1, s.K2, s.bf16);
  ASSERT_EQ(mv.blocks(), (s.H + 15) / 16);
  EXPECT_EQ(mv.weights(), kGates * s.H * (s.K1 + s.K2));
  mv.load(a1.data(), a2.data());
  const int64_t B = mv.blocks();
  std::vector<float> first;
  // Whole; in two ranges (threads); in single blocks; each forward and backward.
  for (int64_t split : {B, (B + 1) / 2, int64_t{1}})
    for (bool reverse : {false, true}) {
      SCOPED_TRACE("split " + std::to_string(split) + (reverse ? " reverse" : ""));
      // One guard value past each gate's H values: a block past H must not write there.
      std::vector<float> y(kGates * (s.H + 1), -7.0f);
      float* out[kGates];
      for (int p = 0; p < kGates; ++p) out[p] = y.data() + p * (s.H + 1);
      for (int64_t b = 0; b < B; b += split) mv.multiply(b, std::min(B, b + split), out, reverse);
      for (int p = 0; p < kGates; ++p) {
        const int64_t K = (gates[p].w1 ? s.K1 : 0) + (gates[p].w2 ? s.K2 : 0);
        for (int64_t u = 0; u < s.H; ++u)
          ASSERT_NEAR(out[p][u], want[p][u], 1e-5 * std::sqrt(double(K)) * 4)
              << "gate " << p << " unit " << u;
        EXPECT_EQ(out[p][s.H], -7.0f) << "gate " << p << " wrote past its units";
      }
      if (first.empty())
        first = y;
      else
        for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], first[i]) << "bits differ at " << i;
    }
  // Accumulating: out += the product, on top of the product.
  std::vector<float> y(kGates * (s.H + 1), -7.0f);
  float* out[kGates];
  for (int p = 0; p < kGates; ++p) out[p] = y.data() + p * (s.H + 1);
  mv.multiply(0, B, out, false);
  mv.multiply(0, B, out, true, /*accumulate=*/true);
  for (int p = 0; p < kGates; ++p) {
    const int64_t K = (gates[p].w1 ? s.K1 : 0) + (gates[p].w2 ? s.K2 : 0);
    for (int64_t u = 0; u < s.H; ++u)
      ASSERT_NEAR(out[p][u], 2 * want[p][u], 2e-5 * std::sqrt(double(K)) * 4)
          << "accumulated, gate " << p << " unit " << u;
    EXPECT_EQ(out[p][s.H], -7.0f);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, GateMatVecTest,
                         ::testing::Values(Shape{16, 16, 16, false}, Shape{24, 20, 24, false},
                                           Shape{5, 3, 70, false}, Shape{64, 130, 64, false},
                                           Shape{16, 32, 32, true}, Shape{24, 20, 24, true},
                                           Shape{5, 3, 70, true}, Shape{64, 130, 64, true}),
                         [](const auto& info) {
                           const Shape& s = info.param;
                           return "H" + std::to_string(s.H) + "_K" + std::to_string(s.K1) + "_" +
                                  std::to_string(s.K2) + (s.bf16 ? "_bf16" : "_f32");
                         });

struct ColumnShape {
  int64_t K, N, ldw;
};

class ColumnMatVecTest : public ::testing::TestWithParam<ColumnShape> {};

TEST_P(ColumnMatVecTest, MatchesTheReferenceInEveryRangeAndDirection) {
  const ColumnShape s = GetParam();
  if (!GateMatVec::available(false)) GTEST_SKIP() << "no AVX-512";
  Rng rng(s.K * 5 + s.N);
  std::vector<float> w(s.K * s.ldw), a(s.K);
  for (float& v : w) v = rng.normal();
  for (float& v : a) v = rng.normal();
  std::vector<double> want(s.N, 0.0);
  for (int64_t k = 0; k < s.K; ++k)
    for (int64_t n = 0; n < s.N; ++n) want[n] += double(a[k]) * w[k * s.ldw + n];
  std::vector<char> storage(7, 'x');  // reused storage, with garbage in it
  ColumnMatVec mv(w.data(), s.K, s.N, s.ldw, &storage);
  ASSERT_EQ(mv.blocks(), (s.N + 15) / 16);
  EXPECT_EQ(mv.weights(), s.K * s.N);
  const int64_t B = mv.blocks();
  const double tol = 1e-5 * std::sqrt(double(s.K)) * 4;
  std::vector<float> first;
  for (int64_t split : {B, (B + 1) / 2, int64_t{1}})
    for (bool reverse : {false, true}) {
      SCOPED_TRACE("split " + std::to_string(split) + (reverse ? " reverse" : ""));
      std::vector<float> y(s.N + 1, -7.0f);
      for (int64_t b = 0; b < B; b += split)
        mv.multiply(b, std::min(B, b + split), a.data(), y.data(), false, reverse);
      for (int64_t n = 0; n < s.N; ++n) ASSERT_NEAR(y[n], want[n], tol) << "column " << n;
      EXPECT_EQ(y[s.N], -7.0f) << "wrote past its columns";
      if (first.empty())
        first = y;
      else
        for (int64_t n = 0; n < s.N; ++n) ASSERT_EQ(y[n], first[n]) << "bits differ at " << n;
    }
  std::vector<float> y(s.N, 1.0f);
  mv.multiply(0, B, a.data(), y.data(), /*accumulate=*/true, false);
  for (int64_t n = 0; n < s.N; ++n) ASSERT_NEAR(y[n], 1.0 + want[n], tol) << "accumulated " << n;
}

INSTANTIATE_TEST_SUITE_P(Shapes, ColumnMatVecTest,
                         ::testing::Values(ColumnShape{16, 16, 16}, ColumnShape{24, 20, 20},
                                           ColumnShape{3, 5, 9}, ColumnShape{130, 64, 70},
                                           ColumnShape{512, 96, 96}),
                         [](const auto& info) {
                           const ColumnShape& s = info.param;
                           return "K" + std::to_string(s.K) + "_N" + std::to_string(s.N) + "_ld" +
                                  std::to_string(s.ldw);
                         });

TEST(GateMatVec, ReloadedInputChangesTheResult) {
  if (!GateMatVec::available(false)) GTEST_SKIP() << "no AVX-512";
  std::vector<float> w1(16 * 4, 1.0f), w2(16 * 4, 2.0f);
  GateMatVec mv({{w1.data(), w2.data()}}, 16, 4, 4, false);
  std::vector<float> a1(4, 1.0f), a2(4, 0.0f), y(16);
  float* out[1] = {y.data()};
  mv.load(a1.data(), a2.data());
  mv.multiply(0, 1, out, false);
  EXPECT_EQ(y[3], 4.0f);
  a2.assign(4, 1.0f);
  mv.load(a1.data(), a2.data());
  mv.multiply(0, 1, out, false);
  EXPECT_EQ(y[3], 12.0f);
}

}  // namespace
}  // namespace recur::kernels
