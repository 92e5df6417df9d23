// LmTrainer: truncated-BPTT training of a LanguageModel with the hidden state carried across
// chunks, held-out evaluation, and checkpoints (model, optimizer, schedule, data position,
// hidden state, random state) that resume bit for bit. Also load_language_model().
// Leaves out: the model and sampling (language_model.cc), progress display (the CLI).
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "recur/error.h"
#include "recur/io.h"
#include "recur/language_model.h"

namespace recur {
namespace {

using json = nlohmann::json;
constexpr const char* kKind = "language_model";

json parse_json(const std::string& text, const std::string& what) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw_error(what + " is not valid JSON: " + e.what());
  }
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

uint64_t unhex(const std::string& s) {
  RECUR_CHECK(s.size() == 16, "checkpoint: bad random state '" + s + "'");
  return std::stoull(s, nullptr, 16);
}

std::string metadata(const SafeTensors& file, const std::string& key, const std::string& path) {
  auto it = file.metadata.find(key);
  RECUR_CHECK(it != file.metadata.end(),
              path + ": checkpoint metadata lacks '" + key + "' (damaged or not from recur?)");
  return it->second;
}

void check_kind(const SafeTensors& file, const std::string& path) {
  auto it = file.metadata.find("recur.kind");
  RECUR_CHECK(it != file.metadata.end(),
              path + " is not a recur model checkpoint (no 'recur.kind' in its metadata)");
  RECUR_CHECK(it->second == kKind, path + " holds a '" + it->second +
                                       "' model, not a language model; use the command "
                                       "made for that kind of model");
}

std::map<std::string, Tensor> with_prefix(const std::map<std::string, Tensor>& tensors,
                                          const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (const auto& [k, v] : tensors)
    if (k.compare(0, prefix.size(), prefix) == 0) out[k.substr(prefix.size())] = v;
  return out;
}

}  // namespace

std::string LmTrainOptions::to_json() const {
  json j = {{"batch", batch},
            {"bptt", bptt},
            {"steps", steps},
            {"epochs", epochs},
            {"optimizer", optimizer},
            {"lr", lr},
            {"momentum", momentum},
            {"weight_decay", weight_decay},
            {"clip", clip},
            {"schedule", schedule},
            {"warmup", warmup},
            {"seed", seed},
            {"eval_every", eval_every},
            {"eval_batch", eval_batch},
            {"eval_tokens", eval_tokens}};
  return j.dump();
}

LmTrainOptions LmTrainOptions::from_json(const std::string& text) {
  const json j = parse_json(text, "training options");
  LmTrainOptions o;
  try {
    o.batch = j.at("batch").get<int64_t>();
    o.bptt = j.at("bptt").get<int64_t>();
    o.steps = j.at("steps").get<int64_t>();
    o.epochs = j.at("epochs").get<int64_t>();
    o.optimizer = j.at("optimizer").get<std::string>();
    o.lr = j.at("lr").get<float>();
    o.momentum = j.at("momentum").get<float>();
    o.weight_decay = j.at("weight_decay").get<float>();
    o.clip = j.at("clip").get<float>();
    o.schedule = j.at("schedule").get<std::string>();
    o.warmup = j.at("warmup").get<int64_t>();
    o.seed = j.at("seed").get<uint64_t>();
    o.eval_every = j.at("eval_every").get<int64_t>();
    o.eval_batch = j.at("eval_batch").get<int64_t>();
    o.eval_tokens = j.at("eval_tokens").get<int64_t>();
  } catch (const json::exception& e) {
    throw_error(std::string("training options: ") + e.what());
  }
  return o;
}

LmTrainer::LmTrainer(const LmConfig& config, const LmTrainOptions& options, LmData data,
                     std::map<std::string, std::string> data_info)
    : config_(config),
      options_(options),
      data_(std::move(data)),
      data_info_(std::move(data_info)),
      rng_(options.seed ^ 0x9e3779b97f4a7c15ULL) {
  config_.vocab_size = data_.vocab.size();
  RECUR_CHECK(options_.batch > 0 && options_.bptt > 0,
              "train: --batch and --bptt must be positive, got " + std::to_string(options_.batch) +
                  " and " + std::to_string(options_.bptt));
  RECUR_CHECK(options_.steps >= 0 && options_.epochs > 0,
              "train: --steps must be >= 0 and --epochs positive");
  model_ = std::make_unique<LanguageModel>(config_, options_.seed);
  train_ = batchify(data_.train, options_.batch);
  RECUR_CHECK(train_.rows >= 2,
              "train: the training text has " + std::to_string(data_.train.size()) +
                  " tokens, too few for a batch of " + std::to_string(options_.batch) + " columns");
  const int64_t chunks = (train_.rows - 1 + options_.bptt - 1) / options_.bptt;
  total_steps_ = options_.steps > 0 ? options_.steps : options_.epochs * chunks;
  init_optimizer();
  state_ = model_->initial_state(options_.batch);
}

