// SVG line chart: tick selection, coordinate mapping and the document text.
// Leaves out: text measurement (legend width is estimated from character counts) and any
// decimation of long series (a polyline with 10^5 points is still a small file).
#include "cli/svg_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "recur/error.h"

namespace recur::cli {

std::vector<double> nice_ticks(double lo, double hi, int max_ticks) {
  RECUR_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo <= hi,
              fmt::format("nice_ticks: expected finite lo <= hi, found [{}, {}]", lo, hi));
  // Three ticks always suffice (-s, 0, s for a range around zero); two may not.
  RECUR_CHECK(max_ticks >= 3,
              fmt::format("nice_ticks: max_ticks must be >= 3, found {}", max_ticks));
  if (lo == hi) {
    const double pad = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  // Smallest 1-2-5 step whose tick-aligned cover of [lo, hi] has at most max_ticks ticks.
  // Start one decade below the step that would divide the range evenly.
  const double even = (hi - lo) / (max_ticks - 1);
  const double kMantissas[] = {1, 2, 5};
  constexpr double kSlack = 1e-9;  // lo or hi a hair past a tick counts as on it
  const int start = static_cast<int>(std::floor(std::log10(even))) - 1;
  for (int exponent = start; exponent <= start + 3; ++exponent) {
    for (double mantissa : kMantissas) {
      const double step = mantissa * std::pow(10.0, exponent);
      const double first = std::floor(lo / step + kSlack);
      const double last = std::ceil(hi / step - kSlack);
      if (last - first + 1 > max_ticks) continue;
      std::vector<double> ticks;
      for (double k = first; k <= last; ++k) {
        const double value = k * step;
        ticks.push_back(std::abs(value) < step * 1e-9 ? 0.0 : value);
      }
      return ticks;
    }
  }
  RECUR_ASSERT(false);  // a step of at least twice the even split always fits
}

namespace {

// {m * 10^e} for e covering [lo, hi] with a decade to spare, ascending.
std::vector<double> log_candidates(double lo, double hi, const std::vector<double>& mantissas) {
  std::vector<double> values;
  const int e0 = static_cast<int>(std::floor(std::log10(lo))) - 1;
  const int e1 = static_cast<int>(std::ceil(std::log10(hi))) + 1;
  for (int e = e0; e <= e1; ++e)
    for (double m : mantissas) values.push_back(m * std::pow(10.0, e));
  return values;
}

}  // namespace

std::vector<double> log_ticks(double lo, double hi, int max_ticks) {
  RECUR_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo > 0 && lo <= hi,
              fmt::format("log_ticks: expected finite 0 < lo <= hi, found [{}, {}]", lo, hi));
  RECUR_CHECK(max_ticks >= 2,
              fmt::format("log_ticks: max_ticks must be >= 2, found {}", max_ticks));
  if (lo == hi) {
    lo /= 1.5;
    hi *= 1.5;
  }
  const std::vector<std::vector<double>> mantissa_sets = {
      {1}, {1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
  std::vector<double> ticks;
  for (const std::vector<double>& mantissas : mantissa_sets) {
    const std::vector<double> candidates = log_candidates(lo, hi, mantissas);
    size_t first = 0, last = candidates.size() - 1;
    while (first + 1 < candidates.size() && candidates[first + 1] <= lo * (1 + 1e-9)) ++first;
    while (last > 0 && candidates[last - 1] >= hi * (1 - 1e-9)) --last;
    ticks.assign(candidates.begin() + static_cast<std::ptrdiff_t>(first),
                 candidates.begin() + static_cast<std::ptrdiff_t>(last) + 1);
    if (ticks.size() >= 4) break;
  }
  if (static_cast<int>(ticks.size()) > max_ticks) {
    // Keep every stride-th tick, counted from the last so the top of the axis is labelled.
    const size_t stride = (ticks.size() + static_cast<size_t>(max_ticks) - 1) / max_ticks;
    std::vector<double> thinned;
    for (size_t i = 0; i < ticks.size(); ++i)
      if ((ticks.size() - 1 - i) % stride == 0) thinned.push_back(ticks[i]);
    // The axis must still start at or below lo: keep the bottom decade too.
    if (thinned.front() != ticks.front()) thinned.insert(thinned.begin(), ticks.front());
    ticks = thinned;
  }
  return ticks;
}

std::string format_tick(double value, double step) {
  if (!(step > 0)) return fmt::format("{:g}", value);
  const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
  std::string text = fmt::format("{:.{}f}", value, decimals);
  if (text.find_first_not_of("-0.") == std::string::npos)
    text = decimals ? fmt::format("{:.{}f}", 0.0, decimals) : "0";
  return text;
}

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {

// Maps data values onto a pixel interval [p0, p1] (p1 < p0 for the upward y axis).
struct Scale {
  double lo, hi, p0, p1;
  bool log;
  double operator()(double v) const {
    const double t = log ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo))
                         : (v - lo) / (hi - lo);
    return p0 + t * (p1 - p0);
  }
};

std::string px(double v) { return fmt::format("{:.2f}", v); }

// The step between linear ticks, for label decimals; 0 on a log axis (labels use %g).
double tick_step(const std::vector<double>& ticks, bool log) {
  return log || ticks.size() < 2 ? 0 : ticks[1] - ticks[0];
}

}  // namespace

