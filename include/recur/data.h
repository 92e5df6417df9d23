// Text data for training: UTF-8 decoding with byte-exact errors, a character (or word)
// vocabulary with padding and unknown ids, the corpus readers of DATA.md (Tang poems from the
// chinese-poetry JSON, Moby Dick by chapter, plain text files) and a deterministic
// train/valid/test split. Leaves out: batching (the tasks do it), images and CSV (their own
// headers).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace recur::data {

// Code points of a UTF-8 string. Invalid UTF-8 (bad lead byte, truncated or overlong
// sequence, surrogate, > U+10FFFF) is an Error naming `source` and the byte offset.
std::u32string decode_utf8(std::string_view bytes, const std::string& source = "input");
std::string encode_utf8(std::u32string_view text);
std::string encode_utf8(char32_t code_point);
// Each code point as its own UTF-8 token ("天上" -> {"天", "上"}); validates like decode_utf8.
std::vector<std::string> split_chars(std::string_view utf8, const std::string& source = "input");

// Token <-> id. Id 0 is "<pad>", id 1 is "<unk>"; the others are ordered by descending count,
// ties by token bytes, so the same text always gives the same ids.
class Vocab {
 public:
  static constexpr int64_t kPad = 0;
  static constexpr int64_t kUnk = 1;
  static constexpr const char* kPadToken = "<pad>";
  static constexpr const char* kUnkToken = "<unk>";

  Vocab();  // just <pad> and <unk>
  // From token counts over `documents` tokenized as characters. max_size (0 = no cap) counts
  // the two special tokens; tokens seen fewer than min_count times map to <unk>.
  static Vocab from_chars(const std::vector<std::string>& documents, int64_t max_size = 0,
                          int64_t min_count = 1);
  // The same from already tokenized documents (words, for classifiers). Tokens equal to
  // "<pad>" or "<unk>" are not counted (they already have ids 0 and 1); empty ones are an Error.
  static Vocab from_tokens(const std::vector<std::vector<std::string>>& documents,
                           int64_t max_size = 0, int64_t min_count = 1);

  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  int64_t id(std::string_view token) const;  // kUnk when absent
  bool contains(std::string_view token) const;
  const std::string& token(int64_t id) const;  // Error when out of range
  // Characters of a UTF-8 text -> ids (unknown characters -> kUnk).
  std::vector<int64_t> encode_chars(std::string_view utf8) const;
  // Ids -> concatenated tokens; <pad> is skipped, <unk> is written as U+FFFD.
  std::string decode(const std::vector<int64_t>& ids) const;
  // Characters of `utf8` that are not in the vocabulary, each once, in order of appearance.
  std::vector<std::string> unknown_chars(std::string_view utf8) const;

  // A JSON array of the tokens in id order, for a checkpoint's metadata; from_json validates
  // it (an array of unique strings starting with <pad>, <unk>) and says what is wrong.
  std::string to_json() const;
  static Vocab from_json(const std::string& json);

 private:
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int64_t> ids_;
  // Ids of the tokens that are a single code point, so encode_chars needs no string per char.
  std::unordered_map<char32_t, int64_t> char_ids_;
  void add(const std::string& token);
};

// A named list of UTF-8 documents (one poem, one chapter, one paragraph each).
struct TextCorpus {
  std::string name;
  std::vector<std::string> documents;
  int64_t char_count() const;
};

// Where scripts/get-data puts things: $RECUR_DATA_DIR if set, else "data".
std::string default_data_dir();

// `spec` is "tang" (all poet.tang.*.json of chinese-poetry: one poem per document, its
// paragraphs joined, the title dropped unless `with_titles`), "moby-dick" (one chapter per
// document, from the stdlib JSON files, in book order: etymology, extracts, chapters 1..135,
// epilogue), or a path to a UTF-8 .txt file (documents separated by blank lines). A data set
// that is not there is an Error saying to run scripts/get-data; an unknown name lists the known
// ones; an empty corpus or invalid UTF-8 is an Error naming the file.
// Poems without paragraphs are skipped (4 of the 57,607 records). with_titles puts
// title + "\n" before a poem, and "CHAPTER N. Title\n\n" before a numbered chapter (the texts of
// etymology, extracts and epilogue already open with their heading). In a .txt file a leading
// BOM is dropped, lines lose a trailing \r, and whitespace-only lines count as blank. Moby Dick
// takes chapter_1 .. chapter_N.json (N = 135 in the package; a gap is an Error).
TextCorpus load_text_corpus(const std::string& spec, const std::string& data_dir,
                            bool with_titles = false);

struct TextSplit {
  std::vector<std::string> train, valid, test;
};
// Deterministic split. With at least 20 documents: documents shuffled with `seed` (Rng), the
// first valid_fraction go to valid, the next test_fraction to test, the rest to train. With
// fewer: the documents are joined with "\n\n" and cut by character position (train first, then
// valid, then test); parts may be empty for tiny corpora. Part sizes are rounded to nearest.
TextSplit split_corpus(const TextCorpus& corpus, double valid_fraction = 0.05,
                       double test_fraction = 0.05, uint64_t seed = 1234);

}  // namespace recur::data
