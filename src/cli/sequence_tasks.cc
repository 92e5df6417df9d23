// The many-to-one and one-to-one commands: `recur train classify` (SpamAssassin, Fashion-MNIST
// read row by row, or a label<TAB>text file), `recur train mlp` (the one-to-one baseline),
// `recur train forecast` (a CSV column, window -> horizon), their `recur eval` (classification
// report, confusion matrix, MAE/RMSE against the seasonal-naive baseline) and `recur predict`.
// Leaves out: the model and training loop (src/tasks), the language-model commands (lm.cc).

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/confusion_svg.h"
#include "cli/jsonl_log.h"
#include "cli/progress.h"
#include "io/file.h"
#include "recur/datasets.h"
#include "recur/error.h"
#include "recur/metrics.h"
#include "recur/task_data.h"

namespace recur::cli {
namespace {

using json = nlohmann::json;

std::string data_dir_or_default(const std::string& dir) {
  return dir.empty() ? data::default_data_dir() : dir;
}

std::vector<int64_t> parse_sizes(const std::string& text, const char* flag) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    if (part.empty()) continue;
    try {
      size_t used = 0;
      const long long v = std::stoll(part, &used);
      RECUR_CHECK(used == part.size() && v > 0, "");
      out.push_back(v);
    } catch (...) {
      throw_error(std::string(flag) + " " + text + ": expected positive sizes separated by commas");
    }
  }
  return out;
}

// ---- data for each task, rebuilt the same way by train, eval and predict --------------------

struct ClassData {
  SequenceData train, valid, test;
  std::vector<std::string> class_names;
  data::Vocab vocab;
};

bool is_images(const std::string& spec) { return spec == "fashion-mnist"; }

data::LabeledText load_texts(const std::string& spec, const std::string& dir) {
  if (spec == "spam" || spec == "spam-assassin") return data::load_spam_assassin(dir);
  RECUR_CHECK(std::filesystem::is_regular_file(spec),
              "--data " + spec + ": expected spam, fashion-mnist or a label<TAB>text .tsv file");
  return data::load_labeled_tsv(spec);
}

// info: data, data_dir (not stored), tokens, max_len, test_fraction, split_seed, vocab_size,
// min_count. With `vocab` given (eval/predict) it is used instead of fitting one.
ClassData class_data(const std::map<std::string, std::string>& info, const std::string& dir,
                     const data::Vocab* vocab) {
  ClassData d;
  const std::string spec = info.at("data");
  const uint64_t seed = std::stoull(info.at("split_seed"));
  if (is_images(spec)) {
    const data::ImageSet train = data::load_fashion_mnist(dir, "train");
    const data::ImageSet test = data::load_fashion_mnist(dir, "test");
    auto [fit_idx, valid_idx] = data::stratified_split(train.labels, 5000.0 / train.count, seed);
    d.train = image_rows(train, fit_idx);
    d.valid = image_rows(train, valid_idx);
    d.test = image_rows(test);
    d.class_names = train.class_names;
    return d;
  }
  const data::LabeledText t = load_texts(spec, dir);
  auto [train_idx, test_idx] =
      data::stratified_split(t.labels, std::stod(info.at("test_fraction")), seed);
  const std::string mode = info.at("tokens");
  const int64_t max_len = std::stoll(info.at("max_len"));
  auto pick = [&](const std::vector<int64_t>& idx, std::vector<std::string>* texts,
                  std::vector<int64_t>* labels) {
    for (int64_t i : idx) {
      texts->push_back(t.texts[i]);
      labels->push_back(t.labels[i]);
    }
  };
  // A tenth of the training part (stratified) is held out for the per-epoch validation, so
  // nothing is chosen on the test part.
  std::vector<int64_t> train_labels_all;
  for (int64_t i : train_idx) train_labels_all.push_back(t.labels[i]);
  auto [fit_pos, valid_pos] = data::stratified_split(train_labels_all, 0.1, seed + 1);
  std::vector<int64_t> fit_idx, valid_idx;
  for (int64_t k : fit_pos) fit_idx.push_back(train_idx[k]);
  for (int64_t k : valid_pos) valid_idx.push_back(train_idx[k]);
  std::vector<std::string> fit_texts, valid_texts, test_texts;
  std::vector<int64_t> fit_labels, valid_labels, test_labels;
  pick(fit_idx, &fit_texts, &fit_labels);
  pick(valid_idx, &valid_texts, &valid_labels);
  pick(test_idx, &test_texts, &test_labels);
  if (vocab) {
    d.vocab = *vocab;
  } else {
    std::vector<std::vector<std::string>> docs;
    for (const std::string& s : fit_texts) docs.push_back(tokenize(s, mode));
    d.vocab = data::Vocab::from_tokens(docs, std::stoll(info.at("vocab_size")),
                                       std::stoll(info.at("min_count")));
  }
  d.train = encode_texts(fit_texts, fit_labels, d.vocab, mode, max_len);
  d.valid = encode_texts(valid_texts, valid_labels, d.vocab, mode, max_len);
  d.test = encode_texts(test_texts, test_labels, d.vocab, mode, max_len);
  d.class_names = t.class_names;
  return d;
}

