// The unbiased draw and Fisher-Yates shuffle shared by the corpus split and the stratified split,
// so both shuffle the same way on every platform. Leaves out: other distributions (recur::Rng).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "recur/rng.h"

namespace recur::data::detail {

// Uniform in [0, n) without modulo bias: rejects the low 2^64 mod n draws. Requires n > 0.
uint64_t uniform_index(Rng& rng, uint64_t n);

// Fisher-Yates from the back: swaps items[i] with items[uniform_index(rng, i + 1)].
template <typename T>
void shuffle(std::vector<T>& items, Rng& rng) {
  for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[uniform_index(rng, i)]);
}

}  // namespace recur::data::detail
