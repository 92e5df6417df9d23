// Sequence in, one answer out: the tutorial's many-to-one (text classification, an image read
// row by row) and one-to-one (an MLP on the same features, the baseline that shows what
// recurrence adds), and forecasting (a window of a series in, the next values out).
//   input (token embeddings or feature vectors per step)
//   -> recurrent stack (any mode, layers, uni/bidirectional)
//   -> pooling over the valid steps (last state, mean, max, mean+max, attention)
//   -> MLP head -> class logits (softmax cross-entropy) or values (MSE).
// Batches are bucketed by length so short sequences do not pay for long ones.
// Leaves out: data readers (datasets.h), metrics (metrics.h), the CLI.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "recur/autograd.h"
#include "recur/nn.h"
#include "recur/rnn.h"
#include "recur/tensor.h"

namespace recur {

struct SequenceModelConfig {
  std::string task = "classify";  // "classify" (softmax over `outputs` classes) or "regress"
  std::string model = "rnn";      // "rnn" or "mlp" (flattened fixed-length input, no recurrence)
  int64_t vocab_size = 0;         // > 0: token input through an embedding of size `embed`
  int64_t embed = 64;
  int64_t feature_size = 0;  // > 0: feature vectors per step (images rows, series values)
  int64_t steps = 0;         // mlp: the fixed sequence length it flattens
  RnnMode cell = RnnMode::kGru;
  int64_t hidden = 128;
  int64_t layers = 1;
  bool bidirectional = false;
  float dropout = 0.0f;          // between recurrent layers and before each head layer
  float embed_dropout = 0.0f;    // on the token embeddings (element-wise), like Keras' Dropout
                                 // after an Embedding; token input only
  std::string pooling = "last";  // last, mean, max, mean+max (both, concatenated), attention
  int64_t attention_size = 64;   // attention: size of the scoring layer
  std::vector<int64_t> head;     // hidden sizes of the MLP head (ReLU), may be empty
  int64_t outputs = 2;           // classes, or values to predict
  // Of the recurrent layers' matrix products (see recur::Precision); the rest stays float.
  // Saved with the model, so eval and predict run as training did.
  Precision precision = Precision::kFloat32;

  std::string to_json() const;
  static SequenceModelConfig from_json(const std::string& json);
  void validate() const;  // Error naming the first bad field
};

// A padded batch, time-major: ids [T*B] (token input, padding id 0) or features [T, B, F].
struct SequenceBatch {
  int64_t T = 0, B = 0;
  std::vector<int64_t> lengths;  // [B], each in 1..T
  std::vector<int64_t> ids;
  Tensor features;
};

// A data set of variable-length sequences with a label (classify) or target values (regress).
struct SequenceData {
  int64_t feature_size = 0;                  // 0: token input
  std::vector<std::vector<int64_t>> tokens;  // token input: ids per example
  std::vector<std::vector<float>> features;  // feature input: length * feature_size values
  std::vector<int64_t> labels;               // classify
  std::vector<std::vector<float>> targets;   // regress
  int64_t size() const;
  int64_t length(int64_t i) const;
  // The subset at `indices`, in that order.
  SequenceData subset(const std::vector<int64_t>& indices) const;
};

// Examples at `indices` as one padded batch; sequences longer than max_len (> 0) keep their
// first max_len steps. Empty sequences are an Error naming the example.
SequenceBatch make_batch(const SequenceData& data, const std::vector<int64_t>& indices,
                         int64_t max_len = 0);

// Length-bucketed batches: (shuffled with rng when given) examples are grouped 50 batches at a
// time, sorted by length inside each group and cut into batches, whose order is shuffled again.
std::vector<std::vector<int64_t>> bucket_batches(const SequenceData& data, int64_t batch, Rng* rng);

// Parameters: embedding.*, rnn.*, attention.*, attention_score.*, head.<k>.*, out.*;
// state_dict / load_state_dict come from nn::Module.
class SequenceModel : public nn::Module {
 public:
  SequenceModel(const SequenceModelConfig& config, uint64_t seed);
  const SequenceModelConfig& config() const { return config_; }

  // [B, outputs]: logits or values. A training tape applies dropout with `rng`.
  ag::Var forward(ag::Tape& tape, const SequenceBatch& batch, Rng* rng);
  // Inference (no dropout, nothing recorded).
  Tensor predict(const SequenceBatch& batch);

 private:
  SequenceModelConfig config_;
  Rng init_rng_;
  std::unique_ptr<nn::Embedding> embedding_;
  std::unique_ptr<nn::Recurrent> rnn_;
  std::unique_ptr<nn::Linear> attention_, attention_score_;
  std::vector<std::unique_ptr<nn::Linear>> head_;
};

struct FitOptions {
  int64_t epochs = 10;
  int64_t batch = 64;
  std::string optimizer = "adam";
  float lr = 1e-3f;
  float weight_decay = -1.0f;
  float clip = 1.0f;
  std::string schedule = "constant";  // constant, step, cosine, plateau
  int64_t max_len = 0;
  uint64_t seed = 1;
  double max_minutes = 0.0;  // stop after this long (checked between steps)
  // At the end, restore the weights of the epoch with the best validation metric (accuracy,
  // ties broken by loss; MAE for regression), like Keras' restore_best_weights.
  bool keep_best = true;
};

struct FitEvent {
  int64_t epoch = 0, step = 0, total_steps = 0;
  double train_loss = 0.0;
  double tokens_per_s = 0.0;
  double time_s = 0.0;
  bool end_of_epoch = false;
  double valid_metric = 0.0;  // accuracy (classify) or MAE (regress), at the end of an epoch
  double valid_loss = 0.0;
  bool best = false;  // the best validation so far (kept when FitOptions::keep_best)
};

// Trains `model` on `train`, evaluating on `valid` (may be empty) after every epoch.
// `stop` is checked after every step. Returns the number of steps taken.
int64_t fit(SequenceModel& model, const SequenceData& train, const SequenceData& valid,
            const FitOptions& options, const std::function<void(const FitEvent&)>& on_event,
            const std::function<bool()>& stop = nullptr);

// Outputs for every example of `data` ([N, outputs], in data order), batched by length.
Tensor predict_all(SequenceModel& model, const SequenceData& data, int64_t batch = 256,
                   int64_t max_len = 0);
// Arg max of each row.
std::vector<int64_t> argmax_rows(const Tensor& scores);
// Softmax of each row.
Tensor softmax_rows(const Tensor& logits);
// An ensemble's class probabilities: the mean over models of softmax_rows(logits[k]), each
// [N, C]. Errors: no logits, or shapes that differ (naming the model's position).
Tensor mean_softmax(const std::vector<Tensor>& logits);

}  // namespace recur
