// Progress display and JSONL log: the pure formatting functions against hand-written strings,
// the Progress class's plain-line and in-place modes through a temporary FILE*, and JsonlLog's
// one-object-per-line output and errors.
// Leaves out: real terminals (isatty is bypassed with ProgressOptions::terminal).
#include "cli/progress.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/jsonl_log.h"
#include "recur/error.h"

namespace recur::cli {
namespace {

namespace fs = std::filesystem;

TEST(FormatDuration, MinutesAndHours) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(42), "0:42");
  EXPECT_EQ(format_duration(303), "5:03");
  EXPECT_EQ(format_duration(59.6), "1:00");  // rounded, not truncated
  EXPECT_EQ(format_duration(3599), "59:59");
  EXPECT_EQ(format_duration(3600), "1:00:00");
  EXPECT_EQ(format_duration(3723), "1:02:03");
  EXPECT_EQ(format_duration(100 * 3600 + 5), "100:00:05");
}

TEST(FormatDuration, UnknownIsDashes) {
  EXPECT_EQ(format_duration(-1), "--:--");
  EXPECT_EQ(format_duration(std::numeric_limits<double>::quiet_NaN()), "--:--");
  EXPECT_EQ(format_duration(std::numeric_limits<double>::infinity()), "--:--");
}

TEST(FormatRate, ThreeSignificantDigits) {
  EXPECT_EQ(format_rate(0), "0.00");
  EXPECT_EQ(format_rate(3.14159), "3.14");
  EXPECT_EQ(format_rate(12.5), "12.5");
  EXPECT_EQ(format_rate(950), "950");
  EXPECT_EQ(format_rate(999.4), "999");
  EXPECT_EQ(format_rate(999.7), "1.00k");  // rounds up into the next unit
  EXPECT_EQ(format_rate(1234), "1.23k");
  EXPECT_EQ(format_rate(12345), "12.3k");
  EXPECT_EQ(format_rate(123456), "123k");
  EXPECT_EQ(format_rate(1.5e6), "1.50M");
  EXPECT_EQ(format_rate(2.5e9), "2.50G");
  EXPECT_EQ(format_rate(-1), "-");
  EXPECT_EQ(format_rate(std::numeric_limits<double>::quiet_NaN()), "-");
}

TEST(FormatProgress, FullLine) {
  const std::vector<ProgressField> fields = {ProgressField::named("loss", 2.31412),
                                             ProgressField::rate("tok/s", 12345)};
  // 120 of 1000 steps in 42 s: 0.35 s/step, 880 steps left -> 308 s.
  EXPECT_EQ(format_progress("train", 120, 1000, fields, 42.0, 20),
            "train 120/1000 [=>                  ] 12% loss 2.314 · 12.3k tok/s · 0:42 elapsed "
            "· ETA 5:08");
}

TEST(FormatProgress, BarFillsWithTheFraction) {
  EXPECT_EQ(format_progress("x", 0, 10, {}, 0, 10),
            "x 0/10 [          ] 0% 0:00 elapsed · ETA --:--");
  EXPECT_EQ(format_progress("x", 5, 10, {}, 5, 10),
            "x 5/10 [====>     ] 50% 0:05 elapsed · ETA 0:05");
  // A run resumed at step 4: 1 step in 5 s, so 5 s per step for the 5 left, not 5/5 · 5.
  EXPECT_NE(format_progress("x", 5, 10, {}, 5, 0, 4).find("ETA 0:25"), std::string::npos)
      << format_progress("x", 5, 10, {}, 5, 0, 4);
  EXPECT_NE(format_progress("x", 4, 10, {}, 5, 0, 4).find("ETA --:--"), std::string::npos);
  EXPECT_EQ(format_progress("x", 10, 10, {}, 10, 10),
            "x 10/10 [==========] 100% 0:10 elapsed · ETA 0:00");
  // Past the end (a caller that overshoots) is clamped, not a longer bar.
  EXPECT_EQ(format_progress("x", 12, 10, {}, 12, 10),
            "x 12/10 [==========] 100% 0:12 elapsed · ETA 0:00");
}

TEST(FormatProgress, NoBarForPlainLines) {
  EXPECT_EQ(format_progress("eval", 3, 4, {ProgressField::named("loss", 1.5)}, 3, 0),
            "eval 3/4 75% loss 1.5 · 0:03 elapsed · ETA 0:01");
}

// Runs `body` with a Progress writing to a temporary file and returns what it wrote.
template <typename Body>
std::string captured(Body body) {
  std::FILE* file = std::tmpfile();
  EXPECT_NE(file, nullptr);
  body(file);
  std::fflush(file);
  std::rewind(file);
  std::string text;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  std::fclose(file);
  return text;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
    lines.push_back(text.substr(start, end - start));
  EXPECT_EQ(start, text.size()) << "text does not end with a newline";
  return lines;
}