struct SeriesData {
  std::vector<double> series;
  SeriesWindows windows;
  int64_t filled = 0;
};

SeriesData series_data(const std::map<std::string, std::string>& info, const std::string& dir) {
  const std::string spec = info.at("data");
  const data::CsvTable table = spec == "co2" ? data::load_co2(dir) : data::load_csv(spec);
  SeriesData s;
  const std::string date = info.at("date_column");
  if (!date.empty()) {
    s.series = monthly_series(table, date, info.at("column"), &s.filled);
  } else {
    s.series = data::csv_column(table, info.at("column"), "");
  }
  const int64_t n = static_cast<int64_t>(s.series.size());
  const int64_t test_start =
      n - static_cast<int64_t>(std::llround(std::stod(info.at("test_fraction")) * n));
  s.windows = make_windows(s.series, std::stoll(info.at("window")), std::stoll(info.at("horizon")),
                           test_start);
  return s;
}

// ---- shared training driver ----------------------------------------------------------------

struct CommonArgs {
  std::string data, data_dir, out, log;
  SequenceModelConfig config;
  std::string cell = "gru", head, precision = "f32";
  FitOptions fit;
  int threads = 0;
  int64_t log_every = 50;
};

void add_common(CLI::App* cmd, CommonArgs* a, bool recurrent) {
  cmd->add_option("--data-dir", a->data_dir, "where scripts/get-data put the data sets");
  cmd->add_option("--out", a->out, "checkpoint to write (safetensors)")->required();
  if (recurrent) {
    cmd->add_option("--cell", a->cell, "lstm, gru, rnn or rnn_relu")->capture_default_str();
    cmd->add_option("--precision", a->precision, kPrecisionHelp)->capture_default_str();
    cmd->add_option("--hidden", a->config.hidden, "hidden size")->capture_default_str();
    cmd->add_option("--layers", a->config.layers, "recurrent layers")->capture_default_str();
    cmd->add_flag("--bidirectional", a->config.bidirectional, "both directions, concatenated");
    cmd->add_option("--pooling", a->config.pooling, "last, mean, max, mean+max or attention")
        ->capture_default_str();
  }
  cmd->add_option("--head", a->head, "hidden sizes of the MLP head, e.g. 256,128");
  cmd->add_option("--dropout", a->config.dropout, "dropout probability")->capture_default_str();
  cmd->add_option("--epochs", a->fit.epochs, "passes over the training data")
      ->capture_default_str();
  cmd->add_option("--batch", a->fit.batch, "batch size")->capture_default_str();
  cmd->add_option("--lr", a->fit.lr, "learning rate")->capture_default_str();
  cmd->add_option("--optimizer", a->fit.optimizer, "adam, adamw, sgd, rmsprop, adagrad")
      ->capture_default_str();
  cmd->add_option("--weight-decay", a->fit.weight_decay, "weight decay (default: optimizer's)");
  cmd->add_option("--clip", a->fit.clip, "gradient-norm clip (0 = off)")->capture_default_str();
  cmd->add_option("--schedule", a->fit.schedule, "constant, step, cosine, plateau")
      ->capture_default_str();
  cmd->add_option("--seed", a->fit.seed, "random seed")->capture_default_str();
  cmd->add_option("--max-minutes", a->fit.max_minutes, "stop (and save) after this long");
  cmd->add_flag("!--last-epoch", a->fit.keep_best,
                "save the last epoch's weights, not those of the best validation epoch");
  cmd->add_option("--threads", a->threads, "threads (default: all cores)");
  cmd->add_option("--log", a->log, "write one JSON object per step to this file (.jsonl)");
  cmd->add_option("--log-every", a->log_every, "steps between progress lines")
      ->capture_default_str();
}

