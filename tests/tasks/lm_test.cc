// The language model end to end: PyTorch's loss trajectory, memorising a tiny corpus, exact
// resume, checkpoints and their errors, sampling options.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "recur/error.h"
#include "recur/io.h"
#include "recur/language_model.h"

namespace recur {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir() {
  fs::path dir = fs::temp_directory_path() /
                 ("recur_lm_test_" +
                  std::to_string(::testing::UnitTest::GetInstance()->current_test_info()->line()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

data::Vocab synthetic_vocab(int64_t size) {
  std::vector<std::string> tokens = {"\n"};
  for (int64_t k = 1; k < size - 2; ++k)
    tokens.push_back(std::string(1, static_cast<char>('a' + k)));
  return data::Vocab::from_tokens({tokens});
}

// ---- PyTorch's trajectory ------------------------------------------------------------------

class TorchTrajectory : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchTrajectory, TwentyStepsMatchPyTorchLosses) {
  const SafeTensors f =
      load_safetensors(std::string(RECUR_FIXTURE_DIR) + "/lm/" + GetParam() + ".safetensors");
  const auto& m = f.metadata;
  LmConfig config;
  config.cell = m.at("cell") == "gru" ? RnnMode::kGru : RnnMode::kLstm;
  config.embed = std::stoll(m.at("embed"));
  config.hidden = std::stoll(m.at("hidden"));
  config.layers = std::stoll(m.at("layers"));
  config.dropout = 0.0f;
  config.tie = m.at("tie") == "1";
  LmTrainOptions o;
  o.batch = std::stoll(m.at("batch"));
  o.bptt = std::stoll(m.at("bptt"));
  o.steps = std::stoll(m.at("steps"));
  o.optimizer = m.at("optimizer");
  o.lr = std::stof(m.at("lr"));
  o.clip = std::stof(m.at("clip"));
  if (o.optimizer == "sgd") o.momentum = 0.9f;
  LmData d;
  d.vocab = synthetic_vocab(std::stoll(m.at("vocab")));
  ASSERT_EQ(d.vocab.size(), std::stoll(m.at("vocab")));
  for (float v : f.tensors.at("stream").to_vector()) d.train.push_back(static_cast<int64_t>(v));
  LmTrainer trainer(config, o, d, {});
  trainer.model().load_state_dict(f.tensors, /*strict=*/false);
  const std::vector<float> want = f.tensors.at("losses").to_vector();
  ASSERT_EQ(trainer.total_steps(), static_cast<int64_t>(want.size()));
  for (size_t k = 0; k < want.size(); ++k) {
    const double got = trainer.train_step();
    EXPECT_NEAR(got, want[k], 1e-4) << "step " << k;
  }
}

INSTANTIATE_TEST_SUITE_P(Lm, TorchTrajectory,
                         ::testing::Values("lstm_adam", "gru_sgd_momentum", "lstm_tied_adamw"));

// ---- a tiny corpus is memorised ------------------------------------------------------------

data::TextSplit tiny_split() {
  data::TextSplit s;
  for (int k = 0; k < 6; ++k) {
    s.train.push_back("天上的云朵漂浮在蓝天");
    s.train.push_back("the cat sat on the mat");
  }
  s.valid = {"the cat sat on the mat"};
  return s;
}

std::unique_ptr<LmTrainer> tiny_trainer(int64_t steps, RnnMode cell = RnnMode::kLstm) {
  LmConfig c;
  c.cell = cell;
  c.embed = 16;
  c.hidden = 48;
  c.layers = 1;
  c.dropout = 0.0f;
  LmTrainOptions o;
  o.batch = 4;
  o.bptt = 16;
  o.steps = steps;
  o.lr = 1e-2f;
  o.seed = 3;
  return std::make_unique<LmTrainer>(c, o, make_lm_data(tiny_split()),
                                     std::map<std::string, std::string>{{"data", "tiny"}});
}

TEST(LanguageModel, MemorisesATinyCorpus) {
  auto trainer = tiny_trainer(300);
  double first = trainer->train_step(), last = first;
  while (!trainer->done()) last = trainer->train_step();
  EXPECT_LT(last, 0.1 * first) << "first loss " << first;
  const fs::path dir = temp_dir();
  const std::string path = (dir / "tiny.safetensors").string();
  trainer->save(path);
  const LoadedLm lm = load_language_model(path);
  const auto next = next_tokens(lm, "天上的云朵漂浮在", 3);
  ASSERT_EQ(next.size(), 3u);
  EXPECT_EQ(next[0].token, "蓝");
  EXPECT_GT(next[0].probability, 0.9);
  EXPECT_GE(next[0].probability, next[1].probability);
  SampleOptions greedy;
  greedy.temperature = 0.0f;
  greedy.length = 40;
  greedy.stop_at_newline = true;
  EXPECT_EQ(generate(lm, "the c", greedy), "at sat on the mat");
  EXPECT_EQ(generate(lm, "天上", greedy), "的云朵漂浮在蓝天");
  // Sampling at a low temperature and with top-k 1 gives the same text.
  SampleOptions k1 = greedy;
  k1.temperature = 1.0f;
  k1.top_k = 1;
  EXPECT_EQ(generate(lm, "the c", k1), "at sat on the mat");
  SampleOptions nucleus = greedy;
  nucleus.temperature = 1.0f;
  nucleus.top_p = 0.5f;
  EXPECT_EQ(generate(lm, "天上", nucleus), "的云朵漂浮在蓝天");
  // Held-out: the valid sentence is in the training text, so its loss is small.
  const LmEval e = evaluate(*lm.model, make_lm_data(tiny_split(), lm.vocab).valid, 1, 8);
  EXPECT_GT(e.tokens, 0);
  EXPECT_LT(e.bpc(), 1.0);
  fs::remove_all(dir);
}

TEST(LanguageModel, SamplingIsDeterministicBySeedAndRejectsBadOptions) {
  auto trainer = tiny_trainer(30, RnnMode::kGru);
  while (!trainer->done()) trainer->train_step();
  const fs::path dir = temp_dir();
  const std::string path = (dir / "g.safetensors").string();
  trainer->save(path);
  const LoadedLm lm = load_language_model(path);
  SampleOptions o;
  o.length = 30;
  EXPECT_EQ(generate(lm, "the", o), generate(lm, "the", o));
  SampleOptions other = o;
  other.seed = 99;
  EXPECT_NE(generate(lm, "the", o), generate(lm, "the", other));
  SampleOptions bad = o;
  bad.top_p = 0.0f;
  EXPECT_THROW(generate(lm, "the", bad), Error);
  bad = o;
  bad.temperature = -1.0f;
  EXPECT_THROW(generate(lm, "the", bad), Error);
  try {
    generate(lm, "the dog☃", o);
    FAIL() << "characters outside the vocabulary must be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'d'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("☃"), std::string::npos) << e.what();
  }
  EXPECT_THROW(next_tokens(lm, "xyz", 3), Error);
  EXPECT_THROW(next_tokens(lm, "the", 0), Error);
  fs::remove_all(dir);
}

// ---- resume --------------------------------------------------------------------------------

TEST(LanguageModel, ResumeEqualsStraightRunBitwise) {
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  LmConfig c;
  c.embed = 8;
  c.hidden = 16;
  c.layers = 2;
  c.dropout = 0.3f;  // the dropout masks must continue from the same random state
  LmTrainOptions o;
  o.batch = 3;
  o.bptt = 7;
  o.steps = 14;
  o.schedule = "cosine";
  o.warmup = 3;
  const std::map<std::string, std::string> info{{"data", "tiny"}};
  LmTrainer straight(c, o, make_lm_data(tiny_split()), info);
  while (!straight.done()) straight.train_step();

  const fs::path dir = temp_dir();
  const std::string path = (dir / "r.safetensors").string();
  {
    LmTrainer first(c, o, make_lm_data(tiny_split()), info);
    for (int k = 0; k < 9; ++k) first.train_step();  // stops mid-pass, state carried
    first.save(path);
  }
  auto resumed = LmTrainer::resume(path, make_lm_data(tiny_split()));
  EXPECT_EQ(resumed->step(), 9);
  while (!resumed->done()) resumed->train_step();
  const auto a = straight.model().state_dict();
  const auto b = resumed->model().state_dict();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a)
    EXPECT_EQ(t.to_vector(), b.at(name).to_vector()) << name << " differs after resume";
  omp_set_num_threads(threads);
  fs::remove_all(dir);
}

// ---- checkpoint errors ---------------------------------------------------------------------

TEST(LanguageModel, CheckpointErrorsAreClear) {
  const fs::path dir = temp_dir();
  auto expect_error = [](const std::string& path, const std::string& part) {
    try {
      load_language_model(path);
      FAIL() << "expected an error for " << path;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_error((dir / "missing.safetensors").string(), "missing.safetensors");
  SafeTensors plain;
  plain.tensors["weight_ih_l0"] = Tensor({4, 2});
  save_safetensors((dir / "plain.safetensors").string(), plain);
  expect_error((dir / "plain.safetensors").string(), "not a recur model checkpoint");
  plain.metadata["recur.kind"] = "sequence_classifier";
  save_safetensors((dir / "other.safetensors").string(), plain);
  expect_error((dir / "other.safetensors").string(), "not a language model");
  fs::remove_all(dir);
}

TEST(LanguageModel, BatchifyAndConfigValidation) {
  const Batched b = batchify({0, 1, 2, 3, 4, 5, 6}, 2);
  EXPECT_EQ(b.rows, 3);
  EXPECT_EQ(b.ids, (std::vector<int64_t>{0, 3, 1, 4, 2, 5}));
  EXPECT_THROW(batchify({1, 2}, 0), Error);
  LmConfig c;
  c.vocab_size = 10;
  c.tie = true;
  c.embed = 4;
  c.hidden = 8;
  EXPECT_THROW(LanguageModel(c, 1), Error);
  EXPECT_EQ(LmConfig::from_json(LmConfig().to_json()).to_json(), LmConfig().to_json());
  EXPECT_THROW(LmConfig::from_json("{\"cell\": \"lstm\"}"), Error);
  LmConfig bf16;
  bf16.precision = Precision::kBfloat16;
  EXPECT_EQ(LmConfig::from_json(bf16.to_json()).precision, Precision::kBfloat16);
  EXPECT_EQ(LmConfig::from_json(LmConfig().to_json()).precision, Precision::kFloat32);
  LmTrainOptions o;
  o.batch = 64;
  data::TextSplit s;
  s.train = {"ab"};
  EXPECT_THROW(LmTrainer(LmConfig(), o, make_lm_data(s), {}), Error);
}

}  // namespace
}  // namespace recur

namespace recur {
namespace {

// The precision reaches the recurrent layers: same seed, bf16 logits close to f32's, not equal.
TEST(LanguageModelPrecision, Bf16ModelComputesInBf16) {
  LmConfig c;
  c.vocab_size = 12;
  c.embed = 8;
  c.hidden = 32;
  c.layers = 2;
  LanguageModel f32(c, 3);
  c.precision = Precision::kBfloat16;
  LanguageModel bf16(c, 3);
  const std::vector<int64_t> ids = {1, 2, 3, 4, 5, 6, 7, 8};
  RnnState s1 = f32.initial_state(2), s2 = bf16.initial_state(2);
  const Tensor a = f32.logits(ids, 4, 2, &s1), b = bf16.logits(ids, 4, 2, &s2);
  float worst = 0;
  for (int64_t i = 0; i < a.numel(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  EXPECT_GT(worst, 1e-6f);
  EXPECT_LT(worst, 2e-2f);
}

}  // namespace
}  // namespace recur
