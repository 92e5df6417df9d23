// LanguageModel: the model, its data streams, evaluation, next-token queries and sampling.
// Leaves out: the training loop and checkpoints (lm_trainer.cc).
#include "recur/language_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <numeric>

#include "kernels/gemm.h"
#include "recur/error.h"

namespace recur {
namespace {

using json = nlohmann::json;

template <typename T>
T get_field(const json& j, const char* key, const std::string& what) {
  RECUR_CHECK(j.contains(key), what + ": missing field '" + key + "'");
  try {
    return j.at(key).get<T>();
  } catch (const json::exception&) {
    throw_error(what + ": field '" + key + "' has the wrong type");
  }
}

}  // namespace

std::string LmConfig::to_json() const {
  json j = {{"cell", mode_name(cell)},
            {"vocab_size", vocab_size},
            {"embed", embed},
            {"hidden", hidden},
            {"layers", layers},
            {"dropout", dropout},
            {"variational", variational},
            {"tie", tie}};
  if (precision != Precision::kFloat32) j["precision"] = precision_name(precision);
  return j.dump();
}

LmConfig LmConfig::from_json(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw_error(std::string("language model config is not valid JSON: ") + e.what());
  }
  const std::string what = "language model config";
  LmConfig c;
  c.cell = parse_mode(get_field<std::string>(j, "cell", what));
  c.vocab_size = get_field<int64_t>(j, "vocab_size", what);
  c.embed = get_field<int64_t>(j, "embed", what);
  c.hidden = get_field<int64_t>(j, "hidden", what);
  c.layers = get_field<int64_t>(j, "layers", what);
  c.dropout = get_field<float>(j, "dropout", what);
  c.variational = get_field<bool>(j, "variational", what);
  c.tie = get_field<bool>(j, "tie", what);
  if (j.contains("precision"))  // absent in f32 models and in checkpoints before bf16
    c.precision = parse_precision(get_field<std::string>(j, "precision", what));
  return c;
}

LanguageModel::LanguageModel(const LmConfig& config, uint64_t seed)
    : config_(config), init_rng_(seed) {
  const auto s = [](int64_t v) { return std::to_string(v); };
  RECUR_CHECK(config.vocab_size > 2,
              "language model: vocab_size must be > 2, got " + s(config.vocab_size));
  RECUR_CHECK(config.embed > 0 && config.hidden > 0 && config.layers > 0,
              "language model: embed, hidden and layers must be positive, got " + s(config.embed) +
                  ", " + s(config.hidden) + ", " + s(config.layers));
  RECUR_CHECK(config.dropout >= 0.0f && config.dropout < 1.0f,
              "language model: dropout must be in [0, 1), got " + std::to_string(config.dropout));
  RECUR_CHECK(!config.tie || config.embed == config.hidden,
              "language model: tying the decoder to the embedding needs embed == hidden, got " +
                  s(config.embed) + " and " + s(config.hidden));
  embedding_ =
      std::make_unique<nn::Embedding>(config.vocab_size, config.embed, init_rng_, "embedding.");
  RnnOptions o;
  o.mode = config.cell;
  o.input_size = config.embed;
  o.hidden_size = config.hidden;
  o.num_layers = config.layers;
  o.dropout = config.dropout;
  o.precision = config.precision;
  rnn_ = std::make_unique<nn::Recurrent>(o, seed + 1, "rnn.");
  decoder_ =
      std::make_unique<nn::Linear>(config.hidden, config.vocab_size, true, init_rng_, "decoder.");
  if (config.tie) decoder_->tie_weight(embedding_->weight_parameter());
  register_module(*embedding_);
  register_module(*rnn_);
  register_module(*decoder_);
}

RnnState LanguageModel::initial_state(int64_t batch) const {
  return rnn_->rnn().initial_state(batch);
}

ag::Var LanguageModel::forward_train(ag::Tape& tape, const std::vector<int64_t>& ids, int64_t T,
                                     int64_t B, RnnState* state, Rng& rng) {
  ag::Var x = embedding_->forward(tape, ids, {T, B});
  x = ag::dropout(tape, x, config_.dropout, rng, config_.variational);
  ag::Var h0 = tape.constant(state->h);
  ag::Var c0 = state->c.defined() ? tape.constant(state->c) : ag::Var();
  ag::RnnVars r = rnn_->forward(tape, x, {}, h0, c0, &rng);
  state->h = r.h_n.value();
  if (r.c_n.defined()) state->c = r.c_n.value();
  ag::Var y = ag::dropout(tape, r.output, config_.dropout, rng, config_.variational);
  return decoder_->forward(tape, y);
}

