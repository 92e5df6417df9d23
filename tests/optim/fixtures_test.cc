// recur against PyTorch: every fixture in tests/fixtures/optim (written by
// scripts/gen_optim_reference.py) is replayed: optimizers step by step on the recorded
// gradients, clip_grad_norm on the recorded grads, schedules over the recorded steps or losses.
// Parameters are compared within 1e-6 relative to max(1, |reference|); learning rates within
// 1e-6 relative to the reference itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "recur/io.h"
#include "recur/optim.h"

namespace recur::optim {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> fixture_files(const std::string& prefix) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(fs::path(RECUR_FIXTURE_DIR) / "optim")) {
    const std::string name = e.path().filename().string();
    if (e.path().extension() == ".safetensors" && name.rfind(prefix, 0) == 0)
      files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string case_name(const ::testing::TestParamInfo<std::string>& info) {
  return fs::path(info.param).stem().string();
}

// Largest |got - want| / max(1, |want|) over a tensor and `count` floats at `want`.
double max_error(const float* got, const float* want, int64_t count) {
  double worst = 0;
  for (int64_t i = 0; i < count; ++i) {
    const double diff = std::abs(double(got[i]) - double(want[i]));
    worst = std::max(worst,
                     std::isnan(diff) ? INFINITY : diff / std::max(1.0, std::abs(double(want[i]))));
  }
  return worst;
}

// One row of a (rows, *shape) tensor.
const float* row(const Tensor& t, int64_t r) { return t.data() + r * (t.numel() / t.size(0)); }

std::unique_ptr<Optimizer> make_from_metadata(const std::string& kind, const nlohmann::json& o,
                                              ParameterList parameters) {
  auto get = [&](const char* key, float fallback) {
    return o.contains(key) ? o.at(key).get<float>() : fallback;
  };
  if (kind == "sgd") {
    SgdOptions s;
    s.lr = get("lr", s.lr);
    s.momentum = get("momentum", s.momentum);
    s.dampening = get("dampening", s.dampening);
    s.weight_decay = get("weight_decay", s.weight_decay);
    s.nesterov = o.value("nesterov", false);
    return sgd(std::move(parameters), s);
  }
  if (kind == "adam" || kind == "adamw") {
    AdamOptions a;
    a.lr = get("lr", a.lr);
    a.beta1 = get("beta1", a.beta1);
    a.beta2 = get("beta2", a.beta2);
    a.eps = get("eps", a.eps);
    a.weight_decay = get("weight_decay", a.weight_decay);
    a.amsgrad = o.value("amsgrad", false);
    return kind == "adam" ? adam(std::move(parameters), a) : adamw(std::move(parameters), a);
  }
  if (kind == "rmsprop") {
    RmspropOptions r;
    r.lr = get("lr", r.lr);
    r.alpha = get("alpha", r.alpha);
    r.eps = get("eps", r.eps);
    r.weight_decay = get("weight_decay", r.weight_decay);
    r.momentum = get("momentum", r.momentum);
    r.centered = o.value("centered", false);
    return rmsprop(std::move(parameters), r);
  }
  EXPECT_EQ(kind, "adagrad");
  AdagradOptions a;
  a.lr = get("lr", a.lr);
  a.lr_decay = get("lr_decay", a.lr_decay);
  a.weight_decay = get("weight_decay", a.weight_decay);
  a.initial_accumulator_value = get("initial_accumulator_value", a.initial_accumulator_value);
  a.eps = get("eps", a.eps);
  return adagrad(std::move(parameters), a);
}

class OptimizerFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(OptimizerFixture, MatchesPyTorchEveryStep) {
  SafeTensors f = load_safetensors(GetParam());
  ASSERT_EQ(f.metadata.at("format_version"), "1");
  ASSERT_EQ(f.metadata.at("kind"), "optimizer");
  const auto names = nlohmann::json::parse(f.metadata.at("names")).get<std::vector<std::string>>();
  const Tensor& has_grad = f.tensors.at("has_grad");  // (steps, parameters)
  const int64_t steps = has_grad.size(0);
  ASSERT_EQ(has_grad.size(1), static_cast<int64_t>(names.size()));

