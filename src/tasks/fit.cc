// Training and batch prediction for SequenceModel: epochs of length-bucketed batches, softmax
// cross-entropy or MSE, clipping, an LR schedule, evaluation after every epoch.
// Leaves out: checkpoints and data readers (the CLI assembles those).
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <string>

#include "recur/error.h"
#include "recur/optim.h"
#include "recur/sequence_model.h"

namespace recur {
namespace {

double valid_metric(SequenceModel& model, const SequenceData& valid, int64_t max_len,
                    double* loss) {
  const Tensor out = predict_all(model, valid, 256, max_len);
  const int64_t N = out.size(0), C = out.size(1);
  double metric = 0.0, total = 0.0;
  if (model.config().task == "classify") {
    const std::vector<int64_t> pred = argmax_rows(out);
    for (int64_t i = 0; i < N; ++i) {
      metric += pred[i] == valid.labels[i];
      const float* z = out.data() + i * C;
      double m = z[0], s = 0.0;
      for (int64_t c = 1; c < C; ++c) m = std::max<double>(m, z[c]);
      for (int64_t c = 0; c < C; ++c) s += std::exp(z[c] - m);
      total += m + std::log(s) - z[valid.labels[i]];
    }
    *loss = total / N;
    return metric / N;
  }
  for (int64_t i = 0; i < N; ++i)
    for (int64_t c = 0; c < C; ++c) {
      const double d = out[i * C + c] - valid.targets[i][c];
      metric += std::fabs(d);
      total += d * d;
    }
  *loss = total / (N * C);
  return metric / (N * C);
}

}  // namespace

int64_t fit(SequenceModel& model, const SequenceData& train, const SequenceData& valid,
            const FitOptions& o, const std::function<void(const FitEvent&)>& on_event,
            const std::function<bool()>& stop) {
  const bool classify = model.config().task == "classify";
  RECUR_CHECK(train.size() > 0, "train: no training examples");
  RECUR_CHECK(o.epochs > 0, "train: --epochs must be positive, got " + std::to_string(o.epochs));
  RECUR_CHECK(classify ? train.labels.size() == static_cast<size_t>(train.size())
                       : train.targets.size() == static_cast<size_t>(train.size()),
              "train: every example needs a label (classify) or target values (regress)");
  Rng rng(o.seed);
  auto optimizer = optim::make_optimizer(o.optimizer, model.parameters(), o.lr, o.weight_decay);
  const int64_t per_epoch = (train.size() + o.batch - 1) / o.batch;
  const int64_t total = o.epochs * per_epoch;
  auto schedule = optim::make_schedule(o.schedule, o.lr, total, 0);
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  double train_seconds = 0.0;
  int64_t train_tokens = 0, step = 0;
  std::map<std::string, Tensor> best_state;
  double best_metric = 0.0, best_loss = 0.0;
  auto finish = [&] {
    if (o.keep_best && !best_state.empty()) model.load_state_dict(best_state);
    return step;
  };
  for (int64_t epoch = 1; epoch <= o.epochs; ++epoch) {
    for (const std::vector<int64_t>& idx : bucket_batches(train, o.batch, &rng)) {
      const auto t0 = clock::now();
      const SequenceBatch b = make_batch(train, idx, o.max_len);
      optimizer->set_lr(schedule->lr_at(step));
      optimizer->zero_grad();
      ag::Tape tape;
      ag::Var out = model.forward(tape, b, &rng);
      ag::Var loss;
      if (classify) {
        std::vector<int64_t> labels;
        for (int64_t i : idx) labels.push_back(train.labels[i]);
        loss = ag::cross_entropy(tape, out, labels);
      } else {
        const int64_t C = model.config().outputs;
        Tensor target({b.B, C});
        for (int64_t k = 0; k < b.B; ++k) {
          RECUR_CHECK(static_cast<int64_t>(train.targets[idx[k]].size()) == C,
                      "train: example " + std::to_string(idx[k]) + " has " +
                          std::to_string(train.targets[idx[k]].size()) +
                          " target values, the "
                          "model predicts " +
                          std::to_string(C));
          std::memcpy(target.data() + k * C, train.targets[idx[k]].data(), sizeof(float) * C);
        }
        loss = ag::mse(tape, out, target);
      }
      const double value = loss.value()[0];
      tape.backward(loss);
      if (o.clip > 0.0f) optim::clip_grad_norm(optimizer->parameters(), o.clip);
      optimizer->step();
      ++step;
      train_seconds += std::chrono::duration<double>(clock::now() - t0).count();
      for (int64_t len : b.lengths) train_tokens += len;
      FitEvent ev;
      ev.epoch = epoch;
      ev.step = step;
      ev.total_steps = total;
      ev.train_loss = value;
      ev.tokens_per_s = train_tokens / std::max(train_seconds, 1e-9);
      ev.time_s = std::chrono::duration<double>(clock::now() - started).count();
      const bool last_of_epoch = step % per_epoch == 0;
      const bool out_of_time = o.max_minutes > 0.0 && ev.time_s >= 60.0 * o.max_minutes;
      const bool stopping = (stop && stop()) || out_of_time;
      if ((last_of_epoch || stopping) && valid.size() > 0) {
        ev.end_of_epoch = true;
        ev.valid_metric = valid_metric(model, valid, o.max_len, &ev.valid_loss);
        schedule->observe(static_cast<float>(ev.valid_loss));
        const bool better =
            best_state.empty() ||
            (classify ? ev.valid_metric > best_metric ||
                            (ev.valid_metric == best_metric && ev.valid_loss < best_loss)
                      : ev.valid_metric < best_metric);
        if (better) {
          best_metric = ev.valid_metric;
          best_loss = ev.valid_loss;
          ev.best = true;
          if (o.keep_best) best_state = model.state_dict();
        }
      }
      if (on_event) on_event(ev);
      if (stopping) return finish();
    }
  }
  return finish();
}

Tensor predict_all(SequenceModel& model, const SequenceData& data, int64_t batch, int64_t max_len) {
  const int64_t C = model.config().outputs;
  Tensor out({data.size(), C});
  for (const std::vector<int64_t>& idx : bucket_batches(data, batch, nullptr)) {
    const Tensor y = model.predict(make_batch(data, idx, max_len));
    for (size_t k = 0; k < idx.size(); ++k)
      std::memcpy(out.data() + idx[k] * C, y.data() + k * C, sizeof(float) * C);
  }
  return out;
}

std::vector<int64_t> argmax_rows(const Tensor& scores) {
  RECUR_CHECK(scores.dim() == 2,
              "argmax_rows: expected [N, C], got " + shape_string(scores.shape()));
  const int64_t N = scores.size(0), C = scores.size(1);
  std::vector<int64_t> out(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) {
    const float* z = scores.data() + i * C;
    out[i] = std::max_element(z, z + C) - z;
  }
  return out;
}

Tensor softmax_rows(const Tensor& logits) {
  RECUR_CHECK(logits.dim() == 2,
              "softmax_rows: expected [N, C], got " + shape_string(logits.shape()));
  const int64_t N = logits.size(0), C = logits.size(1);
  Tensor p(logits.shape());
  for (int64_t i = 0; i < N; ++i) {
    const float* z = logits.data() + i * C;
    const float m = *std::max_element(z, z + C);
    double s = 0.0;
    for (int64_t c = 0; c < C; ++c) s += p[i * C + c] = std::exp(z[c] - m);
    for (int64_t c = 0; c < C; ++c) p[i * C + c] = static_cast<float>(p[i * C + c] / s);
  }
  return p;
}

Tensor mean_softmax(const std::vector<Tensor>& logits) {
  RECUR_CHECK(!logits.empty(), "mean_softmax: no models' outputs to average");
  Tensor mean = softmax_rows(logits[0]);
  for (size_t k = 1; k < logits.size(); ++k) {
    RECUR_CHECK(logits[k].shape() == logits[0].shape(),
                "mean_softmax: model " + std::to_string(k + 1) + " gives " +
                    shape_string(logits[k].shape()) + ", model 1 " +
                    shape_string(logits[0].shape()));
    const Tensor p = softmax_rows(logits[k]);
    for (int64_t i = 0; i < p.numel(); ++i) mean[i] += p[i];
  }
  const float scale = 1.0f / static_cast<float>(logits.size());
  for (int64_t i = 0; i < mean.numel(); ++i) mean[i] *= scale;
  return mean;
}

}  // namespace recur