Tensor LanguageModel::logits(const std::vector<int64_t>& ids, int64_t T, int64_t B,
                             RnnState* state) const {
  const int64_t E = config_.embed, H = config_.hidden, V = config_.vocab_size;
  RECUR_CHECK(static_cast<int64_t>(ids.size()) == T * B,
              "language model: " + std::to_string(ids.size()) + " ids for a [T, B] of " +
                  std::to_string(T * B));
  const Tensor& table = embedding_->weight();
  Tensor x({T, B, E});
  for (size_t n = 0; n < ids.size(); ++n) {
    RECUR_CHECK(ids[n] >= 0 && ids[n] < V, "language model: token id " + std::to_string(ids[n]) +
                                               " outside the vocabulary of " + std::to_string(V));
    std::memcpy(x.data() + n * E, table.data() + ids[n] * E, sizeof(float) * E);
  }
  RnnArgs args;
  args.h0 = state->h;
  args.c0 = state->c;
  RnnOutput r = rnn_->rnn().forward(x, args);
  state->h = std::move(r.h_n);
  state->c = std::move(r.c_n);
  Tensor out({T * B, V});
  const Tensor& bias = decoder_->bias();
  for (int64_t n = 0; n < T * B; ++n)
    std::memcpy(out.data() + n * V, bias.data(), sizeof(float) * V);
  kernels::gemm<float>(false, true, T * B, V, H, 1.0f, r.output.data(), H,
                       decoder_->weight().data(), H, 1.0f, out.data(), V);
  return out;
}

// ---- data ----------------------------------------------------------------------------------

namespace {

std::vector<int64_t> stream_of(const std::vector<std::string>& docs, const data::Vocab& vocab) {
  std::vector<int64_t> out;
  const int64_t newline = vocab.id("\n");
  for (const std::string& d : docs) {
    std::vector<int64_t> ids = vocab.encode_chars(d);
    out.insert(out.end(), ids.begin(), ids.end());
    out.push_back(newline);
  }
  return out;
}

}  // namespace

LmData make_lm_data(const data::TextSplit& split, const data::Vocab& vocab) {
  RECUR_CHECK(vocab.contains("\n"), "language model data: the vocabulary has no newline token");
  LmData d;
  d.vocab = vocab;
  d.train = stream_of(split.train, vocab);
  d.valid = stream_of(split.valid, vocab);
  d.test = stream_of(split.test, vocab);
  return d;
}

LmData make_lm_data(const data::TextSplit& split) {
  RECUR_CHECK(!split.train.empty(), "language model data: the training split is empty");
  std::vector<std::string> docs = split.train;
  docs.push_back("\n");
  return make_lm_data(split, data::Vocab::from_chars(docs));
}

Batched batchify(const std::vector<int64_t>& stream, int64_t batch) {
  RECUR_CHECK(batch > 0, "batchify: batch must be positive, got " + std::to_string(batch));
  Batched b;
  b.batch = batch;
  b.rows = static_cast<int64_t>(stream.size()) / batch;
  b.ids.resize(static_cast<size_t>(b.rows * batch));
  // Column j holds stream[j*rows, (j+1)*rows); row r of the result is time step r.
  for (int64_t j = 0; j < batch; ++j)
    for (int64_t r = 0; r < b.rows; ++r) b.ids[r * batch + j] = stream[j * b.rows + r];
  return b;
}

// ---- evaluation ----------------------------------------------------------------------------

double LmEval::bpc() const { return loss / std::log(2.0); }
double LmEval::perplexity() const { return std::exp(loss); }

LmEval evaluate(const LanguageModel& model, const std::vector<int64_t>& stream, int64_t batch,
                int64_t bptt) {
  RECUR_CHECK(bptt > 0, "evaluate: bptt must be positive, got " + std::to_string(bptt));
  const Batched b =
      batchify(stream, std::max<int64_t>(1, std::min<int64_t>(batch, stream.size() / 2)));
  LmEval e;
  if (b.rows < 2) return e;
  RnnState state = model.initial_state(b.batch);
  double total = 0.0;
  for (int64_t i = 0; i < b.rows - 1; i += bptt) {
    const int64_t T = std::min(bptt, b.rows - 1 - i);
    std::vector<int64_t> in(b.ids.begin() + i * b.batch, b.ids.begin() + (i + T) * b.batch);
    std::vector<int64_t> target(b.ids.begin() + (i + 1) * b.batch,
                                b.ids.begin() + (i + 1 + T) * b.batch);
    ag::Tape tape;
    ag::Var z = tape.constant(model.logits(in, T, b.batch, &state));
    double sum = 0.0;
    int64_t count = 0;
    ag::cross_entropy(tape, z, target, -100, &sum, &count);
    total += sum;
    e.tokens += count;
  }
  e.loss = e.tokens > 0 ? total / e.tokens : 0.0;
  return e;
}

// ---- next token and sampling ---------------------------------------------------------------

