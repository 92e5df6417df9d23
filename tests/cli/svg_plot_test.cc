// The SVG chart's pure parts: nice linear and log ticks against hand-worked cases and their
// invariants over many ranges, tick labels, XML escaping, and render_svg's structure and errors.
// Leaves out: how the chart looks (checked by eye with rsvg-convert) and the CLI (plot_cli_test).
#include "cli/svg_plot.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "recur/error.h"

namespace recur::cli {
namespace {

using Ticks = std::vector<double>;

void expect_ticks(const Ticks& got, const Ticks& want) {
  ASSERT_EQ(got.size(), want.size()) << ::testing::PrintToString(got);
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-12 * std::max(1.0, std::abs(want[i])))
        << i << ": " << ::testing::PrintToString(got);
}

TEST(NiceTicks, HandWorkedCases) {
  expect_ticks(nice_ticks(0, 1000, 8), {0, 200, 400, 600, 800, 1000});
  expect_ticks(nice_ticks(1, 1200, 8), {0, 200, 400, 600, 800, 1000, 1200});
  expect_ticks(nice_ticks(1.23, 4.71, 7), {1, 2, 3, 4, 5});
  expect_ticks(nice_ticks(1.23, 4.71, 8), {1, 2, 3, 4, 5});  // steps of 0.5 would need 9
  expect_ticks(nice_ticks(0.31, 0.38, 8), {0.31, 0.32, 0.33, 0.34, 0.35, 0.36, 0.37, 0.38});
  expect_ticks(nice_ticks(0.31, 0.38, 6), {0.3, 0.32, 0.34, 0.36, 0.38});
  expect_ticks(nice_ticks(-3, 7, 6), {-5, 0, 5, 10});          // steps of 2 would need 7
  expect_ticks(nice_ticks(2, 2, 8), {1.8, 1.9, 2, 2.1, 2.2});  // widened by 10%
  expect_ticks(nice_ticks(0, 0, 3), {-1, 0, 1});
}

TEST(NiceTicks, EndsOnTicksAreKept) {
  // Values already on a tick (up to rounding in the division) get no extra tick beyond them.
  expect_ticks(nice_ticks(0.1, 0.7, 8), {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7});
  expect_ticks(nice_ticks(0, 5e6, 6), {0, 1e6, 2e6, 3e6, 4e6, 5e6});
}

TEST(NiceTicks, InvariantsOverManyRanges) {
  for (double lo : {-1234.5, -1.0, 0.0, 0.001, 0.37, 2.0, 999.0, 1e7}) {
    for (double width : {1e-3, 0.05, 1.0, 3.7, 99.0, 12345.0}) {
      for (int max_ticks : {3, 4, 5, 8, 11}) {
        const double hi = lo + width;
        const Ticks t = nice_ticks(lo, hi, max_ticks);
        SCOPED_TRACE(::testing::PrintToString(std::vector<double>{lo, hi, double(max_ticks)}));
        ASSERT_GE(t.size(), 2u);
        EXPECT_LE(static_cast<int>(t.size()), max_ticks);
        EXPECT_LE(t.front(), lo + 1e-9 * std::abs(lo));
        EXPECT_GE(t.back(), hi - 1e-9 * std::abs(hi));
        // Differences of ticks near 1e7 carry rounding of ~1e-9 each: the tolerance says so.
        const double step = (t.back() - t.front()) / static_cast<double>(t.size() - 1);
        const double magnitude = std::max(std::abs(t.front()), std::abs(t.back()));
        const double rel = 1e-9 + 8 * std::numeric_limits<double>::epsilon() * magnitude / step;
        // The step is 1, 2 or 5 times a power of ten, and the ticks are its multiples.
        const double mantissa = step / std::pow(10.0, std::floor(std::log10(step) + 1e-9));
        EXPECT_TRUE(std::abs(mantissa - 1) < rel || std::abs(mantissa - 2) < 2 * rel ||
                    std::abs(mantissa - 5) < 5 * rel)
            << step;
        for (size_t i = 1; i < t.size(); ++i) EXPECT_NEAR(t[i] - t[i - 1], step, rel * step);
        EXPECT_NEAR(t[0] / step, std::round(t[0] / step),
                    rel * std::max(1.0, std::abs(t[0] / step)));
        // Nice but not wasteful: the ticks cover less than twice the needed span plus one step.
        EXPECT_LT(t.back() - t.front(), 2 * (hi - lo) + 2 * step);
      }
    }
  }
}

TEST(NiceTicks, RejectsBadRanges) {
  EXPECT_THROW(nice_ticks(2, 1), Error);
  EXPECT_THROW(nice_ticks(0, NAN), Error);
  EXPECT_THROW(nice_ticks(0, 1, 2), Error);  // -1..1 needs three
}

TEST(LogTicks, DecadesOrFinerMantissas) {
  expect_ticks(log_ticks(0.05, 30), {0.01, 0.1, 1, 10, 100});
  expect_ticks(log_ticks(0.5, 40), {0.1, 1, 10, 100});
  expect_ticks(log_ticks(0.5, 8), {0.5, 1, 2, 5, 10});
  expect_ticks(log_ticks(1.2, 4.8), {1, 2, 3, 4, 5});
  expect_ticks(log_ticks(2, 2), {1, 2, 3});  // widened by 1.5x each way: [1.33, 3]
}

TEST(LogTicks, ThinnedToMaxTicksKeepingBothEnds) {
  const Ticks t = log_ticks(1e-6, 1e6, 5);  // 13 decades
  EXPECT_LE(t.size(), 6u);
  EXPECT_DOUBLE_EQ(t.front(), 1e-6);
  EXPECT_DOUBLE_EQ(t.back(), 1e6);
  EXPECT_THROW(log_ticks(0, 1), Error);
  EXPECT_THROW(log_ticks(-1, 1), Error);
}

TEST(FormatTick, DecimalsFollowTheStep) {
  EXPECT_EQ(format_tick(0.25, 0.05), "0.25");
  EXPECT_EQ(format_tick(0.3, 0.1), "0.3");
  EXPECT_EQ(format_tick(2, 0.5), "2.0");
  EXPECT_EQ(format_tick(2000, 500), "2000");
  EXPECT_EQ(format_tick(-0.0, 1), "0");
  EXPECT_EQ(format_tick(-1e-17, 0.1), "0.0");
  EXPECT_EQ(format_tick(20, 0), "20");
  EXPECT_EQ(format_tick(0.001, 0), "0.001");
}

TEST(XmlEscape, AllFiveEntities) {
  EXPECT_EQ(xml_escape("a<b & \"c\" > 'd'"), "a&lt;b &amp; &quot;c&quot; &gt; &apos;d&apos;");
  EXPECT_EQ(xml_escape("plain 天"), "plain 天");
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(RenderSvg, StructureAndEscaping) {
  PlotSpec spec;
  spec.title = "a < b";
  spec.x_label = "step";
  spec.y_label = "loss";
  spec.series = {{"run (train)", "#123456", false, {1, 2, 3}, {3, 2, 1}},
                 {"empty", "#000000", false, {}, {}},
                 {"run (valid)", "#654321", true, {2}, {2.5}}};
  const std::string svg = render_svg(spec);
  EXPECT_EQ(svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg ", 0), 0u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  EXPECT_EQ(count(svg, "<polyline"), 2u);  // the empty series has no line and no legend entry
  EXPECT_EQ(count(svg, "<circle"), 1u);    // dots on the dashed series only
  EXPECT_NE(svg.find(">a &lt; b</text>"), std::string::npos);
  EXPECT_NE(svg.find(">run (train)</text>"), std::string::npos);
  EXPECT_NE(svg.find(">run (valid)</text>"), std::string::npos);
  EXPECT_EQ(svg.find(">empty</text>"), std::string::npos);
  // The solid series comes first so the dashed one is drawn over it.
  EXPECT_LT(svg.find("stroke=\"#123456\""), svg.find("stroke=\"#654321\""));
}

TEST(RenderSvg, Errors) {
  PlotSpec spec;
  EXPECT_THROW(render_svg(spec), Error);  // nothing to draw
  spec.series = {{"s", "red", false, {1, 2}, {1}}};
  EXPECT_THROW(render_svg(spec), Error);  // lengths differ
  spec.series = {{"s", "red", false, {1, 2}, {1, NAN}}};
  EXPECT_THROW(render_svg(spec), Error);
  spec.series = {{"s", "red", false, {1, 2}, {1, 0}}};
  EXPECT_NO_THROW(render_svg(spec));
  spec.log_y = true;
  EXPECT_THROW(render_svg(spec), Error);  // 0 on a log axis
}

}  // namespace
}  // namespace recur::cli
