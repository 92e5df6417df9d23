// Properties of the float path that hold whatever the weights: batch independence, variable
// lengths = each sequence alone, bidirectional = forward + reversed pass, step() = forward,
// determinism, padding has no influence, dropout only in training. Plus the float (fast)
// engine against the double (reference) engine on odd shapes.
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

float max_abs_diff(const float* a, const float* b, int64_t n) {
  float worst = 0;
  for (int64_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

float max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  return a.shape() == b.shape() ? max_abs_diff(a.data(), b.data(), a.numel()) : INFINITY;
}

// Rows [b] of a [T, B, F] tensor, first `len` steps, as a [len, 1, F] tensor.
Tensor slice_sequence(const Tensor& x, int64_t b, int64_t len) {
  const int64_t B = x.size(1), F = x.size(2);
  Tensor y({len, 1, F});
  for (int64_t t = 0; t < len; ++t) std::copy_n(x.data() + (t * B + b) * F, F, y.data() + t * F);
  return y;
}

// Entry [ld, b] of a [LD, B, F] state as [LD, 1, F].
Tensor slice_state(const Tensor& s, int64_t b) {
  const int64_t LD = s.size(0), B = s.size(1), F = s.size(2);
  Tensor y({LD, 1, F});
  for (int64_t i = 0; i < LD; ++i) std::copy_n(s.data() + (i * B + b) * F, F, y.data() + i * F);
  return y;
}

RnnOptions options(RnnMode mode, int64_t layers, bool bi, int64_t proj = 0) {
  RnnOptions o;
  o.mode = mode;
  o.input_size = 7;
  o.hidden_size = 9;
  o.num_layers = layers;
  o.bidirectional = bi;
  o.proj_size = proj;
  return o;
}

class PerMode : public ::testing::TestWithParam<RnnMode> {};

TEST_P(PerMode, VariableLengthsEqualEachSequenceAlone) {
  RnnOptions o = options(GetParam(), 2, true, GetParam() == RnnMode::kLstm ? 4 : 0);
  Rnn rnn(o, 1);
  const int64_t T = 6, B = 4;
  Tensor x = random_tensor({T, B, o.input_size}, 2);
  RnnArgs args;
  args.lengths = {3, 6, 1, 4};
  args.h0 = random_tensor({4, B, o.output_hidden_size()}, 3, 0.5f);
  if (o.mode == RnnMode::kLstm) args.c0 = random_tensor({4, B, o.hidden_size}, 4, 0.5f);
  RnnOutput all = rnn.forward(x, args);
  const int64_t Y = all.output.size(2);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t len = args.lengths[b];
    RnnArgs one;
    one.h0 = slice_state(args.h0, b);
    if (o.mode == RnnMode::kLstm) one.c0 = slice_state(args.c0, b);
    RnnOutput alone = rnn.forward(slice_sequence(x, b, len), one);
    for (int64_t t = 0; t < T; ++t) {
      const float* got = all.output.data() + (t * B + b) * Y;
      if (t < len) {
        EXPECT_LT(max_abs_diff(got, alone.output.data() + t * Y, Y), 1e-5f) << "b=" << b;
      } else {
        EXPECT_EQ(*std::max_element(got, got + Y), 0.0f);
        EXPECT_EQ(*std::min_element(got, got + Y), 0.0f);
      }
    }
    EXPECT_LT(max_abs_diff(slice_state(all.h_n, b), alone.h_n), 1e-5f) << "h_n b=" << b;
    if (o.mode == RnnMode::kLstm) {
      EXPECT_LT(max_abs_diff(slice_state(all.c_n, b), alone.c_n), 1e-5f) << "c_n b=" << b;
    }
  }
}

