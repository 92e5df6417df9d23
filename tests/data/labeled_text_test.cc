// Labeled text readers on tiny files in the exact formats: SpamAssassin folders (groups, headers,
// CRLF, Latin-1 bytes, an empty body), label<TAB>text files (good and every bad line), and the
// word tokenizer. Leaves out: the real mails (real_datasets_test.cc).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/throws_error.h"
#include "recur/datasets.h"
#include "temp_dir.h"

namespace recur::data {
namespace {

using recur::testing::ThrowsError;
using Strings = std::vector<std::string>;
using Ids = std::vector<int64_t>;

class Spam : public testing::TempDirTest {
 protected:
  void write_mails() {
    // Sorted path order: easy-ham-1/00001, easy-ham-1/00002, hard-ham-1/00001, spam-2/00001.
    write("spam-assassin/spam-2/00001.b.txt",
          "From x@y Thu Aug 22 2002\r\nSubject: cheap\r\n\r\nBuy now\r\nCaf\xE9 \xFF\r\n");
    write("spam-assassin/easy-ham-1/00002.a.txt",
          "Subject: hello\nX-Note: a\n  folded header line\n\nHi there.\n\nSecond paragraph.\n");
    write("spam-assassin/easy-ham-1/00001.c.txt", "Subject: empty body\n\n \n\t\n");
    write("spam-assassin/hard-ham-1/00001.d.txt", "Subject: no blank line at all\n");
    write("spam-assassin/hard-ham-1/00002.e.txt", "Subject: x\n\nHard ham\n");
    write("spam-assassin/hard-ham-1/notes.md", "not a mail");
    write("spam-assassin/.complete", "");
  }
};

TEST_F(Spam, ReadsBodiesLabelsAndLatin1) {
  write_mails();
  const LabeledText data = load_spam_assassin(dir_);
  EXPECT_EQ(data.class_names, (Strings{"ham", "spam"}));
  EXPECT_EQ(data.texts, (Strings{"Hi there.\n\nSecond paragraph.\n", "Hard ham\n",
                                 "Buy now\nCaf\xC3\xA9 \xC3\xBF\n"}));
  EXPECT_EQ(data.labels, (Ids{0, 0, 1}));
  EXPECT_EQ(data.skipped, 2);  // whitespace-only body, no body at all
}

TEST_F(Spam, MissingFolderSaysHowToGetIt) {
  EXPECT_TRUE(ThrowsError(
      [&] { load_spam_assassin(dir_); },
      {"data set 'spam-assassin' not found in", dir_, "run scripts/get-data spam-assassin"}));
}

TEST_F(Spam, FolderWithoutMailIsAnError) {
  write("spam-assassin/spam-1/readme", "x");
  EXPECT_TRUE(ThrowsError([&] { load_spam_assassin(dir_); }, {"found none"}));
}

class Tsv : public testing::TempDirTest {};

TEST_F(Tsv, ReadsLabelsSortedAndTexts) {
  const std::string path =
      write("a.tsv", "\xEF\xBB\xBFpos\tgreat film\r\nneg\tbad\tfilm\n\nneu\tso-so\npos\tok");
  const LabeledText data = load_labeled_tsv(path);
  EXPECT_EQ(data.class_names, (Strings{"neg", "neu", "pos"}));
  EXPECT_EQ(data.texts, (Strings{"great film", "bad\tfilm", "so-so", "ok"}));
  EXPECT_EQ(data.labels, (Ids{2, 0, 1, 2}));
  EXPECT_EQ(data.skipped, 0);
}

TEST_F(Tsv, BadLinesNameFileAndLine) {
  const std::string no_tab = write("no_tab.tsv", "a\tx\n\nb y\n");
  EXPECT_TRUE(ThrowsError([&] { load_labeled_tsv(no_tab); }, {no_tab + ":3:", "no tab", "b y"}));
  const std::string no_text = write("no_text.tsv", "a\tx\nb\t\r\n");
  EXPECT_TRUE(ThrowsError([&] { load_labeled_tsv(no_text); }, {no_text + ":2:", "text"}));
  const std::string no_label = write("no_label.tsv", "\tx\n");
  EXPECT_TRUE(ThrowsError([&] { load_labeled_tsv(no_label); }, {no_label + ":1:", "label"}));
  const std::string empty = write("empty.tsv", "\n\r\n");
  EXPECT_TRUE(ThrowsError([&] { load_labeled_tsv(empty); }, {empty, "found none"}));
  const std::string latin1 = write("latin1.tsv", "a\tok\nb\tcaf\xE9\n");
  EXPECT_TRUE(ThrowsError([&] { load_labeled_tsv(latin1); },
                          {"invalid UTF-8 in " + latin1, "byte offset 10"}));
  EXPECT_TRUE(ThrowsError([&] { load_labeled_tsv(dir_ + "/missing.tsv"); }, {"missing.tsv"}));
}

TEST(WordTokens, LowerCasesAndDropsPunctuation) {
  EXPECT_EQ(word_tokens("Don't PANIC, caf\xC3\xA9!"),
            (Strings{"don", "t", "panic", "caf\xC3\xA9"}));
  EXPECT_EQ(word_tokens("R2-D2 at 10:30\n\t--"), (Strings{"r2", "d2", "at", "10", "30"}));
  // Latin-1 capitals lower-cased, × and « » dropped; Greek keeps its case.
  EXPECT_EQ(word_tokens("\xC3\x89T\xC3\x89 3\xC3\x97"
                        "4 \xC2\xAB"
                        "\xCE\xA9\xCE\xB1\xC2\xBB"),
            (Strings{"\xC3\xA9t\xC3\xA9", "3", "4", "\xCE\xA9\xCE\xB1"}));
  // CJK punctuation separates words; ideographs are word characters.
  EXPECT_EQ(word_tokens("\xE5\xA4\xA9\xE4\xB8\x8A\xE3\x80\x82\xE4\xBA\xBA\xE2\x80\x94x"),
            (Strings{"\xE5\xA4\xA9\xE4\xB8\x8A", "\xE4\xBA\xBA", "x"}));
  EXPECT_TRUE(word_tokens(" ,.;!? ").empty());
  EXPECT_TRUE(ThrowsError([] { word_tokens("ab\xFF"); }, {"byte offset 2"}));
}

TEST(WordPunctTokens, KeepsRunsOfPunctuationAsTokens) {
  EXPECT_EQ(word_punct_tokens("Win $1,000!! NOW"),
            (Strings{"win", "$", "1", ",", "000", "!!", "now"}));
  EXPECT_EQ(word_punct_tokens("<font size=3D2>Don't</font>"),
            (Strings{"<", "font", "size", "=", "3d2", ">", "don", "'", "t", "</", "font", ">"}));
  // Whitespace, controls and no-break spaces separate runs; other symbols (× «) are kept.
  EXPECT_EQ(
      word_punct_tokens("a ! !\t?\xC2\xA0?3\xC3\x97"
                        "4 \xC2\xAB\xC3\x89T\xC3\x89"),
      (Strings{"a", "!", "!", "?", "?", "3", "\xC3\x97", "4", "\xC2\xAB", "\xC3\xA9t\xC3\xA9"}));
  // The words are exactly word_tokens'.
  const std::string mail = "Dear friend,\n\nCLICK here: http://x.com/?id=42 -- caf\xC3\xA9!";
  std::vector<std::string> words;
  for (const std::string& t : word_punct_tokens(mail))
    if (!word_tokens(t).empty()) words.push_back(t);
  EXPECT_EQ(words, word_tokens(mail));
  EXPECT_TRUE(word_punct_tokens(" \n\t ").empty());
  EXPECT_TRUE(ThrowsError([] { word_punct_tokens("ab\xFF"); }, {"byte offset 2"}));
}

}  // namespace
}  // namespace recur::data
