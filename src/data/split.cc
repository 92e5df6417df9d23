// split_corpus: a deterministic train/valid/test split, by shuffled documents (Fisher-Yates on
// recur::Rng, identical on every platform) or, for fewer than 20 documents, by character
// position. Leaves out: stratified splits and k-fold (the classification tasks do their own).
#include <cmath>
#include <numeric>

#include "data/shuffle.h"
#include "data/utf8_step.h"
#include "recur/data.h"
#include "recur/error.h"
#include "recur/rng.h"

namespace recur::data {
namespace {

constexpr size_t kMinDocumentsToShuffle = 20;

// Byte offset of code point `index` of valid UTF-8 (text.size() when past the end).
size_t byte_offset(std::string_view text, size_t index) {
  size_t seen = 0;
  for (size_t pos = 0; pos < text.size(); ++pos) {
    if ((static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) continue;
    if (seen++ == index) return pos;
  }
  return text.size();
}

size_t share(size_t n, double fraction) {
  return static_cast<size_t>(std::llround(static_cast<double>(n) * fraction));
}

}  // namespace

TextSplit split_corpus(const TextCorpus& corpus, double valid_fraction, double test_fraction,
                       uint64_t seed) {
  const std::string where = "split_corpus(" + corpus.name + "): ";
  RECUR_CHECK(std::isfinite(valid_fraction) && valid_fraction >= 0 && valid_fraction < 1,
              where + "expected valid_fraction in [0, 1), got " + std::to_string(valid_fraction));
  RECUR_CHECK(std::isfinite(test_fraction) && test_fraction >= 0 && test_fraction < 1,
              where + "expected test_fraction in [0, 1), got " + std::to_string(test_fraction));
  RECUR_CHECK(valid_fraction + test_fraction < 1,
              where +
                  "expected valid_fraction + test_fraction below 1 (train needs the rest), "
                  "got " +
                  std::to_string(valid_fraction) + " + " + std::to_string(test_fraction));
  const size_t n = corpus.documents.size();
  RECUR_CHECK(n > 0, where + "expected at least one document, found none");
  TextSplit split;
  if (n >= kMinDocumentsToShuffle) {
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t{0});
    Rng rng(seed);
    detail::shuffle(order, rng);
    const size_t n_valid = share(n, valid_fraction);
    const size_t n_test = std::min(share(n, test_fraction), n - n_valid);
    for (size_t k = 0; k < n; ++k) {
      const std::string& doc = corpus.documents[order[k]];
      if (k < n_valid) {
        split.valid.push_back(doc);
      } else if (k < n_valid + n_test) {
        split.test.push_back(doc);
      } else {
        split.train.push_back(doc);
      }
    }
    return split;
  }
  // Too few documents to split by document: cut the joined text by character position.
  std::string text;
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) text += "\n\n";
    text += corpus.documents[i];
  }
  const size_t chars = detail::count_code_points(text);
  const size_t n_valid = share(chars, valid_fraction);
  const size_t n_test = std::min(share(chars, test_fraction), chars - n_valid);
  const size_t train_end = byte_offset(text, chars - n_valid - n_test);
  const size_t valid_end = byte_offset(text, chars - n_test);
  auto add = [](std::vector<std::string>* part, std::string_view piece) {
    if (!piece.empty()) part->emplace_back(piece);
  };
  const std::string_view view(text);
  add(&split.train, view.substr(0, train_end));
  add(&split.valid, view.substr(train_end, valid_end - train_end));
  add(&split.test, view.substr(valid_end));
  return split;
}

}  // namespace recur::data
