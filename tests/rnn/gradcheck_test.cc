// Finite-difference checks of the BPTT backward, in double precision through the engine's
// reference path: central differences on every parameter, the input, h0 and c0, for every
// mode, with variable lengths, stacking, both directions, projections and dropout masks.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "recur/rng.h"
#include "rnn/engine.h"

namespace recur::rnn {
namespace {

struct Case {
  RnnMode mode;
  int64_t layers;
  bool bidirectional;
  int64_t proj;
  bool bias;
  bool dropout;
  std::vector<int64_t> lengths;  // empty = full
};

std::string name_of(const Case& c) {
  return mode_name(c.mode) + "_l" + std::to_string(c.layers) + (c.bidirectional ? "_bi" : "") +
         (c.proj ? "_proj" : "") + (c.bias ? "" : "_nobias") + (c.dropout ? "_drop" : "") +
         (c.lengths.empty() ? "" : "_lens");
}

// Everything a loss evaluation needs, as flat double vectors we can perturb.
struct Problem {
  RnnOptions o;
  int64_t T = 4, B = 3;
  std::vector<std::vector<double>> params;  // per layer-dir: w_ih, w_hh, b_ih, b_hh, w_hr
  std::vector<double> x, h0, c0, dy, dhn, dcn;
  std::vector<std::vector<double>> masks;
  Batch batch;

  StackParams<double> stack_params() const {
    StackParams<double> p;
    p.options = o;
    const int64_t per = 5;
    for (int64_t ld = 0; ld < o.num_layers * o.num_directions(); ++ld) {
      LayerParams<double> lp;
      lp.w_ih = params[ld * per].data();
      lp.w_hh = params[ld * per + 1].data();
      if (o.bias) {
        lp.b_ih = params[ld * per + 2].data();
        lp.b_hh = params[ld * per + 3].data();
      }
      if (o.proj_size) lp.w_hr = params[ld * per + 4].data();
      p.layers.push_back(lp);
    }
    return p;
  }

