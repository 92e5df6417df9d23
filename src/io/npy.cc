// .npy reading and writing (NumPy format versions 1.0, 2.0 and 3.0) for float32 ('<f4') and int64
// ('<i8') arrays in C order; int32 ('<i4') is widened to int64 on load. The header, a Python dict
// literal, is read by a small recursive-descent parser. Files are written as version 1.0.
// Leaves out: other dtypes, big-endian data, Fortran order, structured and object dtypes, .npz.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "io/file.h"
#include "recur/error.h"
#include "recur/io.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "recur reads and writes little-endian files by copying memory; port this file first"
#endif

namespace recur {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicBytes = 6;
constexpr int kMaxNesting = 32;

// Printable ASCII as is, anything else as \xHH.
std::string escaped(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[5];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

// A Python literal from the header: the subset that numpy writes.
struct PyValue {
  enum class Kind { kString, kBool, kNone, kInt, kTuple, kList };
  Kind kind = Kind::kNone;
  std::string text;  // kString
  bool boolean = false;
  int64_t integer = 0;
  std::vector<PyValue> items;  // kTuple, kList
};

class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& where) : text_(text), where_(where) {}

  // The whole header: one dict with string keys, then only whitespace.
  std::map<std::string, PyValue> parse() {
    std::map<std::string, PyValue> dict;
    skip_space();
    expect('{');
    skip_space();
    while (!consume('}')) {
      std::string key = parse_string();
      skip_space();
      expect(':');
      dict[key] = parse_value(0);
      skip_space();
      if (!consume(',')) {
        expect('}');
        break;
      }
      skip_space();
    }
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text after the dict");
    return dict;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw_error(where_ + "malformed header: " + what + " at offset " + std::to_string(pos_) +
                " of \"" + escaped(text_) + "\"");
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\r' || text_[pos_] == '\n')) {
      ++pos_;
    }
  }

  bool consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  void expect(char c) {
    if (!consume(c)) fail(std::string("expected '") + c + "'");
  }

  std::string parse_string() {
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
      fail("expected a quoted string");
    }
    const char quote = text_[pos_++];
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
      out += text_[pos_++];
    }
    if (pos_ >= text_.size()) fail("unterminated string");
    ++pos_;
    return out;
  }

  int64_t parse_int() {
    const bool negative = consume('-');
    if (!negative) consume('+');
    if (pos_ >= text_.size() || text_[pos_] < '0' || text_[pos_] > '9') fail("expected a digit");
    uint64_t magnitude = 0;
    const uint64_t limit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      magnitude = magnitude * 10 + static_cast<uint64_t>(text_[pos_++] - '0');
      if (magnitude > limit) fail("integer out of range");
    }
    if (!consume('L')) consume('l');  // Python 2 longs, as old numpy wrote them
    const int64_t value = static_cast<int64_t>(magnitude);
    return negative ? -value : value;
  }

  PyValue parse_sequence(char close, PyValue::Kind kind, int depth) {
    PyValue value;
    value.kind = kind;
    skip_space();
    while (!consume(close)) {
      value.items.push_back(parse_value(depth + 1));
      skip_space();
      if (!consume(',')) {
        expect(close);
        break;
      }
      skip_space();
    }
    return value;
  }

  PyValue parse_value(int depth) {
    if (depth > kMaxNesting) fail("values nested too deeply");
    skip_space();
    PyValue value;
    if (pos_ >= text_.size()) fail("expected a value");
    const char c = text_[pos_];
    if (c == '\'' || c == '"') {
      value.kind = PyValue::Kind::kString;
      value.text = parse_string();
    } else if (c == '(') {
      ++pos_;
      value = parse_sequence(')', PyValue::Kind::kTuple, depth);
    } else if (c == '[') {
      ++pos_;
      value = parse_sequence(']', PyValue::Kind::kList, depth);
    } else if (c == '-' || c == '+' || (c >= '0' && c <= '9')) {
      value.kind = PyValue::Kind::kInt;
      value.integer = parse_int();
    } else if (text_.compare(pos_, 4, "True") == 0 || text_.compare(pos_, 5, "False") == 0) {
      value.kind = PyValue::Kind::kBool;
      value.boolean = c == 'T';
      pos_ += value.boolean ? 4 : 5;
    } else if (text_.compare(pos_, 4, "None") == 0) {
      pos_ += 4;
    } else {
      fail(std::string("unexpected character '") + escaped(std::string(1, c)) + "'");
    }
    return value;
  }

  const std::string& text_;
  const std::string& where_;
  size_t pos_ = 0;
};

