// Corpus readers on tiny files written in the exact formats of the real data (chinese-poetry
// JSON, stdlib Moby Dick JSON, blank-line separated .txt): documents, order, titles, and every
// error (missing data set, unknown name, empty file, invalid UTF-8, malformed records).
// Leaves out: the real data sets (real_data_test.cc) and scripts/get-data itself.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/throws_error.h"
#include "recur/data.h"

namespace recur::data {
namespace {

namespace fs = std::filesystem;
using recur::testing::ThrowsError;

class Corpus : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = ::testing::TempDir() + "recur_data_" + info->test_suite_name() + "_" + info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes `bytes` to dir_/relative (creating folders) and returns the path.
  std::string write(const std::string& relative, const std::string& bytes) {
    const fs::path path = fs::path(dir_) / relative;
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
    return path.string();
  }

  void write_tang() {
    // Numeric order of the suffix: 0, 200, 1000 (not 0, 1000, 200).
    write("tang/poet.tang.1000.json", R"([
      {"author": "李白", "paragraphs": ["床前明月光，疑是地上霜。", "舉頭望明月，低頭思故鄉。"],
       "title": "靜夜思", "id": "c"}
    ])");
    write("tang/poet.tang.0.json", R"([
      {"author": "太宗皇帝", "paragraphs": ["秦川雄帝宅，", "函谷壯皇居。"],
       "title": "帝京篇", "id": "a1"},
      {"author": "無名", "paragraphs": [], "title": "闕題", "id": "a2"},
      {"author": "無名", "title": "只有題", "id": "a3"}
    ])");
    write("tang/poet.tang.200.json", R"([
      {"author": "王維", "paragraphs": ["空山不見人，", "但聞人語響。"], "title": "鹿柴", "id": "b"}
    ])");
    // Not poems: other names and the tone strings are ignored.
    write("tang/poet.tang.rank.json", "not json");
    write("tang/strains/poet.tang.0.json", R"([{"strains": ["平平"], "id": "a1"}])");
    write("tang/.complete", "");
  }

  void write_moby_dick() {
    auto chapter = [](const std::string& chapter, const std::string& title,
                      const std::string& text) {
      return R"({"chapter":")" + chapter + R"(","title":")" + title + R"(","text":")" + text +
             R"("})";
    };
    write("moby-dick/etymology.json",
          chapter("Etymology", "(Usher.)", "ETYMOLOGY. (Usher.)\\n\\nThe pale Usher"));
    write("moby-dick/extracts.json", chapter("Extracts", "(Librarian.)", "EXTRACTS.\\n\\nIt will"));
    for (int i = 1; i <= 10; ++i) {
      const std::string n = std::to_string(i);
      write("moby-dick/chapter_" + n + ".json", chapter(n, "Title " + n + ".", "Text " + n + "—"));
    }
    write("moby-dick/epilogue.json",
          chapter("Epilogue", "\\\"AND I ONLY\\\"", "Epilogue.\\n\\nThe drama's done."));
    write("moby-dick/contents.json", chapter("Contents", "", "CONTENTS"));
    write("moby-dick/file_list.json", R"(["contents.txt"])");
  }

  std::string dir_;
};

TEST_F(Corpus, TangPoemsInNumericFileOrder) {
  write_tang();
  const TextCorpus corpus = load_text_corpus("tang", dir_);
  EXPECT_EQ(corpus.name, "tang");
  // The poems without paragraphs are skipped.
  EXPECT_EQ(corpus.documents, (std::vector<std::string>{
                                  "秦川雄帝宅，函谷壯皇居。",
                                  "空山不見人，但聞人語響。",
                                  "床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。",
                              }));
  EXPECT_EQ(corpus.char_count(), 12 + 12 + 24);
}

TEST_F(Corpus, TangWithTitles) {
  write_tang();
  const TextCorpus corpus = load_text_corpus("tang", dir_, /*with_titles=*/true);
  ASSERT_EQ(corpus.documents.size(), 3u);
  EXPECT_EQ(corpus.documents[0], "帝京篇\n秦川雄帝宅，函谷壯皇居。");
  EXPECT_EQ(corpus.documents[2], "靜夜思\n床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。");
}

TEST_F(Corpus, TangErrors) {
  EXPECT_TRUE(
      ThrowsError([&] { load_text_corpus("tang", dir_); }, {"data set 'tang' not found in " + dir_ +
                                                            "/tang; run scripts/get-data "
                                                            "tang"}));
  fs::create_directories(fs::path(dir_) / "tang");
  EXPECT_TRUE(ThrowsError([&] { load_text_corpus("tang", dir_); },
                          {"no poet.tang.*.json files", "scripts/get-data tang"}));
  const std::string bad = write("tang/poet.tang.0.json", "[{\"paragraphs\": [\"天\xE5\xA4\"]}]");
  EXPECT_TRUE(ThrowsError([&] { load_text_corpus("tang", dir_); },
                          {"invalid UTF-8 in " + bad + " at byte offset 21", "truncated 3-byte"}));
  write("tang/poet.tang.0.json", R"([{"paragraphs": "天地"}])");
  EXPECT_TRUE(ThrowsError([&] { load_text_corpus("tang", dir_); },
                          {bad, "poem 0", "\"paragraphs\" to be an array"}));
  write("tang/poet.tang.0.json", R"([{"paragraphs": ["天地", 3]}])");
  EXPECT_TRUE(ThrowsError([&] { load_text_corpus("tang", dir_); }, {"found a number"}));
  write("tang/poet.tang.0.json", R"({"paragraphs": []})");
  EXPECT_TRUE(ThrowsError([&] { load_text_corpus("tang", dir_); }, {"expected a JSON array"}));
  write("tang/poet.tang.0.json", R"([{"paragraphs": ]})");
  EXPECT_TRUE(ThrowsError([&] { load_text_corpus("tang", dir_); }, {bad, "invalid JSON"}));
  write("tang/poet.tang.0.json", R"([{"paragraphs": []}])");
  EXPECT_TRUE(ThrowsError([&] { load_text_corpus("tang", dir_); }, {"corpus", "is empty"}));
}