// Trains with a progress display and log, saving `checkpoint` at the end (also after Ctrl-C).
void train_and_save(CommonArgs& a, SequenceCheckpoint& checkpoint, const SequenceData& train,
                    const SequenceData& valid) {
  set_threads(a.threads);
  RECUR_CHECK(!std::filesystem::is_directory(a.out),
              "--out " + a.out + ": is a directory, expected a file path");
  SequenceModel& model = *checkpoint.model;
  std::fprintf(stderr, "model: %s, %lld parameters; %lld training / %lld validation examples\n",
               model.config().to_json().c_str(), static_cast<long long>(model.parameter_count()),
               static_cast<long long>(train.size()), static_cast<long long>(valid.size()));
  std::unique_ptr<JsonlLog> log;
  if (!a.log.empty()) log = std::make_unique<JsonlLog>(a.log);
  const int64_t total = a.fit.epochs * ((train.size() + a.fit.batch - 1) / a.fit.batch);
  ProgressOptions po;
  po.log_every = a.log_every;
  Progress progress("train", total, po);
  const bool classify = model.config().task == "classify";
  double last_metric = -1.0;
  int64_t best_epoch = 0;
  InterruptGuard guard;
  auto on_event = [&](const FitEvent& e) {
    json j = {{"step", e.step},
              {"epoch", e.epoch},
              {"train_loss", e.train_loss},
              {"tokens_per_s", e.tokens_per_s},
              {"time_s", e.time_s}};
    if (e.end_of_epoch) {
      last_metric = e.valid_metric;
      if (e.best) best_epoch = e.epoch;
      j["valid_loss"] = e.valid_loss;
      j[classify ? "valid_accuracy" : "valid_mae"] = e.valid_metric;
    }
    if (log) log->write(j);
    std::vector<ProgressField> fields = {ProgressField::named("epoch", e.epoch),
                                         ProgressField::named("loss", e.train_loss),
                                         ProgressField::rate("tok/s", e.tokens_per_s)};
    if (last_metric >= 0)
      fields.push_back(ProgressField::named(classify ? "valid acc" : "valid mae", last_metric));
    progress.update(e.step, fields);
  };
  int64_t steps = 0;
  steps = fit(model, train, valid, a.fit, on_event, [&] { return guard.interrupted(); });
  progress.finish();
  save_sequence_checkpoint(a.out, checkpoint);
  if (a.fit.keep_best && best_epoch > 0)
    std::fprintf(stderr, "kept the weights of epoch %lld, the best on validation\n",
                 static_cast<long long>(best_epoch));
  if (steps < total)
    std::fprintf(stderr, "%s after %lld of %lld steps; model saved to %s\n",
                 guard.interrupted() ? "interrupted" : "time limit reached",
                 static_cast<long long>(steps), static_cast<long long>(total), a.out.c_str());
  else
    std::printf("saved %s\n", a.out.c_str());
  if (guard.interrupted()) throw Exit{130};
}

// ---- train classify / mlp ------------------------------------------------------------------

struct ClassifyArgs {
  CommonArgs common;
  std::string tokens = "word";
  int64_t vocab_size = 20000, min_count = 2, max_len = 400;
  double test_fraction = 0.2;
  uint64_t split_seed = 1234;
  bool mlp = false;
};

