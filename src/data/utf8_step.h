// One step of the UTF-8 decoder, shared by decode_utf8, the vocabulary and the corpus readers so
// that they decode straight into lookups without building a std::u32string or one std::string
// per character. Leaves out: everything else about UTF-8 (see recur/data.h).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace recur::data::detail {

// Decodes the code point starting at byte `*pos` of `bytes` and advances `*pos` past it.
// Requires *pos < bytes.size(). Invalid UTF-8 is an Error naming `source` and the offset of the
// sequence's first byte.
char32_t next_code_point(std::string_view bytes, size_t* pos, const std::string& source);

// Checks that all of `bytes` is valid UTF-8 (same errors as next_code_point).
void validate_utf8(std::string_view bytes, const std::string& source);

// Number of code points of valid UTF-8 (bytes that are not continuation bytes).
size_t count_code_points(std::string_view valid_utf8);

// Columns that valid UTF-8 takes in a monospace terminal: 2 per East Asian Wide or Fullwidth
// code point (CJK ideographs and punctuation, kana, Hangul syllables, full-width forms), 1 for
// every other one. Leaves out combining marks and emoji presentation (counted as 1).
size_t display_width(std::string_view valid_utf8);

}  // namespace recur::data::detail
