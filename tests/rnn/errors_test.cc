// Every wrong input to recur::Rnn (options, shapes, lengths, states, workspaces, state_dicts)
// throws recur::Error whose message names what was expected and what was found.
// Leaves out: file formats (tests/io) and the CLI's own checks (tests/cli).
#include <gtest/gtest.h>

#include <cmath>
#include <initializer_list>
#include <map>
#include <string>

#include "common/throws_error.h"
#include "recur/error.h"
#include "recur/rnn.h"

namespace recur {
namespace {

using testing::ThrowsError;

RnnOptions options(RnnMode mode, int64_t input_size = 4, int64_t hidden_size = 5) {
  RnnOptions o;
  o.mode = mode;
  o.input_size = input_size;
  o.hidden_size = hidden_size;
  return o;
}

Tensor ones(Shape shape) { return Tensor::full(std::move(shape), 1.0f); }

// The helper itself must go red on each way of getting it wrong.
TEST(ThrowsErrorHelper, RejectsNoThrowWrongTypeAndWrongMessage) {
  EXPECT_FALSE(ThrowsError([] {}, {}));
  EXPECT_FALSE(ThrowsError([] { throw std::runtime_error("x"); }, {}));
  EXPECT_FALSE(ThrowsError([] { throw_error("found 3"); }, {"found 4"}));
  EXPECT_TRUE(ThrowsError([] { throw_error("expected 4, found 3"); }, {"expected 4", "found 3"}));
}

TEST(RnnErrors, ValidInputsDoNotThrow) {
  // The baseline every other test perturbs in one place.
  Rnn rnn(options(RnnMode::kLstm));
  RnnArgs args;
  args.lengths = {3, 1};
  args.h0 = ones({1, 2, 5});
  args.c0 = ones({1, 2, 5});
  RnnWorkspace ws;
  rnn.forward_train(ones({3, 2, 4}), args, &ws);
  EXPECT_NO_THROW(rnn.backward(ws, ones({3, 2, 5}), ones({1, 2, 5}), ones({1, 2, 5})));
  RnnState state = rnn.initial_state(2);
  EXPECT_NO_THROW(rnn.step(ones({2, 4}), &state));
}

TEST(RnnErrors, InputWithWrongFeatureCount) {
  Rnn rnn(options(RnnMode::kLstm));
  EXPECT_THROW(rnn.forward(ones({3, 2, 3})), Error);
  EXPECT_TRUE(ThrowsError(
      [&] {
        rnn.forward(ones({3, 2, 3}));
      },
      {"input has 3 features", "input_size is 4"}));
  RnnWorkspace ws;
  EXPECT_TRUE(ThrowsError(
      [&] {
        rnn.forward_train(ones({3, 2, 6}), {}, &ws);
      },
      {"input has 6 features", "input_size is 4"}));
}

TEST(RnnErrors, InputNot3D) {
  Rnn rnn(options(RnnMode::kGru));
  EXPECT_TRUE(ThrowsError(
      [&] {
        rnn.forward(ones({3, 4}));
      },
      {"3-D", "[T, B, input_size]", "[3, 4]"}));
  EXPECT_TRUE(ThrowsError([&] { rnn.forward(ones({1, 3, 2, 4})); }, {"3-D", "[1, 3, 2, 4]"}));
  RnnOptions o = options(RnnMode::kGru);
  o.batch_first = true;
  Rnn batch_first(o);
  EXPECT_TRUE(
      ThrowsError([&] { batch_first.forward(ones({4})); }, {"3-D", "[B, T, input_size]", "[4]"}));
}

TEST(RnnErrors, InputWithEmptyDimension) {
  Rnn rnn(options(RnnMode::kRnnTanh));
  EXPECT_TRUE(ThrowsError([&] { rnn.forward(ones({0, 2, 4})); }, {"empty", "[0, 2, 4]"}));
  EXPECT_TRUE(ThrowsError([&] { rnn.forward(ones({3, 0, 4})); }, {"empty", "[3, 0, 4]"}));
}

TEST(RnnErrors, LengthsOutOfRange) {
  Rnn rnn(options(RnnMode::kGru));
  const Tensor x = ones({3, 2, 4});
  RnnArgs args;
  args.lengths = {3, 0};
  EXPECT_TRUE(ThrowsError([&] { rnn.forward(x, args); }, {"lengths[1] is 0", "1..3"}));
  args.lengths = {4, 1};
  EXPECT_TRUE(ThrowsError([&] { rnn.forward(x, args); }, {"lengths[0] is 4", "1..3"}));
  args.lengths = {2, -1};
  RnnWorkspace ws;
  EXPECT_TRUE(ThrowsError([&] { rnn.forward_train(x, args, &ws); }, {"lengths[1] is -1", "1..3"}));
}

TEST(RnnErrors, LengthsOutOfRangeBatchFirstUsesTheTimeAxis) {
  // batch_first input [B=2, T=3, I]: the bound is T = 3, not the first dimension.
  RnnOptions o = options(RnnMode::kLstm);
  o.batch_first = true;
  Rnn rnn(o);
  RnnArgs args;
  args.lengths = {3, 3};
  EXPECT_NO_THROW(rnn.forward(ones({2, 3, 4}), args));
  args.lengths = {2, 4};
  EXPECT_TRUE(ThrowsError(
      [&] {
        rnn.forward(ones({2, 3, 4}), args);
      },
      {"lengths[1] is 4", "1..3"}));
}

TEST(RnnErrors, LengthsOfWrongCount) {
  Rnn rnn(options(RnnMode::kRnnRelu));
  RnnArgs args;
  args.lengths = {2, 2, 1};
  EXPECT_TRUE(ThrowsError(
      [&] {
        rnn.forward(ones({3, 2, 4}), args);
      },
      {"3 entries", "batch size is 2"}));
  args.lengths = {2};
  EXPECT_TRUE(ThrowsError(
      [&] {
        rnn.forward(ones({3, 2, 4}), args);
      },
      {"1 entries", "batch size is 2"}));
}

TEST(RnnErrors, H0OfWrongShape) {
  RnnOptions o = options(RnnMode::kGru);
  o.num_layers = 2;
  o.bidirectional = true;
  Rnn rnn(o);
  RnnArgs args;
  args.h0 = ones({2, 2, 5});  // needs L*D = 4 rows
  EXPECT_TRUE(ThrowsError(
      [&] {
        rnn.forward(ones({3, 2, 4}), args);
      },
      {"h0 must have shape [4, 2, 5]", "found [2, 2, 5]"}));
  args.h0 = ones({4, 3, 5});  // wrong batch
  EXPECT_TRUE(ThrowsError(
      [&] {
        rnn.forward(ones({3, 2, 4}), args);
      },
      {"h0 must have shape [4, 2, 5]", "found [4, 3, 5]"}));
  args.h0 = ones({4, 2});
  EXPECT_TRUE(ThrowsError(
      [&] {
        rnn.forward(ones({3, 2, 4}), args);
      },
      {"h0 must have shape [4, 2, 5]", "found [4, 2]"}));
}

TEST(RnnErrors, ProjectedLstmStatesHaveDifferentWidths) {
  // With proj_size, h0 is [.., proj_size] and c0 is [.., hidden_size]; swapping them is wrong.
  RnnOptions o = options(RnnMode::kLstm);
  o.proj_size = 3;
  Rnn rnn(o);
  RnnArgs args;
  args.h0 = ones({1, 2, 5});
  EXPECT_TRUE(ThrowsError(
      [&] {
        rnn.forward(ones({3, 2, 4}), args);
      },
      {"h0 must have shape [1, 2, 3]", "found [1, 2, 5]"}));
  args.h0 = ones({1, 2, 3});
  args.c0 = ones({1, 2, 3});
  EXPECT_TRUE(ThrowsError(
      [&] {
        rnn.forward(ones({3, 2, 4}), args);
      },
      {"c0 must have shape [1, 2, 5]", "found [1, 2, 3]"}));
}

TEST(RnnErrors, C0OfWrongShape) {
  Rnn rnn(options(RnnMode::kLstm));
  RnnArgs args;
  args.c0 = ones({1, 1, 5});
  RnnWorkspace ws;
  EXPECT_TRUE(ThrowsError(
      [&] {
        rnn.forward_train(ones({3, 2, 4}), args, &ws);
      },
      {"c0 must have shape [1, 2, 5]", "found [1, 1, 5]"}));
}

TEST(RnnErrors, C0ForNonLstm) {
  for (RnnMode mode : {RnnMode::kGru, RnnMode::kRnnTanh, RnnMode::kRnnRelu}) {
    Rnn rnn(options(mode));
    RnnArgs args;
    args.c0 = ones({1, 2, 5});  // the right shape, the wrong mode
    EXPECT_TRUE(ThrowsError(
        [&] {
          rnn.forward(ones({3, 2, 4}), args);
        },
        {"c0", "only lstm", mode_name(mode)}))
        << mode_name(mode);
  }
}

TEST(RnnErrors, GradOutputOfWrongShape) {
  Rnn rnn(options(RnnMode::kGru));
  RnnWorkspace ws;
  rnn.forward_train(ones({3, 2, 4}), {}, &ws);
  EXPECT_TRUE(ThrowsError(
      [&] {
        rnn.backward(ws, ones({3, 2, 4}));
      },
      {"grad_output must have shape [3, 2, 5]", "found [3, 2, 4]"}));
  EXPECT_TRUE(ThrowsError(
      [&] {
        rnn.backward(ws, ones({2, 3, 5}));
      },
      {"grad_output must have shape [3, 2, 5]", "found [2, 3, 5]"}));
  EXPECT_TRUE(ThrowsError([&] { rnn.backward(ws, Tensor()); },
                          {"grad_output must have shape [3, 2, 5]", "found []"}));
}

TEST(RnnErrors, GradOutputOfWrongShapeBatchFirstBidirectional) {
  RnnOptions o = options(RnnMode::kLstm);
  o.batch_first = true;
  o.bidirectional = true;
  Rnn rnn(o);
  RnnWorkspace ws;
  rnn.forward_train(ones({2, 3, 4}), {}, &ws);  // output [B=2, T=3, 2*5]
  EXPECT_NO_THROW(rnn.backward(ws, ones({2, 3, 10})));
  EXPECT_TRUE(ThrowsError(
      [&] {
        rnn.backward(ws, ones({3, 2, 10}));
      },
      {"grad_output must have shape [2, 3, 10]", "found [3, 2, 10]"}));
}

TEST(RnnErrors, GradHnAndGradCnOfWrongShape) {
  Rnn rnn(options(RnnMode::kLstm));
  RnnWorkspace ws;
  rnn.forward_train(ones({3, 2, 4}), {}, &ws);
  EXPECT_TRUE(ThrowsError(
      [&] {
        rnn.backward(ws, ones({3, 2, 5}), ones({2, 2, 5}));
      },
      {"grad_h_n must have shape [1, 2, 5]", "found [2, 2, 5]"}));
  EXPECT_TRUE(ThrowsError(
      [&] {
        rnn.backward(ws, ones({3, 2, 5}), {}, ones({1, 2, 4}));
      },
      {"grad_c_n must have shape [1, 2, 5]", "found [1, 2, 4]"}));
}

TEST(RnnErrors, GradCnForNonLstm) {
  Rnn rnn(options(RnnMode::kGru));
  RnnWorkspace ws;
  rnn.forward_train(ones({3, 2, 4}), {}, &ws);
  EXPECT_TRUE(ThrowsError(
      [&] {
        rnn.backward(ws, ones({3, 2, 5}), {}, ones({1, 2, 5}));
      },
      {"grad_c_n", "only lstm"}));
}

TEST(RnnErrors, BackwardWithEmptyWorkspace) {
  Rnn rnn(options(RnnMode::kLstm));
  RnnWorkspace ws;
  ASSERT_FALSE(ws.filled());
  EXPECT_TRUE(ThrowsError([&] { rnn.backward(ws, ones({3, 2, 5})); }, {"forward_train"}));
  // forward() (inference) does not fill it either.
  rnn.forward(ones({3, 2, 4}));
  EXPECT_TRUE(ThrowsError([&] { rnn.backward(ws, ones({3, 2, 5})); }, {"forward_train"}));
}

TEST(RnnErrors, ForwardTrainWithoutWorkspace) {
  Rnn rnn(options(RnnMode::kLstm));
  EXPECT_TRUE(ThrowsError([&] { rnn.forward_train(ones({3, 2, 4}), {}, nullptr); }, {"workspace"}));
}

TEST(RnnErrors, ForwardTrainWithDropoutNeedsRng) {
  RnnOptions o = options(RnnMode::kGru);
  o.num_layers = 2;
  o.dropout = 0.5f;
  Rnn rnn(o);
  RnnWorkspace ws;
  EXPECT_TRUE(ThrowsError(
      [&] {
        rnn.forward_train(ones({3, 2, 4}), {}, &ws, nullptr);
      },
      {"dropout", "Rng"}));
}

TEST(RnnErrors, BackwardWithWorkspaceOfAnotherLayerCount) {
  RnnOptions o = options(RnnMode::kGru);
  o.bidirectional = true;
  Rnn bidirectional(o);
  Rnn unidirectional(options(RnnMode::kGru));
  RnnWorkspace ws;
  bidirectional.forward_train(ones({3, 2, 4}), {}, &ws);
  EXPECT_TRUE(ThrowsError(
      [&] {
        unidirectional.backward(ws, ones({3, 2, 5}));
      },
      {"workspace filled by another configuration"}));
}

// Disabled until backward() checks the workspace against the whole configuration: today
// only L*D is compared, so a workspace from an RNN with another hidden_size (or mode, or
// input_size) is read out of bounds (AddressSanitizer: heap-buffer-overflow in
// cell_backward) or silently gives wrong gradients.
TEST(RnnErrors, BackwardWithWorkspaceOfAnotherHiddenSize) {
  Rnn small(options(RnnMode::kGru, 4, 3));
  Rnn large(options(RnnMode::kGru, 4, 16));
  RnnWorkspace ws;
  small.forward_train(ones({3, 2, 4}), {}, &ws);
  EXPECT_TRUE(ThrowsError(
      [&] {
        large.backward(ws, ones({3, 2, 16}));
      },
      {"workspace filled by another configuration"}));
  Rnn lstm(options(RnnMode::kLstm, 4, 3));
  EXPECT_TRUE(ThrowsError(
      [&] {
        lstm.backward(ws, ones({3, 2, 3}));
      },
      {"workspace filled by another configuration"}));
}

TEST(RnnErrors, StepOnBidirectional) {
  RnnOptions o = options(RnnMode::kLstm);
  o.bidirectional = true;
  Rnn rnn(o);
  RnnState state = rnn.initial_state(2);
  EXPECT_TRUE(ThrowsError([&] { rnn.step(ones({2, 4}), &state); }, {"bidirectional"}));
}

TEST(RnnErrors, StepWithWrongWidth) {
  Rnn rnn(options(RnnMode::kGru));
  RnnState state = rnn.initial_state(2);
  EXPECT_TRUE(ThrowsError(
      [&] {
        rnn.step(ones({2, 3}), &state);
      },
      {"input has 3 features", "input_size is 4"}));
  EXPECT_TRUE(ThrowsError([&] { rnn.step(ones({4}), &state); },
                          {"2-D [B, input_size]", "found shape [4]"}));
  // The state is untouched by a failed step.
  EXPECT_EQ(shape_string(state.h.shape()), "[1, 2, 5]");
}

TEST(RnnErrors, StepWithStateOfAnotherBatch) {
  Rnn rnn(options(RnnMode::kLstm));
  RnnState state = rnn.initial_state(3);
  EXPECT_TRUE(ThrowsError(
      [&] {
        rnn.step(ones({2, 4}), &state);
      },
      {"must have shape [1, 2, 5]", "found [1, 3, 5]"}));
}

TEST(RnnErrors, StepWithoutStateOrBatch) {
  Rnn rnn(options(RnnMode::kLstm));
  EXPECT_TRUE(ThrowsError([&] { rnn.step(ones({2, 4}), nullptr); }, {"state"}));
  EXPECT_TRUE(ThrowsError([&] { rnn.initial_state(0); }, {"positive batch size", "got 0"}));
}

TEST(RnnErrors, ProjSizeOnNonLstm) {
  for (RnnMode mode : {RnnMode::kGru, RnnMode::kRnnTanh}) {
    RnnOptions o = options(mode);
    o.proj_size = 2;
    EXPECT_TRUE(ThrowsError([&] { Rnn rnn(o); }, {"proj_size", "lstm", mode_name(mode)}))
        << mode_name(mode);
  }
}

TEST(RnnErrors, ProjSizeNotSmallerThanHiddenSize) {
  RnnOptions o = options(RnnMode::kLstm);
  o.proj_size = 5;
  EXPECT_TRUE(ThrowsError([&] { Rnn rnn(o); }, {"proj_size (5)", "hidden_size (5)"}));
  o.proj_size = 9;
  EXPECT_TRUE(ThrowsError([&] { Rnn rnn(o); }, {"proj_size (9)", "hidden_size (5)"}));
  o.proj_size = -1;
  EXPECT_TRUE(ThrowsError([&] { Rnn rnn(o); }, {"proj_size", "got -1"}));
  o.proj_size = 4;
  EXPECT_NO_THROW(Rnn rnn(o));
}

TEST(RnnErrors, DropoutOutOfRange) {
  RnnOptions o = options(RnnMode::kGru);
  o.num_layers = 2;
  o.dropout = 1.0f;
  EXPECT_TRUE(ThrowsError([&] { Rnn rnn(o); }, {"dropout", "[0, 1)", "got 1.0"}));
  o.dropout = -0.25f;
  EXPECT_TRUE(ThrowsError([&] { Rnn rnn(o); }, {"dropout", "got -0.25"}));
  o.dropout = std::nanf("");
  EXPECT_TRUE(ThrowsError([&] { Rnn rnn(o); }, {"dropout", "nan"}));
  o.dropout = 0.999f;
  EXPECT_NO_THROW(Rnn rnn(o));
}

TEST(RnnErrors, NonPositiveSizes) {
  EXPECT_TRUE(ThrowsError([] { Rnn rnn(options(RnnMode::kLstm, 4, 0)); },
                          {"hidden_size must be positive", "got 0"}));
  EXPECT_TRUE(ThrowsError([] { Rnn rnn(options(RnnMode::kLstm, 0, 5)); },
                          {"input_size must be positive", "got 0"}));
  RnnOptions o = options(RnnMode::kGru);
  o.num_layers = 0;
  EXPECT_TRUE(ThrowsError([&] { Rnn rnn(o); }, {"num_layers must be positive", "got 0"}));
}

TEST(RnnErrors, ParseModeUnknown) {
  EXPECT_TRUE(ThrowsError([] { parse_mode("foo"); }, {"'foo'", "rnn_tanh, rnn_relu, lstm, gru"}));
  EXPECT_TRUE(ThrowsError([] { parse_mode("LSTM"); }, {"'LSTM'"}));
  EXPECT_TRUE(ThrowsError([] { parse_mode(""); }, {"''"}));
  for (RnnMode mode : {RnnMode::kRnnTanh, RnnMode::kRnnRelu, RnnMode::kLstm, RnnMode::kGru})
    EXPECT_EQ(parse_mode(mode_name(mode)), mode);
}

std::map<std::string, Tensor> lstm_state_dict(int64_t num_layers = 1) {
  RnnOptions o = options(RnnMode::kLstm);
  o.num_layers = num_layers;
  return Rnn(o, 7).state_dict();
}

TEST(RnnErrors, FromStateDictAcceptsTheUnmodifiedDict) {
  Rnn rnn = Rnn::from_state_dict(lstm_state_dict(2));
  EXPECT_EQ(rnn.options().mode, RnnMode::kLstm);
  EXPECT_EQ(rnn.options().num_layers, 2);
}

TEST(RnnErrors, FromStateDictMissingWeightHh) {
  auto sd = lstm_state_dict();
  sd.erase("weight_hh_l0");
  EXPECT_TRUE(ThrowsError(
      [&] { Rnn::from_state_dict(sd); },
      {"expected tensors 'weight_ih_l0' and 'weight_hh_l0'", "'weight_hh_l0' is missing"}));
  sd = lstm_state_dict();
  sd.erase("weight_ih_l0");
  EXPECT_TRUE(ThrowsError([&] { Rnn::from_state_dict(sd); }, {"'weight_ih_l0' is missing"}));
  EXPECT_TRUE(ThrowsError([] { Rnn::from_state_dict({}); }, {"weight_ih_l0"}));
}

TEST(RnnErrors, FromStateDictMissingLaterLayerTensor) {
  auto sd = lstm_state_dict(2);
  sd.erase("weight_hh_l1");
  EXPECT_TRUE(ThrowsError([&] { Rnn::from_state_dict(sd); }, {"missing tensor 'weight_hh_l1'"}));
}

TEST(RnnErrors, FromStateDictWronglyShapedBias) {
  auto sd = lstm_state_dict();
  sd["bias_ih_l0"] = ones({7});
  EXPECT_TRUE(ThrowsError([&] { Rnn::from_state_dict(sd); },
                          {"'bias_ih_l0' has shape [7]", "expected [20]"}));
  sd = lstm_state_dict();
  sd["bias_hh_l0"] = ones({1, 20});
  EXPECT_TRUE(ThrowsError([&] { Rnn::from_state_dict(sd); },
                          {"'bias_hh_l0' has shape [1, 20]", "expected [20]"}));
}

TEST(RnnErrors, FromStateDictWronglyShapedWeights) {
  auto sd = lstm_state_dict();
  sd["weight_hh_l0"] = ones({20});
  EXPECT_TRUE(ThrowsError([&] { Rnn::from_state_dict(sd); }, {"must be 2-D", "[20]"}));
  sd = lstm_state_dict();
  sd["weight_hh_l0"] = ones({21, 5});  // not a multiple of H = 5
  EXPECT_TRUE(ThrowsError([&] { Rnn::from_state_dict(sd); },
                          {"[21, 5]", "not a multiple of the hidden size 5"}));
  sd = lstm_state_dict();
  sd["weight_hh_l0"] = ones({10, 5});  // 2 gates
  EXPECT_TRUE(ThrowsError([&] { Rnn::from_state_dict(sd); },
                          {"2 gates", "expected 1 (RNN), 3 (GRU) or 4 (LSTM)"}));
  sd = lstm_state_dict(2);
  sd["weight_hh_l1"] = ones({20, 4});
  EXPECT_TRUE(ThrowsError([&] { Rnn::from_state_dict(sd); },
                          {"'weight_hh_l1' has shape [20, 4]", "expected [20, 5]"}));
}

TEST(RnnErrors, FromStateDictUnexpectedTensor) {
  auto sd = lstm_state_dict();
  sd["weight_ih_l0_reverse_typo"] = ones({20, 4});
  EXPECT_TRUE(ThrowsError([&] { Rnn::from_state_dict(sd); },
                          {"unexpected tensor 'weight_ih_l0_reverse_typo'", "lstm"}));
  sd = lstm_state_dict();
  sd["weight_ih_l2"] = ones({20, 5});  // layer 1 skipped: a layer count of 1 is inferred
  EXPECT_TRUE(ThrowsError([&] { Rnn::from_state_dict(sd); },
                          {"unexpected tensor 'weight_ih_l2'", "1 layer"}));
}

TEST(RnnErrors, FromStateDictModeHintContradictsShapes) {
  EXPECT_TRUE(ThrowsError([] { Rnn::from_state_dict(lstm_state_dict(), "gru"); },
                          {"gru needs 3 gates", "have 4"}));
  EXPECT_TRUE(ThrowsError([] { Rnn::from_state_dict(lstm_state_dict(), "bogus"); }, {"'bogus'"}));
  auto rnn_sd = Rnn(options(RnnMode::kRnnTanh), 1).state_dict();
  EXPECT_EQ(Rnn::from_state_dict(rnn_sd, "rnn_relu").options().mode, RnnMode::kRnnRelu);
  EXPECT_TRUE(
      ThrowsError([&] { Rnn::from_state_dict(rnn_sd, "lstm"); }, {"lstm needs 4 gates", "have 1"}));
}

TEST(RnnErrors, LoadStateDictMissingTensor) {
  Rnn rnn(options(RnnMode::kLstm));
  auto sd = rnn.state_dict();
  sd.erase("bias_hh_l0");
  EXPECT_TRUE(ThrowsError([&] { rnn.load_state_dict(sd); }, {"missing tensor 'bias_hh_l0'"}));
  EXPECT_NO_THROW(rnn.load_state_dict(sd, /*strict=*/false));
}

TEST(RnnErrors, LoadStateDictWrongShapeOrUnknownName) {
  Rnn rnn(options(RnnMode::kGru));
  auto sd = rnn.state_dict();
  sd["weight_ih_l0"] = ones({15, 3});
  EXPECT_TRUE(ThrowsError([&] { rnn.load_state_dict(sd); },
                          {"'weight_ih_l0' has shape [15, 3]", "expected [15, 4]"}));
  // A wrong shape is an error even when not strict.
  EXPECT_TRUE(ThrowsError([&] { rnn.load_state_dict(sd, false); }, {"'weight_ih_l0'"}));
  sd = rnn.state_dict();
  sd["weight_hr_l0"] = ones({2, 5});
  EXPECT_TRUE(ThrowsError([&] { rnn.load_state_dict(sd); }, {"unexpected tensor 'weight_hr_l0'"}));
  EXPECT_NO_THROW(rnn.load_state_dict(sd, /*strict=*/false));
}

TEST(RnnErrors, UnknownParameterName) {
  Rnn rnn(options(RnnMode::kGru));
  EXPECT_TRUE(ThrowsError([&] { rnn.parameter("weight_hr_l0"); }, {"'weight_hr_l0'"}));
  const Rnn& const_rnn = rnn;
  EXPECT_TRUE(ThrowsError([&] { const_rnn.parameter("bias_ih_l1"); }, {"'bias_ih_l1'"}));
}

}  // namespace
}  // namespace recur