  double loss(StackWorkspace<double>* ws = nullptr) const {
    const int64_t LD = o.num_layers * o.num_directions();
    std::vector<double> out(T * B * o.num_directions() * o.output_hidden_size(), 0.0);
    std::vector<double> hn(LD * B * o.output_hidden_size()), cn(LD * B * o.hidden_size);
    stack_forward<double>(stack_params(), batch, x.data(), h0.data(), c0.data(), out.data(),
                          hn.data(), cn.data(), &masks, ws);
    double l = 0;
    for (size_t i = 0; i < out.size(); ++i) l += out[i] * dy[i];
    for (size_t i = 0; i < hn.size(); ++i) l += hn[i] * dhn[i];
    if (o.mode == RnnMode::kLstm)
      for (size_t i = 0; i < cn.size(); ++i) l += cn[i] * dcn[i];
    return l;
  }
};

Problem make_problem(const Case& c, uint64_t seed) {
  Problem p;
  p.o.mode = c.mode;
  p.o.input_size = 3;
  p.o.hidden_size = 5;
  p.o.num_layers = c.layers;
  p.o.bidirectional = c.bidirectional;
  p.o.proj_size = c.proj;
  p.o.bias = c.bias;
  Rng rng(seed);
  auto rand = [&](int64_t n, double scale) {
    std::vector<double> v(n);
    for (double& e : v) e = scale * rng.normal();
    return v;
  };
  const RnnOptions& o = p.o;
  const int64_t GH = gate_count(o.mode) * o.hidden_size, Ho = o.output_hidden_size();
  for (int64_t l = 0; l < o.num_layers; ++l)
    for (int64_t d = 0; d < o.num_directions(); ++d) {
      p.params.push_back(rand(GH * layer_input_size(o, l), 0.5));
      p.params.push_back(rand(GH * Ho, 0.5));
      p.params.push_back(o.bias ? rand(GH, 0.5) : std::vector<double>());
      p.params.push_back(o.bias ? rand(GH, 0.5) : std::vector<double>());
      p.params.push_back(o.proj_size ? rand(o.proj_size * o.hidden_size, 0.5)
                                     : std::vector<double>());
    }
  p.batch = Batch::make(p.T, p.B, c.lengths);
  p.x = rand(p.T * p.B * o.input_size, 1.0);
  for (int64_t t = 0; t < p.T; ++t)  // the engine's contract: zero at padded positions
    for (int64_t b = 0; b < p.B; ++b)
      if (t >= p.batch.lengths[b])
        for (int64_t i = 0; i < o.input_size; ++i) p.x[(t * p.B + b) * o.input_size + i] = 0;
  const int64_t LD = o.num_layers * o.num_directions();
  p.h0 = rand(LD * p.B * Ho, 0.5);
  p.c0 = rand(LD * p.B * o.hidden_size, 0.5);
  p.dy = rand(p.T * p.B * o.num_directions() * Ho, 1.0);
  p.dhn = rand(LD * p.B * Ho, 1.0);
  p.dcn = rand(LD * p.B * o.hidden_size, 1.0);
  p.masks.assign(o.num_layers, {});
  if (c.dropout)
    for (int64_t l = 1; l < o.num_layers; ++l) {
      p.masks[l].resize(p.T * p.B * o.num_directions() * Ho);
      for (double& m : p.masks[l]) m = rng.bernoulli(0.7f) ? 1.0 / 0.7 : 0.0;
    }
  return p;
}

double relative_error(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, sum = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    sum += (a[i] + b[i]) * (a[i] + b[i]);
  }
  return sum == 0 ? std::sqrt(diff) : std::sqrt(diff) / std::sqrt(sum);
}

std::vector<double> numeric_grad(Problem& p, std::vector<double>& v) {
  const double eps = 1e-6;
  std::vector<double> g(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const double keep = v[i];
    v[i] = keep + eps;
    double up = p.loss();
    v[i] = keep - eps;
    double down = p.loss();
    v[i] = keep;
    g[i] = (up - down) / (2 * eps);
  }
  return g;
}

class GradCheck : public ::testing::TestWithParam<Case> {};

TEST_P(GradCheck, MatchesCentralDifferences) {
  const Case& c = GetParam();
  Problem p = make_problem(c, 42);
  StackWorkspace<double> ws;
  p.loss(&ws);
  std::vector<LayerGrads<double>> grads;
  const int64_t LD = p.o.num_layers * p.o.num_directions();
  std::vector<double> dx(p.x.size()), dh0(p.h0.size()), dc0(p.c0.size());
  stack_backward<double>(p.stack_params(), ws, p.dy.data(), p.dhn.data(), p.dcn.data(), &grads,
                         dx.data(), dh0.data(), dc0.data());
  const double tol = 1e-7;
  for (int64_t ld = 0; ld < LD; ++ld) {
    const std::vector<double>* analytic[5] = {&grads[ld].w_ih, &grads[ld].w_hh, &grads[ld].b_ih,
                                              &grads[ld].b_hh, &grads[ld].w_hr};
    for (int k = 0; k < 5; ++k) {
      std::vector<double>& param = p.params[ld * 5 + k];
      ASSERT_EQ(param.size(), analytic[k]->size()) << "layer-dir " << ld << " tensor " << k;
      if (param.empty()) continue;
      EXPECT_LT(relative_error(*analytic[k], numeric_grad(p, param)), tol)
          << "layer-dir " << ld << " tensor " << k;
    }
  }
  std::vector<double> dx_num = numeric_grad(p, p.x);
  for (int64_t t = 0; t < p.T; ++t)  // padded inputs have no gradient
    for (int64_t b = 0; b < p.B; ++b)
      if (t >= p.batch.lengths[b])
        for (int64_t i = 0; i < p.o.input_size; ++i) {
          EXPECT_EQ(dx[(t * p.B + b) * p.o.input_size + i], 0.0);
          dx_num[(t * p.B + b) * p.o.input_size + i] = 0.0;
        }
  EXPECT_LT(relative_error(dx, dx_num), tol) << "input";
  EXPECT_LT(relative_error(dh0, numeric_grad(p, p.h0)), tol) << "h0";
  if (p.o.mode == RnnMode::kLstm) {
    EXPECT_LT(relative_error(dc0, numeric_grad(p, p.c0)), tol) << "c0";
  }
}

std::vector<Case> cases() {
  std::vector<Case> out;
  const std::vector<int64_t> lens = {2, 4, 3};
  for (RnnMode m : {RnnMode::kRnnTanh, RnnMode::kRnnRelu, RnnMode::kLstm, RnnMode::kGru}) {
    out.push_back({m, 1, false, 0, true, false, {}});
    out.push_back({m, 1, true, 0, true, false, lens});
    out.push_back({m, 2, true, 0, true, true, lens});
    out.push_back({m, 2, false, 0, false, false, lens});
  }
  out.push_back({RnnMode::kLstm, 2, true, 3, true, false, lens});
  out.push_back({RnnMode::kLstm, 1, false, 2, false, false, {}});
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllModes, GradCheck, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return name_of(info.param); });

}  // namespace
}  // namespace recur::rnn
