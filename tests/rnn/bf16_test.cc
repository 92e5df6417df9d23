// The bf16 mode (RnnOptions::precision): the float engine in bf16 against the double
// reference engine emulating it (every matrix-product input rounded to bf16), forward and
// backward, for every mode with variable lengths, projections and two directions. The two
// differ only where a value sits so close to a bf16 rounding boundary that float and double
// round it apart, so they agree far more closely than bf16 agrees with f32 — which the test
// checks too, so a bf16 mode that did nothing would fail.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/random_tensor.h"
#include "recur/error.h"
#include "recur/rng.h"
#include "recur/rnn.h"
#include "rnn/engine.h"

namespace recur {
namespace {

using testing::random_tensor;

struct Results {
  std::vector<double> output, h_n, dx, dh0;
  std::vector<std::vector<double>> dparams;  // in parameter_names() order
};

std::vector<double> to_double(const Tensor& t) {
  return std::vector<double>(t.data(), t.data() + t.numel());
}

Results run_float(const Rnn& rnn, const Tensor& x, const RnnArgs& args, const Tensor& dy) {
  RnnWorkspace ws;
  RnnOutput y = rnn.forward_train(x, args, &ws);
  RnnGrads g = rnn.backward(ws, dy);
  Results r{to_double(y.output), to_double(y.h_n), to_double(g.input), to_double(g.h0), {}};
  for (const auto& name : rnn.parameter_names())
    r.dparams.push_back(to_double(g.parameters.at(name)));
  return r;
}

Results run_reference(const Rnn& rnn, const Tensor& x, const RnnArgs& args, const Tensor& dy) {
  const RnnOptions& o = rnn.options();
  rnn::StackParams<double> p;
  p.options = o;
  std::vector<std::vector<double>> store;
  for (const auto& name : rnn.parameter_names()) store.push_back(to_double(rnn.parameter(name)));
  size_t i = 0;
  for (int64_t ld = 0; ld < o.num_layers * o.num_directions(); ++ld) {
    rnn::LayerParams<double> lp;
    lp.w_ih = store[i++].data();
    lp.w_hh = store[i++].data();
    if (o.bias) {
      lp.b_ih = store[i++].data();
      lp.b_hh = store[i++].data();
    }
    if (o.proj_size) lp.w_hr = store[i++].data();
    p.layers.push_back(lp);
  }
  const int64_t T = x.size(0), B = x.size(1);
  rnn::Batch batch = rnn::Batch::make(T, B, args.lengths);
  std::vector<double> xd = to_double(x);
  for (int64_t t = 0; t < T; ++t)  // the engine wants zeros at padded steps
    for (int64_t b = 0; b < B; ++b)
      if (t >= batch.lengths[b]) std::fill_n(&xd[(t * B + b) * o.input_size], o.input_size, 0.0);
  const int64_t LD = o.num_layers * o.num_directions();
  Results r;
  r.output.assign(T * B * o.num_directions() * o.output_hidden_size(), 0.0);
  r.h_n.assign(LD * B * o.output_hidden_size(), 0.0);
  std::vector<double> cn(LD * B * o.hidden_size + 1);
  rnn::StackWorkspace<double> ws;
  rnn::stack_forward<double>(p, batch, xd.data(), nullptr, nullptr, r.output.data(), r.h_n.data(),
                             cn.data(), nullptr, &ws);
  std::vector<double> dyd = to_double(dy), dc0(cn.size());
  r.dx.assign(xd.size(), 0.0);
  r.dh0.assign(r.h_n.size(), 0.0);
  std::vector<rnn::LayerGrads<double>> g;
  rnn::stack_backward<double>(p, ws, dyd.data(), nullptr, nullptr, &g, r.dx.data(), r.dh0.data(),
                              dc0.data());
  for (const auto& lg : g) {
    r.dparams.push_back(lg.w_ih);
    r.dparams.push_back(lg.w_hh);
    if (o.bias) {
      r.dparams.push_back(lg.b_ih);
      r.dparams.push_back(lg.b_hh);
    }
    if (o.proj_size) r.dparams.push_back(lg.w_hr);
  }
  return r;
}

// max |a - b| / max(1, max |b|)
double rel_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0, scale = 1;
  for (size_t i = 0; i < b.size(); ++i) {
    worst = std::max(worst, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return worst / scale;
}

// Float arithmetic contracted into fused multiply-adds, as in optimised builds for a target
// with FMA (the default, -march=native, here).
#if defined(__OPTIMIZE__) && defined(__FMA__)
constexpr bool kFused = true;
#else
constexpr bool kFused = false;
#endif

struct Case {
  RnnMode mode;
  int64_t layers;
  bool bidirectional;
  int64_t proj;
  bool lengths;
  // Large enough (B · 4H · H >= 2^22) and at 2 threads: the two-thread forward, each thread
  // multiplying [x_t | h] by its own gate rows of [W_ih | W_hh].
  int64_t hidden = 40, batch = 5;
  // A batch of one from 32 steps on: h·W_hhᵀ on kernels::GateMatVec's bf16 blocks.
  int64_t steps = 12;
};

class Bf16Mode : public ::testing::TestWithParam<Case> {};

TEST_P(Bf16Mode, FloatEngineMatchesBf16Reference) {
  const Case c = GetParam();
  RnnOptions o;
  o.mode = c.mode;
  o.input_size = 24;
  o.hidden_size = c.hidden;
  o.num_layers = c.layers;
  o.bidirectional = c.bidirectional;
  o.proj_size = c.proj;
  Rnn rnn(o, 5);
  const int64_t T = c.steps, B = c.batch;
  Tensor x = random_tensor({T, B, o.input_size}, 6);
  RnnArgs args;
  if (c.lengths) args.lengths = {12, 3, 7, 1, 12};
  Tensor dy = random_tensor({T, B, o.num_directions() * o.output_hidden_size()}, 7);

  Results f32 = run_float(rnn, x, args, dy);
  rnn.set_precision(Precision::kBfloat16);
  ASSERT_EQ(rnn.options().precision, Precision::kBfloat16);
  Results bf16 = run_float(rnn, x, args, dy);
  Results ref = run_reference(rnn, x, args, dy);

  // Float and double round almost every value to the same bf16 neighbour, so the float engine
  // in bf16 matches its emulation to float accuracy (measured: 3e-7 in optimised builds),
  // while bf16 moves results by 5e-4 to 0.3 away from f32. A value on a bf16 rounding boundary
  // rounds apart and moves what depends on it by about 1e-4; through a recurrence the move
  // spreads. Builds without FMA contraction (unoptimised ones such as the asan preset, and
  // portable ones, RECUR_NATIVE=OFF, since baseline x86-64 has no FMA) stray further from
  // double and see many such values; there the GRU cases' gradients end up 2e-3 from the
  // emulation, and only the loose bound and "bf16 is not f32" are checked.
  auto check = [&](const std::vector<double>& got, const std::vector<double>& f32_value,
                   const std::vector<double>& want, const std::string& what) {
    const double off = rel_diff(got, want), f32_off = rel_diff(f32_value, want);
    EXPECT_LT(off, 5e-3) << what;
    EXPECT_GT(f32_off, 1e-4) << what << ": f32 gives the bf16 result";
    if (kFused) {
      EXPECT_LT(off, 1e-3) << what;
      EXPECT_LT(off, 0.5 * f32_off) << what << ": bf16 " << off << " vs f32 " << f32_off;
    }
  };
  check(bf16.output, f32.output, ref.output, "output");
  check(to_double(rnn.forward(x, args).output), f32.output, ref.output, "inference output");
  check(bf16.h_n, f32.h_n, ref.h_n, "h_n");
  check(bf16.dx, f32.dx, ref.dx, "grad input");
  check(bf16.dh0, f32.dh0, ref.dh0, "grad h0");
  for (size_t i = 0; i < ref.dparams.size(); ++i)
    check(bf16.dparams[i], f32.dparams[i], ref.dparams[i], rnn.parameter_names()[i]);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Bf16Mode,
    ::testing::Values(
        Case{RnnMode::kRnnTanh, 1, false, 0, false}, Case{RnnMode::kRnnRelu, 2, true, 0, true},
        Case{RnnMode::kLstm, 1, false, 0, false}, Case{RnnMode::kLstm, 2, true, 0, true},
        Case{RnnMode::kLstm, 2, true, 0, false}, Case{RnnMode::kLstm, 1, false, 0, false, 272, 16},
        // H a multiple of the panels' 32 columns
        Case{RnnMode::kLstm, 2, true, 0, false, 32, 5},
        Case{RnnMode::kRnnTanh, 1, false, 0, false, 64, 5},
        Case{RnnMode::kLstm, 2, false, 0, false, 64, 5},
        Case{RnnMode::kLstm, 1, true, 0, false, 64, 5}, Case{RnnMode::kLstm, 1, false, 16, true},
        Case{RnnMode::kGru, 1, false, 0, false}, Case{RnnMode::kLstm, 1, true, 0, false, 40, 1, 40},
        Case{RnnMode::kGru, 2, false, 0, false, 48, 1, 36}, Case{RnnMode::kGru, 2, true, 0, true}),
    [](const auto& info) { return "case" + std::to_string(info.index); });

TEST(Bf16Mode, StepMatchesForwardAndBatchOfOneUsesBf16) {
  RnnOptions o;
  o.mode = RnnMode::kLstm;
  o.input_size = 32;
  o.hidden_size = 64;
  o.precision = Precision::kBfloat16;
  Rnn rnn(o, 9);
  const int64_t T = 10;
  Tensor x = random_tensor({T, 1, o.input_size}, 10);
  RnnOutput all = rnn.forward(x);
  RnnState state = rnn.initial_state(1);
  double worst = 0;
  for (int64_t t = 0; t < T; ++t) {
    Tensor xt({1, o.input_size});
    std::copy_n(x.data() + t * o.input_size, o.input_size, xt.data());
    Tensor y = rnn.step(xt, &state);
    for (int64_t k = 0; k < o.hidden_size; ++k)
      worst = std::max(worst, double(std::abs(y[k] - all.output[t * o.hidden_size + k])));
  }
  EXPECT_LT(worst, 2e-3);
  Rnn plain = rnn;
  plain.set_precision(Precision::kFloat32);
  RnnOutput f32 = plain.forward(x);
  double moved = 0;
  for (int64_t i = 0; i < f32.output.numel(); ++i)
    moved = std::max(moved, double(std::abs(f32.output[i] - all.output[i])));
  EXPECT_GT(moved, 1e-4) << "bf16 gave the f32 result";
}

TEST(Bf16Mode, PrecisionNames) {
  EXPECT_EQ(parse_precision("bf16"), Precision::kBfloat16);
  EXPECT_EQ(parse_precision("f32"), Precision::kFloat32);
  EXPECT_EQ(precision_name(Precision::kBfloat16), "bf16");
  EXPECT_THROW(parse_precision("fp8"), Error);
}

}  // namespace
}  // namespace recur
