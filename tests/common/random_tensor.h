// random_tensor: a tensor of N(0, scale²) values from a fixed seed, for tests that need
// inputs, states or gradients but not particular values.
#pragma once

#include <cstdint>
#include <utility>

#include "recur/rng.h"
#include "recur/tensor.h"

namespace recur::testing {

inline Tensor random_tensor(Shape shape, uint64_t seed, float scale = 1.0f) {
  Tensor t(std::move(shape));
  Rng rng(seed);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = scale * rng.normal();
  return t;
}

}  // namespace recur::testing
