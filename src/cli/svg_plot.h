// A line chart as a standalone SVG string: "nice" axis ticks (1-2-5 steps, or decades on a log
// axis), grid, tick labels, axis titles, a title, one polyline per series and a legend. Pure
// functions, so the CLI's `recur plot` only reads logs and writes the file.
// Leaves out: reading data, scatter/bar charts, clipping (axes always cover every point).
#pragma once

#include <string>
#include <vector>

namespace recur::cli {

// Tick values covering [lo, hi]: multiples of a step in {1, 2, 5} x 10^k, the first at or
// below lo and the last at or above hi, at most max_ticks of them (max_ticks >= 3). lo == hi
// is widened around the value. The axis runs from the first tick to the last.
std::vector<double> nice_ticks(double lo, double hi, int max_ticks = 8);

// The same for a log axis over [lo, hi] (0 < lo <= hi): powers of ten when they give at least
// four ticks, else {1, 2, 5} x 10^k when those do, else {1..9} x 10^k; the first at or below
// lo, the last at or above hi. Thinned (keeping both ends) to about max_ticks.
std::vector<double> log_ticks(double lo, double hi, int max_ticks = 8);

// A tick label with as many decimals as the tick step needs: (0.25, 0.05) -> "0.25",
// (2000, 500) -> "2000", (-0.0, 1) -> "0". A step <= 0 formats with %g.
std::string format_tick(double value, double step);

// &, <, >, " and ' as XML entities.
std::string xml_escape(const std::string& text);

struct PlotSeries {
  std::string name;          // legend text
  std::string colour;        // any SVG colour, e.g. "#1f5fa8"
  bool dashed = false;       // dashed with a dot per point, drawn over solid lines
  std::vector<double> x, y;  // same length; finite (and > 0 on a log axis)
};

struct PlotSpec {
  std::string title;
  std::string x_label;
  std::string y_label;
  bool log_y = false;
  int width = 800;
  int height = 500;
  std::vector<PlotSeries> series;  // at least one point in all; an empty series gets no line
};

// The whole SVG document, XML declaration first. Errors when no series has a point, when x
// and y lengths differ or, on a log axis, a y value is not positive.
std::string render_svg(const PlotSpec& spec);

}  // namespace recur::cli
