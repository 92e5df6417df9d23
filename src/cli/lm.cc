// The language-model commands: `recur train lm`, `recur eval`, `recur next`, `recur generate`
// and `recur data lm` (token streams for the PyTorch reference script).
// Leaves out: the training loop and the model (src/tasks/), other tasks' commands.

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/jsonl_log.h"
#include "cli/progress.h"
#include "recur/data.h"
#include "recur/error.h"
#include "recur/io.h"
#include "recur/language_model.h"
#include "recur/task_data.h"

namespace recur::cli {
namespace {

using json = nlohmann::json;

struct CorpusArgs {
  std::string data;
  std::string data_dir;
  bool titles = false;
};

void add_corpus_options(CLI::App* cmd, CorpusArgs* a, bool required) {
  auto* opt = cmd->add_option("--data", a->data,
                              "corpus: tang, moby-dick, or a UTF-8 .txt file (documents "
                              "separated by blank lines)");
  if (required) opt->required();
  cmd->add_option("--data-dir", a->data_dir,
                  "where scripts/get-data put the data sets (default: $RECUR_DATA_DIR or data)");
  cmd->add_flag("--titles", a->titles, "tang: start each poem with its title");
}

std::map<std::string, std::string> data_info(const CorpusArgs& a) {
  return {{"data", a.data},
          {"titles", a.titles ? "1" : "0"},
          {"valid_fraction", "0.05"},
          {"test_fraction", "0.05"},
          {"split_seed", "1234"}};
}

data::TextSplit load_split(const std::map<std::string, std::string>& info,
                           const std::string& data_dir) {
  const std::string dir = data_dir.empty() ? data::default_data_dir() : data_dir;
  const data::TextCorpus corpus = data::load_text_corpus(
      info.at("data"), dir, info.count("titles") && info.at("titles") == "1");
  return data::split_corpus(corpus, std::stod(info.at("valid_fraction")),
                            std::stod(info.at("test_fraction")),
                            std::stoull(info.at("split_seed")));
}

std::string printable(const std::string& token) {
  if (token == "\n") return "\\n";
  if (token == " ") return "' '";
  if (token == "\t") return "\\t";
  return token;
}

// ---- train lm ------------------------------------------------------------------------------

struct TrainArgs {
  CorpusArgs corpus;
  std::string out, log, cell = "lstm", precision = "f32";
  LmConfig config;
  LmTrainOptions options;
  bool resume = false;
  bool no_eval = false;
  std::string init;
  double max_minutes = 0.0;
  int64_t checkpoint_every = 500;
  int64_t log_every = 20;
  int threads = 0;
};

void print_eval(const char* what, const LmEval& e) {
  std::printf("%s: loss %.4f nats/char, %.4f bits/char, perplexity %.3f (%lld chars)\n", what,
              e.loss, e.bpc(), e.perplexity(), static_cast<long long>(e.tokens));
}

void run_train_lm(TrainArgs a) {
  set_threads(a.threads);
  a.config.cell = parse_cell(a.cell);
  a.config.precision = parse_precision(a.precision);
  RECUR_CHECK(!std::filesystem::is_directory(a.out),
              "--out " + a.out + ": is a directory, expected a file path");
  std::unique_ptr<LmTrainer> trainer;
  if (a.resume) {
    RECUR_CHECK(std::filesystem::exists(a.out),
                "--resume: no checkpoint at " + a.out + " to continue from");
    const LoadedLm saved = load_language_model(a.out);
    LmData d = make_lm_data(load_split(saved.data_info, a.corpus.data_dir), saved.vocab);
    trainer = LmTrainer::resume(a.out, std::move(d), a.options.steps);
    std::fprintf(stderr, "resuming %s at step %lld of %lld\n", a.out.c_str(),
                 static_cast<long long>(trainer->step()),
                 static_cast<long long>(trainer->total_steps()));
  } else {
    const auto info = data_info(a.corpus);
    const data::TextSplit split = load_split(info, a.corpus.data_dir);
    LmData d = make_lm_data(split);
    std::fprintf(stderr, "%s: %zu train / %zu valid / %zu test chars, %lld distinct tokens\n",
                 a.corpus.data.c_str(), d.train.size(), d.valid.size(), d.test.size(),
                 static_cast<long long>(d.vocab.size()));
    if (a.no_eval) d.valid.clear();
    trainer = std::make_unique<LmTrainer>(a.config, a.options, std::move(d), info);
    if (!a.init.empty())
      trainer->model().load_state_dict(load_safetensors(a.init).tensors, /*strict=*/false);
  }
  std::fprintf(stderr, "model: %s, %lld parameters; %lld steps\n",
               trainer->model().config().to_json().c_str(),
               static_cast<long long>(trainer->model().parameter_count()),
               static_cast<long long>(trainer->total_steps()));
  std::unique_ptr<JsonlLog> log;
  if (!a.log.empty()) log = std::make_unique<JsonlLog>(a.log, a.resume);
  InterruptGuard guard;
  const auto started = std::chrono::steady_clock::now();
  bool out_of_time = false;
  auto stop = [&] {
    if (a.max_minutes > 0.0) {
      const double minutes =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() / 60;
      out_of_time = minutes >= a.max_minutes;
    }
    return guard.interrupted() || out_of_time;
  };
  ProgressOptions po;
  po.log_every = a.log_every;
  po.first_step = trainer->step();  // after --resume, the ETA counts only this run's steps
  Progress progress("train", trainer->total_steps(), po);
  LmEval last_valid;
  auto on_event = [&](const LmTrainEvent& ev) {
    if (log) {
      json j = {{"step", ev.step},
                {"train_loss", ev.train_loss},
                {"lr", ev.lr},
                {"tokens_per_s", ev.tokens_per_s},
                {"time_s", ev.time_s}};
      if (ev.has_valid) {
        j["valid_loss"] = ev.valid.loss;
        j["valid_bpc"] = ev.valid.bpc();
      }
      log->write(j);
    }
    if (ev.has_valid) last_valid = ev.valid;
    std::vector<ProgressField> fields = {ProgressField::named("loss", ev.train_loss),
                                         ProgressField::named("lr", ev.lr),
                                         ProgressField::rate("tok/s", ev.tokens_per_s)};
    if (last_valid.tokens > 0)
      fields.push_back(ProgressField::named("valid bpc", last_valid.bpc()));
    progress.update(ev.step, fields);
    if (a.checkpoint_every > 0 && ev.step % a.checkpoint_every == 0 && ev.step < ev.total_steps)
      trainer->save(a.out);
  };
  trainer->run(on_event, stop);
  progress.finish();
  trainer->save(a.out);
  if (!trainer->done()) {
    std::fprintf(stderr,
                 "%s at step %lld of %lld; checkpoint saved to %s (continue with --resume)\n",
                 guard.interrupted() ? "interrupted" : "time limit reached",
                 static_cast<long long>(trainer->step()),
                 static_cast<long long>(trainer->total_steps()), a.out.c_str());
    if (!guard.interrupted()) {
      const LmEval e = trainer->evaluate_valid();
      if (e.tokens > 0) print_eval("valid", e);
    }
    if (guard.interrupted()) throw Exit{130};
    return;
  }
  if (last_valid.tokens > 0) print_eval("valid", last_valid);
  std::printf("saved %s\n", a.out.c_str());
}

// ---- eval / next / generate / data lm ------------------------------------------------------

struct EvalArgs {
  std::string model, split = "test", plot;
  CorpusArgs corpus;
  int64_t batch = 16, bptt = 64;
  int threads = 0;
  bool json_out = false;
};

void run_eval(const EvalArgs& a) {
  set_threads(a.threads);
  const std::vector<std::string> models = split_model_list(a.model);
  if (models.size() > 1) {  // an ensemble of classifiers (run_sequence_eval checks the kinds)
    for (const std::string& m : models)
      RECUR_CHECK(checkpoint_kind(m) != "language_model",
                  m + " is a language model; an ensemble (--model a,b,...) is for classifiers");
    run_sequence_eval(models, a.corpus.data_dir, a.split, a.plot, a.json_out);
    return;
  }
  const std::string kind = checkpoint_kind(models[0]);
  if (kind != "language_model" && !kind.empty()) {
    run_sequence_eval(models, a.corpus.data_dir, a.split, a.plot, a.json_out);
    return;
  }
  const LoadedLm lm = load_language_model(a.model);
  auto info = lm.data_info;
  if (!a.corpus.data.empty()) {
    info = data_info(a.corpus);
  }
  RECUR_CHECK(info.count("data"), "--data is needed: " + a.model + " does not say its corpus");
  const LmData d = make_lm_data(load_split(info, a.corpus.data_dir), lm.vocab);
  const std::vector<int64_t>* stream = nullptr;
  if (a.split == "test") stream = &d.test;
  if (a.split == "valid") stream = &d.valid;
  if (a.split == "train") stream = &d.train;
  RECUR_CHECK(stream != nullptr, "--split " + a.split + ": expected train, valid or test");
  RECUR_CHECK(stream->size() >= 2,
              "the " + a.split + " split of " + info.at("data") + " is empty; nothing to evaluate");
  const LmEval e = evaluate(*lm.model, *stream, a.batch, a.bptt);
  if (a.json_out) {
    std::printf("%s\n", json({{"data", info.at("data")},
                              {"split", a.split},
                              {"loss", e.loss},
                              {"bpc", e.bpc()},
                              {"perplexity", e.perplexity()},
                              {"tokens", e.tokens}})
                            .dump()
                            .c_str());
  } else {
    print_eval((info.at("data") + " " + a.split).c_str(), e);
  }
}

struct NextArgs {
  std::string model, text;
  int64_t top = 5;
};

void run_next(const NextArgs& a) {
  const LoadedLm lm = load_language_model(a.model);
  const auto best = next_tokens(lm, a.text, a.top);
  std::printf("%s__\n", a.text.c_str());
  for (size_t k = 0; k < best.size(); ++k)
    std::printf("%2zu. %s  %.4f\n", k + 1, printable(best[k].token).c_str(), best[k].probability);
}

struct GenerateArgs {
  std::string model, prime;
  SampleOptions sample;
  int64_t count = 1;
};

void run_generate(const GenerateArgs& a) {
  RECUR_CHECK(a.count > 0, "--count must be positive, got " + std::to_string(a.count));
  const LoadedLm lm = load_language_model(a.model);
  for (int64_t k = 0; k < a.count; ++k) {
    SampleOptions o = a.sample;
    o.seed = a.sample.seed + static_cast<uint64_t>(k);
    const std::string text = generate(lm, a.prime, o);
    if (k > 0) std::printf("\n");
    std::printf("%s%s\n", a.prime.c_str(), text.c_str());
  }
}

struct DataLmArgs {
  CorpusArgs corpus;
  std::string out;
};

void run_data_lm(const DataLmArgs& a) {
  const auto info = data_info(a.corpus);
  const LmData d = make_lm_data(load_split(info, a.corpus.data_dir));
  std::filesystem::create_directories(a.out);
  const std::vector<std::pair<std::string, const std::vector<int64_t>*>> parts = {
      {"train", &d.train}, {"valid", &d.valid}, {"test", &d.test}};
  for (const auto& [name, ids] : parts)
    save_npy_int64(a.out + "/" + name + ".npy", *ids, {static_cast<int64_t>(ids->size())});
  std::ofstream vocab(a.out + "/vocab.json");
  vocab << d.vocab.to_json() << "\n";
  RECUR_CHECK(vocab.good(), "cannot write " + a.out + "/vocab.json");
  std::printf("%s: %zu / %zu / %zu tokens, vocabulary %lld -> %s\n", a.corpus.data.c_str(),
              d.train.size(), d.valid.size(), d.test.size(), static_cast<long long>(d.vocab.size()),
              a.out.c_str());
}

}  // namespace

void add_lm_commands(CLI::App& app) {
  // recur train lm
  CLI::App* train = app.add_subcommand("train", "train a model");
  train->require_subcommand(1);
  auto t = std::make_shared<TrainArgs>();
  CLI::App* lm = train->add_subcommand(
      "lm", "next-character language model (truncated BPTT, hidden state carried)");
  add_corpus_options(lm, &t->corpus, false);
  lm->add_option("--out", t->out, "checkpoint to write (safetensors)")->required();
  lm->add_option("--cell", t->cell, "lstm, gru, rnn or rnn_relu")->capture_default_str();
  lm->add_option("--precision", t->precision, kPrecisionHelp)->capture_default_str();
  lm->add_option("--embed", t->config.embed, "embedding size")->capture_default_str();
  lm->add_option("--hidden", t->config.hidden, "hidden size")->capture_default_str();
  lm->add_option("--layers", t->config.layers, "recurrent layers")->capture_default_str();
  lm->add_option("--dropout", t->config.dropout, "dropout probability")->capture_default_str();
  lm->add_flag("--variational", t->config.variational,
               "same dropout mask at every step on the recurrent stack's inputs and outputs");
  lm->add_flag("--tie", t->config.tie, "decoder weight = embedding (needs --embed = --hidden)");
  lm->add_option("--bptt", t->options.bptt, "steps per truncated-BPTT chunk")
      ->capture_default_str();
  lm->add_option("--batch", t->options.batch, "parallel streams")->capture_default_str();
  lm->add_option("--lr", t->options.lr, "learning rate")->capture_default_str();
  lm->add_option("--optimizer", t->options.optimizer, "adam, adamw, sgd, rmsprop, adagrad")
      ->capture_default_str();
  lm->add_option("--momentum", t->options.momentum, "momentum (sgd, rmsprop)");
  lm->add_option("--weight-decay", t->options.weight_decay, "weight decay (default: optimizer's)");
  lm->add_option("--clip", t->options.clip, "gradient-norm clip (0 = off)")->capture_default_str();
  lm->add_option("--schedule", t->options.schedule, "constant, step, cosine, plateau")
      ->capture_default_str();
  lm->add_option("--warmup", t->options.warmup, "warm-up steps (cosine)")->capture_default_str();
  auto* steps = lm->add_option("--steps", t->options.steps, "optimizer steps in total");
  lm->add_option("--epochs", t->options.epochs, "passes over the training text")
      ->capture_default_str()
      ->excludes(steps);
  lm->add_option("--seed", t->options.seed, "random seed")->capture_default_str();
  lm->add_option("--eval-every", t->options.eval_every, "steps between held-out evaluations");
  lm->add_option("--eval-tokens", t->options.eval_tokens,
                 "held-out characters used by the evaluations during training (0 = all)");
  lm->add_option("--checkpoint-every", t->checkpoint_every, "steps between checkpoints")
      ->capture_default_str();
  lm->add_option("--max-minutes", t->max_minutes, "stop (and save) after this many minutes");
  lm->add_option("--log", t->log, "write one JSON object per step to this file (.jsonl)");
  lm->add_option("--log-every", t->log_every, "steps between progress lines")
      ->capture_default_str();
  lm->add_option("--threads", t->threads, "threads (default: all cores)");
  lm->add_flag("--resume", t->resume, "continue the run saved in --out");
  lm->add_flag("--no-eval", t->no_eval, "no held-out evaluation (speed runs)");
  lm->add_option("--init", t->init,
                 "start from these weights (safetensors with the model's parameter names, e.g. "
                 "from scripts/torch_lm.py --save-init)");
  t->options.eval_every = 200;
  t->options.eval_tokens = 50000;
  lm->callback([t] {
    RECUR_CHECK(t->resume || !t->corpus.data.empty(), "--data is required (or use --resume)");
    run_train_lm(*t);
  });

  // recur eval
  auto e = std::make_shared<EvalArgs>();
  CLI::App* ev = app.add_subcommand(
      "eval",
      "held-out metrics: bits per character (language models), accuracy, F1 and the "
      "confusion matrix (classifiers), MAE against seasonal naive (forecasts)");
  ev->add_option("--model", e->model,
                 "checkpoint; classifiers: several separated by commas are evaluated together "
                 "(mean of their class probabilities)")
      ->required();
  add_corpus_options(ev, &e->corpus, false);
  ev->add_option("--split", e->split, "train, valid or test")->capture_default_str();
  ev->add_option("--batch", e->batch, "parallel streams")->capture_default_str();
  ev->add_option("--bptt", e->bptt, "chunk length")->capture_default_str();
  ev->add_option("--threads", e->threads, "threads (default: all cores)");
  ev->add_flag("--json", e->json_out, "print one JSON object");
  ev->add_option("--plot", e->plot, "classifiers: write the confusion matrix as an SVG");
  ev->callback([e] { run_eval(*e); });

  // recur next
  auto n = std::make_shared<NextArgs>();
  CLI::App* nx = app.add_subcommand("next", "the most likely next characters after a text");
  nx->add_option("--model", n->model, "checkpoint")->required();
  nx->add_option("--text", n->text, "the text so far")->required();
  nx->add_option("--top", n->top, "how many")->capture_default_str();
  nx->callback([n] { run_next(*n); });

  // recur generate
  auto g = std::make_shared<GenerateArgs>();
  CLI::App* gen = app.add_subcommand("generate", "sample text from a language model");
  gen->add_option("--model", g->model, "checkpoint")->required();
  gen->add_option("--prime", g->prime, "text to continue (default: a new document)");
  gen->add_option("--length", g->sample.length, "characters to generate")->capture_default_str();
  gen->add_option("--temperature", g->sample.temperature, "0 = greedy")->capture_default_str();
  gen->add_option("--top-k", g->sample.top_k, "sample from the k most likely (0 = all)");
  gen->add_option("--top-p", g->sample.top_p, "nucleus sampling mass (1 = all)");
  gen->add_option("--seed", g->sample.seed, "random seed")->capture_default_str();
  gen->add_option("--count", g->count, "how many samples")->capture_default_str();
  gen->add_flag("--stop-at-newline", g->sample.stop_at_newline,
                "end a sample at the end of its document (a poem, a paragraph)");
  gen->callback([g] { run_generate(*g); });

  // recur data lm
  CLI::App* data = app.add_subcommand("data", "prepare data sets for other tools");
  data->require_subcommand(1);
  auto d = std::make_shared<DataLmArgs>();
  CLI::App* dlm = data->add_subcommand(
      "lm", "write a corpus split as token-id streams (train/valid/test.npy, vocab.json)");
  add_corpus_options(dlm, &d->corpus, true);
  dlm->add_option("--out", d->out, "output folder")->required();
  dlm->callback([d] { run_data_lm(*d); });
}

}  // namespace recur::cli
