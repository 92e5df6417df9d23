// Metrics against hand-worked cases: the classification report (including a class that is never
// predicted and one with no support), its text table line by line and its alignment with long
// and Chinese class names, regression errors, the seasonal naive forecast, and the errors.
// Leaves out: the confusion-matrix SVG (tests/cli/confusion_svg_test.cc).
#include "recur/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "recur/error.h"

namespace recur {
namespace {

using Labels = std::vector<int64_t>;
using Names = std::vector<std::string>;

// Confusion [true][predicted] of the small case below:
//          cat dog bird
//   cat     3   0   2      support 5
//   dog     1   0   1      support 2; dog is never predicted
//   bird    0   0   0      support 0; bird is predicted 3 times
// cat: P = 3/4, R = 3/5, F1 = 2 (3/4)(3/5) / (3/4 + 3/5) = 2/3. dog and bird: 0, 0, 0.
const Labels kTruth = {0, 0, 0, 0, 0, 1, 1};
const Labels kPredicted = {0, 0, 0, 2, 2, 0, 2};
const Names kNames = {"cat", "dog", "bird"};

template <typename F>
void expect_error(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected an Error containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Terminal columns of a line whose only wide characters are those of 运动鞋 (3 code points,
// 2 columns each).
size_t columns(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  for (size_t at = s.find("运动鞋"); at != std::string::npos; at = s.find("运动鞋", at + 1)) n += 3;
  return n;
}

TEST(ClassificationReport, HandWorkedThreeClasses) {
  const ClassificationReport r = classification_report(kTruth, kPredicted, kNames);
  const std::vector<std::vector<int64_t>> confusion = {{3, 0, 2}, {1, 0, 1}, {0, 0, 0}};
  EXPECT_EQ(r.confusion, confusion);
  EXPECT_EQ(r.class_names, kNames);
  EXPECT_EQ(r.total, 7);
  EXPECT_DOUBLE_EQ(r.accuracy, 3.0 / 7);
  EXPECT_EQ(r.support, (std::vector<int64_t>{5, 2, 0}));
  EXPECT_DOUBLE_EQ(r.precision[0], 0.75);
  EXPECT_DOUBLE_EQ(r.recall[0], 0.6);
  EXPECT_DOUBLE_EQ(r.f1[0], 2.0 / 3);
  EXPECT_EQ(r.precision[1], 0.0);  // never predicted
  EXPECT_EQ(r.recall[1], 0.0);
  EXPECT_EQ(r.f1[1], 0.0);
  EXPECT_EQ(r.precision[2], 0.0);  // predicted 3 times, never right
  EXPECT_EQ(r.recall[2], 0.0);     // no support
  EXPECT_EQ(r.f1[2], 0.0);
  EXPECT_DOUBLE_EQ(r.macro_f1, 2.0 / 9);  // classes without support count in the mean
}

TEST(ClassificationReport, MacroF1AveragesPerClassF1) {
  // cat: P = 3/5, R = 3/4, F1 = 2/3; dog: P = 2/3, R = 1/2, F1 = 4/7; bird: never predicted;
  // fish: no support. Macro F1 = (2/3 + 4/7) / 4 = 13/42 (not F1 of the mean P and R).
  const Labels truth = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2};
  const Labels predicted = {0, 0, 0, 1, 0, 1, 1, 3, 0, 3};
  const ClassificationReport r =
      classification_report(truth, predicted, {"cat", "dog", "bird", "fish"});
  EXPECT_DOUBLE_EQ(r.precision[0], 0.6);
  EXPECT_DOUBLE_EQ(r.recall[0], 0.75);
  EXPECT_DOUBLE_EQ(r.f1[0], 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.precision[1], 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.recall[1], 0.5);
  EXPECT_DOUBLE_EQ(r.f1[1], 4.0 / 7);
  EXPECT_EQ(r.f1[2], 0.0);
  EXPECT_EQ(r.f1[3], 0.0);
  EXPECT_DOUBLE_EQ(r.macro_f1, 13.0 / 42);
  EXPECT_DOUBLE_EQ(r.accuracy, 0.5);
}

TEST(ClassificationReport, PerfectAndAllWrong) {
  const Labels truth = {0, 1, 2, 2, 1, 0, 2};
  const ClassificationReport perfect = classification_report(truth, truth, kNames);
  EXPECT_EQ(perfect.accuracy, 1.0);
  EXPECT_EQ(perfect.macro_f1, 1.0);
  for (size_t c = 0; c < 3; ++c) {
    EXPECT_EQ(perfect.precision[c], 1.0);
    EXPECT_EQ(perfect.recall[c], 1.0);
    EXPECT_EQ(perfect.f1[c], 1.0);
    EXPECT_EQ(perfect.confusion[c][c], perfect.support[c]);
  }
  EXPECT_EQ(perfect.support, (std::vector<int64_t>{2, 2, 3}));

  Labels shifted;
  for (int64_t t : truth) shifted.push_back((t + 1) % 3);
  const ClassificationReport wrong = classification_report(truth, shifted, kNames);
  EXPECT_EQ(wrong.accuracy, 0.0);
  EXPECT_EQ(wrong.macro_f1, 0.0);
  for (size_t c = 0; c < 3; ++c) {
    EXPECT_EQ(wrong.confusion[c][c], 0);
    EXPECT_EQ(wrong.confusion[c][(c + 1) % 3], wrong.support[c]);
  }
}

TEST(ClassificationReport, Errors) {
  expect_error(
      [] {
        classification_report({0, 1}, {0}, kNames);
      },
      "truth has 2 labels, but predicted has 1");
  expect_error([] { classification_report({}, {}, kNames); }, "at least one label");
  expect_error([] { classification_report({0}, {0}, {}); }, "at least one class name");
  expect_error(
      [] {
        classification_report({0, 3}, {0, 0}, kNames);
      },
      "truth[1] is 3, expected a class in [0, 3)");
  expect_error(
      [] {
        classification_report({0, 0}, {0, -1}, kNames);
      },
      "predicted[1] is -1, expected a class in [0, 3)");
  expect_error([] { classification_report({0}, {0}, {"\xff"}); }, "class name");
}

TEST(FormatReport, ExactLinesOfTheSmallCase) {
  const std::string text = format_report(classification_report(kTruth, kPredicted, kNames));
  const std::vector<std::string> want = {
      "           precision     recall   f1-score    support",
      "",
      "      cat       0.75       0.60       0.67          5",
      "      dog       0.00       0.00       0.00          2",
      "     bird       0.00       0.00       0.00          0",
      "",
      " accuracy                             0.43          7",
      "macro avg       0.25       0.20       0.22          7",
      "",
      "confusion matrix (rows: true, columns: predicted)",
      "true  cat  dog  bird",
      " cat    3    0     2",
      " dog    1    0     1",
      "bird    0    0     0",
  };
  EXPECT_EQ(lines_of(text), want) << text;
  EXPECT_EQ(text.back(), '\n');
}

TEST(FormatReport, LongAndChineseNamesAlign) {
  // 运动鞋 (sneaker) is 9 bytes and 3 code points but 6 terminal columns: counting bytes or code
  // points would push its rows out of line.
  const Names names = {"T-shirt/top", "Ankle boot", "运动鞋"};
  const Labels truth = {0, 0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
  const Labels predicted = {0, 2, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0};
  const std::string text = format_report(classification_report(truth, predicted, names));
  const std::vector<std::string> lines = lines_of(text);
  ASSERT_EQ(lines.size(), 14u) << text;
  // Metrics block: lines 0, 2-4, 6-7, all as wide as the 11-column name column plus four
  // columns of 2 + 9.
  for (size_t i : {0, 2, 3, 4, 6, 7}) EXPECT_EQ(columns(lines[i]), 11u + 4 * 11) << lines[i];
  EXPECT_EQ(lines[4], "     运动鞋       0.92       0.92       0.92         12");
  // Confusion block: header and rows equally wide, the count 11 right-aligned under 运动鞋.
  for (size_t i = 10; i < 14; ++i) EXPECT_EQ(columns(lines[i]), columns(lines[10])) << lines[i];
  EXPECT_EQ(lines[10], "       true  T-shirt/top  Ankle boot  运动鞋");
  EXPECT_EQ(lines[12], " Ankle boot            0           1       0");
  EXPECT_EQ(lines[13], "     运动鞋            1           0      11");
}

TEST(RegressionReport, HandWorked) {
  // Errors -1, 0, 2, -4: MAE = 7/4, RMSE = sqrt((1 + 0 + 4 + 16) / 4).
  const RegressionReport r = regression_report({1, 2, 3, 4}, {2, 2, 1, 8});
  EXPECT_EQ(r.count, 4);
  EXPECT_DOUBLE_EQ(r.mae, 1.75);
  EXPECT_DOUBLE_EQ(r.rmse, std::sqrt(21.0 / 4));
  const RegressionReport zero = regression_report({1.5, -2}, {1.5, -2});
  EXPECT_EQ(zero.mae, 0.0);
  EXPECT_EQ(zero.rmse, 0.0);
}

TEST(RegressionReport, Errors) {
  expect_error([] { regression_report({1, 2}, {1}); }, "truth has 2 values, but predicted has 1");
  expect_error([] { regression_report({}, {}); }, "at least one value");
  expect_error([] { regression_report({1, 2}, {1, std::nan("")}); }, "non-finite value at index 1");
}

// A sawtooth of period 12 whose level rises by 100 each season, so forecasts taken one or two
// seasons back differ; values at and after `start` are poisoned with -1.
std::vector<double> sawtooth(int64_t length, int64_t start) {
  std::vector<double> s;
  for (int64_t t = 0; t < length; ++t)
    s.push_back(t < start ? static_cast<double>(t % 12 + 100 * (t / 12)) : -1.0);
  return s;
}

TEST(SeasonalNaive, OneSeasonAhead) {
  const std::vector<double> series = sawtooth(48, 36);
  const std::vector<double> forecast = seasonal_naive(series, 12, 36, 12);
  ASSERT_EQ(forecast.size(), 12u);
  for (int64_t h = 0; h < 12; ++h) EXPECT_EQ(forecast[h], 200.0 + h) << h;  // series[24 + h]
}

TEST(SeasonalNaive, BeyondOneSeasonRepeatsTheLastObservedSeason) {
  // Horizon 15 from start 36: h < 12 takes series[24 + h]; h = 12..14 would be one season back
  // at t = 48..50 (series[36..38], not observed), so it takes series[24..26], two seasons back.
  const std::vector<double> forecast = seasonal_naive(sawtooth(51, 36), 12, 36, 15);
  ASSERT_EQ(forecast.size(), 15u);
  for (int64_t h = 0; h < 15; ++h) EXPECT_EQ(forecast[h], 200.0 + h % 12) << h;

  // A start mid-season: t = 30 + h for h < 12 takes series[18 + h] (106..111, then 200..205);
  // h = 12..14 takes series[18..20] again. The series may end at start.
  const std::vector<double> mid = seasonal_naive(sawtooth(30, 30), 12, 30, 15);
  const std::vector<double> want = {106, 107, 108, 109, 110, 111, 200, 201,
                                    202, 203, 204, 205, 106, 107, 108};
  EXPECT_EQ(mid, want);
}

TEST(SeasonalNaive, Errors) {
  const std::vector<double> series = sawtooth(24, 24);
  expect_error([&] { seasonal_naive(series, 0, 12, 1); }, "season must be >= 1, found 0");
  expect_error([&] { seasonal_naive(series, 12, 11, 1); },
               "start 11 leaves less than one season (12)");
  expect_error([&] { seasonal_naive(series, 12, 25, 1); },
               "start 25 is past the end of the series (24 values)");
  expect_error([&] { seasonal_naive(series, 12, 12, -1); }, "horizon must be >= 0, found -1");
  EXPECT_TRUE(seasonal_naive(series, 12, 24, 0).empty());
}

}  // namespace
}  // namespace recur
