// Progress display for long CLI work (training): on a terminal one line redrawn in place with
// '\r' at most every 0.1 s, otherwise a plain line every `log_every` steps and at the end, so
// logs piped to a file stay readable. The formatting is pure functions, unit-tested.
// Leaves out: multi-line displays, colours, and terminal width detection.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace recur::cli {

// One value shown after the bar. kNamed reads "loss 2.314" (4 significant digits); kRate reads
// "12.3k tok/s" (format_rate, then the name as a unit).
struct ProgressField {
  enum class Style { kNamed, kRate };
  std::string name;
  double value = 0;
  Style style = Style::kNamed;

  static ProgressField named(std::string name, double value) {
    return {std::move(name), value, Style::kNamed};
  }
  static ProgressField rate(std::string unit, double per_second) {
    return {std::move(unit), per_second, Style::kRate};
  }
};

// "5:03", "1:02:03": whole seconds, rounded; "--:--" when negative or not finite.
std::string format_duration(double seconds);
// Three significant digits with a k/M/G/T suffix: 950 -> "950", 12345 -> "12.3k",
// 1.5e6 -> "1.50M"; "-" when negative or not finite.
std::string format_rate(double per_second);
std::string format_field(const ProgressField& field);

// "train 120/1000 [=====>      ] 12% loss 2.314 · 12.3k tok/s · 0:42 elapsed · ETA 5:03".
// bar_width 0 leaves the bar out (plain log lines). The ETA extrapolates the elapsed time per
// step done since `first_step` (where a resumed run started) and is "--:--" before one is.
std::string format_progress(const std::string& label, int64_t step, int64_t total,
                            const std::vector<ProgressField>& fields, double elapsed_s,
                            int bar_width = 20, int64_t first_step = 0);

struct ProgressOptions {
  int64_t log_every = 100;    // plain mode: print a line every this many steps
  double min_redraw_s = 0.1;  // terminal mode: redraw at most this often
  std::FILE* out = stderr;    // where the display goes
  int terminal = -1;          // 1 redraw in place, 0 plain lines, -1 isatty(out)
  int64_t first_step = 0;     // the step a resumed run starts from (for the ETA)
};

// Shows the progress of `total` steps of work named `label`. update() after each step;
// finish() (or the destructor) ends the display, printing the last state if it was held back.
class Progress {
 public:
  Progress(std::string label, int64_t total, ProgressOptions options = {});
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void update(int64_t step, const std::vector<ProgressField>& fields);
  void finish();
  bool terminal() const { return terminal_; }

 private:
  double elapsed_s() const;
  void draw();

  std::string label_;
  int64_t total_;
  ProgressOptions options_;
  bool terminal_;
  std::chrono::steady_clock::time_point start_;
  double last_draw_s_ = -1e30;
  size_t last_width_ = 0;  // terminal: characters of the line on screen, to blank leftovers
  int64_t step_ = 0;
  std::vector<ProgressField> fields_;
  bool shown_ = true;  // the latest update is on screen / in the log
  bool finished_ = false;
};

}  // namespace recur::cli
