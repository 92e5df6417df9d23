// From data sets to model inputs for the sequence tasks: labeled texts as token sequences with a
// vocabulary fitted on the training part, images read row by row as feature sequences, a series
// cut into (window -> horizon) examples with normalisation fitted on the training part; and the
// checkpoints of sequence models (model, configuration and everything needed to read new input).
// Leaves out: reading files (datasets.h), the model (sequence_model.h).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "recur/data.h"
#include "recur/datasets.h"
#include "recur/sequence_model.h"

namespace recur {

// ---- text ----------------------------------------------------------------------------------

// "word" (data::word_tokens), "wordpunct" (data::word_punct_tokens: words and runs of
// punctuation) or "char" (one token per character).
std::vector<std::string> tokenize(const std::string& text, const std::string& mode);

// Token ids of each text (unknown tokens -> <unk>), truncated to max_len (> 0) tokens; a text
// without tokens becomes a single <unk>, so no example is empty.
SequenceData encode_texts(const std::vector<std::string>& texts, const std::vector<int64_t>& labels,
                          const data::Vocab& vocab, const std::string& mode, int64_t max_len);

// ---- images --------------------------------------------------------------------------------

// Images at `indices` (all when empty) as sequences of rows: image i is `rows` steps of `cols`
// features, pixel / 255.
SequenceData image_rows(const data::ImageSet& images, const std::vector<int64_t>& indices = {});

// ---- series --------------------------------------------------------------------------------

struct SeriesWindows {
  double mean = 0.0, std = 1.0;  // fitted on the training part
  bool relative = true;
  SequenceData train, test;           // normalised windows (feature 1 = value) and targets
  std::vector<int64_t> test_origins;  // for each test example, the index of its first target
  // A normalised value v of the window whose first target is at `origin` stands for the series
  // value v * std + level(origin): the training mean (absolute) or the window's last input,
  // series[origin - 1] (relative).
  double level(const std::vector<double>& series, int64_t origin) const;
};
// `series` split at `test_start`: training examples use only values before it; test examples
// are every window whose `horizon` targets all lie at or after test_start, one per origin.
// Values are scaled by the training part's deviation and taken relative to each window's last
// input (`relative`: a trend that leaves the training range stays in range) or to the mean.
SeriesWindows make_windows(const std::vector<double>& series, int64_t window, int64_t horizon,
                           int64_t test_start, bool relative = true);

// A monthly series from a (Date, value) table: dates YYYY-MM-DD; missing months are filled by
// linear interpolation between their neighbours (their count is returned in `filled`).
std::vector<double> monthly_series(const data::CsvTable& table, const std::string& date_column,
                                   const std::string& value_column, int64_t* filled = nullptr);

// ---- checkpoints ---------------------------------------------------------------------------

// A sequence model with what is needed to turn new input into its features: kind
// ("sequence_classifier", "mlp_classifier", "forecaster"), class names, vocabulary, and free
// string metadata (tokens mode, max_len, data set, window, normalisation, ...).
struct SequenceCheckpoint {
  std::string kind;
  std::unique_ptr<SequenceModel> model;
  std::vector<std::string> class_names;
  data::Vocab vocab;
  std::map<std::string, std::string> info;
};
void save_sequence_checkpoint(const std::string& path, const SequenceCheckpoint& checkpoint);
// Errors: missing file, not a recur checkpoint, a language model (use the LM commands).
SequenceCheckpoint load_sequence_checkpoint(const std::string& path);
// The kind written in a checkpoint's metadata ("" when it has none).
std::string checkpoint_kind(const std::string& path);

}  // namespace recur
