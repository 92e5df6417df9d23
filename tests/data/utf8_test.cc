// UTF-8 decoding, encoding and split_chars: round trips over 1- to 4-byte characters and every
// class of invalid input, each reported at the byte offset of the bad sequence.
// Leaves out: the corpus readers' use of it (corpus_test.cc).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/throws_error.h"
#include "data/utf8_step.h"
#include "recur/data.h"

namespace recur::data {
namespace {

using recur::testing::ThrowsError;

TEST(ThrowsErrorHelper, GoesRedOnNoThrowAndWrongMessage) {
  EXPECT_FALSE(ThrowsError([] {}, {}));
  EXPECT_FALSE(ThrowsError([] { throw_error("offset 3"); }, {"offset 4"}));
  EXPECT_FALSE(ThrowsError([] { throw std::runtime_error("x"); }, {}));
  EXPECT_TRUE(ThrowsError([] { throw_error("offset 3: x"); }, {"offset 3", "x"}));
}

TEST(Utf8, AsciiRoundTrip) {
  const std::string text = "Call me Ishmael.\n\t~";
  const std::u32string decoded = decode_utf8(text);
  ASSERT_EQ(decoded.size(), text.size());
  EXPECT_EQ(decoded[0], U'C');
  EXPECT_EQ(encode_utf8(decoded), text);
  EXPECT_EQ(decode_utf8(""), U"");
}

TEST(Utf8, MultiByteCodePoints) {
  // é (2 bytes), 天 (3 bytes), 😀 (4 bytes), and the extremes of each length.
  EXPECT_EQ(decode_utf8("\xC3\xA9"), std::u32string(1, 0xE9));
  EXPECT_EQ(decode_utf8("\xE5\xA4\xA9"), std::u32string(1, 0x5929));
  EXPECT_EQ(decode_utf8("\xF0\x9F\x98\x80"), std::u32string(1, 0x1F600));
  EXPECT_EQ(encode_utf8(char32_t{0x7F}), "\x7F");
  EXPECT_EQ(encode_utf8(char32_t{0x80}), "\xC2\x80");
  EXPECT_EQ(encode_utf8(char32_t{0x7FF}), "\xDF\xBF");
  EXPECT_EQ(encode_utf8(char32_t{0x800}), "\xE0\xA0\x80");
  EXPECT_EQ(encode_utf8(char32_t{0xFFFF}), "\xEF\xBF\xBF");
  EXPECT_EQ(encode_utf8(char32_t{0x10000}), "\xF0\x90\x80\x80");
  EXPECT_EQ(encode_utf8(char32_t{0x10FFFF}), "\xF4\x8F\xBF\xBF");
}

TEST(Utf8, MixedRoundTrip) {
  const std::string text = "秦川雄帝宅，函谷壯皇居。 naïve 😀!";
  const std::u32string decoded = decode_utf8(text);
  EXPECT_EQ(decoded.size(), 21u);
  EXPECT_EQ(decoded[0], U'秦');
  EXPECT_EQ(decoded[19], char32_t{0x1F600});
  EXPECT_EQ(encode_utf8(decoded), text);
  // Every scalar value survives encode -> decode.
  for (char32_t c = 0; c <= 0x10FFFF; c += (c < 0x3000 ? 1 : 97)) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    ASSERT_EQ(decode_utf8(encode_utf8(c)), std::u32string(1, c)) << "U+" << std::hex << c;
  }
}

TEST(Utf8, SplitChars) {
  EXPECT_EQ(split_chars("天上a😀"), (std::vector<std::string>{"天", "上", "a", "😀"}));
  EXPECT_TRUE(split_chars("").empty());
  EXPECT_TRUE(ThrowsError([] { split_chars("ab\xE5\xA4", "poem.txt"); },
                          {"poem.txt", "byte offset 2", "truncated 3-byte"}));
}

TEST(Utf8, StrayContinuationByte) {
  EXPECT_TRUE(
      ThrowsError([] { decode_utf8("abc\x80", "poems.txt"); },
                  {"invalid UTF-8 in poems.txt at byte offset 3", "continuation byte 0x80"}));
}

TEST(Utf8, TruncatedAtEnd) {
  EXPECT_TRUE(ThrowsError([] { decode_utf8("天\xE5\xA4"); },
                          {"in input at byte offset 3", "truncated 3-byte sequence"}));
  EXPECT_TRUE(ThrowsError([] { decode_utf8("\xF0\x9F\x98"); },
                          {"byte offset 0", "truncated 4-byte sequence"}));
  EXPECT_TRUE(ThrowsError([] { decode_utf8("ab\xC3"); }, {"byte offset 2", "truncated 2-byte"}));
}

TEST(Utf8, TruncatedByNonContinuationByte) {
  EXPECT_TRUE(ThrowsError(
      [] {
        decode_utf8(
            "xy\xE5"
            "A\x80");
      },
      {"byte offset 2", "truncated 3-byte sequence", "0x41"}));
}

TEST(Utf8, Overlong) {
  EXPECT_TRUE(ThrowsError([] { decode_utf8("a\xC0\x80"); },
                          {"byte offset 1", "overlong 2-byte sequence for U+0000"}));
  EXPECT_TRUE(
      ThrowsError([] { decode_utf8("\xE0\x80\xAF"); }, {"byte offset 0", "overlong 3-byte"}));
  EXPECT_TRUE(
      ThrowsError([] { decode_utf8("ab\xF0\x8F\xBF\xBF"); }, {"byte offset 2", "overlong 4-byte"}));
}

TEST(Utf8, Surrogate) {
  EXPECT_TRUE(
      ThrowsError([] { decode_utf8("天天\xED\xA0\x80"); }, {"byte offset 6", "surrogate U+D800"}));
  EXPECT_TRUE(ThrowsError([] { encode_utf8(char32_t{0xDFFF}); }, {"found U+DFFF"}));
}

TEST(Utf8, AboveMaximum) {
  EXPECT_TRUE(ThrowsError([] { decode_utf8("a\xF4\x90\x80\x80"); },
                          {"byte offset 1", "U+110000 above U+10FFFF"}));
  EXPECT_TRUE(ThrowsError([] { encode_utf8(char32_t{0x110000}); }, {"found U+110000"}));
}

TEST(Utf8, InvalidLeadByte) {
  EXPECT_TRUE(ThrowsError([] { decode_utf8("abcd\xF8\x88\x80\x80\x80"); },
                          {"byte offset 4", "invalid lead byte 0xF8"}));
  EXPECT_TRUE(
      ThrowsError([] { decode_utf8("\xFF"); }, {"byte offset 0", "invalid lead byte 0xFF"}));
  EXPECT_TRUE(ThrowsError([] { decode_utf8("\xF5\x80\x80\x80"); }, {"invalid lead byte 0xF5"}));
}

TEST(DisplayWidth, WideEastAsianCharactersTakeTwoColumns) {
  EXPECT_EQ(detail::display_width(""), 0u);
  EXPECT_EQ(detail::display_width("Ankle boot"), 10u);
  EXPECT_EQ(detail::display_width("运动鞋"), 6u);            // CJK ideographs
  EXPECT_EQ(detail::display_width("カナ한글"), 8u);          // kana, Hangul syllables
  EXPECT_EQ(detail::display_width("\uFF21\u3002"), 4u);      // full-width A, ideographic stop
  EXPECT_EQ(detail::display_width("caf\u00E9 \u03A9"), 6u);  // accented Latin, Greek: narrow
  EXPECT_EQ(detail::display_width("\U0001F600"), 1u);        // emoji: left out, counted as 1
}

}  // namespace
}  // namespace recur::data