TEST_P(PerMode, PaddingHasNoInfluence) {
  RnnOptions o = options(GetParam(), 2, true);
  Rnn rnn(o, 5);
  const int64_t T = 5, B = 3;
  Tensor x = random_tensor({T, B, o.input_size}, 6);
  RnnArgs args;
  args.lengths = {2, 5, 3};
  Tensor noisy = x;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b)
      if (t >= args.lengths[b])
        for (int64_t i = 0; i < o.input_size; ++i)
          noisy[(t * B + b) * o.input_size + i] = (i % 2) ? NAN : 1e30f;
  RnnWorkspace ws1, ws2;
  RnnOutput a = rnn.forward_train(x, args, &ws1);
  RnnOutput b = rnn.forward_train(noisy, args, &ws2);
  EXPECT_EQ(max_abs_diff(a.output, b.output), 0.0f);
  EXPECT_EQ(max_abs_diff(a.h_n, b.h_n), 0.0f);
  Tensor dy = random_tensor(a.output.shape(), 7), dy_noisy = dy;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t bb = 0; bb < B; ++bb)
      if (t >= args.lengths[bb])
        for (int64_t i = 0; i < dy.size(2); ++i) dy_noisy[(t * B + bb) * dy.size(2) + i] = 1e30f;
  RnnGrads g1 = rnn.backward(ws1, dy);
  RnnGrads g2 = rnn.backward(ws2, dy_noisy);
  for (const auto& name : rnn.parameter_names())
    EXPECT_EQ(max_abs_diff(g1.parameters.at(name), g2.parameters.at(name)), 0.0f) << name;
  EXPECT_EQ(max_abs_diff(g1.input, g2.input), 0.0f);
}

TEST_P(PerMode, BatchIndependence) {
  RnnOptions o = options(GetParam(), 1, false);
  Rnn rnn(o, 8);
  const int64_t T = 4, B = 5;
  Tensor x = random_tensor({T, B, o.input_size}, 9);
  RnnOutput all = rnn.forward(x);
  Tensor changed = x;
  for (int64_t t = 0; t < T; ++t)  // change sequence 2 only
    for (int64_t i = 0; i < o.input_size; ++i) changed[(t * B + 2) * o.input_size + i] += 1.0f;
  RnnOutput other = rnn.forward(changed);
  const int64_t Y = all.output.size(2);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) {
      float d = max_abs_diff(all.output.data() + (t * B + b) * Y,
                             other.output.data() + (t * B + b) * Y, Y);
      if (b == 2) {
        EXPECT_GT(d, 0.0f);
      } else
        EXPECT_LT(d, 1e-6f) << "t=" << t << " b=" << b;
    }
}

TEST_P(PerMode, BidirectionalIsForwardPlusReversedPass) {
  RnnOptions bi = options(GetParam(), 1, true);
  Rnn rnn(bi, 10);
  RnnOptions uni = bi;
  uni.bidirectional = false;
  Rnn fwd(uni), bwd(uni);
  for (const auto& name : fwd.parameter_names()) {
    fwd.parameter(name) = rnn.parameter(name);
    bwd.parameter(name) = rnn.parameter(name + "_reverse");
  }
  const int64_t T = 5, B = 2, H = bi.hidden_size;
  Tensor x = random_tensor({T, B, bi.input_size}, 11);
  Tensor x_rev({T, B, bi.input_size});
  for (int64_t t = 0; t < T; ++t)
    std::copy_n(x.data() + (T - 1 - t) * B * bi.input_size, B * bi.input_size,
                x_rev.data() + t * B * bi.input_size);
  RnnOutput both = rnn.forward(x), f = fwd.forward(x), r = bwd.forward(x_rev);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) {
      EXPECT_LT(max_abs_diff(both.output.data() + (t * B + b) * 2 * H,
                             f.output.data() + (t * B + b) * H, H),
                1e-6f);
      EXPECT_LT(max_abs_diff(both.output.data() + (t * B + b) * 2 * H + H,
                             r.output.data() + ((T - 1 - t) * B + b) * H, H),
                1e-6f);
    }
}

