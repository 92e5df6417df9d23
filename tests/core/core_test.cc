// Tensor storage and shapes, and Rng determinism and distributions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "recur/error.h"
#include "recur/rng.h"
#include "recur/tensor.h"

namespace recur {
namespace {

TEST(Tensor, ZeroFilledAlignedAndShaped) {
  Tensor t({2, 3, 5});
  EXPECT_EQ(t.numel(), 30);
  EXPECT_EQ(t.size(-1), 5);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
  for (int64_t i = 0; i < t.numel(); ++i) EXPECT_EQ(t[i], 0.0f);
  EXPECT_EQ(shape_string(t.shape()), "[2, 3, 5]");
}

TEST(Tensor, CopiesAreDeepAndMovesCheap) {
  Tensor a({2}, {1.0f, 2.0f});
  Tensor b = a;
  b[0] = 7.0f;
  EXPECT_EQ(a[0], 1.0f);
  const float* p = b.data();
  Tensor c = std::move(b);
  EXPECT_EQ(c.data(), p);
}

TEST(Tensor, ErrorsSayExpectedAndFound) {
  EXPECT_THROW(Tensor({2, 2}, {1.0f}), Error);
  try {
    Tensor({3}).reshaped({2, 2});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[3] to [2, 2]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Tensor({2}).size(3), Error);
  EXPECT_THROW(Tensor({-1}), Error);
}

TEST(Rng, SameSeedSameStreamAndStateRoundTrips) {
  Rng a(42), b(42), c(43);
  EXPECT_EQ(a.next_u64(), b.next_u64());
  EXPECT_NE(a.next_u64(), c.next_u64());
  Rng::State s = a.state();
  float x = a.normal();
  a.set_state(s);
  EXPECT_EQ(a.normal(), x);
}

TEST(Rng, DistributionsHaveTheRightMoments) {
  Rng r(1);
  const int n = 200000;
  double su = 0, sn = 0, sn2 = 0;
  int hits = 0;
  for (int i = 0; i < n; ++i) {
    float u = r.uniform();
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    su += u;
    double z = r.normal();
    sn += z;
    sn2 += z * z;
    hits += r.bernoulli(0.3f);
  }
  EXPECT_NEAR(su / n, 0.5, 0.01);
  EXPECT_NEAR(sn / n, 0.0, 0.01);
  EXPECT_NEAR(sn2 / n, 1.0, 0.02);
  EXPECT_NEAR(double(hits) / n, 0.3, 0.01);
}

TEST(Tensor, LargeBlocksAreRecycledZeroedAndAligned) {
  // Blocks of 1 MB or more go back to a cache and come out again for the same size: a new
  // Tensor must still start at zero and stay 64-byte aligned.
  const Shape shape = {512, 1024};  // 2 MB
  const float* first = nullptr;
  {
    Tensor a = Tensor::full(shape, 7.0f);
    first = a.data();
  }
  Tensor b(shape);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % 64, 0u);
  for (int64_t i = 0; i < b.numel(); i += 4099) ASSERT_EQ(b[i], 0.0f) << i;
  EXPECT_EQ(b[b.numel() - 1], 0.0f);
  (void)first;   // reuse is allowed, not required (the cache is off under sanitizers)
  Tensor c = b;  // copies of recycled blocks are independent
  c[0] = 1.0f;
  EXPECT_EQ(b[0], 0.0f);
}

}  // namespace
}  // namespace recur