LmTrainer::~LmTrainer() = default;

void LmTrainer::init_optimizer() {
  const float wd = options_.weight_decay >= 0.0f ? options_.weight_decay : 0.0f;
  if (options_.optimizer == "sgd") {
    optim::SgdOptions o;
    o.lr = options_.lr;
    o.momentum = options_.momentum;
    o.weight_decay = wd;
    optimizer_ = optim::sgd(model_->parameters(), o);
  } else if (options_.optimizer == "rmsprop") {
    optim::RmspropOptions o;
    o.lr = options_.lr;
    o.momentum = options_.momentum;
    o.weight_decay = wd;
    optimizer_ = optim::rmsprop(model_->parameters(), o);
  } else {
    RECUR_CHECK(options_.momentum == 0.0f,
                "--momentum applies to sgd and rmsprop, not " + options_.optimizer);
    optimizer_ = optim::make_optimizer(options_.optimizer, model_->parameters(), options_.lr,
                                       options_.weight_decay);
  }
  schedule_ = optim::make_schedule(options_.schedule, options_.lr, total_steps_, options_.warmup);
}

double LmTrainer::train_step() {
  const int64_t B = train_.batch;
  if (position_ >= train_.rows - 1) {
    position_ = 0;
    ++epoch_;
    state_ = model_->initial_state(B);
  }
  const int64_t T = std::min(options_.bptt, train_.rows - 1 - position_);
  std::vector<int64_t> in(train_.ids.begin() + position_ * B,
                          train_.ids.begin() + (position_ + T) * B);
  std::vector<int64_t> target(train_.ids.begin() + (position_ + 1) * B,
                              train_.ids.begin() + (position_ + 1 + T) * B);
  optimizer_->set_lr(schedule_->lr_at(step_));
  optimizer_->zero_grad();
  ag::Tape tape;
  ag::Var logits = model_->forward_train(tape, in, T, B, &state_, rng_);
  ag::Var loss = ag::cross_entropy(tape, logits, target);
  const double value = loss.value()[0];
  tape.backward(loss);
  if (options_.clip > 0.0f) optim::clip_grad_norm(optimizer_->parameters(), options_.clip);
  optimizer_->step();
  position_ += T;
  ++step_;
  return value;
}

LmEval LmTrainer::evaluate_valid(int64_t max_tokens) const {
  if (max_tokens > 0 && static_cast<int64_t>(data_.valid.size()) > max_tokens) {
    std::vector<int64_t> head(data_.valid.begin(), data_.valid.begin() + max_tokens);
    return evaluate(*model_, head, options_.eval_batch, options_.bptt);
  }
  return evaluate(*model_, data_.valid, options_.eval_batch, options_.bptt);
}

void LmTrainer::run(const std::function<void(const LmTrainEvent&)>& on_event,
                    const std::function<bool()>& stop) {
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  int64_t steps_here = 0;
  while (!done()) {
    const auto t0 = clock::now();
    const int64_t tokens = std::min(options_.bptt, train_.rows - 1 - position_) * train_.batch;
    LmTrainEvent ev;
    ev.lr = schedule_->lr_at(step_);
    ev.train_loss = train_step();
    const double dt = std::chrono::duration<double>(clock::now() - t0).count();
    // The first steps of a process warm caches and allocators; PyTorch's script skips 3 too.
    if (++steps_here > 3) {
      train_seconds_ += dt;
      train_tokens_ += tokens > 0 ? tokens : options_.bptt * train_.batch;
    }
    ev.step = step_;
    ev.total_steps = total_steps_;
    ev.tokens_per_s = train_seconds_ > 0 ? train_tokens_ / train_seconds_ : 0.0;
    const bool eval_now = done() || (options_.eval_every > 0 && step_ % options_.eval_every == 0);
    if (eval_now && !data_.valid.empty()) {
      ev.valid = evaluate_valid(done() ? 0 : options_.eval_tokens);
      ev.has_valid = ev.valid.tokens > 0;
      if (ev.has_valid) schedule_->observe(static_cast<float>(ev.valid.loss));
    }
    ev.time_s = std::chrono::duration<double>(clock::now() - started).count();
    if (on_event) on_event(ev);
    if (stop && stop()) break;
  }
}

