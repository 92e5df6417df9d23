// Vocab: special ids, the id order (count, then bytes), min_count and max_size, encode/decode
// round trips with unknown characters, and the JSON form with each way it can be malformed.
// Leaves out: speed on the real corpus (real_data_test.cc measures nothing; bench/ would).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/throws_error.h"
#include "recur/data.h"

namespace recur::data {
namespace {

using recur::testing::ThrowsError;

TEST(Vocab, EmptyHasOnlySpecials) {
  Vocab vocab;
  EXPECT_EQ(vocab.size(), 2);
  EXPECT_EQ(vocab.token(Vocab::kPad), "<pad>");
  EXPECT_EQ(vocab.token(Vocab::kUnk), "<unk>");
  EXPECT_EQ(vocab.id("<pad>"), 0);
  EXPECT_EQ(vocab.id("<unk>"), 1);
  EXPECT_EQ(vocab.id("a"), Vocab::kUnk);
  EXPECT_FALSE(vocab.contains("a"));
  EXPECT_TRUE(ThrowsError([&] { vocab.token(2); }, {"id 2", "vocabulary of 2 tokens"}));
  EXPECT_TRUE(ThrowsError([&] { vocab.token(-1); }, {"id -1"}));
}

TEST(Vocab, OrderedByCountThenBytes) {
  // Counts: 天 3, b 3, a 2, 😀 2, c 1. Ties by UTF-8 bytes: "b" < "天", "a" < "😀".
  Vocab vocab = Vocab::from_chars({"天b天a", "😀cb天", "ba😀"});
  const std::vector<std::string> expected = {"<pad>", "<unk>", "b", "天", "a", "😀", "c"};
  ASSERT_EQ(vocab.size(), static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(vocab.token(static_cast<int64_t>(i)), expected[i]) << "id " << i;
    EXPECT_EQ(vocab.id(expected[i]), static_cast<int64_t>(i));
  }
  // The same counts in another document order give the same ids.
  EXPECT_EQ(Vocab::from_chars({"ba😀", "天b天a", "😀cb天"}).to_json(), vocab.to_json());
}

TEST(Vocab, MinCountAndMaxSize) {
  const std::vector<std::string> docs = {"aaaabbbccd"};
  EXPECT_EQ(Vocab::from_chars(docs, 0, 2).to_json(), R"(["<pad>","<unk>","a","b","c"])");
  EXPECT_EQ(Vocab::from_chars(docs, 4).to_json(), R"(["<pad>","<unk>","a","b"])");
  EXPECT_EQ(Vocab::from_chars(docs, 2).size(), 2);
  EXPECT_EQ(Vocab::from_chars(docs, 100).size(), 6);
  EXPECT_EQ(Vocab::from_chars(docs, 4, 4).to_json(), R"(["<pad>","<unk>","a"])");
  EXPECT_TRUE(ThrowsError([&] { Vocab::from_chars(docs, 1); }, {"max_size", "got 1"}));
  EXPECT_TRUE(ThrowsError([&] { Vocab::from_chars(docs, 0, 0); }, {"min_count", "got 0"}));
  EXPECT_TRUE(ThrowsError([] { Vocab::from_chars({"ok", "b\xC3"}); }, {"document 1", "offset 1"}));
}

TEST(Vocab, FromTokens) {
  Vocab vocab = Vocab::from_tokens({{"the", "whale", "<unk>"}, {"the", "sea"}});
  EXPECT_EQ(vocab.to_json(), R"(["<pad>","<unk>","the","sea","whale"])");
  EXPECT_EQ(vocab.id("whale"), 4);
  EXPECT_EQ(vocab.id("ship"), Vocab::kUnk);
  EXPECT_TRUE(ThrowsError(
      [] {
        Vocab::from_tokens({{"a"}, {"b", ""}});
      },
      {"empty", "document 1, token 1"}));
}

TEST(Vocab, EncodeDecodeRoundTrip) {
  const std::string text = "床前明月光，疑是地上霜。 moon 🌙";
  Vocab vocab = Vocab::from_chars({text});
  const std::vector<int64_t> ids = vocab.encode_chars(text);
  EXPECT_EQ(ids.size(), decode_utf8(text).size());
  for (int64_t id : ids) EXPECT_GE(id, 2);
  EXPECT_EQ(vocab.decode(ids), text);
  EXPECT_TRUE(vocab.unknown_chars(text).empty());
  EXPECT_EQ(vocab.decode({0, ids[0], 0}), "床");
}

TEST(Vocab, UnknownCharacters) {
  Vocab vocab = Vocab::from_chars({"abc"});
  const std::vector<int64_t> ids = vocab.encode_chars("a天b😀天");
  EXPECT_EQ(ids, (std::vector<int64_t>{vocab.id("a"), 1, vocab.id("b"), 1, 1}));
  EXPECT_EQ(vocab.decode(ids),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(vocab.unknown_chars("a天b😀天x"), (std::vector<std::string>{"天", "😀", "x"}));
  EXPECT_TRUE(ThrowsError([&] { vocab.encode_chars("ab\xED\xA0\x80"); }, {"offset 2"}));
  EXPECT_TRUE(ThrowsError([&] { vocab.decode({2, 7}); }, {"id 7", "position 1"}));
  // Words are not characters: a word vocabulary encodes only its one-character tokens.
  Vocab words = Vocab::from_tokens({{"ab", "c"}});
  EXPECT_EQ(words.encode_chars("abc"), (std::vector<int64_t>{1, 1, words.id("c")}));
}

TEST(Vocab, JsonRoundTrip) {
  Vocab vocab = Vocab::from_chars({"天地玄黃 \"quoted\" \\ 😀\n"});
  const std::string json = vocab.to_json();
  Vocab back = Vocab::from_json(json);
  ASSERT_EQ(back.size(), vocab.size());
  for (int64_t i = 0; i < vocab.size(); ++i) EXPECT_EQ(back.token(i), vocab.token(i));
  EXPECT_EQ(back.to_json(), json);
  EXPECT_EQ(back.encode_chars("玄😀"), vocab.encode_chars("玄😀"));
  EXPECT_EQ(Vocab::from_json(R"(["<pad>", "<unk>"])").size(), 2);
}

TEST(Vocab, MalformedJson) {
  EXPECT_TRUE(ThrowsError([] { Vocab::from_json(R"({"tokens": []})"); },
                          {"expected a JSON array", "found a JSON object"}));
  EXPECT_TRUE(ThrowsError([] { Vocab::from_json("[\"<pad>\", "); }, {"invalid JSON"}));
  EXPECT_TRUE(ThrowsError([] { Vocab::from_json(R"(["<pad>","<unk>","a","b","a"])"); },
                          {"duplicate token \"a\" at indices 2 and 4"}));
  EXPECT_TRUE(ThrowsError([] { Vocab::from_json(R"(["a","<pad>","<unk>"])"); },
                          {"expected \"<pad>\" at index 0, found \"a\""}));
  EXPECT_TRUE(ThrowsError([] { Vocab::from_json(R"(["<pad>","a"])"); },
                          {"expected \"<unk>\" at index 1, found \"a\""}));
  EXPECT_TRUE(ThrowsError([] { Vocab::from_json(R"(["<pad>"])"); }, {"found 1 token"}));
  EXPECT_TRUE(ThrowsError([] { Vocab::from_json(R"(["<pad>","<unk>",3])"); },
                          {"expected a string at index 2, found a number"}));
  EXPECT_TRUE(ThrowsError([] { Vocab::from_json(R"(["<pad>","<unk>","<pad>"])"); },
                          {"special token \"<pad>\" repeated at index 2"}));
  EXPECT_TRUE(ThrowsError([] { Vocab::from_json(R"(["<pad>","<unk>",""])"); },
                          {"non-empty token at index 2"}));
}

}  // namespace
}  // namespace recur::data