namespace {

std::vector<int64_t> encode_known(const data::Vocab& vocab, const std::string& text,
                                  const std::string& what) {
  std::vector<std::string> unknown = vocab.unknown_chars(text);
  if (!unknown.empty()) {
    std::string list;
    for (size_t k = 0; k < unknown.size() && k < 10; ++k)
      list += (k ? ", '" : "'") + unknown[k] + "'";
    if (unknown.size() > 10) list += ", ...";
    throw_error(what + " has " + std::to_string(unknown.size()) +
                " character(s) that are not in the model's vocabulary: " + list);
  }
  return vocab.encode_chars(text);
}

std::vector<double> softmax(const float* z, int64_t n, double temperature) {
  std::vector<double> p(static_cast<size_t>(n));
  double m = z[0];
  for (int64_t i = 1; i < n; ++i) m = std::max<double>(m, z[i]);
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += p[i] = std::exp((z[i] - m) / temperature);
  for (double& v : p) v /= s;
  return p;
}

// Feeds "\n" (start of a document) and then `ids`; returns the logits after the last one.
Tensor run_prefix(const LanguageModel& model, const data::Vocab& vocab,
                  const std::vector<int64_t>& ids, RnnState* state) {
  std::vector<int64_t> all{vocab.id("\n")};
  all.insert(all.end(), ids.begin(), ids.end());
  Tensor z = model.logits(all, static_cast<int64_t>(all.size()), 1, state);
  const int64_t V = model.config().vocab_size;
  Tensor last({V});
  std::memcpy(last.data(), z.data() + (static_cast<int64_t>(all.size()) - 1) * V,
              sizeof(float) * V);
  return last;
}

}  // namespace

std::vector<TokenProbability> next_tokens(const LoadedLm& lm, const std::string& text,
                                          int64_t top) {
  RECUR_CHECK(top > 0, "next: --top must be positive, got " + std::to_string(top));
  std::vector<int64_t> ids = encode_known(lm.vocab, text, "the text");
  RnnState state = lm.model->initial_state(1);
  Tensor z = run_prefix(*lm.model, lm.vocab, ids, &state);
  std::vector<double> p = softmax(z.data(), z.numel(), 1.0);
  p[data::Vocab::kPad] = 0.0;
  std::vector<int64_t> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  const int64_t k = std::min<int64_t>(top, static_cast<int64_t>(p.size()));
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](int64_t a, int64_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
  std::vector<TokenProbability> out;
  for (int64_t i = 0; i < k; ++i) out.push_back({lm.vocab.token(order[i]), p[order[i]]});
  return out;
}

std::string generate(const LoadedLm& lm, const std::string& prime, const SampleOptions& o) {
  RECUR_CHECK(o.length >= 0, "generate: --length must be >= 0, got " + std::to_string(o.length));
  RECUR_CHECK(o.temperature >= 0.0f,
              "generate: --temperature must be >= 0, got " + std::to_string(o.temperature));
  RECUR_CHECK(o.top_k >= 0, "generate: --top-k must be >= 0, got " + std::to_string(o.top_k));
  RECUR_CHECK(o.top_p > 0.0f && o.top_p <= 1.0f,
              "generate: --top-p must be in (0, 1], got " + std::to_string(o.top_p));
  std::vector<int64_t> ids = encode_known(lm.vocab, prime, "the prime text");
  const LanguageModel& model = *lm.model;
  RnnState state = model.initial_state(1);
  Tensor z = run_prefix(model, lm.vocab, ids, &state);
  Rng rng(o.seed);
  const int64_t V = model.config().vocab_size;
  const int64_t newline = lm.vocab.id("\n");
  std::vector<int64_t> out;
  for (int64_t step = 0; step < o.length; ++step) {
    z[data::Vocab::kPad] = -1e30f;
    z[data::Vocab::kUnk] = -1e30f;
    int64_t next = 0;
    if (o.temperature == 0.0f) {
      next = std::max_element(z.data(), z.data() + V) - z.data();
    } else {
      std::vector<double> p = softmax(z.data(), V, o.temperature);
      std::vector<int64_t> order(static_cast<size_t>(V));
      std::iota(order.begin(), order.end(), 0);
      std::sort(order.begin(), order.end(),
                [&](int64_t a, int64_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
      int64_t keep = o.top_k > 0 ? std::min(o.top_k, V) : V;
      double cum = 0.0;
      for (int64_t i = 0; i < keep; ++i) {
        cum += p[order[i]];
        if (cum >= o.top_p) {
          keep = i + 1;
          break;
        }
      }
      double mass = 0.0;
      for (int64_t i = 0; i < keep; ++i) mass += p[order[i]];
      double u = rng.uniform() * mass;
      next = order[keep - 1];
      for (int64_t i = 0; i < keep; ++i) {
        u -= p[order[i]];
        if (u < 0.0) {
          next = order[i];
          break;
        }
      }
    }
    if (o.stop_at_newline && next == newline) break;
    out.push_back(next);
    z = model.logits({next}, 1, 1, &state);
  }
  return lm.vocab.decode(out);
}

}  // namespace recur
