// Optimizer behaviour beyond the PyTorch fixtures: state_dict round trips continue bit for bit,
// load_state_dict and option errors say what was expected and found, empty grads are skipped,
// bad grads are rejected before anything changes, make_optimizer's names and defaults.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "recur/error.h"
#include "recur/io.h"
#include "recur/optim.h"
#include "recur/rng.h"

namespace recur::optim {
namespace {

// Two parameters with PyTorch-style names, values and grads from a fixed seed.
struct Model {
  Tensor weight = Tensor({4, 3});
  Tensor bias = Tensor({5});
  Parameter w{"rnn.weight_ih_l0", &weight, {}};
  Parameter b{"rnn.bias_ih_l0", &bias, {}};
  ParameterList parameters() { return {&w, &b}; }

  explicit Model(uint64_t seed = 7) {
    Rng rng(seed);
    for (int64_t i = 0; i < weight.numel(); ++i) weight[i] = rng.normal();
    for (int64_t i = 0; i < bias.numel(); ++i) bias[i] = rng.normal();
  }
  // Grads for step s; the bias has none at step 1, so per-parameter steps differ.
  void set_grads(int s) {
    Rng rng(100 + s);
    w.zero_grad();
    for (int64_t i = 0; i < w.grad.numel(); ++i) w.grad[i] = rng.normal() * 0.5f;
    if (s == 1) {
      b.grad = Tensor();
    } else {
      b.zero_grad();
      for (int64_t i = 0; i < b.grad.numel(); ++i) b.grad[i] = rng.normal() * 2.0f;
    }
  }
};

using Factory = std::function<std::unique_ptr<Optimizer>(ParameterList)>;

struct Config {
  std::string label;
  Factory make;
};

std::vector<Config> configs() {
  return {
      {"sgd_nesterov_wd",
       [](ParameterList p) {
         return sgd(std::move(p), {0.05f, 0.9f, 0.0f, 0.01f, true});
       }},
      {"sgd_dampening",
       [](ParameterList p) {
         return sgd(std::move(p), {0.05f, 0.9f, 0.3f, 0.0f, false});
       }},
      {"adam_amsgrad_wd",
       [](ParameterList p) {
         AdamOptions o;
         o.lr = 0.01f;
         o.weight_decay = 0.1f;
         o.amsgrad = true;
         return adam(std::move(p), o);
       }},
      {"adamw", [](ParameterList p) { return adamw(std::move(p), {0.01f}); }},
      {"rmsprop_centered_momentum",
       [](ParameterList p) {
         return rmsprop(std::move(p), {0.01f, 0.9f, 1e-8f, 0.01f, 0.5f, true});
       }},
      {"adagrad_all",
       [](ParameterList p) {
         return adagrad(std::move(p), {0.1f, 0.1f, 0.05f, 0.5f, 1e-10f});
       }},
  };
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return false;
  return std::memcmp(a.data(), b.data(), sizeof(float) * a.numel()) == 0;
}

class RoundTrip : public ::testing::TestWithParam<Config> {};

TEST_P(RoundTrip, ThreeStepsSaveLoadThreeMoreEqualsSixStraight) {
  Model straight;
  auto a = GetParam().make(straight.parameters());
  for (int s = 0; s < 6; ++s) {
    straight.set_grads(s);
    a->step();
  }

  Model resumed;
  std::map<std::string, Tensor> saved;
  {
    auto first = GetParam().make(resumed.parameters());
    for (int s = 0; s < 3; ++s) {
      resumed.set_grads(s);
      first->step();
    }
    // Through a file, as a checkpoint would go.
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("recur_optim_" + GetParam().label + ".safetensors"))
                                 .string();
    save_safetensors(path, {first->state_dict(), {}});
    saved = load_safetensors(path).tensors;
    std::remove(path.c_str());
  }
  auto second = GetParam().make(resumed.parameters());
  second->load_state_dict(saved);
  EXPECT_EQ(second->step_count(), 3);
  for (int s = 3; s < 6; ++s) {
    resumed.set_grads(s);
    second->step();
  }
  EXPECT_TRUE(bitwise_equal(straight.weight, resumed.weight));
  EXPECT_TRUE(bitwise_equal(straight.bias, resumed.bias));
  EXPECT_EQ(second->step_count(), 6);
  const auto want = a->state_dict();
  const auto got = second->state_dict();
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [key, tensor] : want) {
    ASSERT_TRUE(got.count(key)) << key;
    EXPECT_TRUE(bitwise_equal(got.at(key), tensor)) << key;
  }
  // The bias skipped one step: its own count is 5 of 6.
  EXPECT_EQ(got.at("step/rnn.bias_ih_l0")[0], 5.0f);
  EXPECT_EQ(got.at("step/rnn.weight_ih_l0")[0], 6.0f);
}

