// RnnStream: step by step equals the full forward (every mode, stacked, projected, batch 1
// and several, f32 and bf16), state get/set/reset, a snapshot of the weights, clear errors.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/random_tensor.h"
#include "kernels/panel_block.h"
#include "recur/error.h"
#include "recur/rng.h"
#include "recur/rnn.h"

namespace recur {
namespace {

using testing::random_tensor;

Tensor row(const Tensor& x, int64_t t) {  // x [T, B, F] -> [B, F] at step t
  const int64_t B = x.size(1), F = x.size(2);
  Tensor y({B, F});
  std::copy_n(x.data() + t * B * F, B * F, y.data());
  return y;
}

// Starts `stream` from args' state, steps it through x [T, B, F] and checks every output and
// the final state against the full forward's `want`.
void expect_steps_follow(RnnStream& stream, const Tensor& x, const RnnArgs& args,
                         const RnnOutput& want, float tol) {
  RnnState s0;
  s0.h = args.h0;
  s0.c = args.c0;
  stream.set_state(s0);
  for (int64_t t = 0; t < x.size(0); ++t) {
    Tensor y = stream.step(row(x, t));
    Tensor w = row(want.output, t);
    for (int64_t i = 0; i < y.numel(); ++i) ASSERT_NEAR(y[i], w[i], tol) << "t=" << t << " i=" << i;
  }
  for (int64_t i = 0; i < want.h_n.numel(); ++i)
    ASSERT_NEAR(stream.state().h[i], want.h_n[i], tol) << "h_n " << i;
  for (int64_t i = 0; i < want.c_n.numel(); ++i)
    ASSERT_NEAR(stream.state().c[i], want.c_n[i], tol) << "c_n " << i;
}

struct Case {
  RnnMode mode;
  int64_t layers, proj, batch;
  bool bias, bf16;
};

class StreamCase : public ::testing::TestWithParam<Case> {};

TEST_P(StreamCase, StepsEqualFullForward) {
  const Case c = GetParam();
  RnnOptions o;
  o.mode = c.mode;
  o.input_size = 20;
  o.hidden_size = 24;
  o.num_layers = c.layers;
  o.proj_size = c.proj;
  o.bias = c.bias;
  o.precision = c.bf16 ? Precision::kBfloat16 : Precision::kFloat32;
  Rnn rnn(o, 3);
  const int64_t T = 9, B = c.batch;
  Tensor x = random_tensor({T, B, o.input_size}, 4);
  RnnArgs args;
  args.h0 = random_tensor({c.layers, B, o.output_hidden_size()}, 5, 0.5f);
  if (c.mode == RnnMode::kLstm) args.c0 = random_tensor({c.layers, B, o.hidden_size}, 6, 0.5f);
  RnnOutput want = rnn.forward(x, args);

  RnnStream stream(rnn, B);
  EXPECT_EQ(stream.batch(), B);
  // bf16: both round the same values, but in a different float order (packed matmul against
  // the engine's); a rounding that falls apart costs about 1e-3.
  const float tol = c.bf16 ? 3e-3f : 2e-6f;
  expect_steps_follow(stream, x, args, want, tol);
  if (HasFatalFailure()) return;

  stream.reset();
  RnnState zero = rnn.initial_state(B);
  Tensor y0 = stream.step(row(x, 0));
  Tensor w0 = rnn.step(row(x, 0), &zero);
  for (int64_t i = 0; i < y0.numel(); ++i) ASSERT_NEAR(y0[i], w0[i], tol) << "after reset " << i;
}

INSTANTIATE_TEST_SUITE_P(Cases, StreamCase,
                         ::testing::Values(Case{RnnMode::kLstm, 1, 0, 1, true, false},
                                           Case{RnnMode::kLstm, 2, 0, 3, true, false},
                                           Case{RnnMode::kLstm, 2, 8, 1, true, false},
                                           Case{RnnMode::kGru, 2, 0, 1, true, false},
                                           Case{RnnMode::kGru, 1, 0, 4, false, false},
                                           Case{RnnMode::kRnnTanh, 2, 0, 1, true, false},
                                           Case{RnnMode::kRnnRelu, 1, 0, 2, false, false},
                                           Case{RnnMode::kLstm, 2, 0, 1, true, true},
                                           Case{RnnMode::kGru, 1, 0, 3, true, true},
                                           Case{RnnMode::kLstm, 1, 8, 2, true, true}),
                         [](const auto& info) { return "case" + std::to_string(info.index); });

TEST(RnnStream, IsASnapshotOfTheWeights) {
  RnnOptions o;
  o.input_size = 4;
  o.hidden_size = 6;
  Rnn rnn(o, 1);
  RnnStream stream(rnn, 1);
  Tensor x = random_tensor({1, 4}, 2);
  RnnState s = rnn.initial_state(1);
  Tensor before = rnn.step(x, &s);
  rnn.parameter("weight_ih_l0")[0] += 1.0f;  // not seen by the stream
  Tensor y = stream.step(x);
  for (int64_t i = 0; i < y.numel(); ++i) EXPECT_FLOAT_EQ(y[i], before[i]);
}

TEST(RnnStream, ClearErrors) {
  RnnOptions o;
  o.input_size = 4;
  o.hidden_size = 6;
  o.bidirectional = true;
  EXPECT_THROW(
      {
        try {
          RnnStream(Rnn(o, 1), 1);
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("bidirectional"), std::string::npos);
          throw;
        }
      },
      Error);
  o.bidirectional = false;
  Rnn rnn(o, 1);
  EXPECT_THROW(RnnStream(rnn, 0), Error);
  RnnStream stream(rnn, 2);
  try {
    stream.step(Tensor({3, 4}));
    FAIL() << "no error for a wrong batch";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 4]"), std::string::npos) << e.what();
  }
  RnnState wrong = rnn.initial_state(3);
  EXPECT_THROW(stream.set_state(wrong), Error);
}

