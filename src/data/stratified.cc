// stratified_split: a train/test split that keeps each class's share (see recur/datasets.h).
// Leaves out: a validation part (split train again), k-fold, and group-aware splits.
#include <algorithm>
#include <cmath>
#include <map>

#include "data/shuffle.h"
#include "recur/datasets.h"
#include "recur/error.h"
#include "recur/rng.h"

namespace recur::data {

std::pair<std::vector<int64_t>, std::vector<int64_t>> stratified_split(
    const std::vector<int64_t>& labels, double test_fraction, uint64_t seed) {
  RECUR_CHECK(
      std::isfinite(test_fraction) && test_fraction >= 0 && test_fraction <= 1,
      "stratified_split: expected test_fraction in [0, 1], got " + std::to_string(test_fraction));
  std::map<int64_t, std::vector<int64_t>> by_class;  // ascending class order
  for (size_t i = 0; i < labels.size(); ++i) {
    by_class[labels[i]].push_back(static_cast<int64_t>(i));
  }
  std::vector<int64_t> train, test;
  train.reserve(labels.size());
  Rng rng(seed);
  for (auto& [label, indices] : by_class) {
    detail::shuffle(indices, rng);
    const auto n_test =
        static_cast<size_t>(std::llround(static_cast<double>(indices.size()) * test_fraction));
    test.insert(test.end(), indices.begin(), indices.begin() + static_cast<ptrdiff_t>(n_test));
    train.insert(train.end(), indices.begin() + static_cast<ptrdiff_t>(n_test), indices.end());
  }
  std::sort(train.begin(), train.end());
  std::sort(test.begin(), test.end());
  return {std::move(train), std::move(test)};
}

}  // namespace recur::data
