// Model inputs for the sequence tasks (texts, images, series) and sequence-model checkpoints.
// Leaves out: file formats (src/data), the model (sequence_model.cc).
#include "recur/task_data.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "recur/error.h"
#include "recur/io.h"

namespace recur {
namespace {

using json = nlohmann::json;
std::string str(int64_t v) { return std::to_string(v); }

}  // namespace

std::vector<std::string> tokenize(const std::string& text, const std::string& mode) {
  if (mode == "word") return data::word_tokens(text);
  if (mode == "wordpunct") return data::word_punct_tokens(text);
  if (mode == "char") return data::split_chars(text);
  throw_error("--tokens " + mode + ": expected word, wordpunct or char");
}

SequenceData encode_texts(const std::vector<std::string>& texts, const std::vector<int64_t>& labels,
                          const data::Vocab& vocab, const std::string& mode, int64_t max_len) {
  RECUR_CHECK(labels.empty() || labels.size() == texts.size(),
              "encode_texts: " + str(static_cast<int64_t>(labels.size())) + " labels for " +
                  str(static_cast<int64_t>(texts.size())) + " texts");
  SequenceData d;
  d.labels = labels;
  for (const std::string& text : texts) {
    std::vector<int64_t> ids;
    for (const std::string& token : tokenize(text, mode)) {
      if (max_len > 0 && static_cast<int64_t>(ids.size()) >= max_len) break;
      ids.push_back(vocab.id(token));
    }
    if (ids.empty()) ids.push_back(data::Vocab::kUnk);
    d.tokens.push_back(std::move(ids));
  }
  return d;
}

SequenceData image_rows(const data::ImageSet& images, const std::vector<int64_t>& indices_in) {
  std::vector<int64_t> indices = indices_in;
  if (indices.empty())
    for (int64_t i = 0; i < images.count; ++i) indices.push_back(i);
  SequenceData d;
  d.feature_size = images.cols;
  const int64_t pixels = images.rows * images.cols;
  for (int64_t i : indices) {
    RECUR_CHECK(i >= 0 && i < images.count,
                "image " + str(i) + " does not exist (there are " + str(images.count) + ")");
    std::vector<float> f(static_cast<size_t>(pixels));
    for (int64_t p = 0; p < pixels; ++p) f[p] = images.pixels[i * pixels + p] / 255.0f;
    d.features.push_back(std::move(f));
    d.labels.push_back(images.labels[i]);
  }
  return d;
}

double SeriesWindows::level(const std::vector<double>& series, int64_t origin) const {
  return relative ? series[origin - 1] : mean;
}

SeriesWindows make_windows(const std::vector<double>& series, int64_t window, int64_t horizon,
                           int64_t test_start, bool relative) {
  const int64_t n = static_cast<int64_t>(series.size());
  RECUR_CHECK(window > 0 && horizon > 0, "--window and --horizon must be positive, got " +
                                             str(window) + " and " + str(horizon));
  RECUR_CHECK(test_start >= window + horizon && test_start <= n - horizon,
              "the series of " + str(n) + " values is too short for a window of " + str(window) +
                  " and a horizon of " + str(horizon) + " with the test part starting at " +
                  str(test_start));
  SeriesWindows w;
  double sum = 0.0, sq = 0.0;
  for (int64_t i = 0; i < test_start; ++i) sum += series[i];
  w.mean = sum / test_start;
  for (int64_t i = 0; i < test_start; ++i) sq += (series[i] - w.mean) * (series[i] - w.mean);
  w.std = std::sqrt(sq / test_start);
  if (w.std == 0.0) w.std = 1.0;
  w.relative = relative;
  auto add = [&](SequenceData& d, int64_t origin) {
    const double level = w.level(series, origin);
    auto norm = [&](int64_t i) { return static_cast<float>((series[i] - level) / w.std); };
    std::vector<float> in, out;
    for (int64_t t = origin - window; t < origin; ++t) in.push_back(norm(t));
    for (int64_t h = 0; h < horizon; ++h) out.push_back(norm(origin + h));
    d.features.push_back(std::move(in));
    d.targets.push_back(std::move(out));
  };
  w.train.feature_size = w.test.feature_size = 1;
  for (int64_t origin = window; origin + horizon <= test_start; ++origin) add(w.train, origin);
  for (int64_t origin = test_start; origin + horizon <= n; ++origin) {
    add(w.test, origin);
    w.test_origins.push_back(origin);
  }
  return w;
}

std::vector<double> monthly_series(const data::CsvTable& table, const std::string& date_column,
                                   const std::string& value_column, int64_t* filled) {
  const std::vector<double> values = data::csv_column(table, value_column, "");
  int64_t date_index = -1;
  for (size_t c = 0; c < table.header.size(); ++c)
    if (table.header[c] == date_column) date_index = static_cast<int64_t>(c);
  RECUR_CHECK(date_index >= 0, table.source + ": no column '" + date_column + "'");
  std::vector<double> out;
  int64_t last_month = -1, gaps = 0;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const std::string& d = table.rows[r][date_index];
    int year = 0, month = 0;
    RECUR_CHECK(
        std::sscanf(d.c_str(), "%d-%d", &year, &month) == 2 && month >= 1 && month <= 12,
        table.source + ":line " + str(table.lines[r]) + ": '" + d + "' is not a date YYYY-MM-DD");
    const int64_t m = year * 12 + (month - 1);
    if (last_month >= 0) {
      RECUR_CHECK(m > last_month, table.source + ":line " + str(table.lines[r]) + ": date " + d +
                                      " is not after the previous row's");
      for (int64_t k = last_month + 1; k < m; ++k, ++gaps) {
        const double a = out.back(), frac = double(k - last_month) / double(m - last_month);
        out.push_back(a + frac * (values[r] - a));
      }
    }
    out.push_back(values[r]);
    last_month = m;
  }
  if (filled) *filled = gaps;
  return out;
}

