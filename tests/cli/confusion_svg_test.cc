// The confusion-matrix SVG's structure: a standalone document, one cell per class pair, every
// count written, text colour by contrast, escaped names, the accuracy in the title, and errors.
// Leaves out: how it looks (checked by eye with rsvg-convert).
#include "cli/confusion_svg.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "recur/error.h"
#include "recur/metrics.h"

namespace recur::cli {
namespace {

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Confusion [true][predicted]: {{3, 0, 2}, {1, 0, 1}, {0, 0, 0}}; accuracy 3/7.
ClassificationReport small_report(const std::vector<std::string>& names) {
  return classification_report({0, 0, 0, 0, 0, 1, 1}, {0, 0, 0, 2, 2, 0, 2}, names);
}

TEST(ConfusionSvg, StandaloneDocumentWithOneCellPerPair) {
  const std::string svg = render_confusion_svg(small_report({"cat", "dog", "bird"}), "Pets");
  EXPECT_EQ(svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg ", 0), 0u);
  EXPECT_NE(svg.find("xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  ASSERT_GE(svg.size(), 7u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  EXPECT_EQ(count_of(svg, "<svg"), 1u);
  EXPECT_EQ(count_of(svg, "<rect class=\"cell\""), 9u);
  EXPECT_EQ(count_of(svg, "<text"), count_of(svg, "</text>"));
  EXPECT_EQ(count_of(svg, "<g"), count_of(svg, "</g>"));
  EXPECT_NE(svg.find("Pets \u2014 accuracy 0.429 (n = 7)"), std::string::npos);
  EXPECT_NE(svg.find(">predicted</text>"), std::string::npos);
  EXPECT_NE(svg.find(">true</text>"), std::string::npos);
}

TEST(ConfusionSvg, CountsWithContrastingText) {
  const std::string svg = render_confusion_svg(small_report({"cat", "dog", "bird"}), "");
  EXPECT_NE(svg.find(">accuracy 0.429 (n = 7)</text>"), std::string::npos);
  // The fullest cell holds 3/5 of its row: black reads better on it than white (WCAG ratio).
  EXPECT_EQ(count_of(svg, "fill=\"black\">3</text>"), 1u);
  EXPECT_EQ(count_of(svg, "fill=\"black\">2</text>"), 1u);
  EXPECT_EQ(count_of(svg, "fill=\"black\">1</text>"), 2u);
  EXPECT_EQ(count_of(svg, "fill=\"black\">0</text>"), 5u);  // bird's empty row stays white
  EXPECT_EQ(count_of(svg, "fill=\"#f7fbff\"><title>"), 5u);
  // A perfect diagonal is the darkest colour, with white counts; the zeros stay black.
  const std::string perfect = render_confusion_svg(
      classification_report({0, 1, 1, 2, 2, 2}, {0, 1, 1, 2, 2, 2}, {"a", "b", "c"}), "");
  EXPECT_EQ(count_of(perfect, "fill=\"#08306b\"><title>"), 3u);
  EXPECT_EQ(count_of(perfect, "fill=\"white\">1</text>"), 1u);
  EXPECT_EQ(count_of(perfect, "fill=\"white\">2</text>"), 1u);
  EXPECT_EQ(count_of(perfect, "fill=\"white\">3</text>"), 1u);
  EXPECT_EQ(count_of(perfect, "fill=\"black\">0</text>"), 6u);
}

TEST(ConfusionSvg, NamesAreEscaped) {
  const std::string svg = render_confusion_svg(small_report({"a<b", "R&D", "\"q\""}), "x < y & z");
  EXPECT_EQ(svg.find("a<b"), std::string::npos);
  EXPECT_EQ(svg.find("R&D"), std::string::npos);
  EXPECT_EQ(svg.find("x < y"), std::string::npos);
  EXPECT_EQ(count_of(svg, ">a&lt;b</text>"), 2u);  // once per axis
  EXPECT_EQ(count_of(svg, ">R&amp;D</text>"), 2u);
  EXPECT_EQ(count_of(svg, ">&quot;q&quot;</text>"), 2u);
  EXPECT_NE(svg.find("x &lt; y &amp; z"), std::string::npos);
}

TEST(ConfusionSvg, Errors) {
  ClassificationReport report = small_report({"cat", "dog", "bird"});
  report.confusion.pop_back();
  EXPECT_THROW(render_confusion_svg(report, ""), Error);
  report = small_report({"cat", "dog", "bird"});
  report.confusion[1].push_back(0);
  EXPECT_THROW(render_confusion_svg(report, ""), Error);
  EXPECT_THROW(render_confusion_svg(ClassificationReport{}, ""), Error);
}

}  // namespace
}  // namespace recur::cli
