// Benchmark problems, recur's runs of them and timing statistics (see bench_core.h).
#include "cli/bench_core.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>

#include "recur/error.h"
#include "recur/rng.h"

namespace recur::cli {
namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::string::size_type start = 0;
  while (true) {
    const auto end = text.find(sep, start);
    parts.push_back(text.substr(start, end == std::string::npos ? end : end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "t64" -> 64 when the letter matches and the rest is a positive number; else -1.
int64_t field(const std::string& token, char letter) {
  if (token.size() < 2 || token[0] != letter || token.size() > 10) return -1;
  for (std::size_t i = 1; i < token.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(token[i]))) return -1;
  const int64_t value = std::stoll(token.substr(1));
  return value > 0 ? value : -1;
}

const char* kGrammar =
    "expected <mode>_t<T>_b<B>_i<I>_h<H>_l<L>_d<1|2>[_stream][_bf16] with mode rnn_tanh, "
    "rnn_relu, lstm or gru (e.g. lstm_t64_b32_i512_h512_l1_d1), or an alias C1..C7, S1 "
    "(C1_bf16 for its bf16 variant)";

}  // namespace

const std::vector<std::pair<std::string, std::string>>& bench_aliases() {
  static const std::vector<std::pair<std::string, std::string>> aliases = {
      {"C1", "lstm_t64_b32_i512_h512_l1_d1"},     {"C2", "lstm_t50_b64_i1024_h1024_l1_d1"},
      {"C3", "lstm_t100_b1_i512_h512_l1_d1"},     {"C4", "gru_t64_b32_i512_h512_l1_d1"},
      {"C5", "rnn_tanh_t64_b32_i512_h512_l1_d1"}, {"C6", "lstm_t64_b32_i256_h256_l2_d2"},
      {"C7", "lstm_t32_b16_i64_h128_l1_d1"},      {"S1", "lstm_t100_b1_i512_h512_l1_d1_stream"},
  };
  return aliases;
}

std::string bench_descriptor(const BenchProblem& p) {
  return mode_name(p.mode) + "_t" + std::to_string(p.T) + "_b" + std::to_string(p.B) + "_i" +
         std::to_string(p.I) + "_h" + std::to_string(p.H) + "_l" + std::to_string(p.L) + "_d" +
         (p.bidirectional ? "2" : "1") + (p.stream ? "_stream" : "") + (p.bf16 ? "_bf16" : "");
}

BenchProblem parse_bench_problem(const std::string& text) {
  const std::string suffix = "_bf16";
  if (text.size() > suffix.size() && lower(text.substr(text.size() - suffix.size())) == suffix) {
    BenchProblem p = parse_bench_problem(text.substr(0, text.size() - suffix.size()));
    RECUR_CHECK(!p.bf16, "benchmark problem '" + text + "': _bf16 given twice");
    p.bf16 = true;
    return p;
  }
  for (const auto& [alias, descriptor] : bench_aliases()) {
    if (lower(text) == lower(alias)) {
      BenchProblem p = parse_bench_problem(descriptor);
      p.alias = alias;
      return p;
    }
  }
  const std::string where = "benchmark problem '" + text + "': ";
  const std::vector<std::string> tokens = split(text, '_');
  // The mode is the first token, or the first two for rnn_tanh / rnn_relu.
  const std::size_t first_field = tokens.size() > 1 && tokens[0] == "rnn" ? 2 : 1;
  std::string mode = tokens[0];
  if (first_field == 2) mode += "_" + tokens[1];
  BenchProblem p;
  RECUR_CHECK(mode == "rnn_tanh" || mode == "rnn_relu" || mode == "lstm" || mode == "gru",
              where + "unknown mode '" + mode + "'; " + kGrammar);
  p.mode = parse_mode(mode);
  const char letters[] = {'t', 'b', 'i', 'h', 'l', 'd'};
  int64_t* targets[] = {&p.T, &p.B, &p.I, &p.H, &p.L, nullptr};
  std::size_t next = first_field;
  for (int k = 0; k < 6; ++k, ++next) {
    RECUR_CHECK(next < tokens.size(),
                where + "missing the '" + letters[k] + "' field; " + kGrammar);
    const int64_t value = field(tokens[next], letters[k]);
    RECUR_CHECK(value > 0, where + "'" + tokens[next] + "' is not " + letters[k] +
                               "<positive number>; " + kGrammar);
    if (targets[k] != nullptr) {
      *targets[k] = value;
    } else {
      RECUR_CHECK(value == 1 || value == 2, where + "directions must be d1 or d2");
      p.bidirectional = value == 2;
    }
  }
  if (next < tokens.size() && tokens[next] == "stream") {
    p.stream = true;
    ++next;
  }
  RECUR_CHECK(next == tokens.size(), where + "unexpected '" + tokens[next] + "'; " + kGrammar);
  RECUR_CHECK(!(p.stream && p.bidirectional), where + "a streaming problem is unidirectional (d1)");
  return p;
}

std::vector<BenchProblem> parse_bench_problems(const std::string& list) {
  std::vector<BenchProblem> problems;
  for (const std::string& item : split(list, ',')) {
    if (item.empty()) continue;
    if (lower(item) == "all") {
      for (const auto& alias : bench_aliases())
        problems.push_back(parse_bench_problem(alias.first));
    } else {
      problems.push_back(parse_bench_problem(item));
    }
  }
  RECUR_CHECK(!problems.empty(), std::string("no benchmark problem given; ") + kGrammar);
  return problems;
}

double bench_forward_flops(const BenchProblem& p) {
  const double G = static_cast<double>(gate_count(p.mode));
  const double D = static_cast<double>(p.directions());
  double flops = 0;
  for (int64_t l = 0; l < p.L; ++l) {
    const double in = l == 0 ? static_cast<double>(p.I) : D * static_cast<double>(p.H);
    flops += D * 2.0 * static_cast<double>(p.T * p.B) * G * static_cast<double>(p.H) *
             (in + static_cast<double>(p.H));
  }
  return flops;
}

int64_t bench_weight_bytes(const BenchProblem& p) {
  const int64_t G = gate_count(p.mode), D = p.directions();
  int64_t weights = 0, biases = 0;
  for (int64_t l = 0; l < p.L; ++l) {
    const int64_t in = l == 0 ? p.I : D * p.H;
    weights += D * G * p.H * (in + p.H);
    biases += D * 2 * G * p.H;
  }
  return weights * (p.bf16 ? 2 : 4) + biases * 4;
}

RnnOptions bench_options(const BenchProblem& p) {
  RnnOptions o;
  o.mode = p.mode;
  o.input_size = p.I;
  o.hidden_size = p.H;
  o.num_layers = p.L;
  o.bidirectional = p.bidirectional;
  o.precision = p.bf16 ? Precision::kBfloat16 : Precision::kFloat32;
  return o;
}

RecurRunner::RecurRunner(const BenchProblem& p)
    : p_(p), rnn_(bench_options(p), 1), x_({p.T, p.B, p.I}), dy_({p.T, p.B, p.directions() * p.H}) {
  Rng rx(2), rdy(3);
  for (int64_t i = 0; i < x_.numel(); ++i) x_[i] = rx.normal();
  for (int64_t i = 0; i < dy_.numel(); ++i) dy_[i] = rdy.normal();
}

// Inference runs on an RnnInference made once, whose weights are packed by the first run and
// kept, as oneDNN's peer reorders its weights once before timing; it writes into the same
// outputs every run, as oneDNN's peer does into its memory objects (the out-parameter form;
// the allocating form adds a fresh 4 MiB output and its page faults to every C1 run).
void RecurRunner::inference() {
  if (!inference_) inference_ = std::make_unique<RnnInference>(rnn_);
  inference_->forward(x_, {}, &inference_out_);
  last_ = &inference_out_.output;
}

void RecurRunner::training_step() {
  // The last step's results go first, as the PyTorch peer sets its gradients to None: a step
  // holds one set of gradients, not two (recur_bench --memory).
  grads_ = RnnGrads();
  out_ = Tensor();
  out_ = rnn_.forward_train(x_, {}, &ws_).output;
  last_ = &out_;
  grads_ = rnn_.backward(ws_, dy_);
}

void RecurRunner::stream_run() {
  // The stream (weights packed, buffers sized) is made once, like oneDNN's primitive and
  // reordered weights; each run starts from the zero state.
  if (!stream_) stream_ = std::make_unique<RnnStream>(rnn_, p_.B);
  stream_->reset();
  if (out_.shape() != Shape{p_.T, p_.B, p_.H}) out_ = Tensor({p_.T, p_.B, p_.H});
  const int64_t in = p_.B * p_.I, out = p_.B * p_.H;
  for (int64_t t = 0; t < p_.T; ++t) stream_->step(x_.data() + t * in, out_.data() + t * out);
  last_ = &out_;
}

TimingStats timing_stats(std::vector<double> seconds) {
  TimingStats s;
  s.runs = static_cast<int64_t>(seconds.size());
  if (seconds.empty()) return s;
  std::sort(seconds.begin(), seconds.end());
  const std::size_t n = seconds.size();
  s.median = n % 2 ? seconds[n / 2] : 0.5 * (seconds[n / 2 - 1] + seconds[n / 2]);
  s.min = seconds.front();
  s.max = seconds.back();
  return s;
}

double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

TimingStats time_calls(const std::function<void()>& fn, int warmup, int repeats) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> seconds;
  for (int i = 0; i < repeats; ++i) {
    const double start = seconds_now();
    fn();
    seconds.push_back(seconds_now() - start);
  }
  return timing_stats(std::move(seconds));
}

}  // namespace recur::cli
