// SequenceModel: configuration, padded batches, length buckets and the model itself
// (embedding or features -> recurrent stack -> pooling -> MLP head), or the one-to-one MLP.
// Leaves out: the training loop (fit.cc).
#include "recur/sequence_model.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <numeric>

#include "recur/error.h"

namespace recur {
namespace {

using json = nlohmann::json;
std::string str(int64_t v) { return std::to_string(v); }

}  // namespace

std::string SequenceModelConfig::to_json() const {
  json j = {{"task", task},
            {"model", model},
            {"vocab_size", vocab_size},
            {"embed", embed},
            {"feature_size", feature_size},
            {"steps", steps},
            {"cell", mode_name(cell)},
            {"hidden", hidden},
            {"layers", layers},
            {"bidirectional", bidirectional},
            {"dropout", dropout},
            {"embed_dropout", embed_dropout},
            {"pooling", pooling},
            {"attention_size", attention_size},
            {"head", head},
            {"outputs", outputs}};
  if (precision != Precision::kFloat32) j["precision"] = precision_name(precision);
  return j.dump();
}

SequenceModelConfig SequenceModelConfig::from_json(const std::string& text) {
  SequenceModelConfig c;
  try {
    const json j = json::parse(text);
    c.task = j.at("task").get<std::string>();
    c.model = j.at("model").get<std::string>();
    c.vocab_size = j.at("vocab_size").get<int64_t>();
    c.embed = j.at("embed").get<int64_t>();
    c.feature_size = j.at("feature_size").get<int64_t>();
    c.steps = j.at("steps").get<int64_t>();
    c.cell = parse_mode(j.at("cell").get<std::string>());
    c.hidden = j.at("hidden").get<int64_t>();
    c.layers = j.at("layers").get<int64_t>();
    c.bidirectional = j.at("bidirectional").get<bool>();
    c.dropout = j.at("dropout").get<float>();
    c.embed_dropout = j.value("embed_dropout", 0.0f);  // absent in older checkpoints
    c.pooling = j.at("pooling").get<std::string>();
    c.attention_size = j.at("attention_size").get<int64_t>();
    c.head = j.at("head").get<std::vector<int64_t>>();
    c.outputs = j.at("outputs").get<int64_t>();
    // absent in f32 models and in checkpoints from before bf16
    if (j.contains("precision"))
      c.precision = parse_precision(j.at("precision").get<std::string>());
  } catch (const json::exception& e) {
    throw_error(std::string("sequence model config: ") + e.what());
  }
  c.validate();
  return c;
}

void SequenceModelConfig::validate() const {
  RECUR_CHECK(task == "classify" || task == "regress",
              "sequence model: task must be classify or regress, got '" + task + "'");
  RECUR_CHECK(model == "rnn" || model == "mlp",
              "sequence model: model must be rnn or mlp, got '" + model + "'");
  RECUR_CHECK((vocab_size > 0) != (feature_size > 0),
              "sequence model: exactly one of vocab_size (token input) and feature_size "
              "(feature input) must be set, got " +
                  str(vocab_size) + " and " + str(feature_size));
  RECUR_CHECK(vocab_size == 0 || embed > 0, "sequence model: --embed must be positive");
  RECUR_CHECK(model != "mlp" || (feature_size > 0 && steps > 0),
              "sequence model: the mlp needs feature input of a fixed number of steps");
  RECUR_CHECK(hidden > 0 && layers > 0, "sequence model: --hidden and --layers must be positive");
  RECUR_CHECK(dropout >= 0.0f && dropout < 1.0f,
              "sequence model: --dropout must be in [0, 1), got " + std::to_string(dropout));
  RECUR_CHECK(
      embed_dropout >= 0.0f && embed_dropout < 1.0f,
      "sequence model: --embed-dropout must be in [0, 1), got " + std::to_string(embed_dropout));
  RECUR_CHECK(embed_dropout == 0.0f || vocab_size > 0,
              "sequence model: --embed-dropout needs token input (there is no embedding)");
  RECUR_CHECK(pooling == "last" || pooling == "mean" || pooling == "max" || pooling == "mean+max" ||
                  pooling == "attention",
              "--pooling " + pooling + ": expected last, mean, max, mean+max or attention");
  RECUR_CHECK(attention_size > 0, "sequence model: attention_size must be positive");
  for (int64_t h : head) RECUR_CHECK(h > 0, "sequence model: head sizes must be positive");
  RECUR_CHECK(outputs > 0 && (task != "classify" || outputs >= 2),
              "sequence model: a classifier needs at least 2 classes, got " + str(outputs));
}

// ---- data and batches ----------------------------------------------------------------------

int64_t SequenceData::size() const {
  return feature_size > 0 ? static_cast<int64_t>(features.size())
                          : static_cast<int64_t>(tokens.size());
}

int64_t SequenceData::length(int64_t i) const {
  return feature_size > 0 ? static_cast<int64_t>(features[i].size()) / feature_size
                          : static_cast<int64_t>(tokens[i].size());
}

SequenceData SequenceData::subset(const std::vector<int64_t>& indices) const {
  SequenceData out;
  out.feature_size = feature_size;
  for (int64_t i : indices) {
    RECUR_CHECK(i >= 0 && i < size(), "subset: index " + str(i) + " outside the data");
    if (feature_size > 0)
      out.features.push_back(features[i]);
    else
      out.tokens.push_back(tokens[i]);
    if (!labels.empty()) out.labels.push_back(labels[i]);
    if (!targets.empty()) out.targets.push_back(targets[i]);
  }
  return out;
}

SequenceBatch make_batch(const SequenceData& data, const std::vector<int64_t>& indices,
                         int64_t max_len) {
  RECUR_CHECK(!indices.empty(), "make_batch: no examples");
  SequenceBatch b;
  b.B = static_cast<int64_t>(indices.size());
  for (int64_t i : indices) {
    RECUR_CHECK(i >= 0 && i < data.size(), "make_batch: index " + str(i) + " outside the data");
    int64_t len = data.length(i);
    RECUR_CHECK(len > 0, "example " + str(i) + " is empty (no steps)");
    if (max_len > 0) len = std::min(len, max_len);
    b.lengths.push_back(len);
    b.T = std::max(b.T, len);
  }
  if (data.feature_size > 0) {
    const int64_t F = data.feature_size;
    b.features = Tensor({b.T, b.B, F});
    for (int64_t k = 0; k < b.B; ++k) {
      const float* src = data.features[indices[k]].data();
      for (int64_t t = 0; t < b.lengths[k]; ++t)
        std::copy(src + t * F, src + (t + 1) * F, b.features.data() + (t * b.B + k) * F);
    }
  } else {
    b.ids.assign(static_cast<size_t>(b.T * b.B), 0);
    for (int64_t k = 0; k < b.B; ++k)
      for (int64_t t = 0; t < b.lengths[k]; ++t) b.ids[t * b.B + k] = data.tokens[indices[k]][t];
  }
  return b;
}

std::vector<std::vector<int64_t>> bucket_batches(const SequenceData& data, int64_t batch,
                                                 Rng* rng) {
  RECUR_CHECK(batch > 0, "batch size must be positive, got " + str(batch));
  const int64_t n = data.size();
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  auto shuffle = [&](auto& v) {
    for (int64_t i = static_cast<int64_t>(v.size()) - 1; i > 0; --i)
      std::swap(v[i], v[rng->next_u64() % static_cast<uint64_t>(i + 1)]);
  };
  if (rng) shuffle(order);
  std::vector<std::vector<int64_t>> batches;
  const int64_t group = 50 * batch;
  for (int64_t g = 0; g < n; g += group) {
    auto begin = order.begin() + g, end = order.begin() + std::min(n, g + group);
    std::stable_sort(begin, end,
                     [&](int64_t a, int64_t b) { return data.length(a) < data.length(b); });
    for (auto it = begin; it < end; it += std::min<int64_t>(batch, end - it))
      batches.emplace_back(it, it + std::min<int64_t>(batch, end - it));
  }
  if (rng) shuffle(batches);
  return batches;
}

// ---- the model -----------------------------------------------------------------------------

SequenceModel::SequenceModel(const SequenceModelConfig& config, uint64_t seed)
    : config_(config), init_rng_(seed) {
  config_.validate();
  const int64_t D = config_.bidirectional ? 2 : 1;
  int64_t width = 0;  // size of the pooled representation
  if (config_.vocab_size > 0)
    embedding_ =
        std::make_unique<nn::Embedding>(config_.vocab_size, config_.embed, init_rng_, "embedding.");
  if (config_.model == "rnn") {
    RnnOptions o;
    o.mode = config_.cell;
    o.input_size = config_.vocab_size > 0 ? config_.embed : config_.feature_size;
    o.hidden_size = config_.hidden;
    o.num_layers = config_.layers;
    o.bidirectional = config_.bidirectional;
    o.dropout = config_.dropout;
    o.precision = config_.precision;
    rnn_ = std::make_unique<nn::Recurrent>(o, seed + 1, "rnn.");
    width = D * config_.hidden * (config_.pooling == "mean+max" ? 2 : 1);
    if (config_.pooling == "attention") {
      attention_ = std::make_unique<nn::Linear>(width, config_.attention_size, true, init_rng_,
                                                "attention.");
      attention_score_ = std::make_unique<nn::Linear>(config_.attention_size, 1, false, init_rng_,
                                                      "attention_score.");
    }
  } else {
    width = config_.steps * config_.feature_size;
  }
  for (size_t k = 0; k < config_.head.size(); ++k) {
    head_.push_back(std::make_unique<nn::Linear>(width, config_.head[k], true, init_rng_,
                                                 "head." + std::to_string(k) + "."));
    width = config_.head[k];
  }
  head_.push_back(std::make_unique<nn::Linear>(width, config_.outputs, true, init_rng_, "out."));
  std::vector<nn::Module*> modules = {embedding_.get(), rnn_.get(), attention_.get(),
                                      attention_score_.get()};
  for (auto& h : head_) modules.push_back(h.get());
  for (nn::Module* m : modules)
    if (m) register_module(*m);
}

ag::Var SequenceModel::forward(ag::Tape& tape, const SequenceBatch& batch, Rng* rng) {
  RECUR_CHECK(static_cast<int64_t>(batch.lengths.size()) == batch.B,
              "sequence model: the batch has " + str(static_cast<int64_t>(batch.lengths.size())) +
                  " lengths for " + str(batch.B) + " sequences");
  ag::Var x;
  if (embedding_) {
    RECUR_CHECK(static_cast<int64_t>(batch.ids.size()) == batch.T * batch.B,
                "sequence model: token input expected; the batch has no token ids");
    for (int64_t id : batch.ids)
      RECUR_CHECK(id >= 0 && id < config_.vocab_size, "sequence model: token id " + str(id) +
                                                          " outside the vocabulary of " +
                                                          str(config_.vocab_size));
    x = embedding_->forward(tape, batch.ids, {batch.T, batch.B});
  } else {
    RECUR_CHECK(batch.features.dim() == 3 && batch.features.size(2) == config_.feature_size,
                "sequence model: expected features [T, B, " + str(config_.feature_size) +
                    "], got " + shape_string(batch.features.shape()));
    x = tape.constant(batch.features);
  }
  Rng fallback(0);
  Rng& r = rng ? *rng : fallback;
  if (embedding_) x = ag::dropout(tape, x, config_.embed_dropout, r);
  ag::Var h;
  if (rnn_) {
    ag::RnnVars out = rnn_->forward(tape, x, batch.lengths, ag::Var(), ag::Var(), &r);
    const std::string& pool = config_.pooling;
    if (pool == "last") {
      const int64_t D = config_.bidirectional ? 2 : 1;
      std::vector<ag::Var> parts;
      for (int64_t d = 0; d < D; ++d)
        parts.push_back(ag::select(tape, out.h_n, (config_.layers - 1) * D + d));
      h = parts.size() == 1 ? parts[0] : ag::concat_last(tape, parts);
    } else if (pool == "mean") {
      h = ag::mean_over_time(tape, out.output, batch.lengths);
    } else if (pool == "max") {
      h = ag::max_over_time(tape, out.output, batch.lengths);
    } else if (pool == "mean+max") {
      h = ag::concat_last(tape, {ag::mean_over_time(tape, out.output, batch.lengths),
                                 ag::max_over_time(tape, out.output, batch.lengths)});
    } else {
      ag::Var a = ag::tanh(tape, attention_->forward(tape, out.output));  // [T, B, A]
      ag::Var s = ag::reshape(tape, attention_score_->forward(tape, a), {batch.T, batch.B});
      h = ag::weighted_sum_over_time(tape, ag::softmax_over_time(tape, s, batch.lengths),
                                     out.output);
    }
  } else {
    RECUR_CHECK(batch.T == config_.steps,
                "mlp: every input must have " + str(config_.steps) + " steps, got " + str(batch.T));
    for (int64_t len : batch.lengths)
      RECUR_CHECK(len == config_.steps, "mlp: every input must have " + str(config_.steps) +
                                            " steps, got one of " + str(len));
    h = ag::flatten_time(tape, x);
  }
  for (size_t k = 0; k + 1 < head_.size(); ++k)
    h = ag::relu(tape, head_[k]->forward(tape, ag::dropout(tape, h, config_.dropout, r)));
  return head_.back()->forward(tape, ag::dropout(tape, h, config_.dropout, r));
}

Tensor SequenceModel::predict(const SequenceBatch& batch) {
  ag::Tape tape(false);
  return forward(tape, batch, nullptr).value();
}

}  // namespace recur
