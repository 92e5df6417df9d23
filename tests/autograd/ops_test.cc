// Every tape op's backward against central finite differences (float, small tensors, loss =
// MSE to a random target so every output element matters), plus forward values and errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "recur/autograd.h"
#include "recur/error.h"

namespace recur::ag {
namespace {

Tensor random_tensor(Shape shape, Rng& rng, float scale = 1.0f) {
  Tensor t(std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = rng.uniform(-scale, scale);
  return t;
}

// Builds the loss from Vars made of `params` (in order). Returns it as a Var.
using Build = std::function<Var(Tape&, std::vector<Var>&)>;

float loss_of(const Build& build, std::vector<Parameter>& params) {
  Tape tape;
  std::vector<Var> vars;
  for (Parameter& p : params) vars.push_back(tape.parameter(p));
  return build(tape, vars).value()[0];
}

// ||analytic - numeric|| / ||analytic + numeric|| per parameter.
void expect_gradients(const Build& build, std::vector<Tensor>& values, double tolerance = 2e-3,
                      float eps = 1e-2f) {
  std::vector<Parameter> params(values.size());
  for (size_t k = 0; k < values.size(); ++k) {
    params[k].name = "p" + std::to_string(k);
    params[k].value = &values[k];
  }
  {
    Tape tape;
    std::vector<Var> vars;
    for (Parameter& p : params) vars.push_back(tape.parameter(p));
    tape.backward(build(tape, vars));
  }
  for (size_t k = 0; k < params.size(); ++k) {
    Tensor& v = values[k];
    ASSERT_EQ(params[k].grad.shape(), v.shape()) << "no gradient reached input " << k;
    double diff = 0.0, sum = 0.0;
    for (int64_t i = 0; i < v.numel(); ++i) {
      const float saved = v[i];
      v[i] = saved + eps;
      const double up = loss_of(build, params);
      v[i] = saved - eps;
      const double down = loss_of(build, params);
      v[i] = saved;
      const double numeric = (up - down) / (2.0 * eps);
      const double analytic = params[k].grad[i];
      diff += (analytic - numeric) * (analytic - numeric);
      sum += (analytic + numeric) * (analytic + numeric);
    }
    const double rel = std::sqrt(diff) / std::max(std::sqrt(sum), 1e-12);
    EXPECT_LT(rel, tolerance) << "input " << k;
  }
}

TEST(AutogradOps, LinearGradients) {
  Rng rng(1);
  std::vector<Tensor> v = {random_tensor({3, 2, 5}, rng), random_tensor({4, 5}, rng),
                           random_tensor({4}, rng)};
  const Tensor target = random_tensor({3, 2, 4}, rng);
  expect_gradients(
      [&](Tape& t, std::vector<Var>& x) { return mse(t, linear(t, x[0], x[1], x[2]), target); }, v);
}

TEST(AutogradOps, LinearForwardValues) {
  Tape tape;
  Var x = tape.constant(Tensor({1, 2}, {1.0f, 2.0f}));
  Var w = tape.constant(Tensor({3, 2}, {1, 0, 0, 1, 1, 1}));
  Var b = tape.constant(Tensor({3}, {0.5f, 0.0f, -1.0f}));
  Var y = linear(tape, x, w, b);
  EXPECT_EQ(y.value().to_vector(), (std::vector<float>{1.5f, 2.0f, 2.0f}));
  EXPECT_FALSE(y.requires_grad());
  EXPECT_THROW(linear(tape, tape.constant(Tensor({1, 3})), w, b), Error);
}

TEST(AutogradOps, EmbeddingGradientsWithRepeatedIds) {
  Rng rng(2);
  std::vector<Tensor> v = {random_tensor({5, 3}, rng)};
  const std::vector<int64_t> ids = {4, 1, 4, 0, 4, 2};
  const Tensor target = random_tensor({2, 3, 3}, rng);
  expect_gradients(
      [&](Tape& t, std::vector<Var>& x) {
        return mse(t, embedding(t, x[0], ids, {2, 3}), target);
      },
      v);
  Tape tape;
  EXPECT_THROW(embedding(tape, tape.constant(Tensor({5, 3})), {5}, {1}), Error);
  EXPECT_THROW(embedding(tape, tape.constant(Tensor({5, 3})), {1, 2}, {3}), Error);
}

TEST(AutogradOps, DropoutGradientsAndScaling) {
  Rng data(3);
  std::vector<Tensor> v = {random_tensor({4, 3, 5}, data)};
  const Tensor target = random_tensor({4, 3, 5}, data);
  for (bool variational : {false, true}) {
    expect_gradients(
        [&](Tape& t, std::vector<Var>& x) {
          Rng rng(7);  // the same mask on every evaluation
          return mse(t, dropout(t, x[0], 0.4f, rng, variational), target);
        },
        v);
  }
  Tape tape;
  Tensor ones = Tensor::full({6, 4, 8}, 1.0f);
  Rng rng(9);
  Var y = dropout(tape, tape.constant(ones), 0.5f, rng, true);
  int zeros = 0;
  for (int64_t i = 0; i < 32; ++i) {
    const float first = y.value()[i];
    EXPECT_TRUE(first == 0.0f || first == 2.0f);
    zeros += first == 0.0f;
    for (int64_t t = 1; t < 6; ++t) EXPECT_EQ(y.value()[t * 32 + i], first) << "step " << t;
  }
  EXPECT_GT(zeros, 4);
  EXPECT_LT(zeros, 28);
  EXPECT_THROW(dropout(tape, tape.constant(ones), 1.0f, rng), Error);
}

TEST(AutogradOps, ConcatGradientsAndReuse) {
  Rng rng(4);
  std::vector<Tensor> v = {random_tensor({2, 3, 2}, rng), random_tensor({2, 3, 4}, rng)};
  const Tensor target = random_tensor({2, 3, 8}, rng);
  // x[0] appears twice: its gradient must be the sum of both uses.
  expect_gradients(
      [&](Tape& t, std::vector<Var>& x) {
        return mse(t, concat_last(t, {x[0], x[1], x[0]}), target);
      },
      v);
  Tape tape;
  EXPECT_THROW(concat_last(tape, {tape.constant(Tensor({2, 3})), tape.constant(Tensor({3, 3}))}),
               Error);
}

TEST(AutogradOps, CrossEntropyValuesGradientsAndIgnoredTargets) {
  Rng rng(5);
  std::vector<Tensor> v = {random_tensor({2, 3, 7}, rng, 3.0f)};
  const std::vector<int64_t> targets = {0, 6, -100, 3, 3, 1};
  expect_gradients([&](Tape& t, std::vector<Var>& x) { return cross_entropy(t, x[0], targets); },
                   v);
  // Value against a double-precision log-softmax.
  double want = 0.0;
  for (int n = 0; n < 6; ++n) {
    if (targets[n] < 0) continue;
    double m = -1e30, s = 0.0;
    for (int c = 0; c < 7; ++c) m = std::max<double>(m, v[0][n * 7 + c]);
    for (int c = 0; c < 7; ++c) s += std::exp(v[0][n * 7 + c] - m);
    want += m + std::log(s) - v[0][n * 7 + targets[n]];
  }
  Tape tape;
  double sum = 0.0;
  int64_t count = 0;
  Var loss = cross_entropy(tape, tape.constant(v[0]), targets, -100, &sum, &count);
  EXPECT_EQ(count, 5);
  EXPECT_NEAR(sum, want, 1e-5);
  EXPECT_NEAR(loss.value()[0], want / 5, 1e-6);
  Var none = cross_entropy(tape, tape.constant(v[0]), std::vector<int64_t>(6, 2), 2);
  EXPECT_EQ(none.value()[0], 0.0f);
  EXPECT_THROW(cross_entropy(tape, tape.constant(v[0]), std::vector<int64_t>(6, 7)), Error);
  EXPECT_THROW(cross_entropy(tape, tape.constant(v[0]), {1, 2}), Error);
}

TEST(AutogradOps, MseValueAndShapeError) {
  Tape tape;
  Var loss = mse(tape, tape.constant(Tensor({2}, {1.0f, 3.0f})), Tensor({2}, {0.0f, 1.0f}));
  EXPECT_FLOAT_EQ(loss.value()[0], 2.5f);
  EXPECT_THROW(mse(tape, tape.constant(Tensor({2})), Tensor({3})), Error);
}

TEST(AutogradOps, RecurrentStackGradients) {
  for (RnnMode mode : {RnnMode::kLstm, RnnMode::kGru, RnnMode::kRnnTanh}) {
    SCOPED_TRACE(mode_name(mode));
    RnnOptions o;
    o.mode = mode;
    o.input_size = 3;
    o.hidden_size = 4;
    o.num_layers = 2;
    Rnn rnn(o, 11);
    std::vector<Parameter> rnn_params(rnn.parameter_names().size());
    std::vector<Parameter*> ptrs;
    for (size_t k = 0; k < rnn_params.size(); ++k) {
      rnn_params[k].name = rnn.parameter_names()[k];
      rnn_params[k].value = &rnn.parameter(rnn_params[k].name);
      ptrs.push_back(&rnn_params[k]);
    }
    Rng rng(6);
    const bool lstm = mode == RnnMode::kLstm;
    std::vector<Tensor> v = {random_tensor({5, 2, 3}, rng), random_tensor({2, 2, 4}, rng)};
    if (lstm) v.push_back(random_tensor({2, 2, 4}, rng));
    const Tensor target = random_tensor({5, 2, 4}, rng);
    const Tensor target_h = random_tensor({2, 2, 4}, rng);
    const std::vector<int64_t> lengths = {5, 3};
    // loss = mse(output) + mse(h_n), the sum formed by a linear layer over the two scalars.
    auto build = [&](Tape& t, std::vector<Var>& x) {
      RnnVars r = ag::rnn(t, rnn, ptrs, x[0], lengths, x[1], lstm ? x[2] : Var(), nullptr);
      Var ab = concat_last(t, {mse(t, r.output, target), mse(t, r.h_n, target_h)});
      return linear(t, ab, t.constant(Tensor({1, 2}, {1.0f, 1.0f})), Var());
    };
    for (auto& p : rnn_params) p.grad = Tensor();
    expect_gradients(build, v, 3e-3);
    // The RNN's own parameters, which the op fills through `ptrs`.
    for (const char* name : {"weight_hh_l1", "bias_ih_l0", "weight_ih_l0"}) {
      Tensor& w = rnn.parameter(name);
      const Tensor& g =
          rnn_params[std::find(rnn.parameter_names().begin(), rnn.parameter_names().end(), name) -
                     rnn.parameter_names().begin()]
              .grad;
      ASSERT_EQ(g.shape(), w.shape()) << name;
      std::vector<Parameter> in(v.size());
      for (size_t k = 0; k < v.size(); ++k) in[k] = Parameter{"x", &v[k], {}};
      double diff = 0.0, sum = 0.0;
      for (int64_t i = 0; i < w.numel(); ++i) {
        const float saved = w[i];
        w[i] = saved + 1e-2f;
        const double up = loss_of(build, in);
        w[i] = saved - 1e-2f;
        const double down = loss_of(build, in);
        w[i] = saved;
        const double numeric = (up - down) / 2e-2;
        diff += (g[i] - numeric) * (g[i] - numeric);
        sum += (g[i] + numeric) * (g[i] + numeric);
      }
      EXPECT_LT(std::sqrt(diff) / std::sqrt(sum), 3e-3) << name;
    }
  }
}

TEST(AutogradOps, ActivationsReshapeSelectGradients) {
  Rng rng(21);
  std::vector<Tensor> v = {random_tensor({3, 4}, rng)};
  for (int64_t i = 0; i < v[0].numel(); ++i)  // keep relu away from its kink
    if (std::fabs(v[0][i]) < 0.05f) v[0][i] = 0.3f;
  const Tensor target4 = random_tensor({4}, rng);
  const Tensor target34 = random_tensor({3, 4}, rng);
  expect_gradients([&](Tape& t, std::vector<Var>& x) { return mse(t, relu(t, x[0]), target34); },
                   v);
  expect_gradients([&](Tape& t, std::vector<Var>& x) { return mse(t, tanh(t, x[0]), target34); },
                   v);
  expect_gradients(
      [&](Tape& t, std::vector<Var>& x) {
        return mse(t, select(t, reshape(t, x[0], {2, 6}), 1), Tensor({6}, {1, 2, 3, 4, 5, 6}));
      },
      v);
  expect_gradients(
      [&](Tape& t, std::vector<Var>& x) { return mse(t, select(t, x[0], 2), target4); }, v);
  Tape tape;
  EXPECT_THROW(select(tape, tape.constant(Tensor({2, 3})), 2), Error);
  EXPECT_THROW(reshape(tape, tape.constant(Tensor({2, 3})), {4}), Error);
}

TEST(AutogradOps, PoolingOverValidStepsGradients) {
  Rng rng(22);
  std::vector<Tensor> v = {random_tensor({5, 3, 4}, rng), random_tensor({5, 3}, rng)};
  std::vector<Tensor> x_only = {v[0]};
  const std::vector<int64_t> lengths = {5, 2, 4};
  const Tensor target = random_tensor({3, 4}, rng);
  expect_gradients(
      [&](Tape& t, std::vector<Var>& x) {
        return mse(t, mean_over_time(t, x[0], lengths), target);
      },
      x_only);
  expect_gradients(
      [&](Tape& t, std::vector<Var>& x) { return mse(t, max_over_time(t, x[0], lengths), target); },
      x_only);
  // Attention pooling: softmax of scores over valid steps, then the weighted sum.
  expect_gradients(
      [&](Tape& t, std::vector<Var>& x) {
        return mse(t, weighted_sum_over_time(t, softmax_over_time(t, x[1], lengths), x[0]), target);
      },
      v);
}

TEST(AutogradOps, PaddingCannotChangeAPooledValue) {
  Rng rng(23);
  Tensor x = random_tensor({4, 2, 3}, rng);
  Tensor s = random_tensor({4, 2}, rng);
  const std::vector<int64_t> lengths = {4, 2};
  auto pooled = [&](const Tensor& xv, const Tensor& sv) {
    Tape tape(false);
    Var xs = tape.constant(xv);
    std::vector<float> out;
    for (const Var& y :
         {mean_over_time(tape, xs, lengths), max_over_time(tape, xs, lengths),
          weighted_sum_over_time(tape, softmax_over_time(tape, tape.constant(sv), lengths), xs)})
      for (float f : y.value().to_vector()) out.push_back(f);
    return out;
  };
  const std::vector<float> clean = pooled(x, s);
  for (int64_t t = 2; t < 4; ++t) {  // the padded steps of sequence 1
    for (int64_t f = 0; f < 3; ++f) x[(t * 2 + 1) * 3 + f] = 1e6f;
    s[t * 2 + 1] = 1e6f;
  }
  EXPECT_EQ(pooled(x, s), clean);
  Tape tape;
  EXPECT_THROW(mean_over_time(tape, tape.constant(x), {5, 1}), Error);
  EXPECT_THROW(max_over_time(tape, tape.constant(x), {1}), Error);
}

TEST(AutogradTape, InferenceTapeRecordsNothingAndSkipsDropout) {
  Tensor w = Tensor::full({2, 2}, 0.5f);
  Parameter p{"w", &w, {}};
  Tape tape(false);
  Rng rng(1);
  Var x = tape.constant(Tensor::full({3, 2}, 1.0f));
  Var y = dropout(tape, linear(tape, x, tape.parameter(p), Var()), 0.5f, rng);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(tape.size(), 0u);
  EXPECT_EQ(y.value().to_vector(), std::vector<float>(6, 1.0f));
  // The recurrent stack runs without dropout and equals Rnn::forward.
  RnnOptions o;
  o.input_size = 2;
  o.hidden_size = 3;
  o.num_layers = 2;
  o.dropout = 0.5f;
  Rnn rnn(o, 4);
  std::vector<Parameter> ps(rnn.parameter_names().size());
  std::vector<Parameter*> ptrs;
  for (size_t k = 0; k < ps.size(); ++k) {
    ps[k] = Parameter{rnn.parameter_names()[k], &rnn.parameter(rnn.parameter_names()[k]), {}};
    ptrs.push_back(&ps[k]);
  }
  Tensor in = Tensor::full({4, 1, 2}, 0.25f);
  RnnVars r = ag::rnn(tape, rnn, ptrs, tape.constant(in), {}, Var(), Var(), nullptr);
  EXPECT_EQ(r.output.value().to_vector(), rnn.forward(in).output.to_vector());
  EXPECT_EQ(tape.size(), 0u);
}

TEST(AutogradTape, BackwardNeedsAScalarAndClears) {
  Tape tape;
  Tensor value({2});
  Parameter p{"p", &value, {}};
  EXPECT_THROW(tape.backward(tape.constant(Tensor({2}))), Error);
  EXPECT_THROW(tape.backward(Var()), Error);
  tape.backward(mse(tape, tape.parameter(p), Tensor({2}, {1.0f, 1.0f})));
  EXPECT_EQ(tape.size(), 0u);
  EXPECT_EQ(p.grad.to_vector(), (std::vector<float>{-1.0f, -1.0f}));
  // A second backward accumulates into the same gradient, as in PyTorch.
  tape.backward(mse(tape, tape.parameter(p), Tensor({2}, {1.0f, 1.0f})));
  EXPECT_EQ(p.grad.to_vector(), (std::vector<float>{-2.0f, -2.0f}));
}

}  // namespace
}  // namespace recur::ag