// The element types recur reads, by their little-endian descr.
enum class Element { kFloat32, kInt64, kInt32 };

struct Header {
  std::string descr;  // as written in the file
  Element element = Element::kFloat32;
  Shape shape;
  uint64_t data_bytes = 0;  // numel * item size
};

// "float32 (<f4)" for the descrs numpy writes; the raw descr for anything else.
std::string describe(const std::string& descr) {
  if (descr.size() >= 3 && descr.size() <= 4 &&
      std::string("<>|=").find(descr[0]) != std::string::npos) {
    const std::string digits = descr.substr(2);
    const bool numeric = digits.find_first_not_of("0123456789") == std::string::npos;
    const std::string bits = numeric ? std::to_string(std::stoi(digits) * 8) : "";
    std::string name;
    if (numeric && descr[1] == 'f') name = "float" + bits;
    if (numeric && descr[1] == 'i') name = "int" + bits;
    if (numeric && descr[1] == 'u') name = "uint" + bits;
    if (descr == "|b1") name = "bool";
    if (!name.empty()) return name + " (" + descr + ")";
  }
  return "'" + escaped(descr) + "'";
}

const char* const kSupported = "float32 (<f4), int64 (<i8) or int32 (<i4)";

// Reads the magic, version and header dict; leaves `in` at the start of the data.
Header read_header(std::ifstream& in, uint64_t file_bytes, const std::string& where) {
  std::string preamble(std::min<uint64_t>(file_bytes, kMagicBytes + 2), '\0');
  io::read_exact(in, preamble.data(), preamble.size(), where);
  RECUR_CHECK(preamble.size() == kMagicBytes + 2 && preamble.compare(0, kMagicBytes, kMagic) == 0,
              where +
                  "not a .npy file: expected it to start with \\x93NUMPY and a version, found \"" +
                  escaped(preamble) + "\"");
  const int major = static_cast<unsigned char>(preamble[6]);
  const int minor = static_cast<unsigned char>(preamble[7]);
  RECUR_CHECK(major >= 1 && major <= 3, where + "unsupported .npy version " +
                                            std::to_string(major) + "." + std::to_string(minor) +
                                            "; recur reads versions 1.0, 2.0 and 3.0");
  const uint64_t length_field = major == 1 ? 2 : 4;
  RECUR_CHECK(file_bytes >= kMagicBytes + 2 + length_field,
              where + "truncated header: file is " + std::to_string(file_bytes) +
                  " bytes, too short for the header length field");
  unsigned char length_bytes[4] = {0, 0, 0, 0};
  io::read_exact(in, reinterpret_cast<char*>(length_bytes), length_field, where);
  uint64_t header_bytes = 0;
  for (int i = static_cast<int>(length_field) - 1; i >= 0; --i) {
    header_bytes = (header_bytes << 8) | length_bytes[i];
  }
  const uint64_t data_start = kMagicBytes + 2 + length_field + header_bytes;
  RECUR_CHECK(data_start <= file_bytes,
              where + "truncated header: header length is " + std::to_string(header_bytes) +
                  " bytes, but only " +
                  std::to_string(file_bytes - (kMagicBytes + 2 + length_field)) + " bytes follow");
  std::string text(header_bytes, '\0');
  io::read_exact(in, text.data(), header_bytes, where);
  std::map<std::string, PyValue> dict = HeaderParser(text, where).parse();

  auto descr = dict.find("descr");
  auto fortran_order = dict.find("fortran_order");
  auto shape = dict.find("shape");
  RECUR_CHECK(descr != dict.end() && fortran_order != dict.end() && shape != dict.end(),
              where +
                  "malformed header: expected keys 'descr', 'fortran_order' and 'shape', "
                  "found \"" +
                  escaped(text) + "\"");
  RECUR_CHECK(descr->second.kind == PyValue::Kind::kString,
              where + "structured dtypes are not supported; expected " + kSupported);
  RECUR_CHECK(fortran_order->second.kind == PyValue::Kind::kBool,
              where + "malformed header: 'fortran_order' must be True or False");
  RECUR_CHECK(!fortran_order->second.boolean,
              where +
                  "only C order is supported, found fortran_order: True "
                  "(save np.ascontiguousarray(a) instead)");
  RECUR_CHECK(shape->second.kind == PyValue::Kind::kTuple,
              where + "malformed header: 'shape' must be a tuple of integers");

  Header header;
  header.descr = descr->second.text;
  for (const PyValue& dim : shape->second.items) {
    RECUR_CHECK(dim.kind == PyValue::Kind::kInt && dim.integer >= 0,
                where + "malformed header: 'shape' must hold non-negative integers, found \"" +
                    escaped(text) + "\"");
    header.shape.push_back(dim.integer);
  }

  std::string little = header.descr;
  if (!little.empty() && little[0] == '=') little[0] = '<';
  RECUR_CHECK(little.empty() || little[0] != '>',
              where + "big-endian data is not supported, found " + describe(header.descr) +
                  "; save it little-endian ('<f4', '<i8')");
  size_t item_bytes = 0;
  if (little == "<f4") {
    header.element = Element::kFloat32;
    item_bytes = 4;
  } else if (little == "<i8") {
    header.element = Element::kInt64;
    item_bytes = 8;
  } else if (little == "<i4") {
    header.element = Element::kInt32;
    item_bytes = 4;
  } else {
    throw_error(where + "unsupported dtype " + describe(header.descr) + "; recur reads " +
                kSupported);
  }

  int64_t numel = 1;
  for (int64_t d : header.shape) {
    RECUR_CHECK(d == 0 || numel <= std::numeric_limits<int64_t>::max() / 8 / d,
                where + "shape " + shape_string(header.shape) + " is too large");
    numel *= d;
  }
  header.data_bytes = static_cast<uint64_t>(numel) * item_bytes;
  const uint64_t found = file_bytes - data_start;
  RECUR_CHECK(found >= header.data_bytes,
              where + "truncated data: shape " + shape_string(header.shape) + " of " +
                  describe(header.descr) + " needs " + std::to_string(header.data_bytes) +
                  " bytes, found " + std::to_string(found));
  RECUR_CHECK(found == header.data_bytes,
              where + "unexpected bytes after the data: shape " + shape_string(header.shape) +
                  " of " + describe(header.descr) + " needs " + std::to_string(header.data_bytes) +
                  " bytes, found " + std::to_string(found));
  return header;
}

