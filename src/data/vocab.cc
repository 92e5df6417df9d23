// Vocab: token <-> id with <pad> = 0 and <unk> = 1, built from counts (descending count, ties by
// token bytes), encoding characters straight from UTF-8, and its JSON form for checkpoints.
// Leaves out: subword tokenization and word splitting (callers pass tokens to from_tokens).
#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

#include "data/utf8_step.h"
#include "recur/data.h"
#include "recur/error.h"

namespace recur::data {
namespace {

using Counts = std::vector<std::pair<std::string, int64_t>>;

void check_limits(const char* where, int64_t max_size, int64_t min_count) {
  RECUR_CHECK(max_size == 0 || max_size >= 2,
              std::string(where) +
                  ": max_size counts <pad> and <unk>, so it must be 0 (no cap) or at least 2, "
                  "got " +
                  std::to_string(max_size));
  RECUR_CHECK(min_count >= 1, std::string(where) + ": min_count must be at least 1, got " +
                                  std::to_string(min_count));
}

// The tokens to add after the specials, in id order.
std::vector<std::string> select_tokens(Counts counts, int64_t max_size, int64_t min_count) {
  counts.erase(std::remove_if(counts.begin(), counts.end(),
                              [&](const auto& tc) { return tc.second < min_count; }),
               counts.end());
  std::sort(counts.begin(), counts.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  size_t keep = counts.size();
  if (max_size > 0) keep = std::min(keep, static_cast<size_t>(max_size - 2));
  std::vector<std::string> tokens;
  tokens.reserve(keep);
  for (size_t i = 0; i < keep; ++i) tokens.push_back(std::move(counts[i].first));
  return tokens;
}

bool is_special(std::string_view token) {
  return token == Vocab::kPadToken || token == Vocab::kUnkToken;
}

}  // namespace

Vocab::Vocab() {
  add(kPadToken);
  add(kUnkToken);
}

void Vocab::add(const std::string& token) {
  RECUR_ASSERT(ids_.count(token) == 0);
  const auto id = static_cast<int64_t>(tokens_.size());
  tokens_.push_back(token);
  ids_.emplace(token, id);
  if (!token.empty()) {
    size_t pos = 0;
    const char32_t c = detail::next_code_point(token, &pos, "token");
    if (pos == token.size()) char_ids_.emplace(c, id);
  }
}

Vocab Vocab::from_chars(const std::vector<std::string>& documents, int64_t max_size,
                        int64_t min_count) {
  check_limits("Vocab::from_chars", max_size, min_count);
  std::unordered_map<char32_t, int64_t> char_counts;
  for (size_t i = 0; i < documents.size(); ++i) {
    const std::string& doc = documents[i];
    const std::string source = "document " + std::to_string(i);
    size_t pos = 0;
    while (pos < doc.size()) ++char_counts[detail::next_code_point(doc, &pos, source)];
  }
  Counts counts;
  counts.reserve(char_counts.size());
  for (const auto& [c, n] : char_counts) counts.emplace_back(encode_utf8(c), n);
  Vocab vocab;
  for (std::string& token : select_tokens(std::move(counts), max_size, min_count)) {
    vocab.add(token);
  }
  return vocab;
}

Vocab Vocab::from_tokens(const std::vector<std::vector<std::string>>& documents, int64_t max_size,
                         int64_t min_count) {
  check_limits("Vocab::from_tokens", max_size, min_count);
  std::unordered_map<std::string, int64_t> token_counts;
  for (size_t i = 0; i < documents.size(); ++i) {
    for (size_t j = 0; j < documents[i].size(); ++j) {
      const std::string& token = documents[i][j];
      RECUR_CHECK(!token.empty(),
                  "Vocab::from_tokens: expected non-empty tokens, found an empty "
                  "one at document " +
                      std::to_string(i) + ", token " + std::to_string(j));
      if (is_special(token)) continue;  // already ids 0 and 1
      auto it = token_counts.find(token);
      if (it == token_counts.end()) {
        detail::validate_utf8(token,
                              "document " + std::to_string(i) + ", token " + std::to_string(j));
        token_counts.emplace(token, 1);
      } else {
        ++it->second;
      }
    }
  }
  Counts counts(token_counts.begin(), token_counts.end());
  Vocab vocab;
  for (std::string& token : select_tokens(std::move(counts), max_size, min_count)) {
    vocab.add(token);
  }
  return vocab;
}

int64_t Vocab::id(std::string_view token) const {
  auto it = ids_.find(std::string(token));
  return it == ids_.end() ? kUnk : it->second;
}

bool Vocab::contains(std::string_view token) const { return ids_.count(std::string(token)) != 0; }

const std::string& Vocab::token(int64_t id) const {
  RECUR_CHECK(id >= 0 && id < size(), "Vocab: id " + std::to_string(id) +
                                          " is out of range for a vocabulary of " +
                                          std::to_string(size()) + " tokens");
  return tokens_[static_cast<size_t>(id)];
}

std::vector<int64_t> Vocab::encode_chars(std::string_view utf8) const {
  std::vector<int64_t> ids;
  ids.reserve(detail::count_code_points(utf8));  // exact for valid input, which is checked below
  size_t pos = 0;
  while (pos < utf8.size()) {
    const char32_t c = detail::next_code_point(utf8, &pos, "text");
    auto it = char_ids_.find(c);
    ids.push_back(it == char_ids_.end() ? kUnk : it->second);
  }
  return ids;
}

std::string Vocab::decode(const std::vector<int64_t>& ids) const {
  static const char* kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string text;
  for (size_t i = 0; i < ids.size(); ++i) {
    const int64_t id = ids[i];
    RECUR_CHECK(id >= 0 && id < size(),
                "Vocab::decode: id " + std::to_string(id) + " at position " + std::to_string(i) +
                    " is out of range for a vocabulary of " + std::to_string(size()) + " tokens");
    if (id == kPad) continue;
    text += id == kUnk ? kReplacement : tokens_[static_cast<size_t>(id)];
  }
  return text;
}

std::vector<std::string> Vocab::unknown_chars(std::string_view utf8) const {
  std::vector<std::string> unknown;
  std::unordered_map<char32_t, bool> seen;
  size_t pos = 0;
  while (pos < utf8.size()) {
    const size_t start = pos;
    const char32_t c = detail::next_code_point(utf8, &pos, "text");
    if (char_ids_.count(c) == 0 && seen.emplace(c, true).second) {
      unknown.emplace_back(utf8.substr(start, pos - start));
    }
  }
  return unknown;
}

std::string Vocab::to_json() const { return nlohmann::json(tokens_).dump(); }

Vocab Vocab::from_json(const std::string& json) {
  const std::string where = "Vocab::from_json: ";
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(json);
  } catch (const nlohmann::json::parse_error& e) {
    throw_error(where + "expected a JSON array of tokens, found invalid JSON (" + e.what() + ")");
  }
  RECUR_CHECK(parsed.is_array(),
              where + "expected a JSON array of tokens, found a JSON " + parsed.type_name());
  RECUR_CHECK(parsed.size() >= 2, where + "expected at least the tokens \"<pad>\", \"<unk>\", " +
                                      "found " + std::to_string(parsed.size()) + " token" +
                                      (parsed.size() == 1 ? "" : "s"));
  std::unordered_map<std::string, size_t> seen;
  Vocab vocab;
  for (size_t i = 0; i < parsed.size(); ++i) {
    const nlohmann::json& item = parsed[i];
    RECUR_CHECK(item.is_string(), where + "expected a string at index " + std::to_string(i) +
                                      ", found a " + item.type_name());
    const auto& token = item.get_ref<const std::string&>();
    if (i < 2) {
      const char* expected = i == 0 ? kPadToken : kUnkToken;
      RECUR_CHECK(token == expected, where + "expected \"" + expected + "\" at index " +
                                         std::to_string(i) + ", found \"" + token + "\"");
      continue;
    }
    RECUR_CHECK(!token.empty(), where + "expected a non-empty token at index " + std::to_string(i) +
                                    ", found \"\"");
    auto [it, inserted] = seen.emplace(token, i);
    RECUR_CHECK(inserted, where + "duplicate token \"" + token + "\" at indices " +
                              std::to_string(it->second) + " and " + std::to_string(i));
    RECUR_CHECK(!is_special(token),
                where + "special token \"" + token + "\" repeated at index " + std::to_string(i));
    vocab.add(token);
  }
  return vocab;
}

}  // namespace recur::data
