// max_error: the comparison the PyTorch-fixture tests use — the largest |got − want| /
// max(1, |want|) over all elements, with a failed expectation (and infinity) on a shape
// mismatch. Leaves out: per-element reports (the callers' messages name the tensor).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "recur/tensor.h"

namespace recur::testing {

inline double max_error(const Tensor& got, const Tensor& want) {
  EXPECT_EQ(shape_string(got.shape()), shape_string(want.shape()));
  if (got.shape() != want.shape()) return INFINITY;
  double worst = 0;
  for (int64_t i = 0; i < got.numel(); ++i)
    worst = std::max(worst,
                     std::abs(double(got[i]) - want[i]) / std::max(1.0, std::abs(double(want[i]))));
  return worst;
}

}  // namespace recur::testing
