// Classification and regression metrics and the seasonal naive baseline (see recur/metrics.h).
// Leaves out: anything that reads predictions from files or models.
#include "recur/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "data/utf8_step.h"
#include "recur/error.h"

namespace recur {
namespace {

std::string str(int64_t value) { return std::to_string(value); }

// `text` right-aligned in `width` terminal columns (never truncated).
std::string pad_left(const std::string& text, size_t width) {
  const size_t length = data::detail::display_width(text);
  return std::string(width > length ? width - length : 0, ' ') + text;
}

std::string fixed2(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.2f", value);
  return buffer;
}

double safe_ratio(int64_t numerator, int64_t denominator) {
  return denominator == 0 ? 0.0 : static_cast<double>(numerator) / static_cast<double>(denominator);
}

}  // namespace

ClassificationReport classification_report(const std::vector<int64_t>& truth,
                                           const std::vector<int64_t>& predicted,
                                           const std::vector<std::string>& class_names) {
  RECUR_CHECK(truth.size() == predicted.size(),
              "classification_report: truth has " + std::to_string(truth.size()) +
                  " labels, but predicted has " + std::to_string(predicted.size()));
  RECUR_CHECK(!truth.empty(), "classification_report: expected at least one label, found none");
  RECUR_CHECK(!class_names.empty(),
              "classification_report: expected at least one class name, found none");
  for (const std::string& name : class_names)
    data::detail::validate_utf8(name, "classification_report: class name");
  const int64_t classes = static_cast<int64_t>(class_names.size());
  const auto check_label = [&](const char* which, size_t i, int64_t label) {
    RECUR_CHECK(label >= 0 && label < classes,
                std::string("classification_report: ") + which + "[" + std::to_string(i) + "] is " +
                    str(label) + ", expected a class in [0, " + str(classes) + ")");
  };

  ClassificationReport r;
  r.class_names = class_names;
  r.confusion.assign(class_names.size(), std::vector<int64_t>(class_names.size(), 0));
  for (size_t i = 0; i < truth.size(); ++i) {
    check_label("truth", i, truth[i]);
    check_label("predicted", i, predicted[i]);
    ++r.confusion[static_cast<size_t>(truth[i])][static_cast<size_t>(predicted[i])];
  }
  r.total = static_cast<int64_t>(truth.size());

  const size_t n = class_names.size();
  int64_t correct = 0;
  r.precision.resize(n);
  r.recall.resize(n);
  r.f1.resize(n);
  r.support.resize(n);
  for (size_t c = 0; c < n; ++c) {
    const int64_t tp = r.confusion[c][c];
    int64_t predicted_c = 0, support = 0;
    for (size_t k = 0; k < n; ++k) {
      predicted_c += r.confusion[k][c];
      support += r.confusion[c][k];
    }
    correct += tp;
    r.support[c] = support;
    r.precision[c] = safe_ratio(tp, predicted_c);
    r.recall[c] = safe_ratio(tp, support);
    const double sum = r.precision[c] + r.recall[c];
    r.f1[c] = sum == 0 ? 0.0 : 2 * r.precision[c] * r.recall[c] / sum;
  }
  r.accuracy = safe_ratio(correct, r.total);
  double f1_sum = 0;
  for (double f : r.f1) f1_sum += f;
  r.macro_f1 = f1_sum / static_cast<double>(n);
  return r;
}

std::string format_report(const ClassificationReport& r) {
  const size_t n = r.class_names.size();
  RECUR_CHECK(n > 0 && r.confusion.size() == n && r.precision.size() == n && r.recall.size() == n &&
                  r.f1.size() == n && r.support.size() == n,
              "format_report: the report's per-class fields disagree on the number of classes");
  std::vector<size_t> name_widths(n);
  size_t name_width = std::string("macro avg").size();
  for (size_t c = 0; c < n; ++c) {
    name_widths[c] = data::detail::display_width(r.class_names[c]);
    name_width = std::max(name_width, name_widths[c]);
  }

  // The metrics table: the name column, then four 9-wide columns, each after two spaces.
  const auto row = [&](const std::string& name, const std::string& p, const std::string& rc,
                       const std::string& f, const std::string& s) {
    return pad_left(name, name_width) + "  " + pad_left(p, 9) + "  " + pad_left(rc, 9) + "  " +
           pad_left(f, 9) + "  " + pad_left(s, 9) + "\n";
  };
  std::string out = row("", "precision", "recall", "f1-score", "support") + "\n";
  for (size_t c = 0; c < n; ++c)
    out += row(r.class_names[c], fixed2(r.precision[c]), fixed2(r.recall[c]), fixed2(r.f1[c]),
               str(r.support[c]));
  out += "\n" + row("accuracy", "", "", fixed2(r.accuracy), str(r.total));
  double macro_p = 0, macro_r = 0;
  for (size_t c = 0; c < n; ++c) {
    macro_p += r.precision[c];
    macro_r += r.recall[c];
  }
  out += row("macro avg", fixed2(macro_p / static_cast<double>(n)),
             fixed2(macro_r / static_cast<double>(n)), fixed2(r.macro_f1), str(r.total));

  // The confusion matrix: each predicted column as wide as its name or its largest count.
  std::vector<size_t> widths(n);
  size_t row_header = std::string("true").size();
  for (size_t c = 0; c < n; ++c) {
    widths[c] = name_widths[c];
    row_header = std::max(row_header, name_widths[c]);
    for (size_t t = 0; t < n; ++t) widths[c] = std::max(widths[c], str(r.confusion[t][c]).size());
  }
  out += "\nconfusion matrix (rows: true, columns: predicted)\n";
  out += pad_left("true", row_header);
  for (size_t c = 0; c < n; ++c) out += "  " + pad_left(r.class_names[c], widths[c]);
  out += "\n";
  for (size_t t = 0; t < n; ++t) {
    out += pad_left(r.class_names[t], row_header);
    for (size_t c = 0; c < n; ++c) out += "  " + pad_left(str(r.confusion[t][c]), widths[c]);
    out += "\n";
  }
  return out;
}

RegressionReport regression_report(const std::vector<double>& truth,
                                   const std::vector<double>& predicted) {
  RECUR_CHECK(truth.size() == predicted.size(),
              "regression_report: truth has " + std::to_string(truth.size()) +
                  " values, but predicted has " + std::to_string(predicted.size()));
  RECUR_CHECK(!truth.empty(), "regression_report: expected at least one value, found none");
  double abs_sum = 0, square_sum = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    RECUR_CHECK(std::isfinite(truth[i]) && std::isfinite(predicted[i]),
                "regression_report: non-finite value at index " + std::to_string(i));
    const double error = truth[i] - predicted[i];
    abs_sum += std::abs(error);
    square_sum += error * error;
  }
  RegressionReport r;
  r.count = static_cast<int64_t>(truth.size());
  r.mae = abs_sum / static_cast<double>(r.count);
  r.rmse = std::sqrt(square_sum / static_cast<double>(r.count));
  return r;
}

std::vector<double> seasonal_naive(const std::vector<double>& series, int64_t season, int64_t start,
                                   int64_t horizon) {
  const int64_t length = static_cast<int64_t>(series.size());
  RECUR_CHECK(season >= 1, "seasonal_naive: season must be >= 1, found " + str(season));
  RECUR_CHECK(start >= season, "seasonal_naive: start " + str(start) +
                                   " leaves less than one season (" + str(season) +
                                   ") of history before it");
  RECUR_CHECK(start <= length, "seasonal_naive: start " + str(start) +
                                   " is past the end of the series (" + str(length) + " values)");
  RECUR_CHECK(horizon >= 0, "seasonal_naive: horizon must be >= 0, found " + str(horizon));
  std::vector<double> forecast(static_cast<size_t>(horizon));
  for (int64_t h = 0; h < horizon; ++h) {
    const int64_t seasons_back = h / season + 1;  // ceil((h + 1) / season)
    const int64_t source = start + h - season * seasons_back;
    RECUR_ASSERT(source >= start - season && source < start);
    forecast[static_cast<size_t>(h)] = series[static_cast<size_t>(source)];
  }
  return forecast;
}

}  // namespace recur
