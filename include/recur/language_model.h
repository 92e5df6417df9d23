// Next-token language model (the tutorial's "天上的云朵漂浮在__"): embedding -> dropout ->
// recurrent stack (RNN/LSTM/GRU, layers) -> dropout -> linear decoder over the vocabulary.
// Training (truncated BPTT with the hidden state carried from chunk to chunk), evaluation in
// bits per character, next-token distributions and sampling, and checkpoints that resume
// exactly. Leaves out: word-level tokenization, beam search.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "recur/autograd.h"
#include "recur/data.h"
#include "recur/nn.h"
#include "recur/optim.h"
#include "recur/rnn.h"

namespace recur {

struct LmConfig {
  RnnMode cell = RnnMode::kLstm;
  int64_t vocab_size = 0;
  int64_t embed = 128;
  int64_t hidden = 512;
  int64_t layers = 2;
  float dropout = 0.2f;      // on the embeddings, between layers and before the decoder
  bool variational = false;  // the same dropout mask at every time step (inputs and outputs)
  bool tie = false;          // decoder weight = embedding table (needs embed == hidden)
  // Of the recurrent layers' matrix products (see recur::Precision); embedding and decoder
  // stay float. Saved with the model, so eval and generate run as training did.
  Precision precision = Precision::kFloat32;

  std::string to_json() const;
  static LmConfig from_json(const std::string& json);
};

// Parameters: embedding.weight, rnn.weight_ih_l0 ..., decoder.weight (unless tied),
// decoder.bias. state_dict / load_state_dict (non-strict for checkpoints) come from nn::Module.
class LanguageModel : public nn::Module {
 public:
  LanguageModel(const LmConfig& config, uint64_t seed);
  const LmConfig& config() const { return config_; }

  RnnState initial_state(int64_t batch) const;

  // Training forward on the tape: ids [T, B] time-major; the state is used as a detached
  // initial state and replaced by the final one. Returns logits [T*B, V].
  ag::Var forward_train(ag::Tape& tape, const std::vector<int64_t>& ids, int64_t T, int64_t B,
                        RnnState* state, Rng& rng);
  // Inference (no dropout, no tape): logits [T*B, V]; advances the state.
  Tensor logits(const std::vector<int64_t>& ids, int64_t T, int64_t B, RnnState* state) const;

 private:
  LmConfig config_;
  Rng init_rng_;
  std::unique_ptr<nn::Embedding> embedding_;
  std::unique_ptr<nn::Recurrent> rnn_;
  std::unique_ptr<nn::Linear> decoder_;
};

// Token streams of a corpus split for language modelling: each document's characters followed
// by "\n". The vocabulary comes from the training part (plus "\n").
struct LmData {
  data::Vocab vocab;
  std::vector<int64_t> train, valid, test;
};
LmData make_lm_data(const data::TextSplit& split);
// The same with a given vocabulary (for evaluating a trained model).
LmData make_lm_data(const data::TextSplit& split, const data::Vocab& vocab);

// A stream cut into B columns, [rows, B] time-major (PyTorch word_language_model's batchify):
// the tail that does not fill a row is dropped.
struct Batched {
  std::vector<int64_t> ids;  // rows * B
  int64_t rows = 0, batch = 0;
};
Batched batchify(const std::vector<int64_t>& stream, int64_t batch);

struct LmEval {
  double loss = 0.0;  // mean cross-entropy, nats per token
  int64_t tokens = 0;
  double bpc() const;         // loss / ln 2
  double perplexity() const;  // exp(loss)
};
// Evaluates on a stream batchified by `batch`, chunks of `bptt`, the state carried.
LmEval evaluate(const LanguageModel& model, const std::vector<int64_t>& stream, int64_t batch,
                int64_t bptt);

struct LmTrainOptions {
  int64_t batch = 32;
  int64_t bptt = 64;
  int64_t steps = 0;   // optimizer steps in total (0: use epochs)
  int64_t epochs = 1;  // passes over the training stream when steps == 0
  std::string optimizer = "adam";
  float lr = 2e-3f;
  float momentum = 0.0f;       // sgd and rmsprop
  float weight_decay = -1.0f;  // < 0: the optimizer's default
  float clip = 1.0f;           // global gradient-norm clip; 0 = off
  std::string schedule = "constant";
  int64_t warmup = 0;
  uint64_t seed = 1;
  int64_t eval_every = 0;  // steps between held-out evaluations; 0 = only at the end
  int64_t eval_batch = 16;
  int64_t eval_tokens = 0;  // evaluate on at most this many valid tokens during training; 0: all

