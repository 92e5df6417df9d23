// Confusion-matrix heat map: layout from estimated label widths, a white-to-blue colour ramp
// and text colour chosen by the cell's luminance.
// Leaves out: a log colour scale and per-cell percentages (the count is what people read).
#include "cli/confusion_svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "cli/svg_plot.h"
#include "data/utf8_step.h"
#include "recur/error.h"

namespace recur::cli {
namespace {

std::string px(double v) { return fmt::format("{:.2f}", v); }

// Rough rendered width of UTF-8 `text` at `font_size`: 0.6 em per terminal column, so 1.2 em
// for a wide CJK character.
double text_width(const std::string& text, double font_size) {
  return 0.6 * font_size * static_cast<double>(data::detail::display_width(text));
}

// The colour ramp from near-white (0) to dark blue (1), and its relative luminance.
struct Rgb {
  double r, g, b;
};
Rgb ramp(double t) {
  const Rgb lo{247, 251, 255}, hi{8, 48, 107};
  return {lo.r + t * (hi.r - lo.r), lo.g + t * (hi.g - lo.g), lo.b + t * (hi.b - lo.b)};
}
std::string hex(const Rgb& c) {
  return fmt::format("#{:02x}{:02x}{:02x}", static_cast<int>(std::lround(c.r)),
                     static_cast<int>(std::lround(c.g)), static_cast<int>(std::lround(c.b)));
}
double luminance(const Rgb& c) {
  const auto linear = [](double v) {
    v /= 255;
    return v <= 0.04045 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4);
  };
  return 0.2126 * linear(c.r) + 0.7152 * linear(c.g) + 0.0722 * linear(c.b);
}

// White text where it contrasts more than black (WCAG contrast ratio, (L1 + 0.05) / (L2 + 0.05)).
bool white_text(const Rgb& background) {
  const double l = luminance(background);
  return 1.05 / (l + 0.05) > (l + 0.05) / 0.05;
}

}  // namespace