void run_train_classify(ClassifyArgs a) {
  CommonArgs& c = a.common;
  const std::string dir = data_dir_or_default(c.data_dir);
  std::map<std::string, std::string> info = {{"data", c.data},
                                             {"tokens", a.tokens},
                                             {"max_len", std::to_string(a.max_len)},
                                             {"test_fraction", std::to_string(a.test_fraction)},
                                             {"split_seed", std::to_string(a.split_seed)},
                                             {"vocab_size", std::to_string(a.vocab_size)},
                                             {"min_count", std::to_string(a.min_count)}};
  RECUR_CHECK(!a.mlp || is_images(c.data),
              "train mlp: --data must be fashion-mnist (fixed-size inputs), got " + c.data);
  ClassData d = class_data(info, dir, nullptr);
  SequenceCheckpoint checkpoint;
  checkpoint.kind = a.mlp ? "mlp_classifier" : "sequence_classifier";
  checkpoint.class_names = d.class_names;
  checkpoint.vocab = d.vocab;
  checkpoint.info = info;
  SequenceModelConfig& cfg = c.config;
  cfg.task = "classify";
  cfg.model = a.mlp ? "mlp" : "rnn";
  cfg.cell = parse_cell(c.cell);
  cfg.precision = parse_precision(c.precision);
  cfg.outputs = static_cast<int64_t>(d.class_names.size());
  cfg.head = parse_sizes(c.head, "--head");
  if (is_images(c.data)) {
    cfg.feature_size = d.train.feature_size;
    cfg.steps = d.train.length(0);
  } else {
    cfg.vocab_size = d.vocab.size();
    c.fit.max_len = a.max_len;
  }
  checkpoint.model = std::make_unique<SequenceModel>(cfg, c.fit.seed);
  train_and_save(c, checkpoint, d.train, d.valid);
  const std::vector<int64_t> pred = argmax_rows(predict_all(*checkpoint.model, d.test));
  const ClassificationReport r = classification_report(d.test.labels, pred, d.class_names);
  std::printf("test accuracy %.2f %% (%lld examples)\n", 100.0 * r.accuracy,
              static_cast<long long>(r.total));
}

// ---- train forecast ------------------------------------------------------------------------

struct ForecastArgs {
  CommonArgs common;
  std::string column = "CO2", date_column = "Date";
  int64_t window = 24, horizon = 12;
  double test_fraction = 0.1;
  bool absolute = false;
};

void run_train_forecast(ForecastArgs a) {
  CommonArgs& c = a.common;
  const std::string dir = data_dir_or_default(c.data_dir);
  std::map<std::string, std::string> info = {{"data", c.data},
                                             {"column", a.column},
                                             {"date_column", a.date_column},
                                             {"window", std::to_string(a.window)},
                                             {"horizon", std::to_string(a.horizon)},
                                             {"test_fraction", std::to_string(a.test_fraction)},
                                             {"relative", a.absolute ? "0" : "1"}};
  const SeriesData s = series_data(info, dir);
  info["mean"] = std::to_string(s.windows.mean);
  info["std"] = std::to_string(s.windows.std);
  if (s.filled > 0)
    std::fprintf(stderr, "%lld missing months filled by interpolation\n",
                 static_cast<long long>(s.filled));
  SequenceCheckpoint checkpoint;
  checkpoint.kind = "forecaster";
  checkpoint.info = info;
  SequenceModelConfig& cfg = c.config;
  cfg.task = "regress";
  cfg.cell = parse_cell(c.cell);
  cfg.precision = parse_precision(c.precision);
  cfg.feature_size = 1;
  cfg.outputs = a.horizon;
  cfg.head = parse_sizes(c.head, "--head");
  checkpoint.model = std::make_unique<SequenceModel>(cfg, c.fit.seed);
  train_and_save(c, checkpoint, s.windows.train, s.windows.test);
}

}  // namespace

// ---- eval / predict ------------------------------------------------------------------------

std::vector<std::string> split_model_list(const std::string& models) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t comma = models.find(',', start);
    out.push_back(models.substr(start, comma == std::string::npos ? comma : comma - start));
    RECUR_CHECK(!out.back().empty(), "--model " + models +
                                         ": expected one checkpoint or several separated by "
                                         "commas, found an empty name");
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