TEST_F(Corpus, MobyDickInBookOrder) {
  write_moby_dick();
  const TextCorpus corpus = load_text_corpus("moby-dick", dir_);
  ASSERT_EQ(corpus.documents.size(), 13u);
  EXPECT_EQ(corpus.documents[0], "ETYMOLOGY. (Usher.)\n\nThe pale Usher");
  EXPECT_EQ(corpus.documents[1], "EXTRACTS.\n\nIt will");
  for (int i = 1; i <= 10; ++i) {
    EXPECT_EQ(corpus.documents[static_cast<size_t>(i) + 1], "Text " + std::to_string(i) + "—");
  }
  EXPECT_EQ(corpus.documents[12], "Epilogue.\n\nThe drama's done.");

  const TextCorpus titled = load_text_corpus("moby-dick", dir_, /*with_titles=*/true);
  EXPECT_EQ(titled.documents[0], corpus.documents[0]);  // already opens with its heading
  EXPECT_EQ(titled.documents[2], "CHAPTER 1. Title 1.\n\nText 1—");
  EXPECT_EQ(titled.documents[11], "CHAPTER 10. Title 10.\n\nText 10—");
  EXPECT_EQ(titled.documents[12], corpus.documents[12]);
}

TEST_F(Corpus, MobyDickErrors) {
  EXPECT_TRUE(ThrowsError([&] { load_text_corpus("moby-dick", dir_); },
                          {"data set 'moby-dick' not found in " + dir_ + "/moby-dick",
                           "run scripts/get-data moby-dick"}));
  write_moby_dick();
  fs::remove(fs::path(dir_) / "moby-dick/chapter_7.json");
  EXPECT_TRUE(ThrowsError([&] { load_text_corpus("moby-dick", dir_); },
                          {"incomplete", "expected chapter_7.json, found chapter_8.json"}));
  write("moby-dick/chapter_7.json", R"({"chapter": "7", "title": "x"})");
  EXPECT_TRUE(
      ThrowsError([&] { load_text_corpus("moby-dick", dir_); }, {"chapter_7.json", "\"text\""}));
  write("moby-dick/chapter_7.json", R"({"chapter": "7", "title": "x", "text": "ok"})");
  fs::remove(fs::path(dir_) / "moby-dick/epilogue.json");
  EXPECT_TRUE(
      ThrowsError([&] { load_text_corpus("moby-dick", dir_); }, {"epilogue.json is missing"}));
}

TEST_F(Corpus, TextFileDocumentsSeparatedByBlankLines) {
  const std::string path = write(
      "poems.txt", "\xEF\xBB\xBF\n\nfirst line\r\nsecond line\r\n\r\n  \n\nthird 天\n\n\nlast");
  const TextCorpus corpus = load_text_corpus(path, dir_);
  EXPECT_EQ(corpus.name, "poems");
  EXPECT_EQ(corpus.documents,
            (std::vector<std::string>{"first line\nsecond line", "third 天", "last"}));
  EXPECT_EQ(corpus.char_count(), 22 + 7 + 4);
  // A trailing newline and a single document.
  EXPECT_EQ(load_text_corpus(write("one.txt", "only\n"), dir_).documents,
            (std::vector<std::string>{"only"}));
}

TEST_F(Corpus, TextFileErrors) {
  const std::string empty = write("empty.txt", "");
  EXPECT_TRUE(
      ThrowsError([&] { load_text_corpus(empty, dir_); }, {"corpus " + empty + " is empty"}));
  const std::string blank = write("blank.txt", " \n\r\n\t\n");
  EXPECT_TRUE(
      ThrowsError([&] { load_text_corpus(blank, dir_); }, {"corpus " + blank + " is empty"}));
  const std::string bad = write("bad.txt", "line one\n\nline \xC0\x80 two");
  EXPECT_TRUE(ThrowsError([&] { load_text_corpus(bad, dir_); },
                          {"invalid UTF-8 in " + bad + " at byte offset 15", "overlong"}));
  EXPECT_TRUE(ThrowsError([&] { load_text_corpus("shakespeare", dir_); },
                          {"unknown corpus 'shakespeare'", "'tang', 'moby-dick'", ".txt"}));
  EXPECT_TRUE(ThrowsError([&] { load_text_corpus(dir_, dir_); }, {"expected a UTF-8 .txt file"}));
}

TEST(DataDir, FromEnvironment) {
  const char* saved = std::getenv("RECUR_DATA_DIR");
  const std::string saved_value = saved ? saved : "";
  unsetenv("RECUR_DATA_DIR");
  EXPECT_EQ(default_data_dir(), "data");
  setenv("RECUR_DATA_DIR", "/srv/recur-data", 1);
  EXPECT_EQ(default_data_dir(), "/srv/recur-data");
  if (saved) {
    setenv("RECUR_DATA_DIR", saved_value.c_str(), 1);
  } else {
    unsetenv("RECUR_DATA_DIR");
  }
}

}  // namespace
}  // namespace recur::data
