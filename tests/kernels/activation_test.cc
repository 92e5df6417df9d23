// The fast float sigmoid/tanh against the std:: references, in ULPs, over the whole range
// that matters and at the edges (tiny values, saturation, signed zero, infinities).
#include "kernels/activation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

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

}  // namespace
}  // namespace recur::kernels
