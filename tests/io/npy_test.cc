// Tests for the .npy reader and writer: round trips, the exact header written, hand-built version
// 1.0, 2.0 and 3.0 files in the styles numpy has written (tests must not need Python), and every
// validation error. Leaves out: very large arrays.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "common/throws_error.h"
#include "io/temp_files.h"
#include "recur/error.h"
#include "recur/io.h"

namespace recur {
namespace {

using io_test::read_bytes;
using io_test::temp_dir;
using io_test::temp_path;
using io_test::write_bytes;
using Npy = io_test::TempDirTest;

template <typename T>
std::string raw_bytes(const std::vector<T>& values) {
  std::string out(values.size() * sizeof(T), '\0');
  if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// A .npy file: magic, version, a 2-byte (version 1) or 4-byte length, `header` as given, `data`.
std::string npy_bytes(int major, const std::string& header, const std::string& data) {
  std::string out = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
  const int length_bytes = major == 1 ? 2 : 4;
  for (int i = 0; i < length_bytes; ++i) {
    out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  }
  return out + header + data;
}

::testing::AssertionResult throws_error_containing(const std::function<void()>& body,
                                                   const std::string& substring) {
  return recur::testing::ThrowsError(body, {substring});
}

// The load_npy error for a file holding `bytes`.
::testing::AssertionResult load_fails_with(const std::string& bytes, const std::string& substring) {
  const std::string path = temp_path("bad.npy");
  write_bytes(path, bytes);
  return throws_error_containing([&] { load_npy(path); }, substring);
}

const std::string kF4_3x4 = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";

TEST_F(Npy, RoundTripsFloat32Shapes) {
  const std::vector<Shape> shapes = {{}, {5}, {3, 4}, {2, 0, 3}, {2, 3, 4}, {1, 1, 1, 7}};
  for (const Shape& shape : shapes) {
    SCOPED_TRACE(shape_string(shape));
    Tensor tensor(shape);
    for (int64_t i = 0; i < tensor.numel(); ++i) tensor[i] = 0.5f * static_cast<float>(i) - 3.0f;
    const std::string path = temp_path("f32.npy");
    save_npy(path, tensor);
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

    Tensor loaded = load_npy_tensor(path);
    ASSERT_EQ(loaded.shape(), shape);
    EXPECT_EQ(loaded.to_vector(), tensor.to_vector());

    NpyArray array = load_npy(path);
    EXPECT_EQ(array.dtype, NpyArray::Dtype::kFloat32);
    EXPECT_EQ(array.shape, shape);
    EXPECT_EQ(array.f32, tensor.to_vector());
    EXPECT_TRUE(array.i64.empty());
  }
}

TEST_F(Npy, RoundTripsInt64) {
  const std::vector<int64_t> values = {0,
                                       -1,
                                       42,
                                       std::numeric_limits<int64_t>::min(),
                                       std::numeric_limits<int64_t>::max(),
                                       int64_t{1} << 40};
  const std::string path = temp_path("i64.npy");
  save_npy_int64(path, values, {2, 3});
  Shape shape;
  EXPECT_EQ(load_npy_int64(path, &shape), values);
  EXPECT_EQ(shape, (Shape{2, 3}));
  NpyArray array = load_npy(path);
  EXPECT_EQ(array.dtype, NpyArray::Dtype::kInt64);
  EXPECT_EQ(array.shape, (Shape{2, 3}));
  EXPECT_EQ(array.i64, values);
  EXPECT_TRUE(array.f32.empty());

  save_npy_int64(path, {7}, {});
  EXPECT_EQ(load_npy_int64(path, &shape), std::vector<int64_t>{7});
  EXPECT_EQ(shape, Shape{});
  save_npy_int64(path, {}, {0});
  EXPECT_TRUE(load_npy_int64(path, &shape).empty());
  EXPECT_EQ(shape, Shape{0});
  EXPECT_EQ(load_npy_int64(path), std::vector<int64_t>{});
}

TEST_F(Npy, WritesAVersion1HeaderPaddedTo64Bytes) {
  struct Case {
    Shape shape;
    bool int64;
    std::string dict;
  };
  const std::vector<Case> cases = {
      {{3, 4}, false, kF4_3x4},
      {{5}, false, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }"},
      {{}, false, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }"},
      {{2, 1}, true, "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 1), }"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.dict);
    const std::string path = temp_path("layout.npy");
    std::string data;
    if (c.int64) {
      const std::vector<int64_t> values(shape_numel(c.shape), -5);
      save_npy_int64(path, values, c.shape);
      data = raw_bytes(values);
    } else {
      Tensor tensor = Tensor::full(c.shape, 1.5f);
      save_npy(path, tensor);
      data = raw_bytes(tensor.to_vector());
    }
    const std::string bytes = read_bytes(path);
    ASSERT_GE(bytes.size(), 10u);
    EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
    const size_t header_bytes = static_cast<unsigned char>(bytes[8]) |
                                (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    EXPECT_EQ((10 + header_bytes) % 64, 0u);
    ASSERT_EQ(bytes.size(), 10 + header_bytes + data.size());
    const std::string header = bytes.substr(10, header_bytes);
    EXPECT_EQ(header.substr(0, c.dict.size()), c.dict);
    EXPECT_EQ(header.back(), '\n');
    EXPECT_EQ(header.find_first_not_of(' ', c.dict.size()), header_bytes - 1);
    EXPECT_EQ(bytes.substr(10 + header_bytes), data);
  }
}

TEST_F(Npy, ReadsVersion2And3HeadersInOtherStyles) {
  // Double quotes, other key order, no trailing comma, loose whitespace, no padding.
  const std::string v2 = "{\"shape\": ( 2 , 3 ) , \"fortran_order\": False,\"descr\":\"<f4\"}";
  const std::vector<float> values = {1, 2, 3, 4, 5, 6};
  const std::string path = temp_path("v2.npy");
  write_bytes(path, npy_bytes(2, v2, raw_bytes(values)));
  Tensor loaded = load_npy_tensor(path);
  EXPECT_EQ(loaded.shape(), (Shape{2, 3}));
  EXPECT_EQ(loaded.to_vector(), values);

  const std::string v3 =
      "{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }" + std::string(40, ' ') + "\n";
  const std::vector<int64_t> ints = {-3, 0, 3, 9};
  write_bytes(path, npy_bytes(3, v3, raw_bytes(ints)));
  Shape shape;
  EXPECT_EQ(load_npy_int64(path, &shape), ints);
  EXPECT_EQ(shape, Shape{4});
}

TEST_F(Npy, WidensInt32AndReadsPython2Longs) {
  const std::string header = "{'descr': '<i4', 'fortran_order': False, 'shape': (2L, 2L), }\n";
  const std::vector<int32_t> narrow = {-7, 2147483647, -2147483647 - 1, 0};
  const std::string path = temp_path("i4.npy");
  write_bytes(path, npy_bytes(1, header, raw_bytes(narrow)));
  Shape shape;
  EXPECT_EQ(load_npy_int64(path, &shape), std::vector<int64_t>(narrow.begin(), narrow.end()));
  EXPECT_EQ(shape, (Shape{2, 2}));
  NpyArray array = load_npy(path);
  EXPECT_EQ(array.dtype, NpyArray::Dtype::kInt64);
  EXPECT_EQ(array.i64, std::vector<int64_t>(narrow.begin(), narrow.end()));
}

TEST_F(Npy, RejectsMissingFilesAndBadPreambles) {
  const std::string missing = temp_path("missing.npy");
  EXPECT_TRUE(throws_error_containing([&] { load_npy(missing); }, missing + ": cannot open"));
  EXPECT_TRUE(load_fails_with("", "not a .npy file"));
  EXPECT_TRUE(load_fails_with(std::string("PK\x03\x04\x14\x00\x00\x00", 8),
                              "not a .npy file: expected it to start with \\x93NUMPY and a "
                              "version, found \"PK\\x03\\x04\\x14\\x00\\x00\\x00\""));
  EXPECT_TRUE(
      load_fails_with(npy_bytes(4, kF4_3x4, std::string(48, '\0')),
                      "unsupported .npy version 4.0; recur reads versions 1.0, 2.0 and 3.0"));
  EXPECT_TRUE(load_fails_with(std::string("\x93NUMPY\x01\x00\x46", 9),
                              "truncated header: file is 9 bytes"));
  EXPECT_TRUE(load_fails_with(std::string("\x93NUMPY\x02\x00\x46\x00\x00", 11),
                              "truncated header: file is 11 bytes"));
}

TEST_F(Npy, RejectsTruncatedHeadersAndData) {
  const std::string full = npy_bytes(1, kF4_3x4, std::string(48, '\0'));
  EXPECT_TRUE(load_fails_with(full.substr(0, 10 + 20), "truncated header: header length is " +
                                                           std::to_string(kF4_3x4.size()) +
                                                           " bytes, but only 20 bytes"));
  EXPECT_TRUE(load_fails_with(full.substr(0, full.size() - 8),
                              "truncated data: shape [3, 4] of float32 (<f4) needs 48 bytes, "
                              "found 40"));
  EXPECT_TRUE(load_fails_with(full + "junk",
                              "unexpected bytes after the data: shape [3, 4] of "
                              "float32 (<f4) needs 48 bytes, found 52"));
  EXPECT_TRUE(load_fails_with(
      npy_bytes(2, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", "abc"),
      "truncated data: shape [3] of int64 (<i8) needs 24 bytes, found 3"));
}

TEST_F(Npy, RejectsUnsupportedLayoutsAndDtypes) {
  const std::string data(48, '\0');
  EXPECT_TRUE(load_fails_with(
      npy_bytes(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 4), }", data),
      "only C order is supported, found fortran_order: True"));
  EXPECT_TRUE(load_fails_with(
      npy_bytes(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (3, 4), }", data),
      "big-endian data is not supported, found float32 (>f4)"));
  EXPECT_TRUE(load_fails_with(
      npy_bytes(1, "{'descr': '>i8', 'fortran_order': False, 'shape': (6,), }", data),
      "big-endian data is not supported, found int64 (>i8)"));
  EXPECT_TRUE(load_fails_with(
      npy_bytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }", data),
      "unsupported dtype float64 (<f8); recur reads float32 (<f4), int64 (<i8) or int32 (<i4)"));
  EXPECT_TRUE(load_fails_with(
      npy_bytes(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (48,), }", data),
      "unsupported dtype uint8 (|u1)"));
  EXPECT_TRUE(load_fails_with(
      npy_bytes(1, "{'descr': '|O', 'fortran_order': False, 'shape': (6,), }", data),
      "unsupported dtype '|O'"));
  EXPECT_TRUE(load_fails_with(
      npy_bytes(1,
                "{'descr': [('a', '<f4'), ('b', '<i8', (2,))], 'fortran_order': False, "
                "'shape': (2,), }",
                data),
      "structured dtypes are not supported"));
}

TEST_F(Npy, LoadersRejectTheOtherDtype) {
  const std::string ints = temp_path("X.npy");
  save_npy_int64(ints, {1, 2, 3}, {3});
  try {
    load_npy_tensor(ints);
    ADD_FAILURE() << "no recur::Error thrown";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), ints + ": expected float32 (<f4), found int64 (<i8)");
  }
  const std::string floats = temp_path("Y.npy");
  save_npy(floats, Tensor({3}));
  EXPECT_TRUE(throws_error_containing([&] { load_npy_int64(floats); },
                                      floats + ": expected int64 (<i8) or int32 (<i4), found "
                                               "float32 (<f4)"));
}

TEST_F(Npy, RejectsMalformedHeaderDicts) {
  const std::string data(48, '\0');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{'descr': '<f4', 'shape': (3, 4), }", "expected keys 'descr', 'fortran_order' and 'shape'"},
      {"'descr': '<f4'", "malformed header: expected '{' at offset 0"},
      {"{'descr': '<f4, 'fortran_order': False, 'shape': (3, 4)}", "malformed header"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4}", "expected ')'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4)", "expected '}'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3.0, 4), }", "expected ')'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } x",
       "unexpected text after the dict"},
      {"{'descr': '<f4', 'fortran_order': Nope, 'shape': (3, 4), }", "unexpected character 'N'"},
      {"{'descr': '<f4', 'fortran_order': 0, 'shape': (3, 4), }",
       "'fortran_order' must be True or False"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': [3, 4], }",
       "'shape' must be a tuple of integers"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-3, 4), }",
       "'shape' must hold non-negative integers"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
       "integer out of range"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
       "shape [4294967296, 4294967296] is too large"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': " + std::string(100, '(') +
           std::string(100, ')') + "}",
       "values nested too deeply"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), 'descr", "unterminated string"},
  };
  for (const auto& [header, message] : cases) {
    SCOPED_TRACE(header);
    EXPECT_TRUE(load_fails_with(npy_bytes(1, header, data), message));
  }
}

TEST_F(Npy, SaveRejectsBadInputWithoutLeavingFiles) {
  const std::string path = temp_path("bad_save.npy");
  EXPECT_TRUE(throws_error_containing(
      [&] {
        save_npy_int64(path, {1, 2, 3, 4, 5}, {2, 3});
      },
      "shape [2, 3] needs 6 values, but 5 were given"));
  EXPECT_TRUE(throws_error_containing([&] { save_npy(path, Tensor()); },
                                      "cannot save an undefined tensor"));
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  const std::string no_dir = temp_path("no_such_dir/out.npy");
  EXPECT_TRUE(throws_error_containing([&] { save_npy(no_dir, Tensor({2})); },
                                      "cannot open '" + no_dir + ".tmp' for writing"));

  const std::string dir = temp_path("is_a_dir");
  std::filesystem::create_directories(dir + "/child");
  EXPECT_TRUE(throws_error_containing([&] { save_npy(dir, Tensor({2})); }, "cannot rename"));
  EXPECT_FALSE(std::filesystem::exists(dir + ".tmp"));
}

}  // namespace
}  // namespace recur