TEST_P(PerMode, StepLoopEqualsFullForward) {
  for (bool batch_first : {false, true}) {
    RnnOptions o = options(GetParam(), 3, false, GetParam() == RnnMode::kLstm ? 5 : 0);
    o.batch_first = batch_first;
    Rnn rnn(o, 12);
    const int64_t T = 6, B = 3;
    Tensor x =
        random_tensor(batch_first ? Shape{B, T, o.input_size} : Shape{T, B, o.input_size}, 13);
    RnnOutput full = rnn.forward(x);
    RnnState state = rnn.initial_state(B);
    const int64_t Ho = o.output_hidden_size();
    for (int64_t t = 0; t < T; ++t) {
      Tensor xt({B, o.input_size});
      for (int64_t b = 0; b < B; ++b) {
        const int64_t row = batch_first ? b * T + t : t * B + b;
        std::copy_n(x.data() + row * o.input_size, o.input_size, xt.data() + b * o.input_size);
      }
      Tensor yt = rnn.step(xt, &state);
      for (int64_t b = 0; b < B; ++b) {
        const int64_t row = batch_first ? b * T + t : t * B + b;
        EXPECT_LT(max_abs_diff(yt.data() + b * Ho, full.output.data() + row * Ho, Ho), 1e-5f)
            << "t=" << t;
      }
    }
    EXPECT_LT(max_abs_diff(state.h, full.h_n), 1e-5f);
    if (o.mode == RnnMode::kLstm) {
      EXPECT_LT(max_abs_diff(state.c, full.c_n), 1e-5f);
    }
  }
}

TEST_P(PerMode, CopiedStateBranchesIndependently) {
  RnnOptions o = options(GetParam(), 1, false);
  Rnn rnn(o, 14);
  RnnState s = rnn.initial_state(1);
  Tensor x = random_tensor({1, o.input_size}, 15);
  rnn.step(x, &s);
  RnnState copy = s;
  Tensor a = rnn.step(x, &s);
  Tensor b = rnn.step(x, &copy);
  EXPECT_EQ(max_abs_diff(a, b), 0.0f);
}

// forward(input, args, &out) equals forward(input, args) whatever `out` held before: reused
// tensors (same buffer, no reallocation) with stale values in them, tensors of the wrong shape
// or of another configuration, padded steps, batch_first.
TEST_P(PerMode, ForwardIntoOutputMatchesAndReuses) {
  for (bool batch_first : {false, true}) {
    SCOPED_TRACE(batch_first ? "batch_first" : "time-major");
    RnnOptions o = options(GetParam(), 2, true);
    o.batch_first = batch_first;
    Rnn rnn(o, 23);
    const int64_t T = 5, B = 3;
    Tensor x =
        random_tensor(batch_first ? Shape{B, T, o.input_size} : Shape{T, B, o.input_size}, 24);
    RnnArgs padded;
    padded.lengths = {5, 2, 4};

    RnnOutput out;
    out.c_n = Tensor({1, 1, 1});  // wrong for every mode: replaced (or dropped for non-LSTM)
    for (const RnnArgs& args : {RnnArgs{}, padded, RnnArgs{}, padded}) {
      RnnOutput want = rnn.forward(x, args);
      // Stale values in the reused tensors must not leak into the result.
      for (Tensor* t : {&out.output, &out.h_n, &out.c_n})
        if (t->defined())
          for (int64_t i = 0; i < t->numel(); ++i) (*t)[i] = 1e3f;
      const float* before = out.output.defined() ? out.output.data() : nullptr;
      rnn.forward(x, args, &out);
      EXPECT_EQ(max_abs_diff(out.output, want.output), 0.0f);
      EXPECT_EQ(max_abs_diff(out.h_n, want.h_n), 0.0f);
      EXPECT_EQ(out.c_n.defined(), want.c_n.defined());
      if (want.c_n.defined()) {
        EXPECT_EQ(max_abs_diff(out.c_n, want.c_n), 0.0f);
      }
      if (before && !batch_first) {
        EXPECT_EQ(out.output.data(), before) << "output reallocated";
      }
    }
    // Another batch size: every tensor is replaced by one of the new shape.
    Tensor x1 =
        random_tensor(batch_first ? Shape{1, T, o.input_size} : Shape{T, 1, o.input_size}, 25);
    rnn.forward(x1, {}, &out);
    EXPECT_EQ(max_abs_diff(out.output, rnn.forward(x1).output), 0.0f);
    EXPECT_EQ(out.h_n.size(1), 1);
  }
  Rnn rnn(options(GetParam(), 1, false), 26);
  EXPECT_THROW(rnn.forward(random_tensor({2, 1, 7}, 27), {}, nullptr), Error);
  // The input may not be one of the tensors written: replacing it would free what is read.
  RnnOutput aliased;
  aliased.output = random_tensor({2, 1, 7}, 28);
  EXPECT_THROW(rnn.forward(aliased.output, {}, &aliased), Error);
}

