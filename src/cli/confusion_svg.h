// A confusion matrix as a standalone SVG heat map: one cell per (true, predicted) pair coloured
// by its share of the true class's row, the count written in it, class names on both axes and
// the accuracy in the title. A pure function, like render_svg in svg_plot.h.
// Leaves out: reading predictions, and text measurement (label widths are estimated from
// terminal columns, in which wide East Asian characters count double).
#pragma once

#include <string>

#include "recur/metrics.h"

namespace recur::cli {

// The whole SVG document, XML declaration first. Rows are true classes, columns predicted
// ones; a row without support stays white. Errors when the report's confusion matrix is not
// square with one row per class name.
std::string render_confusion_svg(const ClassificationReport& report, const std::string& title);

}  // namespace recur::cli