// A batch of one on layers large enough that a step's product is split over the threads by
// hidden units (kernels::GateMatVec, each thread running the cell on its units): every mode, a
// hidden size that is not a multiple of the 16-unit block, 1-3 threads, float and bf16, and
// with recur's panels off (the per-matrix products, as on CPUs without AVX-512).
struct WideCase {
  RnnMode mode;
  int64_t input, hidden, layers, proj;
  bool bf16;
};

class StreamWide : public ::testing::TestWithParam<std::tuple<WideCase, int, bool>> {};

TEST_P(StreamWide, StepsEqualFullForward) {
  const auto [c, threads, panels_off] = GetParam();
  RnnOptions o;
  o.mode = c.mode;
  o.input_size = c.input;
  o.hidden_size = c.hidden;
  o.num_layers = c.layers;
  o.proj_size = c.proj;
  o.precision = c.bf16 ? Precision::kBfloat16 : Precision::kFloat32;
  Rnn rnn(o, 11);
  const int64_t T = 5;
  Tensor x = random_tensor({T, 1, c.input}, 12);
  RnnArgs args;
  args.h0 = random_tensor({c.layers, 1, o.output_hidden_size()}, 13, 0.5f);
  if (c.mode == RnnMode::kLstm) args.c0 = random_tensor({c.layers, 1, c.hidden}, 14, 0.5f);
  const RnnOutput want = rnn.forward(x, args);

  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  kernels::panel_block::g_off_for_tests = panels_off;
  RnnStream stream(rnn, 1);
  expect_steps_follow(stream, x, args, want, c.bf16 ? 3e-3f : 2e-5f);
  kernels::panel_block::g_off_for_tests = false;
  omp_set_num_threads(saved);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, StreamWide,
    // Each over 1 MiB of weights per layer (split from there on), hidden sizes not all
    // multiples of 16.
    ::testing::Combine(::testing::Values(WideCase{RnnMode::kLstm, 100, 224, 2, 0, false},
                                         WideCase{RnnMode::kGru, 100, 264, 1, 0, false},
                                         WideCase{RnnMode::kRnnTanh, 150, 450, 1, 0, false},
                                         WideCase{RnnMode::kLstm, 100, 488, 1, 40, false},
                                         WideCase{RnnMode::kLstm, 100, 328, 2, 0, true},
                                         WideCase{RnnMode::kGru, 100, 392, 1, 0, true}),
                       ::testing::Values(1, 2, 3), ::testing::Bool()),
    [](const auto& info) {
      const WideCase& c = std::get<0>(info.param);
      return "case" + std::to_string(info.index / 6) + "_" + std::to_string(c.hidden) +
             (c.bf16 ? "_bf16" : "_f32") + "_t" + std::to_string(std::get<1>(info.param)) +
             (std::get<2>(info.param) ? "_panels_off" : "");
    });

}  // namespace
}  // namespace recur