void LmTrainer::save(const std::string& path) const {
  SafeTensors file;
  file.tensors = model_->state_dict();
  for (const auto& [k, v] : optimizer_->state_dict()) file.tensors["optimizer/" + k] = v;
  for (const auto& [k, v] : schedule_->state_dict()) file.tensors["schedule/" + k] = v;
  file.tensors["train/h"] = state_.h;
  if (state_.c.defined()) file.tensors["train/c"] = state_.c;
  const Rng::State rs = rng_.state();
  json train = {{"options", json::parse(options_.to_json())},
                {"step", step_},
                {"total_steps", total_steps_},
                {"position", position_},
                {"epoch", epoch_},
                {"rng", {hex(rs.s[0]), hex(rs.s[1]), hex(rs.s[2]), hex(rs.s[3])}}};
  file.metadata["format"] = "pt";
  file.metadata["recur.kind"] = kKind;
  file.metadata["recur.config"] = config_.to_json();
  file.metadata["recur.vocab"] = data_.vocab.to_json();
  file.metadata["recur.data"] = json(data_info_).dump();
  file.metadata["recur.train"] = train.dump();
  save_safetensors(path, file);
}

std::unique_ptr<LmTrainer> LmTrainer::resume(const std::string& path, LmData data,
                                             int64_t total_steps) {
  const SafeTensors file = load_safetensors(path);
  check_kind(file, path);
  std::unique_ptr<LmTrainer> t(new LmTrainer());
  t->config_ = LmConfig::from_json(metadata(file, "recur.config", path));
  const data::Vocab vocab = data::Vocab::from_json(metadata(file, "recur.vocab", path));
  RECUR_CHECK(vocab.to_json() == data.vocab.to_json(),
              "resume: the data's vocabulary differs from the one in " + path);
  const json train = parse_json(metadata(file, "recur.train", path), path + ": recur.train");
  t->options_ = LmTrainOptions::from_json(train.at("options").dump());
  t->data_ = std::move(data);
  t->data_info_ = parse_json(metadata(file, "recur.data", path), path + ": recur.data")
                      .get<std::map<std::string, std::string>>();
  t->model_ = std::make_unique<LanguageModel>(t->config_, t->options_.seed);
  t->model_->load_state_dict(file.tensors, /*strict=*/false);
  t->train_ = batchify(t->data_.train, t->options_.batch);
  t->step_ = train.at("step").get<int64_t>();
  t->total_steps_ = total_steps > 0 ? total_steps : train.at("total_steps").get<int64_t>();
  t->position_ = train.at("position").get<int64_t>();
  t->epoch_ = train.at("epoch").get<int64_t>();
  RECUR_CHECK(t->position_ >= 0 && t->position_ <= t->train_.rows,
              "resume: the saved data position does not fit the data (another corpus?)");
  t->init_optimizer();
  t->optimizer_->load_state_dict(with_prefix(file.tensors, "optimizer/"));
  t->schedule_->load_state_dict(with_prefix(file.tensors, "schedule/"));
  auto h = file.tensors.find("train/h");
  RECUR_CHECK(h != file.tensors.end(), path + ": checkpoint lacks the carried hidden state");
  t->state_.h = h->second;
  auto c = file.tensors.find("train/c");
  if (c != file.tensors.end()) t->state_.c = c->second;
  Rng::State rs;
  const auto& r = train.at("rng");
  for (int k = 0; k < 4; ++k) rs.s[k] = unhex(r.at(k).get<std::string>());
  t->rng_.set_state(rs);
  return t;
}

LoadedLm load_language_model(const std::string& path) {
  const SafeTensors file = load_safetensors(path);
  check_kind(file, path);
  LoadedLm lm;
  const LmConfig config = LmConfig::from_json(metadata(file, "recur.config", path));
  lm.vocab = data::Vocab::from_json(metadata(file, "recur.vocab", path));
  RECUR_CHECK(lm.vocab.size() == config.vocab_size,
              path + ": the vocabulary has " + std::to_string(lm.vocab.size()) +
                  " tokens but the model expects " + std::to_string(config.vocab_size));
  lm.model = std::make_unique<LanguageModel>(config, 0);
  lm.model->load_state_dict(file.tensors, /*strict=*/false);
  auto it = file.metadata.find("recur.data");
  if (it != file.metadata.end())
    lm.data_info =
        parse_json(it->second, path + ": recur.data").get<std::map<std::string, std::string>>();
  return lm;
}

}  // namespace recur
