// A JSON Lines training log: one JSON object per line, flushed after each, so a run that is
// killed keeps every line written so far and `recur plot` can read a log that is still growing.
// Leaves out: reading logs back (src/cli/plot.cc) and rotation or appending to old runs.
//
// Schema written by training (`recur train`, scripts/torch_lm.py) and read by `recur plot`:
//   training lines:   {"step": int, "train_loss": float, "lr": float,
//                      "tokens_per_s": float, "time_s": float}
//   evaluation lines: {"step": int, "valid_loss": float, "valid_bpc": float}
// A line may carry both sets of keys. `step` counts optimizer steps from 1; losses are mean
// cross-entropy in nats per token; valid_bpc = valid_loss / ln 2 (bits per token/character);
// time_s is wall time since training started. A non-finite float (a diverged loss) is written
// as null. Readers ignore keys they do not know.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace recur::cli {

class JsonlLog {
 public:
  // Creates (or truncates, or with `append` extends) `path`; an Error naming the path when it
  // cannot be opened.
  explicit JsonlLog(const std::string& path, bool append = false);

  // Writes `object` (a JSON object, else an Error) as one line and flushes it.
  void write(const nlohmann::json& object);

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

}  // namespace recur::cli