namespace {

bool is_classifier(const SequenceCheckpoint& c) {
  return c.kind == "sequence_classifier" || c.kind == "mlp_classifier";
}

// The checkpoints of `paths`. Several make an ensemble, which must be classifiers with the same
// classes, trained on the same data and split (so that they see the same held-out examples).
std::vector<SequenceCheckpoint> load_members(const std::vector<std::string>& paths) {
  std::vector<SequenceCheckpoint> cs;
  for (const std::string& path : paths) cs.push_back(load_sequence_checkpoint(path));
  if (cs.size() == 1) return cs;
  for (size_t k = 0; k < cs.size(); ++k) {
    RECUR_CHECK(is_classifier(cs[k]), paths[k] + " is a " + cs[k].kind +
                                          "; an ensemble (--model a,b,...) averages the class "
                                          "probabilities of classifiers");
    RECUR_CHECK(cs[k].class_names == cs[0].class_names,
                paths[k] + " has other classes than " + paths[0] + "; an ensemble needs the same");
    for (const char* key : {"data", "test_fraction", "split_seed"}) {
      auto get = [&](const SequenceCheckpoint& c) {
        auto it = c.info.find(key);
        return it == c.info.end() ? std::string() : it->second;
      };
      RECUR_CHECK(get(cs[k]) == get(cs[0]),
                  paths[k] + " was trained with " + key + " " + get(cs[k]) + ", " + paths[0] +
                      " with " + get(cs[0]) + "; an ensemble needs the same data and split");
    }
  }
  return cs;
}

}  // namespace

void run_sequence_eval(const std::vector<std::string>& model_paths, const std::string& data_dir_in,
                       const std::string& split, const std::string& plot, bool json_out) {
  const std::vector<SequenceCheckpoint> members = load_members(model_paths);
  const SequenceCheckpoint& c = members[0];
  const std::string dir = data_dir_or_default(data_dir_in);
  if (c.kind == "forecaster") {
    RECUR_CHECK(split == "test", "--split " + split +
                                     ": a forecaster is evaluated on the held-out end of the "
                                     "series (--split test)");
    const SeriesData s = series_data(c.info, dir);
    const Tensor out = predict_all(*c.model, s.windows.test);
    const int64_t H = out.size(1);
    std::vector<double> truth, predicted, naive;
    for (size_t k = 0; k < s.windows.test_origins.size(); ++k) {
      const int64_t origin = s.windows.test_origins[k];
      const std::vector<double> base = seasonal_naive(s.series, 12, origin, H);
      for (int64_t h = 0; h < H; ++h) {
        truth.push_back(s.series[origin + h]);
        predicted.push_back(out[k * H + h] * s.windows.std + s.windows.level(s.series, origin));
        naive.push_back(base[h]);
      }
    }
    const RegressionReport r = regression_report(truth, predicted);
    const RegressionReport b = regression_report(truth, naive);
    if (json_out) {
      std::printf("%s\n", json({{"mae", r.mae},
                                {"rmse", r.rmse},
                                {"naive_mae", b.mae},
                                {"naive_rmse", b.rmse},
                                {"count", r.count}})
                              .dump()
                              .c_str());
    } else {
      std::printf("%s %s, last %zu windows, horizon %lld (%lld values)\n",
                  c.info.at("data").c_str(), c.info.at("column").c_str(),
                  s.windows.test_origins.size(), static_cast<long long>(H),
                  static_cast<long long>(r.count));
      std::printf("model:           MAE %.4f  RMSE %.4f\n", r.mae, r.rmse);
      std::printf("seasonal naive:  MAE %.4f  RMSE %.4f  (the value 12 steps earlier)\n", b.mae,
                  b.rmse);
      std::printf("MAE ratio model / naive: %.3f\n", r.mae / b.mae);
    }
    return;
  }
  RECUR_CHECK(split == "test" || split == "valid" || split == "train",
              "--split " + split + ": expected train, valid or test");
  std::vector<Tensor> logits;
  std::vector<int64_t> truth;
  std::vector<std::string> class_names;
  for (size_t k = 0; k < members.size(); ++k) {
    const SequenceCheckpoint& m = members[k];
    ClassData d = class_data(m.info, dir, &m.vocab);
    const SequenceData& part = split == "test" ? d.test : split == "valid" ? d.valid : d.train;
    if (k == 0) {
      truth = part.labels;
      class_names = d.class_names;
    }
    RECUR_CHECK(part.labels == truth, model_paths[k] + " sees other " + split + " examples than " +
                                          model_paths[0] + "; an ensemble needs the same");
    logits.push_back(predict_all(*m.model, part));
  }
  const std::vector<int64_t> pred = argmax_rows(mean_softmax(logits));
  const ClassificationReport r = classification_report(truth, pred, class_names);
  const int64_t n_models = static_cast<int64_t>(members.size());
  if (json_out) {
    json j = {{"accuracy", r.accuracy},
              {"macro_f1", r.macro_f1},
              {"total", r.total},
              {"split", split},
              {"models", n_models}};
    for (size_t k = 0; k < r.class_names.size(); ++k) j["f1"][r.class_names[k]] = r.f1[k];
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::string what =
        c.info.at("data") + " " + split + " split (" + std::to_string(r.total) + " examples)";
    if (n_models > 1)
      what += ", ensemble of " + std::to_string(n_models) + " models (mean probabilities)";
    std::printf("%s\n%s", what.c_str(), format_report(r).c_str());
  }
  if (!plot.empty())
    io::write_text_file_atomically(plot, render_confusion_svg(r, c.info.at("data")));
}

