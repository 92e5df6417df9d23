// UTF-8 decoding with byte-exact errors, encoding, and splitting into one token per character.
// Leaves out: normalization (NFC/NFKC), grapheme clusters, and any other encoding.
#include <cstdint>

#include "data/utf8_step.h"
#include "recur/data.h"
#include "recur/error.h"

namespace recur::data {
namespace detail {
namespace {

std::string hex_byte(unsigned char b) {
  static const char* kDigits = "0123456789ABCDEF";
  return std::string("0x") + kDigits[b >> 4] + kDigits[b & 15];
}

std::string hex_code_point(char32_t c) {
  static const char* kDigits = "0123456789ABCDEF";
  std::string s;
  for (int shift = 20; shift >= 0; shift -= 4) {
    const unsigned digit = (c >> shift) & 15;
    if (s.empty() && digit == 0 && shift > 12) continue;  // at least 4 digits, as U+00E9
    s += kDigits[digit];
  }
  return "U+" + s;
}

[[noreturn]] void fail(const std::string& source, size_t offset, const std::string& what) {
  throw_error("invalid UTF-8 in " + source + " at byte offset " + std::to_string(offset) + ": " +
              what);
}

}  // namespace

char32_t next_code_point(std::string_view bytes, size_t* pos, const std::string& source) {
  const size_t start = *pos;
  const auto lead = static_cast<unsigned char>(bytes[start]);
  if (lead < 0x80) {
    *pos = start + 1;
    return lead;
  }
  int length = 0;
  char32_t c = 0;
  if (lead >= 0xC0 && lead < 0xE0) {
    length = 2;
    c = lead & 0x1F;
  } else if (lead >= 0xE0 && lead < 0xF0) {
    length = 3;
    c = lead & 0x0F;
  } else if (lead >= 0xF0 && lead < 0xF5) {
    length = 4;
    c = lead & 0x07;
  } else if (lead < 0xC0) {
    fail(source, start, "unexpected continuation byte " + hex_byte(lead) + " (no lead byte)");
  } else {
    fail(source, start, "invalid lead byte " + hex_byte(lead));
  }
  for (int i = 1; i < length; ++i) {
    if (start + i >= bytes.size()) {
      fail(source, start,
           "truncated " + std::to_string(length) + "-byte sequence (input ends after " +
               std::to_string(i) + " byte" + (i == 1 ? "" : "s") + ")");
    }
    const auto b = static_cast<unsigned char>(bytes[start + i]);
    if ((b & 0xC0) != 0x80) {
      fail(source, start,
           "truncated " + std::to_string(length) + "-byte sequence (byte " + std::to_string(i) +
               " is " + hex_byte(b) + ", expected a continuation byte 0x80..0xBF)");
    }
    c = (c << 6) | (b & 0x3F);
  }
  static constexpr char32_t kMinimum[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (c < kMinimum[length]) {
    fail(source, start,
         "overlong " + std::to_string(length) + "-byte sequence for " + hex_code_point(c));
  }
  if (c >= 0xD800 && c <= 0xDFFF) fail(source, start, "surrogate " + hex_code_point(c));
  if (c > 0x10FFFF) fail(source, start, "code point " + hex_code_point(c) + " above U+10FFFF");
  *pos = start + length;
  return c;
}

void validate_utf8(std::string_view bytes, const std::string& source) {
  size_t pos = 0;
  while (pos < bytes.size()) {
    if (static_cast<unsigned char>(bytes[pos]) < 0x80) {
      ++pos;
    } else {
      next_code_point(bytes, &pos, source);
    }
  }
}

size_t count_code_points(std::string_view valid_utf8) {
  size_t n = 0;
  for (char b : valid_utf8) n += (static_cast<unsigned char>(b) & 0xC0) != 0x80;
  return n;
}

size_t display_width(std::string_view valid_utf8) {
  size_t columns = 0;
  for (size_t pos = 0; pos < valid_utf8.size();) {
    const char32_t cp = next_code_point(valid_utf8, &pos, "display_width");
    const bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) ||
                      (cp >= 0x3041 && cp <= 0xA4CF) || (cp >= 0xAC00 && cp <= 0xD7A3) ||
                      (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F) ||
                      (cp >= 0xFF00 && cp <= 0xFF60) || (cp >= 0xFFE0 && cp <= 0xFFE6) ||
                      (cp >= 0x20000 && cp <= 0x3FFFD);
    columns += wide ? 2 : 1;
  }
  return columns;
}

}  // namespace detail

std::u32string decode_utf8(std::string_view bytes, const std::string& source) {
  std::u32string text;
  text.reserve(bytes.size());
  size_t pos = 0;
  while (pos < bytes.size()) text.push_back(detail::next_code_point(bytes, &pos, source));
  return text;
}

namespace {

void append_utf8(char32_t code_point, std::string* out) {
  const uint32_t c = code_point;
  RECUR_CHECK(c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF),
              "encode_utf8: expected a Unicode scalar value (U+0000..U+10FFFF, no surrogates), "
              "found " +
                  detail::hex_code_point(code_point));
  if (c < 0x80) {
    *out += static_cast<char>(c);
  } else if (c < 0x800) {
    *out += static_cast<char>(0xC0 | (c >> 6));
    *out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    *out += static_cast<char>(0xE0 | (c >> 12));
    *out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (c >> 18));
    *out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

}  // namespace

std::string encode_utf8(char32_t code_point) {
  std::string out;
  append_utf8(code_point, &out);
  return out;
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) append_utf8(c, &out);
  return out;
}

std::vector<std::string> split_chars(std::string_view utf8, const std::string& source) {
  std::vector<std::string> chars;
  size_t pos = 0;
  while (pos < utf8.size()) {
    const size_t start = pos;
    detail::next_code_point(utf8, &pos, source);
    chars.emplace_back(utf8.substr(start, pos - start));
  }
  return chars;
}

}  // namespace recur::data