TEST_P(PerMode, DeterministicBySeed) {
  RnnOptions o = options(GetParam(), 2, true);
  o.dropout = 0.3f;
  Rnn a(o, 77), b(o, 77), c(o, 78);
  for (const auto& name : a.parameter_names()) {
    EXPECT_EQ(max_abs_diff(a.parameter(name), b.parameter(name)), 0.0f);
    EXPECT_GT(max_abs_diff(a.parameter(name), c.parameter(name)), 0.0f);
  }
  Tensor x = random_tensor({4, 2, o.input_size}, 16);
  Rng r1(5), r2(5);
  RnnWorkspace w1, w2;
  RnnOutput y1 = a.forward_train(x, {}, &w1, &r1);
  RnnOutput y2 = a.forward_train(x, {}, &w2, &r2);
  EXPECT_EQ(max_abs_diff(y1.output, y2.output), 0.0f);
}

TEST_P(PerMode, DropoutOnlyInTraining) {
  RnnOptions o = options(GetParam(), 2, false);
  Rnn plain(o, 17);
  o.dropout = 0.5f;
  Rnn dropped(o, 17);
  Tensor x = random_tensor({5, 3, o.input_size}, 18);
  EXPECT_EQ(max_abs_diff(plain.forward(x).output, dropped.forward(x).output), 0.0f);
  Rng rng(1);
  RnnWorkspace ws;
  EXPECT_GT(max_abs_diff(plain.forward(x).output, dropped.forward_train(x, {}, &ws, &rng).output),
            1e-3f);
  RnnWorkspace ws2;
  EXPECT_THROW(dropped.forward_train(x, {}, &ws2, nullptr), Error);
}

INSTANTIATE_TEST_SUITE_P(Modes, PerMode,
                         ::testing::Values(RnnMode::kRnnTanh, RnnMode::kRnnRelu, RnnMode::kLstm,
                                           RnnMode::kGru),
                         [](const auto& info) { return mode_name(info.param); });

// The float engine (oneDNN GEMM, float cells) against the double reference engine on odd
// shapes. Tolerance: float rounding grows with the accumulation length (K of the GEMMs
// times the steps), so it is a small multiple of that times float epsilon.
struct OddShape {
  int64_t T, B, I, H;
  bool bidirectional = true;  // one direction: large steps go to two threads
};

class FastVsReference : public ::testing::TestWithParam<std::tuple<RnnMode, OddShape>> {};