INSTANTIATE_TEST_SUITE_P(Optim, RoundTrip, ::testing::ValuesIn(configs()),
                         [](const auto& info) { return info.param.label; });

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(StateDict, AdamKeys) {
  Model m;
  AdamOptions o;
  o.amsgrad = true;
  auto opt = adam(m.parameters(), o);
  std::vector<std::string> keys;
  for (const auto& [key, tensor] : opt->state_dict()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{
                      "exp_avg/rnn.bias_ih_l0", "exp_avg/rnn.weight_ih_l0",
                      "exp_avg_sq/rnn.bias_ih_l0", "exp_avg_sq/rnn.weight_ih_l0", "lr",
                      "max_exp_avg_sq/rnn.bias_ih_l0", "max_exp_avg_sq/rnn.weight_ih_l0", "step",
                      "step/rnn.bias_ih_l0", "step/rnn.weight_ih_l0"}));
}

TEST(StateDict, LoadErrorsNameTheEntryAndLeaveTheOptimizerAsItWas) {
  Model m;
  auto opt = adam(m.parameters(), {});
  m.set_grads(0);
  opt->step();
  const auto good = opt->state_dict();

  auto missing = good;
  missing.erase("exp_avg/rnn.weight_ih_l0");
  EXPECT_EQ(error_of([&] { opt->load_state_dict(missing); }),
            "load_state_dict: missing slot 'exp_avg/rnn.weight_ih_l0'");

  auto reshaped = good;
  reshaped["exp_avg/rnn.weight_ih_l0"] = Tensor({3, 4});
  EXPECT_EQ(error_of([&] { opt->load_state_dict(reshaped); }),
            "load_state_dict: 'exp_avg/rnn.weight_ih_l0' has shape [3, 4], expected [4, 3]");

  auto extra = good;
  extra["momentum_buffer/rnn.weight_ih_l0"] = Tensor({4, 3});
  EXPECT_NE(error_of([&] {
              opt->load_state_dict(extra);
            }).find("unexpected entry 'momentum_buffer/rnn.weight_ih_l0'"),
            std::string::npos);

  auto other_param = good;
  other_param["exp_avg/rnn.weight_hh_l0"] = Tensor({4, 3});
  EXPECT_NE(error_of([&] {
              opt->load_state_dict(other_param);
            }).find("unexpected entry 'exp_avg/rnn.weight_hh_l0'"),
            std::string::npos);

  auto no_step = good;
  no_step.erase("step");
  EXPECT_EQ(error_of([&] { opt->load_state_dict(no_step); }), "load_state_dict: missing 'step'");

  auto bad_step = good;
  bad_step["step"] = Tensor({1}, {2.5f});
  EXPECT_EQ(error_of([&] { opt->load_state_dict(bad_step); }),
            "load_state_dict: 'step' must be a whole number >= 0, got 2.5");

  auto bad_lr = good;
  bad_lr["lr"] = Tensor({2});
  EXPECT_EQ(error_of([&] { opt->load_state_dict(bad_lr); }),
            "load_state_dict: 'lr' has shape [2], expected [1]");

  // SGD with momentum has a slot that plain SGD lacks, and the reverse.
  Model s;
  auto plain = sgd(s.parameters(), {});
  auto with_momentum = sgd(s.parameters(), {0.1f, 0.9f});
  EXPECT_NE(error_of([&] {
              plain->load_state_dict(with_momentum->state_dict());
            }).find("unexpected entry 'momentum_buffer/"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              with_momentum->load_state_dict(plain->state_dict());
            }).find("missing slot 'momentum_buffer/"),
            std::string::npos);

  // None of the failed loads changed anything.
  const auto after = opt->state_dict();
  EXPECT_EQ(opt->step_count(), 1);
  for (const auto& [key, tensor] : good) EXPECT_TRUE(bitwise_equal(after.at(key), tensor)) << key;
}

