// Schedules and clipping beyond the PyTorch fixtures: cosine warm-up against its formula,
// make_schedule's names and defaults, the plateau schedule's state round trip, option errors,
// clip_grad_norm with empty grads.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "recur/error.h"
#include "recur/optim.h"

namespace recur::optim {
namespace {

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// The formula of optim.h, written out again independently.
double cosine_formula(double lr, int64_t warmup, int64_t total, double min_lr, int64_t step) {
  if (step < warmup) return lr * (step + 1) / warmup;
  if (step >= total) return min_lr;
  const double pi = std::acos(-1.0);
  const double span = std::max<int64_t>(1, total - warmup);
  return min_lr + (lr - min_lr) * 0.5 * (1 + std::cos(pi * (step - warmup) / span));
}

TEST(CosineLr, WarmupThenCosineThenMinLr) {
  const float lr = 0.3f;
  const float min_lr = 0.01f;
  auto s = cosine_lr(lr, 5, 25, min_lr);
  for (int64_t k = 0; k < 40; ++k)
    EXPECT_NEAR(s->lr_at(k), cosine_formula(lr, 5, 25, min_lr, k), 1e-7) << "step " << k;
  EXPECT_FLOAT_EQ(s->lr_at(0), lr / 5);
  EXPECT_FLOAT_EQ(s->lr_at(4), lr);  // warm-up ends at the full lr
  EXPECT_FLOAT_EQ(s->lr_at(5), lr);  // and the cosine starts there
  EXPECT_FLOAT_EQ(s->lr_at(15), (lr + min_lr) / 2);
  EXPECT_LT(s->lr_at(24) - min_lr, (lr - min_lr) / 100);
  EXPECT_EQ(s->lr_at(25), min_lr);
  EXPECT_EQ(s->lr_at(1000), min_lr);
}

TEST(CosineLr, WarmupAsLongAsTheRun) {
  auto s = cosine_lr(1.0f, 4, 4);
  EXPECT_FLOAT_EQ(s->lr_at(3), 1.0f);
  EXPECT_EQ(s->lr_at(4), 0.0f);
}

TEST(StepLr, DecaysEveryStepSize) {
  auto s = step_lr(1.0f, 2, 0.5f);
  const std::vector<float> want = {1, 1, 0.5f, 0.5f, 0.25f, 0.25f, 0.125f};
  for (size_t k = 0; k < want.size(); ++k) EXPECT_EQ(s->lr_at(k), want[k]) << k;
  // Far out it is still finite and cheap, and agrees with the closed form.
  EXPECT_FLOAT_EQ(step_lr(1.0f, 1, 0.999f)->lr_at(5000),
                  static_cast<float>(std::pow(0.999f, 5000.0)));
}

TEST(MakeSchedule, NamesDefaultsAndErrors) {
  EXPECT_EQ(make_schedule("constant", 0.1f, 100)->lr_at(99), 0.1f);
  auto step = make_schedule("step", 1.0f, 30);
  EXPECT_EQ(step->lr_at(9), 1.0f);
  EXPECT_FLOAT_EQ(step->lr_at(10), 0.1f);
  EXPECT_EQ(step->describe(), "step(lr=1, step_size=10, gamma=0.1)");
  EXPECT_EQ(make_schedule("step", 1.0f, 2)->describe(), "step(lr=1, step_size=1, gamma=0.1)");
  auto cosine = make_schedule("cosine", 0.2f, 20, 4);
  EXPECT_EQ(cosine->describe(), "cosine(lr=0.2, warmup=4, total_steps=20, min_lr=0)");
  EXPECT_FLOAT_EQ(cosine->lr_at(0), 0.05f);
  EXPECT_EQ(make_schedule("plateau", 0.1f, 10)->describe(),
            "plateau(lr=0.1, factor=0.1, patience=10, threshold=0.0001, min_lr=0)");
  EXPECT_EQ(error_of([] { make_schedule("linear", 0.1f, 10); }),
            "make_schedule: unknown schedule 'linear'; known: constant, step, cosine, plateau");
  EXPECT_EQ(error_of([] { make_schedule("step", 0.1f, 10, 3); }),
            "make_schedule: warmup is only supported by 'cosine', got warmup=3 with 'step'");
}

TEST(Schedules, InvalidOptions) {
  EXPECT_EQ(error_of([] { step_lr(0.1f, 0, 0.5f); }), "step_lr: step_size must be >= 1, got 0");
  EXPECT_EQ(error_of([] { constant_lr(-1.0f); }), "constant_lr: lr must be >= 0, got -1");
  EXPECT_EQ(error_of([] { cosine_lr(0.1f, 11, 10); }),
            "cosine_lr: warmup must be in [0, total_steps=10], got 11");
  EXPECT_EQ(error_of([] { cosine_lr(0.1f, 0, 0); }), "cosine_lr: total_steps must be >= 1, got 0");
  EXPECT_EQ(error_of([] { reduce_on_plateau_lr(0.1f, 1.0f); }),
            "reduce_on_plateau_lr: factor must be in [0, 1), got 1");
  EXPECT_EQ(error_of([] { reduce_on_plateau_lr(0.1f, 0.5f, -1); }),
            "reduce_on_plateau_lr: patience must be >= 0, got -1");
}

TEST(ReduceOnPlateau, StateRoundTripContinuesExactly) {
  const std::vector<float> losses = {1,    0.9f, 0.9f, 0.95f, 0.91f, 0.5f, 0.6f, 0.6f,
                                     0.6f, 0.6f, 0.6f, 0.7f,  0.8f,  0.9f, 1.0f};
  auto straight = reduce_on_plateau_lr(0.1f, 0.3f, 1, 1e-3f, 1e-4f);
  auto first = reduce_on_plateau_lr(0.1f, 0.3f, 1, 1e-3f, 1e-4f);
  auto second = reduce_on_plateau_lr(0.1f, 0.3f, 1, 1e-3f, 1e-4f);
  for (size_t k = 0; k < 7; ++k) first->observe(losses[k]);
  second->load_state_dict(first->state_dict());
  for (size_t k = 0; k < losses.size(); ++k) {
    straight->observe(losses[k]);
    if (k >= 7) second->observe(losses[k]);
    if (k >= 6) {
      EXPECT_EQ(second->lr_at(0), straight->lr_at(0)) << k;
    }
  }
  EXPECT_LT(straight->lr_at(0), 0.1f * 0.3f * 0.3f * 0.3f * 1.0001f);
  EXPECT_EQ(error_of([&] { second->load_state_dict({}); }),
            "plateau schedule load_state_dict: missing 'best'");
  // Stateless schedules have nothing to save.
  EXPECT_TRUE(constant_lr(0.1f)->state_dict().empty());
}

TEST(ClipGradNorm, AllGradsEmpty) {
  Tensor a({3}), b({2, 2});
  Parameter pa{"a", &a, {}};
  Parameter pb{"b", &b, Tensor({0})};
  EXPECT_EQ(clip_grad_norm({&pa, &pb}, 1.0f), 0.0f);
  EXPECT_TRUE(pa.grad.empty());
  EXPECT_TRUE(pb.grad.empty());
  EXPECT_EQ(clip_grad_norm({}, 1.0f), 0.0f);
}

TEST(ClipGradNorm, ScalesToMaxNormAndReturnsTheNormBefore) {
  Tensor a({2}), b({1});
  Parameter pa{"a", &a, Tensor({2}, {3, 0})};
  Parameter pb{"b", &b, Tensor({1}, {4})};
  EXPECT_EQ(clip_grad_norm({&pa, &pb}, 1.0f), 5.0f);
  EXPECT_FLOAT_EQ(pa.grad[0], 3.0f / (5.0f + 1e-6f));
  EXPECT_FLOAT_EQ(pb.grad[0], 4.0f / (5.0f + 1e-6f));
  // Under the limit nothing changes, to the bit.
  EXPECT_FLOAT_EQ(clip_grad_norm({&pa, &pb}, 10.0f), 1.0f);
  EXPECT_EQ(pb.grad[0], 4.0f / (5.0f + 1e-6f) * 1.0f);
  EXPECT_EQ(error_of([&] { clip_grad_norm({&pa}, -1.0f); }),
            "clip_grad_norm: max_norm must be >= 0, got -1");
}

}  // namespace
}  // namespace recur::optim
