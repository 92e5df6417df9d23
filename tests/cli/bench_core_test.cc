// Benchmark problems (cli/bench_core.h): the descriptor grammar and its errors, the aliases of
// the performance issue, FLOP and weight-byte counts worked by hand, the timing median, and
// that recur's runs of a problem are deterministic. Leaves out: timings themselves and the
// peers (recur_bench --self-test checks oneDNN against recur).
#include "cli/bench_core.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/throws_error.h"

namespace recur::cli {
namespace {

using recur::testing::ThrowsError;

TEST(BenchProblem, ParsesADescriptor) {
  const BenchProblem p = parse_bench_problem("rnn_relu_t3_b2_i5_h7_l2_d2");
  EXPECT_EQ(p.mode, RnnMode::kRnnRelu);
  EXPECT_EQ(p.T, 3);
  EXPECT_EQ(p.B, 2);
  EXPECT_EQ(p.I, 5);
  EXPECT_EQ(p.H, 7);
  EXPECT_EQ(p.L, 2);
  EXPECT_TRUE(p.bidirectional);
  EXPECT_FALSE(p.stream);
  EXPECT_TRUE(p.alias.empty());
  EXPECT_EQ(bench_descriptor(p), "rnn_relu_t3_b2_i5_h7_l2_d2");
}

TEST(BenchProblem, AliasesAreTheIssuesProblems) {
  const BenchProblem c2 = parse_bench_problem("c2");
  EXPECT_EQ(c2.alias, "C2");
  EXPECT_EQ(bench_descriptor(c2), "lstm_t50_b64_i1024_h1024_l1_d1");
  const BenchProblem s1 = parse_bench_problem("S1");
  EXPECT_TRUE(s1.stream);
  EXPECT_EQ(bench_descriptor(s1), "lstm_t100_b1_i512_h512_l1_d1_stream");
  EXPECT_EQ(bench_descriptor(parse_bench_problem("C4")), "gru_t64_b32_i512_h512_l1_d1");
  EXPECT_EQ(bench_descriptor(parse_bench_problem("C6")), "lstm_t64_b32_i256_h256_l2_d2");
  const std::vector<BenchProblem> all = parse_bench_problems("all");
  ASSERT_EQ(all.size(), 8u);
  EXPECT_EQ(all.front().alias, "C1");
  EXPECT_EQ(all.back().alias, "S1");
  EXPECT_EQ(parse_bench_problems("C7,,gru_t1_b1_i1_h1_l1_d1").size(), 2u);
}

TEST(BenchProblem, Bf16Suffix) {
  const BenchProblem c1 = parse_bench_problem("C1_BF16");
  EXPECT_TRUE(c1.bf16);
  EXPECT_EQ(c1.alias, "C1");
  EXPECT_EQ(bench_descriptor(c1), "lstm_t64_b32_i512_h512_l1_d1_bf16");
  EXPECT_EQ(bench_options(c1).precision, Precision::kBfloat16);
  EXPECT_EQ(bench_options(parse_bench_problem("C1")).precision, Precision::kFloat32);
  const BenchProblem s = parse_bench_problem("lstm_t3_b1_i4_h5_l1_d1_stream_bf16");
  EXPECT_TRUE(s.stream && s.bf16);
  EXPECT_EQ(bench_descriptor(s), "lstm_t3_b1_i4_h5_l1_d1_stream_bf16");
  // bf16 weights are 2 bytes, biases stay float.
  EXPECT_EQ(bench_weight_bytes(s), 2 * (20 * 9) + 4 * (2 * 20));
  EXPECT_TRUE(ThrowsError([] { parse_bench_problem("C1_bf16_bf16"); }, {"_bf16 given twice"}));
  EXPECT_TRUE(ThrowsError([] { parse_bench_problem("lstm_t1_b1_i1_h1_l1_d1_bf16_stream"); },
                          {"unexpected 'bf16'"}));
}

TEST(BenchProblem, RejectsMalformedDescriptors) {
  EXPECT_TRUE(ThrowsError([] { parse_bench_problem("lstm_t64_b32_i512_h512_l1"); },
                          {"'lstm_t64_b32_i512_h512_l1'", "missing the 'd' field"}));
  EXPECT_TRUE(
      ThrowsError([] { parse_bench_problem("lsmt_t1_b1_i1_h1_l1_d1"); }, {"unknown mode 'lsmt'"}));
  EXPECT_TRUE(ThrowsError([] { parse_bench_problem("lstm_b1_t1_i1_h1_l1_d1"); },
                          {"'b1' is not t<positive number>"}));
  EXPECT_TRUE(ThrowsError([] { parse_bench_problem("lstm_t0_b1_i1_h1_l1_d1"); }, {"expected"}));
  EXPECT_TRUE(ThrowsError([] { parse_bench_problem("lstm_t1_b1_i1_h1_l1_d3"); }, {"d1 or d2"}));
  EXPECT_TRUE(ThrowsError([] { parse_bench_problem("lstm_t1_b1_i1_h1_l1_d2_stream"); },
                          {"unidirectional"}));
  EXPECT_TRUE(
      ThrowsError([] { parse_bench_problem("lstm_t1_b1_i1_h1_l1_d1_x"); }, {"unexpected 'x'"}));
  EXPECT_TRUE(ThrowsError([] { parse_bench_problem("C9"); }, {"unknown mode 'C9'", "S1"}));
  EXPECT_TRUE(ThrowsError([] { parse_bench_problem("rnn"); }, {"unknown mode 'rnn'"}));
  EXPECT_TRUE(ThrowsError([] { parse_bench_problems(","); }, {"no benchmark problem"}));
}

TEST(BenchProblem, CountsFlopsAndWeightBytes) {
  // LSTM, 2 layers, bidirectional, T*B = 6, I = 5, H = 7, 4 gates: layer 0 reads 5 + 7 inputs
  // per gate row, layer 1 reads 14 + 7.
  const BenchProblem p = parse_bench_problem("lstm_t3_b2_i5_h7_l2_d2");
  EXPECT_DOUBLE_EQ(bench_forward_flops(p), 2 * (2.0 * 6 * 28 * 12) + 2 * (2.0 * 6 * 28 * 21));
  EXPECT_EQ(bench_weight_bytes(p), 4 * (2 * (28 * 12 + 2 * 28) + 2 * (28 * 21 + 2 * 28)));
}

TEST(BenchTiming, MedianOfOddAndEvenCounts) {
  const TimingStats odd = timing_stats({3, 1, 2});
  EXPECT_EQ(odd.median, 2);
  EXPECT_EQ(odd.min, 1);
  EXPECT_EQ(odd.max, 3);
  EXPECT_EQ(odd.runs, 3);
  EXPECT_EQ(timing_stats({4, 1, 3, 2}).median, 2.5);
  EXPECT_EQ(timing_stats({}).runs, 0);
}

TEST(RecurRunner, StreamingMatchesTheWholeSequence) {
  const BenchProblem seq = parse_bench_problem("gru_t4_b2_i3_h5_l2_d1");
  BenchProblem stream = seq;
  stream.stream = true;
  RecurRunner a(seq), b(stream);
  a.inference();
  b.stream_run();
  ASSERT_EQ(a.output().shape(), b.output().shape());
  for (int64_t i = 0; i < a.output().numel(); ++i)
    EXPECT_NEAR(a.output()[i], b.output()[i], 1e-6) << i;
  a.training_step();
  EXPECT_EQ(a.grads().input.shape(), a.input().shape());
  EXPECT_EQ(a.grads().parameters.size(), 8u);
}

}  // namespace
}  // namespace recur::cli
