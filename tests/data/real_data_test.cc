// The real Tang corpus, when scripts/get-data tang has fetched it (skipped otherwise): the poem
// count of DATA.md less the empty ones, the character count, the distinct characters, and an
// encode/decode round trip. Leaves out: timing (no timing assertions in tests) and Moby Dick
// (its reader is covered by corpus_test.cc).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "recur/data.h"

namespace recur::data {
namespace {

// $RECUR_DATA_DIR when set, else data/ of the source tree (scripts/get-data's default).
std::string real_data_dir() {
  const char* env = std::getenv("RECUR_DATA_DIR");
  if (env != nullptr && *env != '\0') return env;
  return std::string(RECUR_SOURCE_DIR) + "/data";
}

TEST(RealData, TangHasAllPoems) {
  const std::string dir = real_data_dir();
  if (!std::filesystem::exists(dir + "/tang/.complete")) {
    GTEST_SKIP() << "no " << dir << "/tang/.complete; run scripts/get-data tang";
  }
  const TextCorpus corpus = load_text_corpus("tang", dir);
  // chinese-poetry 2.0.1 holds 57,607 records (DATA.md's count); 4 have no paragraphs (titles of
  // lost poems) and are skipped.
  EXPECT_EQ(corpus.documents.size(), 57607u - 4u);
  EXPECT_EQ(corpus.char_count(), 3668082);
  const Vocab vocab = Vocab::from_chars(corpus.documents);
  EXPECT_EQ(vocab.size(), 9588 + 2);  // distinct characters + <pad>, <unk>
  EXPECT_EQ(corpus.documents.front(),
            "秦川雄帝宅，函谷壯皇居。綺殿千尋起，離宮百雉餘。"
            "連甍遙接漢，飛觀迥凌虛。雲日隱層闕，風煙出綺疎。");
  for (const std::string& doc : {corpus.documents.front(), corpus.documents.back()}) {
    const std::vector<int64_t> ids = vocab.encode_chars(doc);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), Vocab::kUnk), 0);
    EXPECT_EQ(vocab.decode(ids), doc);
  }
}

}  // namespace
}  // namespace recur::data