std::string render_confusion_svg(const ClassificationReport& report, const std::string& title) {
  const size_t n = report.class_names.size();
  RECUR_CHECK(n > 0, "confusion plot: the report has no classes");
  RECUR_CHECK(report.confusion.size() == n,
              fmt::format("confusion plot: {} class names but {} confusion rows", n,
                          report.confusion.size()));
  for (const std::vector<int64_t>& row : report.confusion)
    RECUR_CHECK(row.size() == n, fmt::format("confusion plot: a confusion row has {} columns, "
                                             "expected {}",
                                             row.size(), n));

  // Layout, in pixels. Cells shrink with the class count but stay readable.
  const double cell = std::clamp(520.0 / static_cast<double>(n), 30.0, 72.0);
  const double label_font = 12, count_font = std::clamp(cell * 0.3, 9.0, 15.0);
  double longest = 0;
  for (const std::string& name : report.class_names)
    longest = std::max(longest, text_width(name, label_font));
  const double diagonal = std::sqrt(0.5);  // x labels run at -45 degrees
  const double grid = cell * static_cast<double>(n);
  // Left: the "true" title, the y labels, and room for the first x label's slant.
  const double left = std::max(30 + longest + 10, longest * diagonal - cell / 2 + 20);
  const double top = 56;
  const double bar_w = 14, bar_gap = 24, bar_label = 34;  // the colour bar to the right
  const double width = std::ceil(left + grid + bar_gap + bar_w + bar_label + 10);
  const double below = 8 + longest * diagonal + 12 + 30;  // slanted labels, then "predicted"
  const double height = std::ceil(top + grid + below);

  std::string full_title = fmt::format("accuracy {:.3f} (n = {})", report.accuracy, report.total);
  if (!title.empty()) full_title = title + " \u2014 " + full_title;

  std::string svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  svg += fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n",
      width, height);
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += fmt::format(
      "<text x=\"{}\" y=\"30\" text-anchor=\"middle\" font-size=\"16\" "
      "font-weight=\"bold\">{}</text>\n",
      px(std::max(width / 2, text_width(full_title, 16) / 2 + 8)), xml_escape(full_title));

  // Cells: fill by the fraction of the true class's samples, count in contrasting text.
  svg += "<g stroke=\"white\" stroke-width=\"1\">\n";
  std::string counts =
      fmt::format("<g text-anchor=\"middle\" dominant-baseline=\"central\" font-size=\"{}\">\n",
                  px(count_font));
  for (size_t t = 0; t < n; ++t) {
    int64_t support = 0;
    for (int64_t c : report.confusion[t]) support += c;
    for (size_t p = 0; p < n; ++p) {
      const int64_t count = report.confusion[t][p];
      const double fraction =
          support == 0 ? 0.0 : static_cast<double>(count) / static_cast<double>(support);
      const Rgb fill = ramp(fraction);
      const double x = left + cell * static_cast<double>(p),
                   y = top + cell * static_cast<double>(t);
      svg += fmt::format(
          "<rect class=\"cell\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>"
          "true {}, predicted {}: {} ({:.1f}% of the row)</title></rect>\n",
          px(x), px(y), px(cell), px(cell), hex(fill), xml_escape(report.class_names[t]),
          xml_escape(report.class_names[p]), count, 100 * fraction);
      counts += fmt::format("<text x=\"{}\" y=\"{}\" fill=\"{}\">{}</text>\n", px(x + cell / 2),
                            px(y + cell / 2), white_text(fill) ? "white" : "black", count);
    }
  }
  svg += "</g>\n" + counts + "</g>\n";
  svg += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#555\"/>\n",
      px(left), px(top), px(grid), px(grid));

  // Class names: true classes right-aligned left of their rows, predicted ones slanted below.
  svg += "<g fill=\"#222\">\n";
  for (size_t i = 0; i < n; ++i) {
    const double middle = cell * (static_cast<double>(i) + 0.5);
    const std::string name = xml_escape(report.class_names[i]);
    svg += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" dominant-baseline=\"central\">{}</text>\n",
        px(left - 8), px(top + middle), name);
    const double x = left + middle, y = top + grid + 10;
    svg += fmt::format(
        "<text x=\"{0}\" y=\"{1}\" text-anchor=\"end\" dominant-baseline=\"central\" "
        "transform=\"rotate(-45 {0} {1})\">{2}</text>\n",
        px(x), px(y), name);
  }
  svg += "</g>\n";
  svg += fmt::format(
      "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\" "
      "font-weight=\"bold\">predicted</text>\n",
      px(left + grid / 2), px(height - 14));
  svg += fmt::format(
      "<text transform=\"translate(18,{}) rotate(-90)\" text-anchor=\"middle\" font-size=\"13\" "
      "font-weight=\"bold\">true</text>\n",
      px(top + grid / 2));

  // Colour bar: the row fraction from 0 (bottom) to 1 (top).
  const double bar_x = left + grid + bar_gap;
  svg += "<defs><linearGradient id=\"ramp\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">";
  svg += fmt::format(
      "<stop offset=\"0\" stop-color=\"{}\"/><stop offset=\"1\" "
      "stop-color=\"{}\"/></linearGradient></defs>\n",
      hex(ramp(0)), hex(ramp(1)));
  svg += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"url(#ramp)\" stroke=\"#555\"/>\n",
      px(bar_x), px(top), px(bar_w), px(grid));
  for (double v : {0.0, 0.5, 1.0})
    svg += fmt::format(
        "<text x=\"{}\" y=\"{}\" dominant-baseline=\"central\" fill=\"#333\">{:.1f}</text>\n",
        px(bar_x + bar_w + 4), px(top + grid * (1 - v)), v);
  svg += fmt::format(
      "<text transform=\"translate({},{}) rotate(-90)\" text-anchor=\"middle\" fill=\"#333\" "
      "font-size=\"11\">share of the true class</text>\n",
      px(bar_x - 6), px(top + grid / 2));
  svg += "</svg>\n";
  return svg;
}

}  // namespace recur::cli