std::string render_svg(const PlotSpec& spec) {
  RECUR_CHECK(
      spec.width >= 200 && spec.height >= 150,
      fmt::format("plot: size must be at least 200x150, found {}x{}", spec.width, spec.height));
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo;
  double y_lo = x_lo, y_hi = -x_lo;
  size_t points = 0;
  for (const PlotSeries& s : spec.series) {
    RECUR_CHECK(s.x.size() == s.y.size(),
                fmt::format("plot: series '{}' has {} x values but {} y values", s.name, s.x.size(),
                            s.y.size()));
    for (size_t i = 0; i < s.x.size(); ++i) {
      RECUR_CHECK(std::isfinite(s.x[i]) && std::isfinite(s.y[i]),
                  fmt::format("plot: series '{}' has a non-finite point at index {}", s.name, i));
      RECUR_CHECK(!spec.log_y || s.y[i] > 0,
                  fmt::format("plot: series '{}' has y = {} at index {}, but a log axis needs "
                              "positive values",
                              s.name, s.y[i], i));
      x_lo = std::min(x_lo, s.x[i]);
      x_hi = std::max(x_hi, s.x[i]);
      y_lo = std::min(y_lo, s.y[i]);
      y_hi = std::max(y_hi, s.y[i]);
    }
    points += s.x.size();
  }
  RECUR_CHECK(points > 0, "plot: no points to draw");

  const std::vector<double> x_ticks = nice_ticks(x_lo, x_hi, 8);
  const std::vector<double> y_ticks =
      spec.log_y ? log_ticks(y_lo, y_hi, 8) : nice_ticks(y_lo, y_hi, 7);
  // Plot area in pixels: room on the left for y labels and title, below for x labels and title.
  const double left = 78, right = spec.width - 24.0, top = spec.title.empty() ? 24.0 : 48.0,
               bottom = spec.height - 56.0;
  const Scale sx{x_ticks.front(), x_ticks.back(), left, right, false};
  const Scale sy{y_ticks.front(), y_ticks.back(), bottom, top, spec.log_y};

  std::string svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  svg += fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n",
      spec.width, spec.height);
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  if (!spec.title.empty())
    svg += fmt::format(
        "<text x=\"{}\" y=\"28\" text-anchor=\"middle\" font-size=\"16\" "
        "font-weight=\"bold\">{}</text>\n",
        px((left + right) / 2), xml_escape(spec.title));

  // Grid and tick labels.
  svg += "<g stroke=\"#e3e3e3\" stroke-width=\"1\">\n";
  for (double t : x_ticks)
    svg += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>\n", px(sx(t)), px(top),
                       px(bottom));
  for (double t : y_ticks)
    svg += fmt::format("<line x1=\"{1}\" y1=\"{0}\" x2=\"{2}\" y2=\"{0}\"/>\n", px(sy(t)), px(left),
                       px(right));
  svg += "</g>\n<g fill=\"#333\">\n";
  const double x_step = tick_step(x_ticks, false), y_step = tick_step(y_ticks, spec.log_y);
  for (double t : x_ticks)
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", px(sx(t)),
                       px(bottom + 18), format_tick(t, x_step));
  for (double t : y_ticks)
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", px(left - 8),
                       px(sy(t) + 4), format_tick(t, y_step));
  svg += "</g>\n";
  svg += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#555\"/>\n",
      px(left), px(top), px(right - left), px(bottom - top));
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\">{}</text>\n",
                     px((left + right) / 2), px(spec.height - 14.0), xml_escape(spec.x_label));
  svg += fmt::format(
      "<text transform=\"translate(18,{}) rotate(-90)\" text-anchor=\"middle\" "
      "font-size=\"13\">{}</text>\n",
      px((top + bottom) / 2), xml_escape(spec.y_label));

  // Series (solid ones first, so the sparse dashed ones stay visible), then the legend.
  std::vector<const PlotSeries*> drawn;
  for (const PlotSeries& s : spec.series)
    if (!s.x.empty() && !s.dashed) drawn.push_back(&s);
  for (const PlotSeries& s : spec.series)
    if (!s.x.empty() && s.dashed) drawn.push_back(&s);
  for (const PlotSeries* series : drawn) {
    const PlotSeries& s = *series;
    std::string coordinates;
    for (size_t i = 0; i < s.x.size(); ++i)
      coordinates += (i ? " " : "") + px(sx(s.x[i])) + "," + px(sy(s.y[i]));
    svg += fmt::format(
        "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.6\" stroke-linejoin=\"round\"{} "
        "points=\"{}\"/>\n",
        xml_escape(s.colour), s.dashed ? " stroke-dasharray=\"6 3\"" : "", coordinates);
    if (s.dashed) {
      svg += fmt::format("<g fill=\"{}\">\n", xml_escape(s.colour));
      for (size_t i = 0; i < s.x.size(); ++i)
        svg += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"2.5\"/>\n", px(sx(s.x[i])),
                           px(sy(s.y[i])));
      svg += "</g>\n";
    }
  }
  drawn.clear();
  for (const PlotSeries& s : spec.series)
    if (!s.x.empty()) drawn.push_back(&s);
  size_t longest = 0;
  for (const PlotSeries* s : drawn) longest = std::max(longest, s->name.size());
  const double row = 18, box_w = 44 + 7.0 * static_cast<double>(longest),
               box_h = 8 + row * static_cast<double>(drawn.size());
  const double box_x = right - box_w - 10, box_y = top + 10;
  svg += fmt::format(
      "<g class=\"legend\">\n<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"white\" "
      "fill-opacity=\"0.85\" stroke=\"#bbb\"/>\n",
      px(box_x), px(box_y), px(box_w), px(box_h));
  for (size_t i = 0; i < drawn.size(); ++i) {
    const double y = box_y + 4 + row * (static_cast<double>(i) + 0.5);
    svg += fmt::format(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\"{}/>\n",
        px(box_x + 8), px(y), px(box_x + 32), px(y), xml_escape(drawn[i]->colour),
        drawn[i]->dashed ? " stroke-dasharray=\"6 3\"" : "");
    svg += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", px(box_x + 38), px(y + 4),
                       xml_escape(drawn[i]->name));
  }
  svg += "</g>\n</svg>\n";
  return svg;
}

}  // namespace recur::cli