TEST_P(FastVsReference, Agree) {
  auto [mode, s] = GetParam();
  RnnOptions o = options(mode, 2, s.bidirectional);
  o.input_size = s.I;
  o.hidden_size = s.H;
  Rnn rnn(o, 19);
  Tensor x = random_tensor({s.T, s.B, s.I}, 20);
  RnnWorkspace ws;
  RnnOutput y = rnn.forward_train(x, {}, &ws);
  Tensor dy = random_tensor(y.output.shape(), 21);
  RnnGrads g = rnn.backward(ws, dy);

  rnn::StackParams<double> p;
  p.options = o;
  std::vector<std::vector<double>> store;
  for (const auto& name : rnn.parameter_names()) {
    const Tensor& t = rnn.parameter(name);
    store.emplace_back(t.data(), t.data() + t.numel());
  }
  for (size_t i = 0; i < store.size(); i += 4) {
    rnn::LayerParams<double> lp;
    lp.w_ih = store[i].data();
    lp.w_hh = store[i + 1].data();
    lp.b_ih = store[i + 2].data();
    lp.b_hh = store[i + 3].data();
    p.layers.push_back(lp);
  }
  rnn::Batch batch = rnn::Batch::make(s.T, s.B, {});
  std::vector<double> xd(x.data(), x.data() + x.numel()), out(y.output.numel(), 0.0);
  std::vector<double> hn(y.h_n.numel()), cn(y.c_n.numel() + 1);
  rnn::StackWorkspace<double> wsd;
  rnn::stack_forward<double>(p, batch, xd.data(), nullptr, nullptr, out.data(), hn.data(),
                             cn.data(), nullptr, &wsd);
  std::vector<double> dyd(dy.data(), dy.data() + dy.numel()), dx(xd.size()), dh0(hn.size()),
      dc0(cn.size());
  std::vector<rnn::LayerGrads<double>> gd;
  rnn::stack_backward<double>(p, wsd, dyd.data(), nullptr, nullptr, &gd, dx.data(), dh0.data(),
                              dc0.data());

  const double k = std::max(s.I, 2 * s.H) * s.T;  // accumulation length
  const double tol = 16 * k * 1.2e-7;
  auto check = [&](const float* got, const double* want, int64_t n, const char* what) {
    double worst = 0;
    for (int64_t i = 0; i < n; ++i)
      worst = std::max(worst, std::abs(got[i] - want[i]) / std::max(1.0, std::abs(want[i])));
    EXPECT_LT(worst, tol) << what;
  };
  check(y.output.data(), out.data(), out.size(), "output");
  // Inference takes the same steps without saving anything (its own buffers; at two threads the
  // state alternates between two of them, so odd and even T end in different ones).
  RnnOutput inf = rnn.forward(x);
  check(inf.output.data(), out.data(), out.size(), "inference output");
  check(inf.h_n.data(), hn.data(), hn.size(), "inference h_n");
  if (mode == RnnMode::kLstm) check(inf.c_n.data(), cn.data(), inf.c_n.numel(), "inference c_n");
  check(g.input.data(), dx.data(), dx.size(), "grad input");
  check(g.parameters.at("weight_hh_l0").data(), gd[0].w_hh.data(), gd[0].w_hh.size(), "w_hh");
  const size_t D = s.bidirectional ? 2 : 1;  // gd index: layer * D + direction
  check(g.parameters.at("weight_hh_l1").data(), gd[D].w_hh.data(), gd[D].w_hh.size(), "w_hh_l1");
  check(g.parameters.at("bias_hh_l1").data(), gd[D].b_hh.data(), gd[D].b_hh.size(), "b_hh_l1");
  if (s.bidirectional)
    check(g.parameters.at("weight_ih_l1_reverse").data(), gd[3].w_ih.data(), gd[3].w_ih.size(),
          "w_ih_l1_reverse");
}

INSTANTIATE_TEST_SUITE_P(
    OddShapes, FastVsReference,
    ::testing::Combine(::testing::Values(RnnMode::kRnnTanh, RnnMode::kLstm, RnnMode::kGru),
                       ::testing::Values(OddShape{1, 1, 3, 17}, OddShape{7, 1, 33, 15},
                                         OddShape{3, 5, 1, 31}, OddShape{9, 3, 20, 1},
                                         OddShape{6, 3, 9, 136, false},
                                         OddShape{5, 1, 7, 150, false},
                                         // a batch of one from 32 steps on, one thread per
                                         // product: kernels::GateMatVec and ColumnMatVec
                                         OddShape{40, 1, 20, 72}, OddShape{33, 1, 9, 100, false},
                                         // ... and 1 MiB of W_hh, split over two threads
                                         OddShape{5, 1, 20, 260, false},
                                         // past the engine's two-thread threshold (2M
                                         // multiply-adds per step): each thread owns half of
                                         // the hidden units
                                         OddShape{5, 9, 20, 520, false},
                                         OddShape{6, 9, 20, 520, false})));

}  // namespace
}  // namespace recur
