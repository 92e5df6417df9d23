// RnnInference: the same outputs as Rnn::forward, bit for bit, on every path that packs weights
// (W_ih and W_hh side by side for small layers, W_hh whole or split over two threads, the
// two-thread forward's own gate rows, bf16's input projection), on the first call and on later
// ones that reuse what was packed, across batch sizes, lengths and thread counts; a snapshot
// that later changes to the Rnn do not reach.
#include <gtest/gtest.h>
#include <omp.h>

#include <cstring>
#include <string>
#include <vector>

#include "common/random_tensor.h"
#include "kernels/panel_block.h"
#include "recur/error.h"
#include "recur/rnn.h"

namespace recur {
namespace {

using testing::random_tensor;

void expect_identical(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  ASSERT_EQ(std::memcmp(got.data(), want.data(), want.numel() * sizeof(float)), 0)
      << what << ": not the same bits as Rnn::forward";
}

void expect_same(const RnnOutput& got, const RnnOutput& want, const std::string& what) {
  expect_identical(got.output, want.output, what + " output");
  expect_identical(got.h_n, want.h_n, what + " h_n");
  EXPECT_EQ(got.c_n.defined(), want.c_n.defined()) << what;
  if (want.c_n.defined()) expect_identical(got.c_n, want.c_n, what + " c_n");
}

struct Case {
  const char* name;
  RnnMode mode;
  int64_t input, hidden, layers, proj;
  bool bidirectional, bf16;
};

class InferenceCase : public ::testing::TestWithParam<Case> {};

// Each call: a batch size and whether the sequences have lengths of their own; the same
// configuration comes back after others, so that it reuses weights packed calls before.
TEST_P(InferenceCase, SameBitsAsForwardCallAfterCall) {
  const Case c = GetParam();
  RnnOptions o;
  o.mode = c.mode;
  o.input_size = c.input;
  o.hidden_size = c.hidden;
  o.num_layers = c.layers;
  o.proj_size = c.proj;
  o.bidirectional = c.bidirectional;
  o.precision = c.bf16 ? Precision::kBfloat16 : Precision::kFloat32;
  Rnn rnn(o, 21);
  RnnInference inference(rnn);
  const int64_t T = 6;
  struct Call {
    int threads;
    int64_t batch;
    bool lengths;
  };
  int seed = 30;
  for (const Call& call :
       {Call{1, 16, false}, Call{2, 16, false}, Call{2, 16, true}, Call{1, 3, true},
        Call{2, 1, false}, Call{1, 16, false}, Call{2, 16, false}, Call{2, 16, true}}) {
    omp_set_num_threads(call.threads);
    Tensor x = random_tensor({T, call.batch, o.input_size}, ++seed);
    RnnArgs args;
    if (call.lengths) {
      args.lengths.assign(call.batch, T);
      args.lengths[1] = 2;
    }
    args.h0 = random_tensor({o.num_layers * o.num_directions(), call.batch, o.output_hidden_size()},
                            ++seed, 0.5f);
    const std::string what = std::string(c.name) + ", " + std::to_string(call.threads) +
                             " thread(s), batch " + std::to_string(call.batch);
    const RnnOutput want = rnn.forward(x, args);
    expect_same(inference.forward(x, args), want, what);
    RnnOutput reused;
    inference.forward(x, args, &reused);
    inference.forward(x, args, &reused);
    expect_same(reused, want, what + ", into the same RnnOutput");
  }
  omp_set_num_threads(2);
}

INSTANTIATE_TEST_SUITE_P(
    Paths, InferenceCase,
    ::testing::Values(
        // Small: [W_ih | W_hh] side by side (fused), float and bf16.
        Case{"lstm_small", RnnMode::kLstm, 24, 40, 1, 0, false, false},
        Case{"lstm_small_bf16", RnnMode::kLstm, 24, 40, 1, 0, false, true},
        Case{"rnn_tanh_stacked_bidirectional", RnnMode::kRnnTanh, 9, 36, 2, 0, true, false},
        // GRU keeps W_hh apart; a projection rules the fused path out.
        Case{"gru_bidirectional_bf16", RnnMode::kGru, 17, 48, 2, 0, true, true},
        Case{"lstm_projected", RnnMode::kLstm, 12, 40, 2, 16, false, false},
        // Large enough for W_hh split over two threads and the two-thread forward at batch 16
        // (16 · 4H · H >= 2^20 in float, 2^22 in bf16).
        Case{"lstm_large", RnnMode::kLstm, 64, 160, 1, 0, false, false},
        Case{"gru_large", RnnMode::kGru, 64, 160, 1, 0, false, false},
        Case{"lstm_large_bf16", RnnMode::kLstm, 64, 272, 1, 0, false, true}),
    [](const auto& info) { return std::string(info.param.name); });

// A batch of one from 32 steps on: the per-step products on weights packed in blocks
// (kernels::GateMatVec, kept in the cache) where they run on one thread, MatVec where split.
// Calls alternate between 1 and 2 threads, so the cached blocks serve again after a split call.
TEST(RnnInference, BatchOfOneLongSequences) {
  struct Config {
    const char* name;
    RnnMode mode;
    int64_t hidden;
    bool bidirectional, bf16;
  };
  // W_hh under the split threshold (one thread per product at 1 and 2 threads), or over it
  // (split at 2 threads: 1 MiB, 2^18 float or 2^19 bf16 weights).
  for (const Config& c : {Config{"LSTM bidirectional", RnnMode::kLstm, 72, true, false},
                          Config{"GRU split", RnnMode::kGru, 300, false, false},
                          Config{"LSTM bf16", RnnMode::kLstm, 72, false, true},
                          Config{"LSTM bf16 split", RnnMode::kLstm, 368, false, true}}) {
    RnnOptions o;
    o.mode = c.mode;
    o.input_size = 20;
    o.hidden_size = c.hidden;
    o.bidirectional = c.bidirectional;
    o.precision = c.bf16 ? Precision::kBfloat16 : Precision::kFloat32;
    Rnn rnn(o, 23);
    RnnInference inference(rnn);
    int seed = 50;
    for (const int threads : {1, 2, 1, 2, 1}) {
      omp_set_num_threads(threads);
      Tensor x = random_tensor({40, 1, o.input_size}, ++seed);
      expect_same(inference.forward(x), rnn.forward(x),
                  std::string(c.name) + ", " + std::to_string(threads) + " thread(s)");
    }
  }
  omp_set_num_threads(2);
}

// Where the CPU lacks AVX-512 (or avx512_bf16) the engine runs on oneDNN's products: nothing
// fused, packed weights in oneDNN's layout. The snapshot must keep those as well.
TEST(RnnInference, SameBitsWithoutRecursPanels) {
  struct PanelsOff {
    PanelsOff() { kernels::panel_block::g_off_for_tests = true; }
    ~PanelsOff() { kernels::panel_block::g_off_for_tests = false; }
  } off;
  for (const RnnMode mode : {RnnMode::kLstm, RnnMode::kGru})
    for (const bool bf16 : {false, true}) {
      RnnOptions o;
      o.mode = mode;
      o.input_size = 24;
      o.hidden_size = 160;
      o.precision = bf16 ? Precision::kBfloat16 : Precision::kFloat32;
      Rnn rnn(o, 4);
      RnnInference inference(rnn);
      for (const int threads : {1, 2, 1}) {
        omp_set_num_threads(threads);
        Tensor x = random_tensor({6, 16, o.input_size}, 5);
        const std::string what =
            mode_name(mode) + (bf16 ? " bf16, " : ", ") + std::to_string(threads) + " thread(s)";
        expect_same(inference.forward(x), rnn.forward(x), what);
      }
    }
  omp_set_num_threads(2);
}

TEST(RnnInference, IsASnapshot) {
  RnnOptions o;
  o.mode = RnnMode::kLstm;
  o.input_size = 8;
  o.hidden_size = 32;
  Rnn rnn(o, 2);
  Tensor x = random_tensor({5, 4, 8}, 3);
  const RnnOutput before = rnn.forward(x);
  RnnInference inference(rnn);
  rnn.parameter("weight_hh_l0")[0] += 1.0f;  // after the snapshot: not seen
  expect_same(inference.forward(x), before, "after a change to the Rnn");
  EXPECT_NE(rnn.forward(x).h_n[0], before.h_n[0]) << "the change did not reach the Rnn";
  EXPECT_EQ(inference.rnn().parameter("weight_hh_l0")[0] + 1.0f, rnn.parameter("weight_hh_l0")[0]);
  RnnInference moved = std::move(inference);
  expect_same(moved.forward(x), before, "moved");
}

TEST(RnnInference, ChecksItsInputLikeForward) {
  RnnOptions o;
  o.input_size = 8;
  o.hidden_size = 16;
  RnnInference inference{Rnn(o, 1)};
  try {
    inference.forward(Tensor({5, 2, 7}));
    FAIL() << "no error for the wrong input width";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("input"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace recur