namespace {

struct PredictArgs {
  std::string model, data_dir, text;
  int64_t index = -1, top = 3;
};

void run_predict(const PredictArgs& a) {
  const std::vector<std::string> paths = split_model_list(a.model);
  const std::vector<SequenceCheckpoint> members = load_members(paths);
  const SequenceCheckpoint& c = members[0];
  const std::string dir = data_dir_or_default(a.data_dir);
  if (c.kind == "forecaster") {
    const SeriesData s = series_data(c.info, dir);
    const int64_t W = std::stoll(c.info.at("window"));
    const int64_t n = static_cast<int64_t>(s.series.size());
    SequenceData in;
    in.feature_size = 1;
    std::vector<float> window;
    const double level = s.windows.level(s.series, n);
    for (int64_t t = n - W; t < n; ++t)
      window.push_back(static_cast<float>((s.series[t] - level) / s.windows.std));
    in.features.push_back(window);
    const Tensor out = predict_all(*c.model, in);
    std::printf("forecast of %s for the %lld steps after the last of %lld values:\n",
                c.info.at("column").c_str(), static_cast<long long>(out.size(1)),
                static_cast<long long>(n));
    for (int64_t h = 0; h < out.size(1); ++h)
      std::printf("+%lld\t%.3f\n", static_cast<long long>(h + 1), out[h] * s.windows.std + level);
    return;
  }
  std::vector<int64_t> truth;
  std::vector<std::string> lines;
  const bool images = is_images(c.info.at("data"));
  if (images) {
    RECUR_CHECK(a.index >= 0, "--index N is needed: which Fashion-MNIST test image to classify");
  } else {
    if (!a.text.empty()) {
      lines.push_back(a.text);
    } else {
      std::string line;
      while (std::getline(std::cin, line)) lines.push_back(line);
    }
    RECUR_CHECK(!lines.empty(), "no input: give --text or lines on stdin");
  }
  std::vector<Tensor> logits;
  for (const SequenceCheckpoint& m : members) {
    SequenceData in;
    if (images) {
      const data::ImageSet test = data::load_fashion_mnist(dir, "test");
      in = image_rows(test, {a.index});
      truth = {test.labels[a.index]};
    } else {
      in = encode_texts(lines, {}, m.vocab, m.info.at("tokens"), std::stoll(m.info.at("max_len")));
    }
    logits.push_back(predict_all(*m.model, in));
  }
  const Tensor p = mean_softmax(logits);
  const int64_t C = p.size(1);
  for (int64_t i = 0; i < p.size(0); ++i) {
    std::vector<int64_t> order(static_cast<size_t>(C));
    for (int64_t k = 0; k < C; ++k) order[k] = k;
    std::sort(order.begin(), order.end(),
              [&](int64_t x, int64_t y) { return p[i * C + x] > p[i * C + y]; });
    std::printf("%s\t%.4f", c.class_names[order[0]].c_str(), p[i * C + order[0]]);
    for (int64_t k = 1; k < std::min<int64_t>(a.top, C); ++k)
      std::printf("\t%s %.4f", c.class_names[order[k]].c_str(), p[i * C + order[k]]);
    if (!truth.empty()) std::printf("\t(true: %s)", c.class_names[truth[i]].c_str());
    std::printf("\n");
  }
}

}  // namespace

