// Labeled text from `label<TAB>text` files, and the word tokenizer for text classifiers (see
// recur/datasets.h for the exact rules). Leaves out: SpamAssassin mail (spam.cc), vocabularies
// (vocab.cc), Unicode character tables (word characters are decided by a few block ranges).
#include <algorithm>
#include <map>

#include "data/dataset_files.h"
#include "data/utf8_step.h"
#include "recur/data.h"
#include "recur/datasets.h"
#include "recur/error.h"

namespace recur::data {
namespace {

bool is_ascii_word_char(char32_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Non-ASCII code points count as word characters except the punctuation and symbol blocks.
bool is_word_char(char32_t c) {
  if (c < 0x80) return is_ascii_word_char(c);
  if (c <= 0xBF) return c == 0xAA || c == 0xB5 || c == 0xBA;  // ª µ º
  if (c == 0xD7 || c == 0xF7) return false;                   // × ÷
  if (c >= 0x2000 && c <= 0x2BFF) return false;  // punctuation, symbols, arrows, math, boxes
  if (c >= 0x3000 && c <= 0x303F) return false;  // CJK symbols and punctuation
  if (c >= 0xFE30 && c <= 0xFE4F) return false;  // CJK compatibility forms
  if ((c >= 0xFF01 && c <= 0xFF0F) || (c >= 0xFF1A && c <= 0xFF20) ||
      (c >= 0xFF3B && c <= 0xFF40) || (c >= 0xFF5B && c <= 0xFF65)) {
    return false;  // fullwidth ASCII punctuation and halfwidth CJK punctuation
  }
  return c != 0xFFFD;
}

char32_t to_lower(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + ('a' - 'A');
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 0x20;  // Latin-1 À..Þ
  return c;
}

}  // namespace

namespace {

// Whitespace and controls: what separates tokens without being one.
bool is_space(char32_t c) {
  return c <= 0x20 || c == 0x7F || (c >= 0x80 && c <= 0xA0) || (c >= 0x2000 && c <= 0x200B) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

// Words (lower-cased), and with `punct` also each run of other non-space characters.
std::vector<std::string> split_words(std::string_view utf8_text, bool punct, const char* what) {
  std::vector<std::string> tokens;
  std::string word, symbols;
  auto flush = [&tokens](std::string* run) {
    if (!run->empty()) {
      tokens.push_back(std::move(*run));
      run->clear();
    }
  };
  size_t pos = 0;
  while (pos < utf8_text.size()) {
    const auto byte = static_cast<unsigned char>(utf8_text[pos]);
    char32_t c = byte;
    if (byte < 0x80) {
      ++pos;  // ASCII without the decoder: most text is mostly ASCII
    } else {
      c = detail::next_code_point(utf8_text, &pos, what);
    }
    if (is_word_char(c)) {
      flush(&symbols);
      if (c < 0x80) {
        word += static_cast<char>(to_lower(c));
      } else {
        word += encode_utf8(to_lower(c));
      }
    } else {
      flush(&word);
      if (!punct || is_space(c)) {
        flush(&symbols);
      } else {
        symbols += encode_utf8(c);
      }
    }
  }
  flush(&word);
  flush(&symbols);
  return tokens;
}

}  // namespace

std::vector<std::string> word_tokens(std::string_view utf8_text) {
  return split_words(utf8_text, false, "word_tokens input");
}

std::vector<std::string> word_punct_tokens(std::string_view utf8_text) {
  return split_words(utf8_text, true, "word_punct_tokens input");
}

LabeledText load_labeled_tsv(const std::string& path) {
  std::string bytes = detail::read_file_bytes(path);
  detail::validate_utf8(bytes, path);
  detail::strip_bom(&bytes);
  std::vector<std::string> names;  // per example, mapped to ids below
  LabeledText data;
  size_t start = 0;
  int64_t line = 0;
  while (start < bytes.size()) {
    ++line;
    size_t end = bytes.find('\n', start);
    if (end == std::string::npos) end = bytes.size();
    std::string_view text(bytes.data() + start, end - start);
    start = end + 1;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.empty()) continue;
    const std::string where = path + ":" + std::to_string(line) + ": ";
    const size_t tab = text.find('\t');
    RECUR_CHECK(tab != std::string_view::npos,
                where + "expected 'label<TAB>text', found no tab in '" +
                    std::string(text.substr(0, 60)) + (text.size() > 60 ? "...'" : "'"));
    RECUR_CHECK(tab > 0, where + "expected a label before the tab, found an empty label");
    RECUR_CHECK(tab + 1 < text.size(), where + "expected a text after the tab, found none");
    names.emplace_back(text.substr(0, tab));
    data.texts.emplace_back(text.substr(tab + 1));
  }
  RECUR_CHECK(!data.texts.empty(), path + ": expected lines 'label<TAB>text', found none");
  data.class_names = names;
  std::sort(data.class_names.begin(), data.class_names.end());
  data.class_names.erase(std::unique(data.class_names.begin(), data.class_names.end()),
                         data.class_names.end());
  std::map<std::string, int64_t> ids;
  for (size_t i = 0; i < data.class_names.size(); ++i) {
    ids[data.class_names[i]] = static_cast<int64_t>(i);
  }
  data.labels.reserve(names.size());
  for (const std::string& name : names) data.labels.push_back(ids.at(name));
  return data;
}

}  // namespace recur::data
