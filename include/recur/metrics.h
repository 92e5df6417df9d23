// Evaluation metrics: a classification report (confusion matrix, per-class precision, recall,
// F1, accuracy, macro F1) with its text table, regression errors (MAE, RMSE) and the seasonal
// naive forecast that a sequence model has to beat.
// Leaves out: probabilistic metrics (log loss, ROC/AUC), sample weights, micro/weighted
// averages, and drawing (the confusion-matrix SVG lives with the CLI's plots).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace recur {

// Follows scikit-learn's definitions, with its zero_division=0 convention: for class c,
//   precision[c] = TP / (TP + FP)  (0 when nothing was predicted as c)
//   recall[c]    = TP / (TP + FN)  (0 when c has no support)
//   f1[c]        = 2 P R / (P + R) (0 when P + R = 0)
// macro_f1 is the unweighted mean of f1 over all classes, those without support included.
struct ClassificationReport {
  std::vector<std::string> class_names;
  std::vector<std::vector<int64_t>> confusion;  // (classes, classes): [true][predicted]
  int64_t total = 0;                            // number of samples
  double accuracy = 0;                          // trace(confusion) / total
  std::vector<double> precision, recall, f1;    // (classes)
  std::vector<int64_t> support;                 // (classes): samples whose truth is the class
  double macro_f1 = 0;
};

// Labels are class indices in [0, class_names.size()). Errors on a length mismatch, empty
// input, no classes, or a label out of range (naming the position and the value).
ClassificationReport classification_report(const std::vector<int64_t>& truth,
                                           const std::vector<int64_t>& predicted,
                                           const std::vector<std::string>& class_names);

// A fixed-width table in the layout of scikit-learn's classification_report (per-class
// precision, recall, f1-score and support; accuracy; macro avg), a blank line, then the
// confusion matrix with true classes as rows and predicted classes as columns. Columns are
// as wide as the longest class name in monospace terminal columns: class names are UTF-8, and
// East Asian wide characters (运动鞋) take two columns each, so the table lines up in a terminal
// (counting bytes or code points would not). Each line ends with '\n'.
std::string format_report(const ClassificationReport& report);

struct RegressionReport {
  double mae = 0;     // mean |truth - predicted|
  double rmse = 0;    // sqrt(mean (truth - predicted)^2)
  int64_t count = 0;  // number of pairs
};

// Errors on a length mismatch, empty input or a non-finite value.
RegressionReport regression_report(const std::vector<double>& truth,
                                   const std::vector<double>& predicted);

// The seasonal naive forecast of series[start, start + horizon) from series[0, start) only:
//   forecast[t - start] = series[t - season * ceil((t - start + 1) / season)]
// i.e. the value one season before t, or several seasons before once t is more than a season
// past `start`, so that every value used lies before `start`. For t - start < season that is
// series[t - season]; beyond, the last observed season repeats. The series only needs
// `start` values (series.size() >= start); the truth for the horizon may be absent.
// Errors unless season >= 1, season <= start <= series.size() and horizon >= 0.
std::vector<double> seasonal_naive(const std::vector<double>& series, int64_t season, int64_t start,
                                   int64_t horizon);

}  // namespace recur