void add_sequence_commands(CLI::App& app) {
  CLI::App* train = app.get_subcommand("train");

  auto cl = std::make_shared<ClassifyArgs>();
  cl->common.config.hidden = 128;
  CLI::App* classify = train->add_subcommand(
      "classify", "many-to-one classifier: a recurrent stack over a sequence, one label out");
  classify
      ->add_option("--data", cl->common.data,
                   "spam, fashion-mnist (images read row by row) or a label<TAB>text file")
      ->required();
  add_common(classify, &cl->common, true);
  classify->add_option("--embed", cl->common.config.embed, "text: embedding size")
      ->capture_default_str();
  classify
      ->add_option("--embed-dropout", cl->common.config.embed_dropout,
                   "text: dropout on the token embeddings")
      ->capture_default_str();
  classify
      ->add_option("--tokens", cl->tokens,
                   "text: word, wordpunct (words and runs of punctuation) or char tokens")
      ->capture_default_str();
  classify->add_option("--vocab-size", cl->vocab_size, "text: vocabulary cap")
      ->capture_default_str();
  classify->add_option("--min-count", cl->min_count, "text: drop rarer tokens")
      ->capture_default_str();
  classify->add_option("--max-len", cl->max_len, "text: keep the first N tokens")
      ->capture_default_str();
  classify->add_option("--test-fraction", cl->test_fraction, "text: held-out share, stratified")
      ->capture_default_str();
  classify->add_option("--split-seed", cl->split_seed, "seed of the train/test split")
      ->capture_default_str();
  classify->callback([cl] { run_train_classify(*cl); });

  auto ml = std::make_shared<ClassifyArgs>();
  ml->mlp = true;
  ml->common.head = "256,128";
  CLI::App* mlp = train->add_subcommand(
      "mlp", "one-to-one baseline: an MLP on the flattened input (fashion-mnist)");
  mlp->add_option("--data", ml->common.data, "fashion-mnist")->required();
  add_common(mlp, &ml->common, false);
  mlp->add_option("--split-seed", ml->split_seed, "seed of the train/validation split")
      ->capture_default_str();
  mlp->callback([ml] { run_train_classify(*ml); });

  auto fc = std::make_shared<ForecastArgs>();
  fc->common.config.hidden = 64;
  fc->common.fit.epochs = 100;
  fc->common.fit.batch = 32;
  CLI::App* forecast = train->add_subcommand(
      "forecast", "sequence in, values out: the next --horizon values of a series");
  forecast->add_option("--data", fc->common.data, "co2 or a CSV file")->required();
  add_common(forecast, &fc->common, true);
  forecast->add_option("--column", fc->column, "the series' column")->capture_default_str();
  forecast
      ->add_option("--date-column", fc->date_column,
                   "monthly dates (gaps filled); empty: rows as they are")
      ->capture_default_str();
  forecast->add_option("--window", fc->window, "input steps")->capture_default_str();
  forecast->add_option("--horizon", fc->horizon, "steps to predict")->capture_default_str();
  forecast->add_option("--test-fraction", fc->test_fraction, "last share of the series held out")
      ->capture_default_str();
  forecast->add_flag("--absolute", fc->absolute,
                     "normalise by the training mean instead of each window's last value");
  forecast->callback([fc] { run_train_forecast(*fc); });

  auto pr = std::make_shared<PredictArgs>();
  CLI::App* predict =
      app.add_subcommand("predict", "classify new input, or forecast past the series' end");
  predict
      ->add_option("--model", pr->model,
                   "checkpoint; classifiers: several separated by commas predict together "
                   "(mean of their class probabilities)")
      ->required();
  predict->add_option("--data-dir", pr->data_dir, "where scripts/get-data put the data sets");
  predict->add_option("--text", pr->text, "text classifiers: one text (default: lines on stdin)");
  predict->add_option("--index", pr->index, "image classifiers: a Fashion-MNIST test image");
  predict->add_option("--top", pr->top, "classes shown per input")->capture_default_str();
  predict->callback([pr] { run_predict(*pr); });
}

}  // namespace recur::cli
