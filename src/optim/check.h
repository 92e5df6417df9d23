// Option checks shared by the optimizers and schedules, with PyTorch's limits and recur's
// message shape ("Adam: lr must be >= 0, got -1").
// Leaves out: the checks themselves for each optimizer (they sit next to its update).
#pragma once

#include <string>

namespace recur::optim::detail {

// Shortest text that reads back as the same float ("0.9", "-1", "1e-08").
std::string format_number(double value);

// `who`: "Adam"; `what`: "lr". NaN fails every check.
void check_at_least(const char* who, const char* what, double value, double minimum);
void check_in_unit_interval(const char* who, const char* what, double value);  // [0, 1)

}  // namespace recur::optim::detail