TEST(Optimizer, LoadRestoresLr) {
  Model m;
  auto a = sgd(m.parameters(), {0.1f});
  a->set_lr(0.025f);
  auto b = sgd(m.parameters(), {0.1f});
  b->load_state_dict(a->state_dict());
  EXPECT_EQ(b->lr(), 0.025f);
}

TEST(Optimizer, EmptyGradIsSkipped) {
  Model m;
  auto opt = adam(m.parameters(), {});
  const Tensor before = m.bias;
  m.set_grads(1);  // no bias grad
  m.b.grad = Tensor({0});
  opt->step();
  EXPECT_TRUE(bitwise_equal(m.bias, before));
  EXPECT_EQ(opt->step_count(), 1);
  EXPECT_EQ(opt->state_dict().at("step/rnn.bias_ih_l0")[0], 0.0f);
  EXPECT_EQ(opt->state_dict().at("step/rnn.weight_ih_l0")[0], 1.0f);
}

TEST(Optimizer, GradOfTheWrongShapeIsAnErrorBeforeAnythingChanges) {
  Model m;
  auto opt = sgd(m.parameters(), {0.1f, 0.9f});
  const Tensor weight = m.weight;
  m.set_grads(0);
  m.b.grad = Tensor({4});
  EXPECT_EQ(error_of([&] { opt->step(); }),
            "sgd: parameter 'rnn.bias_ih_l0' has a grad of shape [4], expected [5]");
  EXPECT_TRUE(bitwise_equal(m.weight, weight));
  EXPECT_EQ(opt->step_count(), 0);
}

TEST(Optimizer, SetLrTakesEffectOnTheNextStep) {
  Model m;
  auto opt = sgd(m.parameters(), {0.1f});
  opt->set_lr(0.5f);
  const Tensor weight = m.weight;
  m.set_grads(0);
  opt->step();
  for (int64_t i = 0; i < weight.numel(); ++i)
    EXPECT_FLOAT_EQ(m.weight[i], weight[i] - 0.5f * m.w.grad[i]);
}

TEST(Optimizer, ZeroGradAllocatesZeros) {
  Model m;
  auto opt = sgd(m.parameters(), {});
  opt->zero_grad();
  EXPECT_EQ(m.w.grad.shape(), m.weight.shape());
  for (int64_t i = 0; i < m.w.grad.numel(); ++i) EXPECT_EQ(m.w.grad[i], 0.0f);
}

TEST(Optimizer, ParameterChecks) {
  Model m;
  Parameter twin{"rnn.weight_ih_l0", &m.bias, {}};
  EXPECT_NE(error_of([&] {
              sgd({&m.w, &twin}, {});
            }).find("two parameters are named"),
            std::string::npos);
  Parameter hollow{"x", nullptr, {}};
  EXPECT_EQ(error_of([&] { sgd({&hollow}, {}); }), "Optimizer: parameter 'x' has no value");
}

