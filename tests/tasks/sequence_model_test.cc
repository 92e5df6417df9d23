// SequenceModel: learns separable toy sets in every pooling mode (tokens and features), the MLP
// baseline, forecasting a sine wave; padding cannot change a prediction; batching is a
// partition and bucketed by length; mean+max pooling, embedding dropout, an ensemble's mean
// probabilities, text token modes; configuration errors are clear.
#include "recur/sequence_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "recur/error.h"
#include "recur/task_data.h"

namespace recur {
namespace {

// Token sequences of ids 2..9, lengths 2..12; label 1 when the sequence contains a 5.
SequenceData contains_five(int64_t n, uint64_t seed) {
  Rng rng(seed);
  SequenceData d;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = 2 + static_cast<int64_t>(rng.next_u64() % 11);
    std::vector<int64_t> ids;
    bool five = false;
    for (int64_t t = 0; t < len; ++t) {
      int64_t id = 2 + static_cast<int64_t>(rng.next_u64() % 8);
      if (i % 2 == 0 && id == 5) id = 6;  // half the examples never contain a 5 ...
      ids.push_back(id);
      five = five || id == 5;
    }
    if (i % 4 == 1 && !five) {  // ... and a quarter surely do
      ids[rng.next_u64() % ids.size()] = 5;
      five = true;
    }
    d.tokens.push_back(ids);
    d.labels.push_back(five ? 1 : 0);
  }
  return d;
}

double accuracy(SequenceModel& model, const SequenceData& d) {
  const std::vector<int64_t> pred = argmax_rows(predict_all(model, d));
  int64_t right = 0;
  for (size_t i = 0; i < pred.size(); ++i) right += pred[i] == d.labels[i];
  return static_cast<double>(right) / pred.size();
}

class Pooling : public ::testing::TestWithParam<std::string> {};

TEST_P(Pooling, LearnsASeparableTokenSetTo100Percent) {
  const SequenceData train = contains_five(400, 1);
  SequenceModelConfig c;
  c.vocab_size = 10;
  c.embed = 8;
  c.hidden = 24;
  c.pooling = GetParam();
  c.bidirectional = GetParam() != "last";
  c.head = {16};
  SequenceModel model(c, 3);
  FitOptions o;
  o.epochs = 30;
  o.batch = 16;
  o.lr = 1e-2f;
  fit(model, train, {}, o, nullptr);
  EXPECT_EQ(accuracy(model, train), 1.0);
  EXPECT_GE(accuracy(model, contains_five(200, 2)), 0.97);
}

TEST_P(Pooling, PaddingCannotChangeAPrediction) {
  SequenceModelConfig c;
  c.vocab_size = 10;
  c.embed = 4;
  c.hidden = 6;
  c.layers = 2;
  c.bidirectional = true;
  c.pooling = GetParam();
  c.outputs = 3;
  SequenceModel model(c, 5);
  const SequenceData d = contains_five(12, 7);
  std::vector<int64_t> all(12);
  for (int64_t i = 0; i < 12; ++i) all[i] = i;
  const Tensor together = model.predict(make_batch(d, all));
  for (int64_t i = 0; i < 12; ++i) {
    const Tensor alone = model.predict(make_batch(d, {i}));
    for (int64_t k = 0; k < 3; ++k) EXPECT_NEAR(alone[k], together[i * 3 + k], 1e-5) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(SequenceModel, Pooling,
                         ::testing::Values("last", "mean", "max", "mean+max", "attention"));

// Feature sequences [T=4, F=3]; label = sign of the sum of the first feature.
SequenceData sign_set(int64_t n, uint64_t seed) {
  Rng rng(seed);
  SequenceData d;
  d.feature_size = 3;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<float> f(12);
    float sum = 0.0f;
    for (int64_t t = 0; t < 4; ++t) {
      for (int64_t k = 0; k < 3; ++k) f[t * 3 + k] = rng.uniform(-1.0f, 1.0f);
      sum += f[t * 3];
    }
    if (std::fabs(sum) < 0.2f) f[0] += sum < 0 ? -0.4f : 0.4f, sum += sum < 0 ? -0.4f : 0.4f;
    d.features.push_back(f);
    d.labels.push_back(sum > 0 ? 1 : 0);
  }
  return d;
}

TEST(SequenceModel, FeatureInputRnnAndMlpLearnTheSignSet) {
  const SequenceData train = sign_set(300, 1);
  for (const char* kind : {"rnn", "mlp"}) {
    SequenceModelConfig c;
    c.model = kind;
    c.feature_size = 3;
    c.steps = 4;
    c.cell = RnnMode::kLstm;
    c.hidden = 16;
    c.head = {16};
    SequenceModel model(c, 2);
    FitOptions o;
    o.epochs = 40;
    o.batch = 16;
    o.lr = 1e-2f;
    fit(model, train, {}, o, nullptr);
    EXPECT_GE(accuracy(model, train), 0.98) << kind;
  }
  SequenceModelConfig c;
  c.model = "mlp";
  c.feature_size = 3;
  c.steps = 5;
  SequenceModel model(c, 2);
  EXPECT_THROW(model.predict(make_batch(train, {0})), Error);  // 4 steps, not 5
}

TEST(SequenceModel, ForecastsASineWave) {
  SequenceData d;
  d.feature_size = 1;
  for (int64_t s = 0; s < 300; ++s) {
    std::vector<float> window, next;
    for (int64_t t = 0; t < 12; ++t) window.push_back(std::sin(0.4f * (s + t)));
    for (int64_t h = 0; h < 3; ++h) next.push_back(std::sin(0.4f * (s + 12 + h)));
    d.features.push_back(window);
    d.targets.push_back(next);
  }
  SequenceModelConfig c;
  c.task = "regress";
  c.feature_size = 1;
  c.hidden = 32;
  c.outputs = 3;
  SequenceModel model(c, 1);
  FitOptions o;
  o.epochs = 40;
  o.batch = 16;
  o.lr = 1e-2f;
  double last_valid = 1e9;
  fit(model, d, d, o, [&](const FitEvent& e) {
    if (e.end_of_epoch) last_valid = e.valid_metric;
  });
  EXPECT_LT(last_valid, 0.05);  // MAE on a wave of amplitude 1
}

TEST(SequenceModel, BatchesArePartitionsBucketedByLength) {
  const SequenceData d = contains_five(1000, 3);
  Rng rng(4);
  const auto batches = bucket_batches(d, 8, &rng);
  std::set<int64_t> seen;
  int64_t spread = 0;
  for (const auto& b : batches) {
    EXPECT_LE(b.size(), 8u);
    int64_t lo = 100, hi = 0;
    for (int64_t i : b) {
      EXPECT_TRUE(seen.insert(i).second) << i;
      lo = std::min(lo, d.length(i));
      hi = std::max(hi, d.length(i));
    }
    spread += hi - lo;
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_LT(static_cast<double>(spread) / batches.size(), 1.0);  // lengths 2..12 at random: ~8
  Rng again(4);
  EXPECT_EQ(bucket_batches(d, 8, &again), batches);
  const SequenceBatch b = make_batch(d, {0, 1}, 3);
  EXPECT_EQ(b.T, 3);
  EXPECT_LE(b.lengths[0], 3);
  SequenceData empty;
  empty.tokens = {{}};
  EXPECT_THROW(make_batch(empty, {0}), Error);
}

TEST(SequenceModel, MeanSoftmaxAveragesTheModelsProbabilities) {
  const Tensor a({2, 2}, {0.0f, 0.0f, std::log(3.0f), 0.0f});   // (.5, .5), (.75, .25)
  const Tensor b({2, 2}, {std::log(3.0f), 0.0f, 0.0f, 30.0f});  // (.75, .25), (~0, ~1)
  const Tensor m = mean_softmax({a, b});
  ASSERT_EQ(m.shape(), (Shape{2, 2}));
  EXPECT_NEAR(m[0], 0.625, 1e-6);
  EXPECT_NEAR(m[1], 0.375, 1e-6);
  EXPECT_NEAR(m[2], 0.375, 1e-6);
  EXPECT_NEAR(m[3], 0.625, 1e-6);
  const Tensor one = mean_softmax({a}), s = softmax_rows(a);
  for (int64_t k = 0; k < 4; ++k) EXPECT_EQ(one[k], s[k]);
  EXPECT_THROW(mean_softmax({}), Error);
  EXPECT_THROW(mean_softmax({a, Tensor({3, 2})}), Error);
}

TEST(TaskData, TokenModesAndEncoding) {
  using Strings = std::vector<std::string>;
  EXPECT_EQ(tokenize("Win $5!", "word"), (Strings{"win", "5"}));
  EXPECT_EQ(tokenize("Win $5!", "wordpunct"), (Strings{"win", "$", "5", "!"}));
  EXPECT_EQ(tokenize("Wi", "char"), (Strings{"W", "i"}));
  EXPECT_THROW(tokenize("x", "bpe"), Error);
  const data::Vocab vocab = data::Vocab::from_tokens({tokenize("win $5 now!", "wordpunct")});
  const SequenceData d = encode_texts({"Win $6 now!", "..."}, {1, 0}, vocab, "wordpunct", 3);
  ASSERT_EQ(d.tokens.size(), 2u);
  EXPECT_EQ(d.tokens[0], (std::vector<int64_t>{vocab.id("win"), vocab.id("$"), data::Vocab::kUnk}));
  EXPECT_EQ(d.tokens[1], (std::vector<int64_t>{data::Vocab::kUnk}));  // "..." is unknown
  EXPECT_EQ(d.labels, (std::vector<int64_t>{1, 0}));
}

TEST(SequenceModel, ConfigErrorsAndJsonRoundTrip) {
  SequenceModelConfig c;
  c.vocab_size = 10;
  EXPECT_EQ(SequenceModelConfig::from_json(c.to_json()).to_json(), c.to_json());
  SequenceModelConfig bad = c;
  bad.pooling = "median";
  EXPECT_THROW(SequenceModel(bad, 1), Error);
  bad = c;
  bad.feature_size = 3;  // both inputs
  EXPECT_THROW(SequenceModel(bad, 1), Error);
  bad = c;
  bad.outputs = 1;
  EXPECT_THROW(SequenceModel(bad, 1), Error);
  bad = c;
  bad.embed_dropout = 1.0f;
  EXPECT_THROW(SequenceModel(bad, 1), Error);
  bad = c;
  bad.vocab_size = 0;
  bad.feature_size = 3;
  bad.embed_dropout = 0.1f;  // feature input has no embedding to drop from
  EXPECT_THROW(SequenceModel(bad, 1), Error);
  EXPECT_THROW(SequenceModelConfig::from_json("{}"), Error);
  // Checkpoints written before embed_dropout existed still load, with it off.
  nlohmann::json old = nlohmann::json::parse(c.to_json());
  old.erase("embed_dropout");
  EXPECT_EQ(SequenceModelConfig::from_json(old.dump()).embed_dropout, 0.0f);
  SequenceModelConfig e = c;
  e.embed_dropout = 0.25f;
  EXPECT_EQ(SequenceModelConfig::from_json(e.to_json()).embed_dropout, 0.25f);
  // precision: saved when bf16, f32 when absent (older checkpoints); a bad name is an Error.
  SequenceModelConfig p = c;
  p.precision = Precision::kBfloat16;
  EXPECT_EQ(SequenceModelConfig::from_json(p.to_json()).precision, Precision::kBfloat16);
  EXPECT_EQ(SequenceModelConfig::from_json(c.to_json()).precision, Precision::kFloat32);
  nlohmann::json wrong = nlohmann::json::parse(p.to_json());
  wrong["precision"] = "fp8";
  EXPECT_THROW(SequenceModelConfig::from_json(wrong.dump()), Error);
}

TEST(SequenceModel, MeanMaxPoolingConcatenatesBothPools) {
  SequenceModelConfig c;
  c.vocab_size = 10;
  c.embed = 4;
  c.hidden = 5;
  c.bidirectional = true;
  c.pooling = "mean+max";
  SequenceModel model(c, 2);
  // No head: logits = W [mean; max] + bias, with W = [W_mean | W_max] of 2 x (2 + 2) * 5.
  auto state = model.state_dict();
  const Tensor w = state.at("out.weight");
  ASSERT_EQ(w.shape(), (Shape{2, 20}));
  // A mean model and a max model with the same recurrent weights and one half of W each.
  SequenceModelConfig mc = c, xc = c;
  mc.pooling = "mean";
  xc.pooling = "max";
  SequenceModel mean_model(mc, 2), max_model(xc, 2);
  auto ms = state, xs = state;
  Tensor wm({2, 10}), wx({2, 10});
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 10; ++j) {
      wm[i * 10 + j] = w[i * 20 + j];
      wx[i * 10 + j] = w[i * 20 + 10 + j];
    }
  ms["out.weight"] = wm;
  xs["out.weight"] = wx;
  xs["out.bias"] = Tensor({2});  // the bias counted once, in the mean model
  mean_model.load_state_dict(ms);
  max_model.load_state_dict(xs);
  const SequenceData d = contains_five(6, 4);
  const SequenceBatch b = make_batch(d, {0, 1, 2, 3, 4, 5});
  const Tensor both = model.predict(b), m = mean_model.predict(b), x = max_model.predict(b);
  for (int64_t k = 0; k < both.numel(); ++k) EXPECT_NEAR(both[k], m[k] + x[k], 1e-5) << k;
}

TEST(SequenceModel, EmbeddingDropoutActsInTrainingOnly) {
  SequenceModelConfig c;
  c.vocab_size = 10;
  c.embed = 6;
  c.hidden = 8;
  c.pooling = "mean";
  SequenceModelConfig cd = c;
  cd.embed_dropout = 0.5f;
  SequenceModel plain(c, 3), dropped(cd, 3);  // same seed: the same weights
  const SequenceData d = contains_five(8, 5);
  const SequenceBatch b = make_batch(d, {0, 1, 2, 3, 4, 5, 6, 7});
  const Tensor p0 = plain.predict(b), p1 = dropped.predict(b);
  for (int64_t k = 0; k < p0.numel(); ++k) EXPECT_EQ(p0[k], p1[k]) << k;
  // A training tape: without dropout it matches inference, with it it does not.
  Rng r0(9), r1(9);
  ag::Tape t0, t1;
  const Tensor y0 = plain.forward(t0, b, &r0).value(), y1 = dropped.forward(t1, b, &r1).value();
  double diff0 = 0.0, diff1 = 0.0;
  for (int64_t k = 0; k < p0.numel(); ++k) {
    diff0 += std::fabs(y0[k] - p0[k]);
    diff1 += std::fabs(y1[k] - p1[k]);
  }
  EXPECT_LT(diff0, 1e-5);
  EXPECT_GT(diff1, 1e-3);
  // And it still learns the set.
  SequenceModelConfig lc = c;
  lc.embed = 8;
  lc.hidden = 24;
  lc.pooling = "max";
  lc.bidirectional = true;
  lc.embed_dropout = 0.2f;
  SequenceModel model(lc, 3);
  FitOptions o;
  o.epochs = 30;
  o.batch = 16;
  o.lr = 1e-2f;
  fit(model, contains_five(400, 1), {}, o, nullptr);
  EXPECT_GE(accuracy(model, contains_five(200, 2)), 0.97);
}

}  // namespace
}  // namespace recur
