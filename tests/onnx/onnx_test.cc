// The ONNX importer against three references: ONNX's own node tests (Debian libonnx-testdata),
// our random-weight cases with independent expected outputs (scripts/gen_onnx_cases.py), and
// recur's kernels themselves (export → import must reproduce recur's forward pass). Plus the
// round trip through ONNX Runtime, and malformed input.
#include "recur/onnx.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/throws_error.h"
#include "onnx/recurrent.h"
#include "recur/recur.h"

namespace recur {
namespace {

namespace fs = std::filesystem;
using recur::testing::ThrowsError;

const std::string kCases = std::string(RECUR_SOURCE_DIR) + "/tests/onnx/cases";
const std::string kOfficial = "/usr/share/libonnx-testdata/data/node";

std::string temp_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(info->test_suite_name()) + "_" + info->name();
  std::replace(name.begin(), name.end(), '/', '_');
  const std::string dir = ::testing::TempDir() + "recur_onnx_" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  if (fs::is_directory(kCases))
    for (const auto& e : fs::directory_iterator(kCases)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

// ---- our cases and ONNX's -------------------------------------------------------------------

class OurCases : public ::testing::TestWithParam<std::string> {};

TEST_P(OurCases, MatchIndependentReference) {
  const onnx::BackendTestResult r = onnx::run_backend_test(kCases + "/" + GetParam());
  EXPECT_TRUE(r.passed) << r.message;
}

INSTANTIATE_TEST_SUITE_P(Cases, OurCases, ::testing::ValuesIn(case_names()),
                         [](const auto& info) { return info.param; });

TEST(OurCases, PyTorchCharLmWithinOneE5) {
  // The bar for a PyTorch-exported model: |recur - PyTorch| <= 1e-5, no relative slack.
  const onnx::BackendTestResult r =
      onnx::run_backend_test(kCases + "/torch_char_lm_lstm2", 0.0, 1e-5);
  EXPECT_TRUE(r.passed) << r.message;
}

TEST(OurCases, CoverEveryAttribute) {
  // The generator's promise, kept honest: the cases exercise every RNN-family attribute.
  std::set<std::string> seen_attributes, seen_activations;
  for (const auto& name : case_names()) {
    ::onnx::ModelProto m;
    ASSERT_TRUE(m.ParseFromString(read_bytes(kCases + "/" + name + "/model.onnx"))) << name;
    for (const auto& node : m.graph().node()) {
      if (node.op_type() != "LSTM" && node.op_type() != "GRU" && node.op_type() != "RNN") continue;
      for (const auto& a : node.attribute()) {
        seen_attributes.insert(a.name());
        for (const auto& s : a.strings()) seen_activations.insert(s);
      }
    }
  }
  for (const char* a : {"activations", "activation_alpha", "activation_beta", "clip", "direction",
                        "hidden_size", "input_forget", "layout", "linear_before_reset"})
    EXPECT_TRUE(seen_attributes.count(a)) << a;
  for (const char* a : {"Relu", "Tanh", "Sigmoid", "Affine", "LeakyRelu", "ThresholdedRelu",
                        "ScaledTanh", "HardSigmoid", "Elu", "Softsign", "Softplus"})
    EXPECT_TRUE(seen_activations.count(a)) << a;
}

TEST(OfficialNodeTests, AllTwelvePass) {
  ASSERT_TRUE(fs::is_directory(kOfficial))
      << kOfficial << " is missing: install Debian's libonnx-testdata (scripts/setup does)";
  int passed = 0;
  for (const auto& e : fs::directory_iterator(kOfficial)) {
    const std::string name = e.path().filename();
    if (name.rfind("test_lstm_", 0) && name.rfind("test_gru_", 0) && name.rfind("test_rnn_", 0) &&
        name.rfind("test_simple_rnn_", 0))
      continue;
    const onnx::BackendTestResult r = onnx::run_backend_test(e.path().string());
    EXPECT_TRUE(r.passed) << name << ": " << r.message;
    passed += r.passed;
  }
  EXPECT_EQ(passed, 12);
}

// ---- export → import reproduces recur's kernels ---------------------------------------------

Tensor random_tensor(Shape shape, Rng& rng) {
  Tensor t(std::move(shape));
  for (int64_t k = 0; k < t.numel(); ++k) t[k] = rng.uniform(-1.0f, 1.0f);
  return t;
}

float max_diff(const Tensor& a, const onnx::Value& b) {
  EXPECT_EQ(a.shape(), b.shape);
  if (a.shape() != b.shape) return INFINITY;
  float m = 0.0f;
  for (int64_t k = 0; k < a.numel(); ++k) m = std::max(m, std::fabs(a[k] - b.f[k]));
  return m;
}

struct StackCase {
  const char* name;
  RnnMode mode;
  int64_t layers;
  bool bidirectional, bias;
};

class ExportStack : public ::testing::TestWithParam<StackCase> {};

TEST_P(ExportStack, ImportReproducesRecurForward) {
  const StackCase& c = GetParam();
  RnnOptions o;
  o.mode = c.mode;
  o.input_size = 5;
  o.hidden_size = 7;
  o.num_layers = c.layers;
  o.bidirectional = c.bidirectional;
  o.bias = c.bias;
  Rnn rnn(o, 11);
  const std::string dir = temp_dir();
  SafeTensors sd;
  sd.tensors = rnn.state_dict();
  if (c.mode == RnnMode::kRnnRelu) sd.metadata["recur.mode"] = "rnn_relu";
  save_safetensors(dir + "/w.safetensors", sd);
  onnx::export_onnx(dir + "/w.safetensors", dir + "/m.onnx");

  Rng rng(3);
  const Tensor x = random_tensor({6, 3, 5}, rng);
  const RnnOutput want = rnn.forward(x);
  const onnx::Model model = onnx::Model::load(dir + "/m.onnx");
  const std::vector<onnx::Value> got = model.run({{"input", onnx::Value::from_tensor(x)}});
  ASSERT_EQ(got.size(), c.mode == RnnMode::kLstm ? 3u : 2u);
  EXPECT_LT(max_diff(want.output, got[0]), 1e-5f);
  EXPECT_LT(max_diff(want.h_n, got[1]), 1e-5f);
  if (c.mode == RnnMode::kLstm) {
    EXPECT_LT(max_diff(want.c_n, got[2]), 1e-5f);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Stacks, ExportStack,
    ::testing::Values(StackCase{"lstm", RnnMode::kLstm, 1, false, true},
                      StackCase{"lstm_bi_2layer", RnnMode::kLstm, 2, true, true},
                      StackCase{"gru_bi", RnnMode::kGru, 1, true, true},
                      StackCase{"gru_2layer_nobias", RnnMode::kGru, 2, false, false},
                      StackCase{"rnn_tanh_bi_2layer", RnnMode::kRnnTanh, 2, true, true},
                      StackCase{"rnn_relu", RnnMode::kRnnRelu, 1, false, true}),
    [](const auto& info) { return std::string(info.param.name); });

// The ONNX operator with sequence_lens and initial states against recur's kernel with lengths:
// two independent implementations, PyTorch's gate order mapped to ONNX's by hand here.
TEST(RunRecurrent, BidirectionalLstmWithLengthsMatchesRecur) {
  RnnOptions o;
  o.mode = RnnMode::kLstm;
  o.input_size = 4;
  o.hidden_size = 3;
  o.bidirectional = true;
  Rnn rnn(o, 5);
  Rng rng(8);
  const int64_t T = 5, B = 3, H = 3, I = 4;
  const Tensor x = random_tensor({T, B, I}, rng);
  RnnArgs args;
  args.lengths = {5, 2, 4};
  args.h0 = random_tensor({2, B, H}, rng);
  args.c0 = random_tensor({2, B, H}, rng);
  const RnnOutput want = rnn.forward(x, args);

  const int64_t order[] = {0, 3, 1, 2};  // ONNX i,o,f,c from PyTorch i,f,g,o
  std::vector<float> W, R, Bv;
  for (const char* sfx : {"_l0", "_l0_reverse"}) {
    auto take = [&](const std::string& name, int64_t cols, std::vector<float>* out) {
      const Tensor& t = rnn.parameter(name + sfx);
      for (int64_t g : order)
        out->insert(out->end(), t.data() + g * H * cols, t.data() + (g + 1) * H * cols);
    };
    take("weight_ih", I, &W);
    take("weight_hh", H, &R);
    take("bias_ih", 1, &Bv);
    take("bias_hh", 1, &Bv);
  }
  const onnx::Value vx = onnx::Value::from_tensor(x), vw = onnx::Value::floats({2, 4 * H, I}, W),
                    vr = onnx::Value::floats({2, 4 * H, H}, R),
                    vb = onnx::Value::floats({2, 8 * H}, Bv),
                    vl = onnx::Value::ints({B}, {5, 2, 4}, 6),
                    vh = onnx::Value::from_tensor(args.h0), vc = onnx::Value::from_tensor(args.c0);
  onnx::RecurrentAttributes a;
  a.direction = "bidirectional";
  const auto got = onnx::run_recurrent("LSTM", a, {&vx, &vw, &vr, &vb, &vl, &vh, &vc, nullptr});
  // Y [T, 2, B, H] against recur's [T, B, 2H].
  float worst = 0.0f;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t d = 0; d < 2; ++d)
      for (int64_t b = 0; b < B; ++b)
        for (int64_t j = 0; j < H; ++j)
          worst = std::max(worst, std::fabs(got[0].f[((t * 2 + d) * B + b) * H + j] -
                                            want.output[(t * B + b) * 2 * H + d * H + j]));
  EXPECT_LT(worst, 1e-5f);
  EXPECT_LT(max_diff(want.h_n, got[1]), 1e-5f);
  EXPECT_LT(max_diff(want.c_n, got[2]), 1e-5f);
}

// recur's kernels (the fast path) against the plain spec path, on what the fast path takes:
// every op, both layouts, bidirectional, lengths, initial states, with and without B.
TEST(RunRecurrent, KernelPathMatchesSpecPath) {
  Rng rng(31);
  int taken = 0;
  for (const char* op : {"LSTM", "GRU", "RNN"})
    for (int64_t layout : {0, 1})
      for (const char* direction : {"forward", "bidirectional"})
        for (bool extras : {false, true}) {
          const bool lstm = std::string(op) == "LSTM";
          const int64_t G = lstm ? 4 : std::string(op) == "GRU" ? 3 : 1;
          const int64_t T = 5, B = 3, I = 4, H = 3, D = std::string(direction) == "forward" ? 1 : 2;
          auto rnd = [&](Shape s) { return onnx::Value::from_tensor(random_tensor(s, rng)); };
          const onnx::Value x = rnd(layout ? Shape{B, T, I} : Shape{T, B, I});
          const onnx::Value w = rnd({D, G * H, I}), r = rnd({D, G * H, H}), b = rnd({D, 2 * G * H});
          const onnx::Value lens = onnx::Value::ints({B}, {5, 2, 4}, 6);
          const Shape state = layout ? Shape{B, D, H} : Shape{D, B, H};
          const onnx::Value h0 = rnd(state), c0 = rnd(state);
          onnx::RecurrentAttributes a;
          a.direction = direction;
          a.layout = layout;
          a.linear_before_reset = 1;
          if (std::string(op) == "RNN" && extras) a.activations = {"Relu"};
          std::vector<const onnx::Value*> in = {&x,
                                                &w,
                                                &r,
                                                extras ? &b : nullptr,
                                                extras ? &lens : nullptr,
                                                extras ? &h0 : nullptr,
                                                extras && lstm ? &c0 : nullptr};
          RnnMode mode;
          std::vector<int64_t> len =
              extras ? std::vector<int64_t>{5, 2, 4} : std::vector<int64_t>{5, 5, 5};
          ASSERT_TRUE(onnx::kernels_apply(op, a, nullptr, len, &mode)) << op;
          ++taken;
          const auto fast = onnx::run_recurrent(op, a, in);
          a.reference_path = true;
          const auto plain = onnx::run_recurrent(op, a, in);
          ASSERT_EQ(fast.size(), plain.size());
          for (size_t k = 0; k < fast.size(); ++k) {
            ASSERT_EQ(fast[k].shape, plain[k].shape) << op << " output " << k;
            for (int64_t e = 0; e < fast[k].numel(); ++e)
              ASSERT_NEAR(fast[k].f[e], plain[k].f[e], 2e-6f)
                  << op << " layout " << layout << " " << direction << " extras " << extras
                  << " output " << k << " element " << e;
          }
        }
  EXPECT_EQ(taken, 24);
}

TEST(RunRecurrent, SpecOnlyFeaturesStayOnTheSpecPath) {
  RnnMode mode;
  onnx::RecurrentAttributes a;
  const std::vector<int64_t> len = {3};
  EXPECT_TRUE(onnx::kernels_apply("LSTM", a, nullptr, len, &mode));
  a.clip = 1.0f;
  EXPECT_FALSE(onnx::kernels_apply("LSTM", a, nullptr, len, &mode));
  a = {};
  a.input_forget = 1;
  EXPECT_FALSE(onnx::kernels_apply("LSTM", a, nullptr, len, &mode));
  a = {};
  a.direction = "reverse";
  EXPECT_FALSE(onnx::kernels_apply("LSTM", a, nullptr, len, &mode));
  a = {};
  const onnx::Value p = onnx::Value::floats({1, 3}, {0.0f, 0.5f, 0.0f});
  EXPECT_FALSE(onnx::kernels_apply("LSTM", a, &p, len, &mode));
  EXPECT_FALSE(onnx::kernels_apply("GRU", a, nullptr, len, &mode));  // linear_before_reset = 0
  a.activations = {"HardSigmoid", "Tanh", "Tanh"};
  EXPECT_FALSE(onnx::kernels_apply("LSTM", a, nullptr, len, &mode));
  a.activations = {"Relu", "Tanh"};  // bidirectional RNN with different activations
  a.direction = "bidirectional";
  EXPECT_FALSE(onnx::kernels_apply("RNN", a, nullptr, len, &mode));
  EXPECT_FALSE(onnx::kernels_apply("RNN", {}, nullptr, {0}, &mode));  // a zero length
}

// ---- a language model ------------------------------------------------------------------------

std::string save_tiny_lm(const std::string& dir, RnnMode cell, bool tie, LanguageModel** keep) {
  LmConfig c;
  c.cell = cell;
  c.vocab_size = 9;
  c.embed = 6;
  c.hidden = tie ? 6 : 8;
  c.layers = 2;
  c.tie = tie;
  static std::unique_ptr<LanguageModel> model;
  model = std::make_unique<LanguageModel>(c, 4);
  *keep = model.get();
  SafeTensors f;
  f.tensors = model->state_dict();
  f.metadata["recur.kind"] = "language_model";
  f.metadata["recur.config"] = c.to_json();
  f.metadata["recur.vocab"] =
      data::Vocab::from_tokens({{"\n", "a", "b", "c", "d", "e", "f"}}).to_json();
  const std::string path = dir + "/lm.safetensors";
  save_safetensors(path, f);
  return path;
}

class ExportLm : public ::testing::TestWithParam<std::tuple<RnnMode, bool>> {};

TEST_P(ExportLm, LogitsAndStatesMatchRecur) {
  const auto [cell, tie] = GetParam();
  const std::string dir = temp_dir();
  LanguageModel* lm = nullptr;
  const std::string path = save_tiny_lm(dir, cell, tie, &lm);
  const std::string summary = onnx::export_onnx(path, dir + "/lm.onnx");
  EXPECT_NE(summary.find("tokens [T, B] int64"), std::string::npos) << summary;

  const int64_t T = 4, B = 2;
  const std::vector<int64_t> ids = {1, 2, 3, 4, 5, 6, 7, 8};
  RnnState state = lm->initial_state(B);
  const Tensor want = lm->logits(ids, T, B, &state);  // [T*B, V]
  const onnx::Model model = onnx::Model::load(dir + "/lm.onnx");
  const auto got = model.run({{"tokens", onnx::Value::ints({T, B}, ids)}});
  EXPECT_LT(max_diff(want.reshaped({T, B, 9}), got[0]), 1e-5f);
  EXPECT_LT(max_diff(state.h, got[1]), 1e-5f);
  if (cell == RnnMode::kLstm) {
    EXPECT_LT(max_diff(state.c, got[2]), 1e-5f);
  }
}

INSTANTIATE_TEST_SUITE_P(Cells, ExportLm,
                         ::testing::Values(std::make_tuple(RnnMode::kLstm, false),
                                           std::make_tuple(RnnMode::kGru, false),
                                           std::make_tuple(RnnMode::kLstm, true)));

// ---- classifiers and forecasters: padded batches, every pooling ------------------------------

struct SequenceCase {
  const char* name;
  bool tokens;
  std::string model, pooling, task;
  RnnMode cell;
  int64_t layers;
  bool bidirectional;
  std::vector<int64_t> head;
};

SequenceCheckpoint make_sequence_checkpoint(const SequenceCase& c) {
  SequenceModelConfig cfg;
  cfg.task = c.task;
  cfg.model = c.model;
  cfg.vocab_size = c.tokens ? 12 : 0;
  cfg.embed = 5;
  cfg.feature_size = c.tokens ? 0 : 3;
  cfg.steps = c.model == "mlp" ? 4 : 0;
  cfg.cell = c.cell;
  cfg.hidden = 6;
  cfg.layers = c.layers;
  cfg.bidirectional = c.bidirectional;
  cfg.pooling = c.pooling;
  cfg.attention_size = 4;
  cfg.head = c.head;
  cfg.outputs = c.task == "classify" ? 3 : 2;
  SequenceCheckpoint ck;
  ck.kind = c.task == "regress" ? "forecaster"
            : c.model == "mlp"  ? "mlp_classifier"
                                : "sequence_classifier";
  ck.model = std::make_unique<SequenceModel>(cfg, 17);
  if (c.task == "classify") ck.class_names = {"a", "b", "c"};
  if (c.tokens) {
    std::vector<std::string> words;
    for (int k = 0; k < 10; ++k) words.push_back("w" + std::to_string(k));
    ck.vocab = data::Vocab::from_tokens({words});
  }
  return ck;
}

class ExportSequenceModel : public ::testing::TestWithParam<SequenceCase> {};

TEST_P(ExportSequenceModel, PaddedBatchMatchesPredict) {
  const SequenceCase& c = GetParam();
  const std::string dir = temp_dir();
  SequenceCheckpoint ck = make_sequence_checkpoint(c);
  save_sequence_checkpoint(dir + "/m.safetensors", ck);
  onnx::export_onnx(dir + "/m.safetensors", dir + "/m.onnx");

  SequenceBatch batch;
  batch.T = 4;
  batch.B = 3;
  batch.lengths = c.model == "mlp" ? std::vector<int64_t>{4, 4, 4} : std::vector<int64_t>{4, 2, 1};
  Rng rng(6);
  std::map<std::string, onnx::Value> feeds;
  if (c.tokens) {
    for (int64_t t = 0; t < batch.T; ++t)
      for (int64_t b = 0; b < batch.B; ++b)
        batch.ids.push_back(t < batch.lengths[b] ? 2 + (t * 3 + b * 5) % 10 : 0);
    feeds["tokens"] = onnx::Value::ints({batch.T, batch.B}, batch.ids);
  } else {
    batch.features = random_tensor({batch.T, batch.B, 3}, rng);
    feeds["features"] = onnx::Value::from_tensor(batch.features);
  }
  if (c.model == "rnn") feeds["lengths"] = onnx::Value::ints({batch.B}, batch.lengths);
  const Tensor want = ck.model->predict(batch);
  const auto got = onnx::Model::load(dir + "/m.onnx").run(feeds);
  EXPECT_LT(max_diff(want, got[0]), 1e-5f);
  if (c.task == "classify") {
    ASSERT_EQ(got.size(), 2u);
    const Tensor p = softmax_rows(want);
    EXPECT_LT(max_diff(p, got[1]), 1e-6f);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Models, ExportSequenceModel,
    ::testing::Values(
        SequenceCase{
            "tokens_gru_last", true, "rnn", "last", "classify", RnnMode::kGru, 1, false, {}},
        SequenceCase{"tokens_bigru_last_2layer",
                     true,
                     "rnn",
                     "last",
                     "classify",
                     RnnMode::kGru,
                     2,
                     true,
                     {8}},
        SequenceCase{
            "tokens_bilstm_max", true, "rnn", "max", "classify", RnnMode::kLstm, 1, true, {}},
        SequenceCase{"features_bilstm_mean",
                     false,
                     "rnn",
                     "mean",
                     "classify",
                     RnnMode::kLstm,
                     2,
                     true,
                     {7, 5}},
        SequenceCase{"tokens_bigru_meanmax",
                     true,
                     "rnn",
                     "mean+max",
                     "classify",
                     RnnMode::kGru,
                     2,
                     true,
                     {5}},
        SequenceCase{"tokens_lstm_attention",
                     true,
                     "rnn",
                     "attention",
                     "classify",
                     RnnMode::kLstm,
                     1,
                     true,
                     {}},
        SequenceCase{"features_rnn_attention",
                     false,
                     "rnn",
                     "attention",
                     "classify",
                     RnnMode::kRnnTanh,
                     1,
                     false,
                     {4}},
        SequenceCase{
            "forecast_gru_last", false, "rnn", "last", "regress", RnnMode::kGru, 1, false, {8}},
        SequenceCase{
            "mlp_features", false, "mlp", "last", "classify", RnnMode::kGru, 1, false, {16}}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- ONNX Runtime runs what recur exports ---------------------------------------------------

TEST(OnnxRuntime, RunsRecurExportsWithRecurOutputs) {
  const std::string root = RECUR_SOURCE_DIR;
  const std::string check = root + "/tools/onnxruntime/check.js";
  ASSERT_TRUE(fs::exists(root + "/tools/onnxruntime/node_modules/onnxruntime-node"))
      << "ONNX Runtime is not installed: run scripts/setup-onnxruntime";
  const std::string dir = temp_dir();
  Rng rng(21);
  std::vector<std::string> cases;
  for (RnnMode mode : {RnnMode::kLstm, RnnMode::kGru, RnnMode::kRnnTanh}) {
    RnnOptions o;
    o.mode = mode;
    o.input_size = 4;
    o.hidden_size = 5;
    o.num_layers = 2;
    o.bidirectional = true;
    Rnn rnn(o, 2);
    const std::string name = dir + "/" + mode_name(mode);
    SafeTensors sd;
    sd.tensors = rnn.state_dict();
    save_safetensors(name + ".safetensors", sd);
    onnx::export_onnx(name + ".safetensors", name + ".onnx");
    onnx::write_backend_test(
        name + ".onnx", {{"input", onnx::Value::from_tensor(random_tensor({5, 2, 4}, rng))}}, name);
    cases.push_back(name);
  }
  LanguageModel* lm = nullptr;
  const std::string lm_path = save_tiny_lm(dir, RnnMode::kLstm, false, &lm);
  onnx::export_onnx(lm_path, dir + "/lm.onnx");
  onnx::write_backend_test(
      dir + "/lm.onnx", {{"tokens", onnx::Value::ints({3, 2}, {1, 2, 3, 4, 5, 6})}}, dir + "/lm");
  cases.push_back(dir + "/lm");
  for (const auto& [name, pooling] :
       {std::pair<std::string, std::string>{"cls_max", "max"}, {"cls_attention", "attention"}}) {
    SequenceCheckpoint ck = make_sequence_checkpoint(
        {"", true, "rnn", pooling, "classify", RnnMode::kLstm, 2, true, {6}});
    save_sequence_checkpoint(dir + "/" + name + ".safetensors", ck);
    onnx::export_onnx(dir + "/" + name + ".safetensors", dir + "/" + name + ".onnx");
    onnx::write_backend_test(dir + "/" + name + ".onnx",
                             {{"tokens", onnx::Value::ints({3, 2}, {2, 3, 4, 0, 5, 0})},
                              {"lengths", onnx::Value::ints({2}, {3, 1})}},
                             dir + "/" + name);
    cases.push_back(dir + "/" + name);
  }

  std::string cmd = "node " + check + " --rtol 0 --atol 1e-5";
  for (const auto& c : cases) cmd += " " + c;
  cmd += " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, pipe)) out += buf;
  const int status = pclose(pipe);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("6 passed, 0 failed"), std::string::npos) << out;
}

// ---- malformed input ---------------------------------------------------------------------------

TEST(Malformed, EmptyGarbageAndTruncatedModelsFailClearly) {
  const std::string dir = temp_dir();
  write_bytes(dir + "/empty.onnx", "");
  EXPECT_TRUE(ThrowsError([&] { onnx::Model::load(dir + "/empty.onnx"); }, {"empty file"}));
  write_bytes(dir + "/garbage.onnx", "\xff\xff\xff\xff this is not protobuf");
  EXPECT_TRUE(ThrowsError([&] { onnx::Model::load(dir + "/garbage.onnx"); },
                          {"garbage.onnx", "not a valid ONNX model"}));
  EXPECT_TRUE(ThrowsError([&] { onnx::Model::load(dir + "/missing.onnx"); }, {"missing.onnx"}));

  // Every truncation of a real model either fails with an Error or still runs: never a crash.
  const std::string bytes = read_bytes(kCases + "/lstm_bidirectional_seq_lens/model.onnx");
  ASSERT_GT(bytes.size(), 100u);
  int errors = 0;
  for (size_t cut = 0; cut < bytes.size(); cut += 7) {
    try {
      onnx::Model::parse(bytes.substr(0, cut), "cut");
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 0);
}

// Deterministic byte flips of real models, each loaded and run on its test inputs: the result
// is an answer or a recur::Error, never a crash or another exception.
TEST(Malformed, FlippedBytesNeverCrash) {
  Rng rng(99);
  int runs = 0, errors = 0;
  for (const char* name :
       {"lstm_bidirectional_peepholes_seq_lens", "torch_char_lm_lstm2",
        "torch_lstm_packed_unsorted", "gru_layout1_bidirectional_lbr1_seq_lens"}) {
    const std::string dir = kCases + "/" + name;
    const std::string bytes = read_bytes(dir + "/model.onnx");
    std::vector<onnx::Value> inputs;
    for (int k = 0; fs::exists(dir + "/test_data_set_0/input_" + std::to_string(k) + ".pb"); ++k)
      inputs.push_back(
          onnx::read_tensor_pb(dir + "/test_data_set_0/input_" + std::to_string(k) + ".pb"));
    for (int trial = 0; trial < 150; ++trial) {
      std::string mutated = bytes;
      const int flips = 1 + trial % 3;
      for (int f = 0; f < flips; ++f) {
        const size_t at = static_cast<size_t>(rng.uniform() * mutated.size()) % mutated.size();
        mutated[at] = static_cast<char>(mutated[at] ^ (1 << (trial % 8)));
      }
      try {
        const onnx::Model m = onnx::Model::parse(mutated, "mutated");
        std::map<std::string, onnx::Value> feeds;
        for (size_t k = 0; k < inputs.size() && k < m.inputs().size(); ++k)
          feeds[m.inputs()[k].name] = inputs[k];
        m.run(feeds);
        ++runs;
      } catch (const Error&) {
        ++errors;
      }
    }
  }
  EXPECT_GT(errors, 0);
  EXPECT_GT(runs, 0);
}

TEST(Malformed, TruncatedTensorFileNamesTheFile) {
  const std::string dir = temp_dir();
  const std::string pb =
      read_bytes(kCases + "/lstm_bidirectional_seq_lens/test_data_set_0/input_0.pb");
  write_bytes(dir + "/cut.pb", pb.substr(0, pb.size() - 5));
  EXPECT_TRUE(ThrowsError([&] { onnx::read_tensor_pb(dir + "/cut.pb"); }, {"cut.pb"}));
}

TEST(Malformed, UnsupportedOpIsNamedAtLoadTime) {
  ::onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(read_bytes(kCases + "/torch_char_lm_lstm2/model.onnx")));
  m.mutable_graph()->mutable_node(m.graph().node_size() - 1)->set_op_type("Einsum");
  EXPECT_TRUE(ThrowsError([&] { onnx::Model::parse(m.SerializeAsString(), "lm.onnx"); },
                          {"lm.onnx", "'Einsum' is not supported", "supported: Add"}));
}

TEST(Malformed, FeedsAreChecked) {
  const onnx::Model model = onnx::Model::load(kCases + "/torch_char_lm_lstm2/model.onnx");
  const std::string tokens = model.inputs()[0].name;
  EXPECT_TRUE(ThrowsError([&] { model.run({}); }, {"'" + tokens + "' is not given"}));
  std::map<std::string, onnx::Value> feeds;
  for (const auto& in : model.inputs()) feeds[in.name] = onnx::Value::floats({1}, {0.0f});
  EXPECT_TRUE(ThrowsError([&] { model.run(feeds); }, {tokens, "must be INT64"}));
  feeds[tokens] = onnx::Value::ints({2}, {0, 1});
  EXPECT_TRUE(ThrowsError([&] { model.run(feeds); }, {tokens, "has shape [2]", "expects [5, 2]"}));
  feeds["nonsense"] = onnx::Value::floats({1}, {0.0f});
  EXPECT_TRUE(ThrowsError([&] { model.run(feeds); },
                          {"'nonsense' is not an input", "its inputs: " + tokens}));
}

TEST(Malformed, RecurrentOperatorChecksItsInputs) {
  const auto x = onnx::Value::floats({2, 1, 3}, std::vector<float>(6, 0.5f));
  const auto w = onnx::Value::floats({1, 8, 3}, std::vector<float>(24, 0.1f));
  const auto r = onnx::Value::floats({1, 8, 2}, std::vector<float>(16, 0.1f));
  const auto lens = onnx::Value::ints({1}, {3}, 6);
  onnx::RecurrentAttributes a;
  EXPECT_TRUE(ThrowsError(
      [&] {
        onnx::run_recurrent("LSTM", a, {&x, &w, &r, nullptr, &lens});
      },
      {"sequence_lens[0] = 3", "outside 0..2"}));
  a.activations = {"Sigmoid", "Swish", "Tanh"};
  EXPECT_TRUE(ThrowsError(
      [&] {
        onnx::run_recurrent("LSTM", a, {&x, &w, &r});
      },
      {"unknown activation 'Swish'"}));
  a.activations = {"Sigmoid", "Tanh"};
  EXPECT_TRUE(ThrowsError(
      [&] {
        onnx::run_recurrent("LSTM", a, {&x, &w, &r});
      },
      {"expected 3 per direction"}));
  EXPECT_TRUE(ThrowsError(
      [&] {
        onnx::run_recurrent("GRU", {}, {&x, &w, &r});
      },
      {"W has shape [1, 8, 3]"}));
}

TEST(Export, RefusesWhatOnnxCannotExpress) {
  const std::string dir = temp_dir();
  RnnOptions o;
  o.mode = RnnMode::kLstm;
  o.input_size = 3;
  o.hidden_size = 4;
  o.proj_size = 2;
  SafeTensors sd;
  sd.tensors = Rnn(o, 1).state_dict();
  save_safetensors(dir + "/proj.safetensors", sd);
  EXPECT_TRUE(ThrowsError([&] { onnx::export_onnx(dir + "/proj.safetensors", dir + "/p.onnx"); },
                          {"proj_size has no ONNX operator"}));
  EXPECT_FALSE(fs::exists(dir + "/p.onnx"));
  SafeTensors other;
  other.tensors["x"] = Tensor({1});
  other.metadata["recur.kind"] = "translator";
  save_safetensors(dir + "/t.safetensors", other);
  EXPECT_TRUE(ThrowsError([&] { onnx::export_onnx(dir + "/t.safetensors", dir + "/t.onnx"); },
                          {"cannot export a 'translator' checkpoint"}));
}

}  // namespace
}  // namespace recur