Tensor read_float32(std::ifstream& in, const Header& header, const std::string& where) {
  Tensor tensor(header.shape);
  io::read_exact(in, reinterpret_cast<char*>(tensor.data()), header.data_bytes, where);
  return tensor;
}

std::vector<int64_t> read_integers(std::ifstream& in, const Header& header,
                                   const std::string& where) {
  if (header.element == Element::kInt64) {
    std::vector<int64_t> values(header.data_bytes / sizeof(int64_t));
    io::read_exact(in, reinterpret_cast<char*>(values.data()), header.data_bytes, where);
    return values;
  }
  std::vector<int32_t> narrow(header.data_bytes / sizeof(int32_t));
  io::read_exact(in, reinterpret_cast<char*>(narrow.data()), header.data_bytes, where);
  return std::vector<int64_t>(narrow.begin(), narrow.end());
}

// "()", "(5,)", "(3, 4)": the shape as Python writes a tuple.
std::string python_tuple(const Shape& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + (shape.size() == 1 ? ",)" : ")");
}

void write_npy(const std::string& path, const std::string& where, const char* descr,
               const Shape& shape, const void* data, uint64_t data_bytes) {
  std::string header = std::string("{'descr': '") + descr +
                       "', 'fortran_order': False, 'shape': " + python_tuple(shape) + ", }";
  // Magic, version and the 2-byte length come first; the total is padded to 64 bytes with '\n'.
  const size_t unpadded = kMagicBytes + 2 + 2 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  RECUR_CHECK(header.size() <= 0xffff, where + "shape " + shape_string(shape) +
                                           " has too many dimensions for a version 1.0 header");
  io::write_atomically(path, where, [&](std::ostream& out) {
    out.write(kMagic, kMagicBytes);
    const char version_and_length[4] = {1, 0, static_cast<char>(header.size() & 0xff),
                                        static_cast<char>(header.size() >> 8)};
    out.write(version_and_length, 4);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    if (data_bytes) {
      out.write(static_cast<const char*>(data), static_cast<std::streamsize>(data_bytes));
    }
  });
}

}  // namespace