  std::string to_json() const;
  static LmTrainOptions from_json(const std::string& json);
};

// What a training run reports as it goes (for progress bars and logs).
struct LmTrainEvent {
  int64_t step = 0, total_steps = 0;
  double train_loss = 0.0;  // this step's mean loss
  double lr = 0.0;
  double tokens_per_s = 0.0;  // training tokens / training time so far (excludes evaluation)
  double time_s = 0.0;
  bool has_valid = false;
  LmEval valid;
};

// Everything needed to train and to resume exactly: model, optimizer, schedule, data position,
// carried hidden state and random state. Not copyable (the optimizer refers to the model).
class LmTrainer {
 public:
  // A new run.
  LmTrainer(const LmConfig& config, const LmTrainOptions& options, LmData data,
            std::map<std::string, std::string> data_info);
  // Continues the run saved in `checkpoint` on `data` (which must match its vocabulary).
  // `total_steps` > 0 replaces the saved target number of steps.
  static std::unique_ptr<LmTrainer> resume(const std::string& checkpoint, LmData data,
                                           int64_t total_steps = 0);
  ~LmTrainer();

  int64_t step() const { return step_; }
  int64_t total_steps() const { return total_steps_; }
  bool done() const { return step_ >= total_steps_; }
  // One optimizer step on the next chunk; returns its loss.
  double train_step();
  // Runs until done() or until `stop()` returns true (checked after every step), calling
  // `on_event` after each step. Evaluations happen every eval_every steps and at the end.
  void run(const std::function<void(const LmTrainEvent&)>& on_event,
           const std::function<bool()>& stop = nullptr);
  LmEval evaluate_valid(int64_t max_tokens = 0) const;
  void save(const std::string& path) const;

  LanguageModel& model() { return *model_; }
  const LmData& data() const { return data_; }
  const LmTrainOptions& options() const { return options_; }

 private:
  LmTrainer() = default;
  void init_optimizer();
  int64_t tokens_per_pass() const;

  LmConfig config_;
  LmTrainOptions options_;
  LmData data_;
  std::map<std::string, std::string> data_info_;
  std::unique_ptr<LanguageModel> model_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  std::unique_ptr<optim::LrSchedule> schedule_;
  Batched train_;
  int64_t step_ = 0, total_steps_ = 0;
  int64_t position_ = 0;  // row of train_ where the next chunk starts
  int64_t epoch_ = 0;
  RnnState state_;
  Rng rng_;
  double train_seconds_ = 0.0;
  int64_t train_tokens_ = 0;
};

// A trained model with its vocabulary, loaded from a checkpoint for eval / next / generate.
struct LoadedLm {
  std::unique_ptr<LanguageModel> model;
  data::Vocab vocab;
  std::map<std::string, std::string> data_info;  // how its corpus was read and split
};
// Errors: missing file, not a recur checkpoint, a checkpoint of another kind of model.
LoadedLm load_language_model(const std::string& path);

struct TokenProbability {
  std::string token;
  double probability;
};
// The `top` most likely next tokens after `text` (whose characters must all be in the
// vocabulary; an Error lists those that are not).
std::vector<TokenProbability> next_tokens(const LoadedLm& lm, const std::string& text, int64_t top);

struct SampleOptions {
  int64_t length = 200;      // characters to generate after the prime
  float temperature = 1.0f;  // 0 = greedy
  int64_t top_k = 0;         // 0 = all
  float top_p = 1.0f;        // nucleus; 1 = all
  uint64_t seed = 1;
  bool stop_at_newline = false;  // end at the end-of-document mark
};
// Continues `prime` (may be empty: starts as a new document) and returns the generated text
// without the prime.
std::string generate(const LoadedLm& lm, const std::string& prime, const SampleOptions& options);

}  // namespace recur
