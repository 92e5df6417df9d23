// The real classification and forecasting data sets, when scripts/get-data has fetched them
// (each test is skipped otherwise): SpamAssassin's ham/spam counts, Fashion-MNIST's sizes and
// class balance, the CO2 table's columns and rows, and a stratified split of the mails. Leaves
// out: timing (no timing assertions in tests).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include "recur/datasets.h"

namespace recur::data {
namespace {

// $RECUR_DATA_DIR when set, else data/ of the source tree (scripts/get-data's default).
std::string real_data_dir() {
  const char* env = std::getenv("RECUR_DATA_DIR");
  if (env != nullptr && *env != '\0') return env;
  return std::string(RECUR_SOURCE_DIR) + "/data";
}

bool fetched(const std::string& name) {
  return std::filesystem::exists(real_data_dir() + "/" + name + "/.complete");
}

std::string not_fetched(const std::string& name) {
  return "no " + real_data_dir() + "/" + name + "/.complete; run scripts/get-data " + name;
}

// Mails of SpamAssassin whose body is empty (skipped by load_spam_assassin), and the rows of
// vega-datasets 3.2.1's co2-concentration.csv.
constexpr int64_t kSpamAssassinEmptyHam = 0;
constexpr int64_t kSpamAssassinEmptySpam = 0;
constexpr size_t kCo2Rows = 741;  // 1958-03 .. 2020-04, some months missing

TEST(RealDatasets, SpamAssassinCounts) {
  if (!fetched("spam-assassin")) GTEST_SKIP() << not_fetched("spam-assassin");
  const LabeledText data = load_spam_assassin(real_data_dir());
  const auto spam = std::count(data.labels.begin(), data.labels.end(), 1);
  const auto ham = static_cast<int64_t>(data.labels.size()) - spam;
  // DATA.md: 4,150 ham and 1,896 spam mails; the ones with an empty body are skipped.
  EXPECT_EQ(ham + spam + data.skipped, 4150 + 1896);
  EXPECT_EQ(ham, 4150 - kSpamAssassinEmptyHam);
  EXPECT_EQ(spam, 1896 - kSpamAssassinEmptySpam);
  const auto [train, test] = stratified_split(data.labels, 0.2, 1234);
  EXPECT_EQ(static_cast<int64_t>(test.size()), std::llround(ham * 0.2) + std::llround(spam * 0.2));
  for (const std::string& text : data.texts) ASSERT_FALSE(word_tokens(text).empty());
}

TEST(RealDatasets, FashionMnistSizes) {
  if (!fetched("fashion-mnist")) GTEST_SKIP() << not_fetched("fashion-mnist");
  struct Part {
    const char* name;
    int64_t count;
    std::vector<int64_t> first_labels;  // of the package's files, read with Python's gzip
    int64_t first_image_sum;
  };
  const Part parts[] = {{"train", 60000, {9, 0, 0, 3, 0, 2, 7, 2, 5, 5}, 76247},
                        {"test", 10000, {9, 2, 1, 1, 6, 1, 4, 6, 5, 7}, 33456}};
  for (const Part& part : parts) {
    const ImageSet set = load_fashion_mnist(real_data_dir(), part.name);
    EXPECT_EQ(set.count, part.count);
    EXPECT_EQ(set.rows, 28);
    EXPECT_EQ(set.cols, 28);
    ASSERT_EQ(set.pixels.size(), static_cast<size_t>(part.count * 28 * 28));
    EXPECT_EQ(std::vector<int64_t>(set.labels.begin(), set.labels.begin() + 10), part.first_labels);
    EXPECT_EQ(std::accumulate(set.pixels.begin(), set.pixels.begin() + 784, int64_t{0}),
              part.first_image_sum);
    // Balanced: 6,000 (train) or 1,000 (test) images per class.
    for (int64_t c = 0; c < 10; ++c) {
      EXPECT_EQ(std::count(set.labels.begin(), set.labels.end(), c), part.count / 10)
          << part.name << " class " << c;
    }
  }
}

TEST(RealDatasets, Co2Table) {
  if (!fetched("vega")) GTEST_SKIP() << not_fetched("vega");
  const CsvTable table = load_co2(real_data_dir());
  EXPECT_EQ(table.header, (std::vector<std::string>{"Date", "CO2", "adjusted CO2"}));
  EXPECT_EQ(table.rows.size(), kCo2Rows);
  EXPECT_EQ(table.rows.front()[0], "1958-03-01");
  EXPECT_EQ(table.rows.back()[0], "2020-04-01");
  const std::vector<double> co2 = csv_column(table, "CO2");
  EXPECT_DOUBLE_EQ(co2.front(), 315.70);
  EXPECT_DOUBLE_EQ(co2.back(), 416.18);
  EXPECT_GT(*std::min_element(co2.begin(), co2.end()), 300);
}

}  // namespace
}  // namespace recur::data