NpyArray load_npy(const std::string& path) {
  const std::string where = path + ": ";
  uint64_t file_bytes = 0;
  std::ifstream in = io::open_input(path, where, &file_bytes);
  const Header header = read_header(in, file_bytes, where);
  NpyArray array;
  array.shape = header.shape;
  if (header.element == Element::kFloat32) {
    array.dtype = NpyArray::Dtype::kFloat32;
    array.f32.resize(header.data_bytes / sizeof(float));
    io::read_exact(in, reinterpret_cast<char*>(array.f32.data()), header.data_bytes, where);
  } else {
    array.dtype = NpyArray::Dtype::kInt64;
    array.i64 = read_integers(in, header, where);
  }
  return array;
}

Tensor load_npy_tensor(const std::string& path) {
  const std::string where = path + ": ";
  uint64_t file_bytes = 0;
  std::ifstream in = io::open_input(path, where, &file_bytes);
  const Header header = read_header(in, file_bytes, where);
  RECUR_CHECK(header.element == Element::kFloat32,
              where + "expected float32 (<f4), found " + describe(header.descr));
  return read_float32(in, header, where);
}

std::vector<int64_t> load_npy_int64(const std::string& path, Shape* shape) {
  const std::string where = path + ": ";
  uint64_t file_bytes = 0;
  std::ifstream in = io::open_input(path, where, &file_bytes);
  const Header header = read_header(in, file_bytes, where);
  RECUR_CHECK(header.element != Element::kFloat32,
              where + "expected int64 (<i8) or int32 (<i4), found " + describe(header.descr));
  if (shape) *shape = header.shape;
  return read_integers(in, header, where);
}

void save_npy(const std::string& path, const Tensor& tensor) {
  const std::string where = path + ": ";
  RECUR_CHECK(tensor.defined(), where + "cannot save an undefined tensor");
  write_npy(path, where, "<f4", tensor.shape(), tensor.data(),
            static_cast<uint64_t>(tensor.numel()) * sizeof(float));
}

void save_npy_int64(const std::string& path, const std::vector<int64_t>& values,
                    const Shape& shape) {
  const std::string where = path + ": ";
  const int64_t numel = shape_numel(shape);
  RECUR_CHECK(static_cast<int64_t>(values.size()) == numel,
              where + "shape " + shape_string(shape) + " needs " + std::to_string(numel) +
                  " values, but " + std::to_string(values.size()) + " were given");
  write_npy(path, where, "<i8", shape, values.data(), values.size() * sizeof(int64_t));
}

}  // namespace recur