  std::vector<Tensor> values;
  values.reserve(names.size());
  std::vector<Parameter> parameters(names.size());
  ParameterList list;
  for (size_t p = 0; p < names.size(); ++p) {
    values.push_back(f.tensors.at("init/" + names[p]));
    parameters[p].name = names[p];
    parameters[p].value = &values[p];
    list.push_back(&parameters[p]);
  }
  auto optimizer = make_from_metadata(f.metadata.at("optimizer"),
                                      nlohmann::json::parse(f.metadata.at("options")), list);
  double worst = 0;
  for (int64_t s = 0; s < steps; ++s) {
    for (size_t p = 0; p < names.size(); ++p) {
      const Tensor& grads = f.tensors.at("grad/" + names[p]);
      if (has_grad[s * has_grad.size(1) + p] != 0.0f) {
        parameters[p].grad = Tensor(values[p].shape());
        std::copy(row(grads, s), row(grads, s) + values[p].numel(), parameters[p].grad.data());
      } else {
        parameters[p].grad = Tensor();
      }
    }
    optimizer->step();
    for (size_t p = 0; p < names.size(); ++p) {
      const double e =
          max_error(values[p].data(), row(f.tensors.at("after/" + names[p]), s), values[p].numel());
      EXPECT_LT(e, 1e-6) << names[p] << " after step " << s;
      worst = std::max(worst, e);
    }
  }
  EXPECT_EQ(optimizer->step_count(), steps);
  std::cout << "[ optim    ] " << fs::path(GetParam()).stem().string()
            << " max relative difference " << worst << "\n";
}

INSTANTIATE_TEST_SUITE_P(Optim, OptimizerFixture, ::testing::ValuesIn(fixture_files("opt_")),
                         case_name);

class ClipFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(ClipFixture, MatchesPyTorch) {
  SafeTensors f = load_safetensors(GetParam());
  ASSERT_EQ(f.metadata.at("kind"), "clip");
  const auto names = nlohmann::json::parse(f.metadata.at("names")).get<std::vector<std::string>>();
  const Tensor& has_grad = f.tensors.at("has_grad");
  std::vector<Tensor> values(names.size());
  std::vector<Parameter> parameters(names.size());
  ParameterList list;
  for (size_t p = 0; p < names.size(); ++p) {
    parameters[p].name = names[p];
    parameters[p].value = &values[p];
    if (has_grad[p] != 0.0f) {
      parameters[p].grad = f.tensors.at("grad/" + names[p]);
      values[p] = Tensor(parameters[p].grad.shape());
    } else {
      values[p] = Tensor({2});
    }
    list.push_back(&parameters[p]);
  }
  const float total = clip_grad_norm(list, std::stof(f.metadata.at("max_norm")));
  const float want = f.tensors.at("total_norm")[0];
  EXPECT_NEAR(total, want, 1e-6 * want);
  double worst = 0;
  for (size_t p = 0; p < names.size(); ++p) {
    if (has_grad[p] == 0.0f) {
      EXPECT_TRUE(parameters[p].grad.empty());
      continue;
    }
    const Tensor& clipped = f.tensors.at("clipped/" + names[p]);
    worst = std::max(worst, max_error(parameters[p].grad.data(), clipped.data(), clipped.numel()));
  }
  EXPECT_LT(worst, 1e-6);
  std::cout << "[ clip     ] " << fs::path(GetParam()).stem().string() << " total_norm " << total
            << " (torch " << want << "), max relative difference " << worst << "\n";
}

INSTANTIATE_TEST_SUITE_P(Optim, ClipFixture, ::testing::ValuesIn(fixture_files("clip_")),
                         case_name);

class ScheduleFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(ScheduleFixture, MatchesPyTorch) {
  SafeTensors f = load_safetensors(GetParam());
  ASSERT_EQ(f.metadata.at("kind"), "schedule");
  const std::string kind = f.metadata.at("schedule");
  const auto o = nlohmann::json::parse(f.metadata.at("options"));
  const Tensor& lrs = f.tensors.at("lrs");
  std::unique_ptr<LrSchedule> schedule;
  if (kind == "step") {
    schedule = step_lr(o.at("lr").get<float>(), o.at("step_size").get<int64_t>(),
                       o.at("gamma").get<float>());
  } else if (kind == "cosine") {
    schedule = cosine_lr(o.at("lr").get<float>(), o.at("warmup").get<int64_t>(),
                         o.at("total_steps").get<int64_t>(), o.at("min_lr").get<float>());
  } else {
    ASSERT_EQ(kind, "plateau");
    schedule = reduce_on_plateau_lr(o.at("lr").get<float>(), o.at("factor").get<float>(),
                                    o.at("patience").get<int64_t>(), o.at("threshold").get<float>(),
                                    o.at("min_lr").get<float>());
  }
  double worst = 0;
  for (int64_t k = 0; k < lrs.numel(); ++k) {
    if (kind == "plateau") schedule->observe(f.tensors.at("losses")[k]);
    const float got = schedule->lr_at(k);
    const double e = std::abs(double(got) - lrs[k]) / std::max(1e-30, std::abs(double(lrs[k])));
    if (lrs[k] == 0.0f) {
      EXPECT_LT(std::abs(got), 1e-9) << "step " << k;
    } else {
      EXPECT_LT(e, 1e-6) << "step " << k << ": " << got << " vs " << lrs[k];
      worst = std::max(worst, e);
    }
  }
  std::cout << "[ schedule ] " << fs::path(GetParam()).stem().string()
            << " max relative difference " << worst << "\n";
}

INSTANTIATE_TEST_SUITE_P(Optim, ScheduleFixture, ::testing::ValuesIn(fixture_files("sched_")),
                         case_name);

}  // namespace
}  // namespace recur::optim
