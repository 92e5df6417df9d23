// Progress display: the pure formatting functions and the Progress class that decides when to
// draw (terminal: throttled redraws in place; otherwise plain lines every log_every steps).
// Leaves out: anything about what is being computed; callers pass ready numbers.
#include "cli/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "recur/error.h"

namespace recur::cli {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto total = static_cast<int64_t>(std::llround(seconds));
  const int64_t h = total / 3600, m = total / 60 % 60, s = total % 60;
  if (h > 0) return fmt::format("{}:{:02}:{:02}", h, m, s);
  return fmt::format("{}:{:02}", m, s);
}

std::string format_rate(double per_second) {
  if (!std::isfinite(per_second) || per_second < 0) return "-";
  static const char* const kSuffixes[] = {"", "k", "M", "G", "T"};
  double scaled = per_second;
  int unit = 0;
  // Pick the unit after rounding to three significant digits, so 999.7 reads "1.00k".
  while (scaled >= 999.5 && unit < 4) {
    scaled /= 1000;
    ++unit;
  }
  const int decimals = scaled >= 99.95 ? 0 : scaled >= 9.995 ? 1 : 2;
  return fmt::format("{:.{}f}{}", scaled, decimals, kSuffixes[unit]);
}

std::string format_field(const ProgressField& field) {
  if (field.style == ProgressField::Style::kRate)
    return format_rate(field.value) + " " + field.name;
  return fmt::format("{} {:.4g}", field.name, field.value);
}

std::string format_progress(const std::string& label, int64_t step, int64_t total,
                            const std::vector<ProgressField>& fields, double elapsed_s,
                            int bar_width, int64_t first_step) {
  const double fraction =
      total > 0 ? std::clamp(static_cast<double>(step) / static_cast<double>(total), 0.0, 1.0)
                : 0.0;
  std::string line = fmt::format("{} {}/{}", label, step, total);
  if (bar_width > 0) {
    const int filled = static_cast<int>(fraction * bar_width);
    std::string bar(static_cast<size_t>(bar_width), ' ');
    for (int i = 0; i < filled; ++i) bar[static_cast<size_t>(i)] = '=';
    if (filled < bar_width && filled > 0) bar[static_cast<size_t>(filled - 1)] = '>';
    line += " [" + bar + "]";
  }
  line += fmt::format(" {}%", static_cast<int>(fraction * 100));
  std::string tail;
  for (const ProgressField& field : fields)
    tail += (tail.empty() ? "" : " · ") + format_field(field);
  const double eta = step > first_step ? elapsed_s / static_cast<double>(step - first_step) *
                                             static_cast<double>(std::max<int64_t>(total - step, 0))
                                       : -1;
  tail += (tail.empty() ? "" : " · ") + format_duration(elapsed_s) + " elapsed · ETA " +
          format_duration(eta);
  return line + " " + tail;
}

namespace {

// Columns a UTF-8 line takes (one per code point; the display uses no wide characters).
size_t columns(const std::string& utf8) {
  return static_cast<size_t>(
      std::count_if(utf8.begin(), utf8.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

}  // namespace

Progress::Progress(std::string label, int64_t total, ProgressOptions options)
    : label_(std::move(label)),
      total_(total),
      options_(options),
      terminal_(options.terminal < 0 ? ::isatty(::fileno(options.out)) != 0
                                     : options.terminal != 0),
      start_(std::chrono::steady_clock::now()) {
  RECUR_CHECK(total > 0, "Progress: total must be positive, found " + std::to_string(total));
  RECUR_CHECK(options.log_every > 0,
              "Progress: log_every must be positive, found " + std::to_string(options.log_every));
}

Progress::~Progress() {
  if (!finished_) finish();
}

double Progress::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(int64_t step, const std::vector<ProgressField>& fields) {
  step_ = step;
  fields_ = fields;
  shown_ = false;
  const bool last = step >= total_;
  if (terminal_) {
    if (last || elapsed_s() - last_draw_s_ >= options_.min_redraw_s) draw();
  } else if (last || step % options_.log_every == 0) {
    draw();
  }
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (!shown_) draw();
  if (terminal_ && last_width_ > 0) std::fputc('\n', options_.out);
  std::fflush(options_.out);
}

void Progress::draw() {
  const double now = elapsed_s();
  last_draw_s_ = now;
  shown_ = true;
  if (!terminal_) {
    const std::string line =
        format_progress(label_, step_, total_, fields_, now, 0, options_.first_step);
    std::fprintf(options_.out, "%s\n", line.c_str());
    std::fflush(options_.out);
    return;
  }
  std::string line = format_progress(label_, step_, total_, fields_, now, 20, options_.first_step);
  const size_t width = columns(line);
  if (width < last_width_) line.append(last_width_ - width, ' ');
  last_width_ = width;
  std::fprintf(options_.out, "\r%s", line.c_str());
  std::fflush(options_.out);
}

}  // namespace recur::cli
