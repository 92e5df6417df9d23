// stratified_split: per-class shares, a partition of the indices, sorted output, determinism
// under a seed, dependence on the seed, and bad fractions. Leaves out: split_corpus
// (split_test.cc).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <vector>

#include "common/throws_error.h"
#include "recur/datasets.h"

namespace recur::data {
namespace {

using recur::testing::ThrowsError;
using Ids = std::vector<int64_t>;

// 101 of class 0, 38 of class 7, 5 of class -2, 1 of class 3, interleaved.
Ids make_labels() {
  Ids labels;
  for (int i = 0; i < 101; ++i) {
    labels.push_back(0);
    if (i < 38) labels.push_back(7);
    if (i < 5) labels.push_back(-2);
    if (i == 50) labels.push_back(3);
  }
  return labels;
}

TEST(StratifiedSplit, KeepsEachClassShare) {
  const Ids labels = make_labels();
  const auto [train, test] = stratified_split(labels, 0.2, 42);
  std::map<int64_t, int64_t> in_test, in_train;
  for (int64_t i : test) ++in_test[labels[i]];
  for (int64_t i : train) ++in_train[labels[i]];
  // round(n * 0.2): 101 -> 20, 38 -> 8 (7.6, not cut down to 7), 5 -> 1, 1 -> 0.
  EXPECT_EQ(in_test, (std::map<int64_t, int64_t>{{-2, 1}, {0, 20}, {7, 8}}));
  EXPECT_EQ(in_train, (std::map<int64_t, int64_t>{{-2, 4}, {0, 81}, {3, 1}, {7, 30}}));
}

TEST(StratifiedSplit, PartitionsSortedIndices) {
  const Ids labels = make_labels();
  const auto [train, test] = stratified_split(labels, 0.3, 7);
  EXPECT_TRUE(std::is_sorted(train.begin(), train.end()));
  EXPECT_TRUE(std::is_sorted(test.begin(), test.end()));
  Ids all = train;
  all.insert(all.end(), test.begin(), test.end());
  std::sort(all.begin(), all.end());
  Ids expected(labels.size());
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(all, expected);
}

TEST(StratifiedSplit, DeterministicUnderSeed) {
  const Ids labels = make_labels();
  EXPECT_EQ(stratified_split(labels, 0.25, 5), stratified_split(labels, 0.25, 5));
  EXPECT_NE(stratified_split(labels, 0.25, 5).second, stratified_split(labels, 0.25, 6).second);
  // Not simply the first indices of each class.
  const Ids test = stratified_split(Ids(100, 1), 0.1, 5).second;
  EXPECT_NE(test, (Ids{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(StratifiedSplit, EdgeFractionsAndErrors) {
  const Ids labels = make_labels();
  EXPECT_TRUE(stratified_split(labels, 0, 1).second.empty());
  EXPECT_TRUE(stratified_split(labels, 1, 1).first.empty());
  EXPECT_TRUE(stratified_split({}, 0.5, 1).first.empty());
  for (double bad : {-0.1, 1.5, std::nan("")}) {
    EXPECT_TRUE(
        ThrowsError([&] { stratified_split(labels, bad, 1); }, {"test_fraction in [0, 1]"}));
  }
}

}  // namespace
}  // namespace recur::data