TEST(Progress, PlainModePrintsEveryLogEveryStepsAndTheLast) {
  const std::string text = captured([](std::FILE* file) {
    ProgressOptions options;
    options.out = file;
    options.terminal = 0;
    options.log_every = 4;
    Progress progress("train", 10, options);
    EXPECT_FALSE(progress.terminal());
    for (int step = 1; step <= 10; ++step)
      progress.update(step, {ProgressField::named("loss", 10.0 / step)});
    progress.finish();
  });
  EXPECT_EQ(text.find('\r'), std::string::npos);
  const std::vector<std::string> lines = lines_of(text);
  ASSERT_EQ(lines.size(), 3u) << text;
  EXPECT_EQ(lines[0].rfind("train 4/10 40% loss 2.5 · ", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind("train 8/10 80% loss 1.25 · ", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2].rfind("train 10/10 100% loss 1 · ", 0), 0u) << lines[2];
}

TEST(Progress, PlainModeFinishPrintsAStepThatWasHeldBack) {
  const std::string text = captured([](std::FILE* file) {
    ProgressOptions options;
    options.out = file;
    options.terminal = 0;
    options.log_every = 100;
    Progress progress("train", 1000, options);
    for (int step = 1; step <= 7; ++step) progress.update(step, {});
    // An early stop: the destructor finishes and shows step 7.
  });
  const std::vector<std::string> lines = lines_of(text);
  ASSERT_EQ(lines.size(), 1u) << text;
  EXPECT_EQ(lines[0].rfind("train 7/1000 0% ", 0), 0u) << lines[0];
}

TEST(Progress, TerminalModeRedrawsOneLineAndThrottles) {
  const std::string text = captured([](std::FILE* file) {
    ProgressOptions options;
    options.out = file;
    options.terminal = 1;
    options.min_redraw_s = 3600;  // only the first update and the last step get drawn
    Progress progress("train", 50, options);
    EXPECT_TRUE(progress.terminal());
    for (int step = 1; step <= 50; ++step) progress.update(step, {});
    progress.finish();
  });
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\r'), 2) << text;
  EXPECT_NE(text.find("\rtrain 1/50 ["), std::string::npos) << text;
  EXPECT_NE(text.find("\rtrain 50/50 [====================] 100%"), std::string::npos) << text;
}

TEST(Progress, TerminalModeBlanksWhatAShorterLineLeavesBehind) {
  const std::string text = captured([](std::FILE* file) {
    ProgressOptions options;
    options.out = file;
    options.terminal = 1;
    options.min_redraw_s = 0;
    Progress progress("t", 2, options);
    progress.update(1, {ProgressField::named("loss", 123.456)});
    progress.update(2, {ProgressField::named("loss", 1)});
  });
  const size_t second = text.rfind('\r');
  ASSERT_NE(second, std::string::npos);
  const std::string first_line = text.substr(1, second - 1);
  const std::string second_line = text.substr(second + 1, text.size() - second - 2);
  EXPECT_EQ(second_line.size(), first_line.size())
      << "[" << first_line << "]\n[" << second_line << "]";
  EXPECT_EQ(second_line.back(), ' ');
}

TEST(Progress, RejectsBadArguments) {
  EXPECT_THROW(Progress("x", 0), Error);
  ProgressOptions options;
  options.log_every = 0;
  EXPECT_THROW(Progress("x", 10, options), Error);
}

fs::path temp_path(const std::string& name) {
  return fs::path(::testing::TempDir()) / (name + "_" + std::to_string(getpid()));
}

TEST(JsonlLog, OneFlushedObjectPerLine) {
  const fs::path path = temp_path("recur_jsonl_log.jsonl");
  {
    JsonlLog log(path.string());
    log.write({{"step", 1}, {"train_loss", 4.5}, {"lr", 0.002}});
    // Flushed: readable before the log is closed.
    std::ifstream early(path);
    std::string line;
    ASSERT_TRUE(std::getline(early, line));
    EXPECT_EQ(nlohmann::json::parse(line)["step"], 1);
    log.write({{"step", 2}, {"valid_loss", std::numeric_limits<double>::quiet_NaN()}});
  }
  std::ifstream in(path);
  std::vector<nlohmann::json> objects;
  for (std::string line; std::getline(in, line);) objects.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(objects.size(), 2u);
  EXPECT_DOUBLE_EQ(objects[0]["train_loss"].get<double>(), 4.5);
  EXPECT_TRUE(objects[1]["valid_loss"].is_null());  // NaN stays valid JSON
  fs::remove(path);
}

TEST(JsonlLog, TruncatesAnOldLog) {
  const fs::path path = temp_path("recur_jsonl_trunc.jsonl");
  { std::ofstream(path) << "old line\nold line\n"; }
  { JsonlLog(path.string()).write({{"step", 1}}); }
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "{\"step\":1}\n");
  fs::remove(path);
}

TEST(JsonlLog, ErrorsNameThePath) {
  const std::string bad = (temp_path("no_such_dir") / "log.jsonl").string();
  try {
    JsonlLog log(bad);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
  const fs::path path = temp_path("recur_jsonl_array.jsonl");
  JsonlLog log(path.string());
  EXPECT_THROW(log.write(nlohmann::json::array({1, 2})), Error);
  fs::remove(path);
}

}  // namespace
}  // namespace recur::cli