// ---- checkpoints ---------------------------------------------------------------------------

void save_sequence_checkpoint(const std::string& path, const SequenceCheckpoint& c) {
  RECUR_CHECK(c.model != nullptr, "save: no model");
  SafeTensors file;
  file.tensors = c.model->state_dict();
  file.metadata["format"] = "pt";
  file.metadata["recur.kind"] = c.kind;
  file.metadata["recur.config"] = c.model->config().to_json();
  file.metadata["recur.classes"] = json(c.class_names).dump();
  if (c.vocab.size() > 2) file.metadata["recur.vocab"] = c.vocab.to_json();
  file.metadata["recur.info"] = json(c.info).dump();
  save_safetensors(path, file);
}

std::string checkpoint_kind(const std::string& path) {
  const SafeTensors file = load_safetensors(path);
  auto it = file.metadata.find("recur.kind");
  return it == file.metadata.end() ? "" : it->second;
}

SequenceCheckpoint load_sequence_checkpoint(const std::string& path) {
  const SafeTensors file = load_safetensors(path);
  auto kind = file.metadata.find("recur.kind");
  RECUR_CHECK(kind != file.metadata.end(),
              path + " is not a recur model checkpoint (no 'recur.kind' in its metadata)");
  RECUR_CHECK(kind->second == "sequence_classifier" || kind->second == "mlp_classifier" ||
                  kind->second == "forecaster",
              path + " holds a '" + kind->second + "' model, not a classifier or forecaster");
  auto get = [&](const char* key) {
    auto it = file.metadata.find(key);
    RECUR_CHECK(it != file.metadata.end(), path + ": checkpoint metadata lacks '" + key + "'");
    return it->second;
  };
  SequenceCheckpoint c;
  c.kind = kind->second;
  c.model = std::make_unique<SequenceModel>(SequenceModelConfig::from_json(get("recur.config")), 0);
  c.model->load_state_dict(file.tensors);
  try {
    c.class_names = json::parse(get("recur.classes")).get<std::vector<std::string>>();
    c.info = json::parse(get("recur.info")).get<std::map<std::string, std::string>>();
  } catch (const json::exception& e) {
    throw_error(path + ": damaged metadata: " + e.what());
  }
  if (file.metadata.count("recur.vocab")) c.vocab = data::Vocab::from_json(get("recur.vocab"));
  return c;
}

}  // namespace recur
