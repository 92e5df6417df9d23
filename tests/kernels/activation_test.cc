// The fast float sigmoid/tanh (portable and AVX-512) against the std:: references, in ULPs,
// over the whole range that matters and at the edges (tiny values, saturation, signed zero,
// infinities).
#include "kernels/activation.h"

#include <gtest/gtest.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "kernels/activation_avx512.h"

// GCC 12 reports the intrinsics' own _mm512_undefined_* temporaries as uninitialized when they
// are inlined into a function with a target attribute (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace recur::kernels {
namespace {

// Distance in units in the last place between two finite floats.
int64_t ulp_distance(float a, float b) {
  auto ordered = [](float f) {
    int32_t i;
    std::memcpy(&i, &f, sizeof i);
    return i < 0 ? static_cast<int64_t>(INT32_MIN) - i : static_cast<int64_t>(i);
  };
  return std::llabs(ordered(a) - ordered(b));
}

float sigmoid_exact(float x) { return static_cast<float>(1.0 / (1.0 + std::exp(-double(x)))); }
float tanh_exact(float x) { return static_cast<float>(std::tanh(double(x))); }

TEST(Activation, SigmoidWithinFourUlpsOnTheUsefulRange) {
  int64_t worst = 0;
  for (float x = -80.0f; x < 80.0f; x += 7.3e-4f)
    worst = std::max(worst, ulp_distance(sigmoid_fast(x), sigmoid_exact(x)));
  EXPECT_LE(worst, 4);
}

TEST(Activation, TanhWithinFourUlpsIncludingTinyInputs) {
  int64_t worst = 0;
  for (float x = -20.0f; x < 20.0f; x += 3.1e-4f)
    worst = std::max(worst, ulp_distance(tanh_fast(x), tanh_exact(x)));
  for (float x = 1e-30f; x < 1.0f; x *= 1.003f) {
    worst = std::max(worst, ulp_distance(tanh_fast(x), tanh_exact(x)));
    worst = std::max(worst, ulp_distance(tanh_fast(-x), tanh_exact(-x)));
  }
  EXPECT_LE(worst, 4);
}

TEST(Activation, EdgesSaturateCleanly) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(tanh_fast(inf), 1.0f);
  EXPECT_EQ(tanh_fast(-inf), -1.0f);
  EXPECT_EQ(tanh_fast(100.0f), 1.0f);
  EXPECT_EQ(sigmoid_fast(inf), 1.0f);
  EXPECT_LT(sigmoid_fast(-inf), 1e-37f);
  EXPECT_GE(sigmoid_fast(-inf), 0.0f);
  EXPECT_EQ(sigmoid_fast(0.0f), 0.5f);
  EXPECT_TRUE(std::signbit(tanh_fast(-0.0f)));
  EXPECT_EQ(tanh_fast(0.0f), 0.0f);
}

TEST(Activation, ExpMatchesStdOnItsRange) {
  int64_t worst = 0;
  for (float x = -87.0f; x < 88.0f; x += 1.1e-3f)
    worst = std::max(worst, ulp_distance(exp_fast(x), static_cast<float>(std::exp(double(x)))));
  EXPECT_LE(worst, 3);
}

// The AVX-512 versions (kernels/activation_avx512.h), lane by lane, to the same bounds.
__attribute__((target("avx512f"))) float vector_sigmoid(float x, int lane) {
  alignas(64) float in[16], out[16];
  for (int j = 0; j < 16; ++j) in[j] = j == lane ? x : 0.25f * static_cast<float>(j);
  _mm512_store_ps(out, avx512::sigmoid(_mm512_load_ps(in)));
  return out[lane];
}
__attribute__((target("avx512f"))) float vector_tanh(float x, int lane) {
  alignas(64) float in[16], out[16];
  for (int j = 0; j < 16; ++j) in[j] = j == lane ? x : -0.25f * static_cast<float>(j);
  _mm512_store_ps(out, avx512::tanh(_mm512_load_ps(in)));
  return out[lane];
}

TEST(ActivationAvx512, WithinFourUlpsOfStd) {
  if (!avx512::available()) GTEST_SKIP() << "no AVX-512 on this CPU";
  int64_t sig = 0, tan = 0, lane = 0;
  for (float x = -80.0f; x < 80.0f; x += 7.3e-4f, lane = (lane + 1) % 16)
    sig = std::max(sig, ulp_distance(vector_sigmoid(x, lane), sigmoid_exact(x)));
  for (float x = -20.0f; x < 20.0f; x += 3.1e-4f, lane = (lane + 1) % 16)
    tan = std::max(tan, ulp_distance(vector_tanh(x, lane), tanh_exact(x)));
  for (float x = 1e-30f; x < 1.0f; x *= 1.003f, lane = (lane + 1) % 16) {
    tan = std::max(tan, ulp_distance(vector_tanh(x, lane), tanh_exact(x)));
    tan = std::max(tan, ulp_distance(vector_tanh(-x, lane), tanh_exact(-x)));
  }
  EXPECT_LE(sig, 4);
  EXPECT_LE(tan, 4);
}

TEST(ActivationAvx512, EdgesSaturateCleanlyAndNanPassesThrough) {
  if (!avx512::available()) GTEST_SKIP() << "no AVX-512 on this CPU";
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(vector_tanh(inf, 3), 1.0f);
  EXPECT_EQ(vector_tanh(-inf, 3), -1.0f);
  EXPECT_EQ(vector_tanh(100.0f, 0), 1.0f);
  EXPECT_EQ(vector_tanh(9.5f, 0), 1.0f);
  EXPECT_TRUE(std::signbit(vector_tanh(-0.0f, 5)));
  EXPECT_EQ(vector_tanh(0.0f, 5), 0.0f);
  EXPECT_EQ(vector_sigmoid(inf, 7), 1.0f);
  EXPECT_LT(vector_sigmoid(-inf, 7), 1e-37f);
  EXPECT_GE(vector_sigmoid(-inf, 7), 0.0f);
  EXPECT_EQ(vector_sigmoid(0.0f, 15), 0.5f);
  // A diverged model must show NaN, not a saturated gate.
  EXPECT_TRUE(std::isnan(vector_sigmoid(nan, 2)));
  EXPECT_TRUE(std::isnan(vector_tanh(nan, 2)));
}

}  // namespace
}  // namespace recur::kernels
