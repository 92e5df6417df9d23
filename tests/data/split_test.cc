// split_corpus: deterministic under a seed and different under another, the fractions of a
// document split, the character-position cut for fewer than 20 documents, that every document
// lands in exactly one part, and the argument checks.
// Leaves out: the statistical quality of the shuffle (that is recur::Rng's test).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common/throws_error.h"
#include "recur/data.h"

namespace recur::data {
namespace {

using recur::testing::ThrowsError;

TextCorpus numbered(int n) {
  TextCorpus corpus;
  corpus.name = "numbered";
  for (int i = 0; i < n; ++i) corpus.documents.push_back("doc " + std::to_string(i));
  return corpus;
}

std::vector<std::string> all_parts(const TextSplit& split) {
  std::vector<std::string> all = split.train;
  all.insert(all.end(), split.valid.begin(), split.valid.end());
  all.insert(all.end(), split.test.begin(), split.test.end());
  return all;
}

TEST(Split, DeterministicForASeed) {
  const TextCorpus corpus = numbered(200);
  const TextSplit a = split_corpus(corpus, 0.1, 0.1, 7);
  const TextSplit b = split_corpus(corpus, 0.1, 0.1, 7);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.valid, b.valid);
  EXPECT_EQ(a.test, b.test);
  const TextSplit c = split_corpus(corpus, 0.1, 0.1, 8);
  EXPECT_NE(a.valid, c.valid);
  EXPECT_NE(a.train, c.train);
}

TEST(Split, PinnedForSeed1234) {
  // Fisher-Yates on xoshiro256** is the same everywhere; this pins it so a change shows up.
  const TextSplit split = split_corpus(numbered(20), 0.05, 0.05, 1234);
  ASSERT_EQ(split.valid.size(), 1u);
  ASSERT_EQ(split.test.size(), 1u);
  ASSERT_EQ(split.train.size(), 18u);
  EXPECT_EQ(split.valid[0] + " | " + split.test[0] + " | " + split.train[0],
            "doc 13 | doc 15 | doc 2");
}

TEST(Split, FractionsAndPartition) {
  for (int n : {20, 21, 99, 1000}) {
    const TextCorpus corpus = numbered(n);
    const TextSplit split = split_corpus(corpus, 0.05, 0.15, 99);
    EXPECT_EQ(split.valid.size(), static_cast<size_t>(std::llround(n * 0.05))) << n;
    EXPECT_EQ(split.test.size(), static_cast<size_t>(std::llround(n * 0.15))) << n;
    std::vector<std::string> all = all_parts(split);
    ASSERT_EQ(all.size(), corpus.documents.size()) << n;
    std::sort(all.begin(), all.end());
    std::vector<std::string> expected = corpus.documents;
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(all, expected) << "a document was lost or duplicated, n = " << n;
    // Shuffled, not in corpus order.
    EXPECT_NE(split.train, std::vector<std::string>(corpus.documents.begin(),
                                                    corpus.documents.begin() + split.train.size()));
  }
  const TextSplit none = split_corpus(numbered(50), 0, 0, 1);
  EXPECT_EQ(none.train.size(), 50u);
  EXPECT_TRUE(none.valid.empty() && none.test.empty());
}

TEST(Split, FewDocumentsCutByCharacterPosition) {
  TextCorpus corpus;
  corpus.name = "tiny";
  corpus.documents = {"天地玄黃宇宙洪荒", "日月盈昃辰宿列張"};  // joined: 8 + 2 + 8 = 18 chars
  const TextSplit split = split_corpus(corpus, 0.2, 0.1, 5);
  // valid = round(3.6) = 4 chars, test = round(1.8) = 2 chars, train = the first 12.
  EXPECT_EQ(split.train, (std::vector<std::string>{"天地玄黃宇宙洪荒\n\n日月"}));
  EXPECT_EQ(split.valid, (std::vector<std::string>{"盈昃辰宿"}));
  EXPECT_EQ(split.test, (std::vector<std::string>{"列張"}));
  // The seed plays no part here.
  EXPECT_EQ(split_corpus(corpus, 0.2, 0.1, 6).valid, split.valid);
  // Parts may be empty for a tiny corpus; no empty strings are made up.
  corpus.documents = {"ab"};
  const TextSplit tiny = split_corpus(corpus, 0.05, 0.05, 1);
  EXPECT_EQ(tiny.train, (std::vector<std::string>{"ab"}));
  EXPECT_TRUE(tiny.valid.empty());
  EXPECT_TRUE(tiny.test.empty());
}

TEST(Split, ArgumentChecks) {
  const TextCorpus corpus = numbered(30);
  EXPECT_TRUE(ThrowsError([&] { split_corpus(corpus, -0.1, 0.1); }, {"valid_fraction", "[0, 1)"}));
  EXPECT_TRUE(ThrowsError([&] { split_corpus(corpus, 0.1, 1.0); }, {"test_fraction", "[0, 1)"}));
  EXPECT_TRUE(
      ThrowsError([&] { split_corpus(corpus, 0.6, 0.5); }, {"below 1", "0.600000 + 0.500000"}));
  EXPECT_TRUE(ThrowsError(
      [] {
        split_corpus(TextCorpus{"none", {}});
      },
      {"split_corpus(none)", "at least one document"}));
}

}  // namespace
}  // namespace recur::data