TEST(MakeOptimizer, NamesAndUnknownName) {
  Model m;
  for (const char* name : {"sgd", "adam", "adamw", "rmsprop", "adagrad"})
    EXPECT_EQ(make_optimizer(name, m.parameters(), 0.1f)->name(), name);
  EXPECT_EQ(error_of([&] { make_optimizer("lion", m.parameters(), 0.1f); }),
            "make_optimizer: unknown optimizer 'lion'; known: sgd, adam, adamw, rmsprop, adagrad");
  EXPECT_EQ(make_optimizer("adam", m.parameters(), 0.25f)->lr(), 0.25f);
}

TEST(MakeOptimizer, AdamwDefaultsToPyTorchsWeightDecay) {
  // With zero grads AdamW's update is the decay alone: p * (1 - lr * weight_decay).
  for (float wd : {-1.0f, 0.5f}) {
    Model m;
    const Tensor before = m.weight;
    auto opt = make_optimizer("adamw", m.parameters(), 0.1f, wd);
    m.w.zero_grad();
    m.b.zero_grad();
    opt->step();
    const float decay = static_cast<float>(1.0 - 0.1f * static_cast<double>(wd < 0 ? 0.01f : wd));
    for (int64_t i = 0; i < before.numel(); ++i) EXPECT_EQ(m.weight[i], before[i] * decay);
  }
}

TEST(Options, InvalidOptionsSayExpectedAndFound) {
  Model m;
  auto p = m.parameters();
  struct Case {
    std::function<void()> make;
    std::string message;
  };
  AdamOptions beta1;
  beta1.beta1 = 1.0f;
  AdamOptions beta2;
  beta2.beta2 = -0.1f;
  AdamOptions adam_lr;
  adam_lr.lr = -1.0f;
  AdamOptions eps;
  eps.eps = -1e-8f;
  AdamOptions wd;
  wd.weight_decay = -0.5f;
  RmspropOptions alpha;
  alpha.alpha = -0.5f;
  AdagradOptions lr_decay;
  lr_decay.lr_decay = -1.0f;
  AdagradOptions acc;
  acc.initial_accumulator_value = -1.0f;
  const std::vector<Case> cases = {
      {[&] { adam(p, adam_lr); }, "Adam: lr must be >= 0, got -1"},
      {[&] { adamw(p, beta1); }, "AdamW: beta1 must be in [0, 1), got 1"},
      {[&] { adam(p, beta2); }, "Adam: beta2 must be in [0, 1), got -0.1"},
      {[&] { adam(p, eps); }, "Adam: eps must be >= 0, got -1e-08"},
      {[&] { adamw(p, wd); }, "AdamW: weight_decay must be >= 0, got -0.5"},
      {[&] { sgd(p, {-0.1f}); }, "SGD: lr must be >= 0, got -0.1"},
      {[&] {
         sgd(p, {0.1f, -0.9f});
       },
       "SGD: momentum must be >= 0, got -0.9"},
      {[&] {
         sgd(p, {0.1f, 0.0f, 0.0f, -1.0f});
       },
       "SGD: weight_decay must be >= 0, got -1"},
      {[&] {
         sgd(p, {0.1f, 0.0f, 0.0f, 0.0f, true});
       },
       "SGD: nesterov needs momentum > 0, got 0"},
      {[&] {
         sgd(p, {0.1f, 0.9f, 0.1f, 0.0f, true});
       },
       "SGD: nesterov needs dampening 0, got 0.1"},
      {[&] { rmsprop(p, alpha); }, "RMSprop: alpha must be >= 0, got -0.5"},
      {[&] {
         rmsprop(p, {0.1f, 0.99f, 1e-8f, 0.0f, -1.0f});
       },
       "RMSprop: momentum must be >= 0, got -1"},
      {[&] { adagrad(p, lr_decay); }, "Adagrad: lr_decay must be >= 0, got -1"},
      {[&] { adagrad(p, acc); }, "Adagrad: initial_accumulator_value must be >= 0, got -1"},
      {[&] { adagrad(p, {std::nanf("")}); }, "Adagrad: lr must be >= 0, got nan"},
  };
  for (const Case& c : cases) EXPECT_EQ(error_of(c.make), c.message);
}

}  // namespace
}  // namespace recur::optim
