// Tests for load_safetensors / save_safetensors: round trips, the exact bytes written, files laid
// out as Python's safetensors writes them (built by hand here: tests must not need Python), and
// every validation error. Leaves out: very large files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
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
using Safetensors = io_test::TempDirTest;

std::string u64_le(uint64_t value) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  return out;
}

std::string f32_bytes(const std::vector<float>& values) {
  std::string out(values.size() * sizeof(float), '\0');
  if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// A safetensors file: the length field, `header` as given (unpadded unless the caller pads it),
// then `data`.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  return u64_le(header.size()) + header + data;
}

::testing::AssertionResult throws_error_containing(const std::function<void()>& body,
                                                   const std::string& substring) {
  return recur::testing::ThrowsError(body, {substring});
}

// The load error for a file holding `bytes`.
::testing::AssertionResult load_fails_with(const std::string& bytes, const std::string& substring) {
  const std::string path = temp_path("bad.safetensors");
  write_bytes(path, bytes);
  return throws_error_containing([&] { load_safetensors(path); }, substring);
}

void expect_bitwise_equal(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  ASSERT_EQ(a.numel(), b.numel());
  if (a.numel() > 0) {
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.numel() * sizeof(float)), 0);
  }
}

Tensor iota(Shape shape, float start) {
  Tensor t(std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = start + 0.25f * static_cast<float>(i);
  return t;
}

TEST_F(Safetensors, RoundTripsShapesValuesAndUnicodeMetadata) {
  SafeTensors file;
  file.tensors["scalar"] = Tensor({}, {-3.5f});
  file.tensors["vector"] = iota({5}, 1.0f);
  file.tensors["weight_ih_l0"] = iota({4, 3, 2}, -2.0f);
  file.tensors["empty"] = Tensor({0, 3});
  file.tensors["special"] = Tensor(
      {5}, {-0.0f, std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
            std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max()});
  file.metadata["format"] = "pt";
  file.metadata["note"] = "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80";  // héllo ✓ 😀
  file.metadata["empty"] = "";
  const std::string path = temp_path("model.safetensors");
  save_safetensors(path, file);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  SafeTensors loaded = load_safetensors(path);
  EXPECT_EQ(loaded.metadata, file.metadata);
  ASSERT_EQ(loaded.tensors.size(), file.tensors.size());
  for (const auto& [name, tensor] : file.tensors) {
    SCOPED_TRACE(name);
    ASSERT_EQ(loaded.tensors.count(name), 1u);
    expect_bitwise_equal(loaded.tensors.at(name), tensor);
  }
  EXPECT_EQ(loaded.tensors.at("scalar").dim(), 0);
  EXPECT_EQ(loaded.tensors.at("scalar").numel(), 1);
}

TEST_F(Safetensors, RoundTripsWithoutMetadataAndWithoutTensors) {
  SafeTensors file;
  file.tensors["a"] = iota({2, 2}, 0.0f);
  const std::string path = temp_path("plain.safetensors");
  save_safetensors(path, file);
  EXPECT_EQ(read_bytes(path).find("__metadata__"), std::string::npos);
  SafeTensors loaded = load_safetensors(path);
  EXPECT_TRUE(loaded.metadata.empty());
  expect_bitwise_equal(loaded.tensors.at("a"), file.tensors.at("a"));

  save_safetensors(path, SafeTensors{});
  loaded = load_safetensors(path);
  EXPECT_TRUE(loaded.tensors.empty());
  EXPECT_TRUE(loaded.metadata.empty());
}

TEST_F(Safetensors, WritesTheReferenceLayout) {
  SafeTensors file;
  file.tensors["b"] = Tensor({}, {2.0f});
  file.tensors["a"] = Tensor({1, 2}, {1.0f, -1.0f});
  file.metadata["format"] = "pt";
  const std::string path = temp_path("layout.safetensors");
  save_safetensors(path, file);

  const std::string json =
      "{\"__metadata__\":{\"format\":\"pt\"},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[8,12]}}";
  std::string header = json;
  header.append((8 - header.size() % 8) % 8, ' ');
  ASSERT_NE(header.size(), json.size()) << "pick names that make padding necessary";
  EXPECT_EQ(read_bytes(path), safetensors_bytes(header, f32_bytes({1.0f, -1.0f, 2.0f})));
}

TEST_F(Safetensors, ReadsAnUnpaddedPythonStyleHeader) {
  // Field order, whitespace and an unpadded length as other writers may produce them.
  const std::string header =
      "{\"w\": {\"data_offsets\": [8, 32], \"shape\": [2, 3], \"dtype\": \"F32\"}, "
      "\"__metadata__\": {\"format\": \"pt\"}, "
      "\"bias\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}";
  ASSERT_NE(header.size() % 8, 0u);
  const std::vector<float> bias = {0.5f, -0.5f};
  const std::vector<float> w = {1, 2, 3, 4, 5, 6};
  const std::string path = temp_path("python.safetensors");
  write_bytes(path, safetensors_bytes(header, f32_bytes(bias) + f32_bytes(w)));

  SafeTensors loaded = load_safetensors(path);
  EXPECT_EQ(loaded.metadata, (std::map<std::string, std::string>{{"format", "pt"}}));
  expect_bitwise_equal(loaded.tensors.at("bias"), Tensor({2}, bias));
  expect_bitwise_equal(loaded.tensors.at("w"), Tensor({2, 3}, w));
}

TEST_F(Safetensors, AcceptsOverlappingOffsetsAndNullMetadata) {
  const std::string header =
      "{\"__metadata__\":null,"
      "\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"y\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[4,8]}}";
  const std::string path = temp_path("overlap.safetensors");
  write_bytes(path, safetensors_bytes(header, f32_bytes({7.0f, 9.0f})));
  SafeTensors loaded = load_safetensors(path);
  EXPECT_TRUE(loaded.metadata.empty());
  expect_bitwise_equal(loaded.tensors.at("x"), Tensor({2}, {7.0f, 9.0f}));
  expect_bitwise_equal(loaded.tensors.at("y"), Tensor({}, {9.0f}));
}

TEST_F(Safetensors, OverwritesAnExistingFile) {
  const std::string path = temp_path("overwrite.safetensors");
  write_bytes(path, "old contents");
  SafeTensors file;
  file.tensors["x"] = iota({3}, 1.0f);
  save_safetensors(path, file);
  expect_bitwise_equal(load_safetensors(path).tensors.at("x"), file.tensors.at("x"));
}

TEST_F(Safetensors, RejectsMissingAndShortFiles) {
  const std::string missing = temp_path("missing.safetensors");
  EXPECT_TRUE(throws_error_containing([&] { load_safetensors(missing); },
                                      missing + ": safetensors: cannot open"));
  EXPECT_TRUE(throws_error_containing([&] { load_safetensors(::testing::TempDir()); },
                                      "not a regular file"));
  EXPECT_TRUE(load_fails_with("", "file is 0 bytes, too short for the 8-byte header length"));
  EXPECT_TRUE(load_fails_with(std::string("\x02\x00\x00", 3), "file is 3 bytes"));
}

TEST_F(Safetensors, RejectsBadHeaderLengths) {
  EXPECT_TRUE(load_fails_with(u64_le(uint64_t{1} << 40) + "{}",
                              "header length is 1099511627776 bytes, over the 100000000-byte"));
  EXPECT_TRUE(load_fails_with(u64_le(100'000'001) + "{}", "over the 100000000-byte limit"));
  EXPECT_TRUE(
      load_fails_with(u64_le(64) + "{}", "header length is 64 bytes, but only 2 bytes follow"));
}

TEST_F(Safetensors, RejectsMalformedHeaders) {
  EXPECT_TRUE(load_fails_with(safetensors_bytes("", ""), "header is not valid JSON"));
  EXPECT_TRUE(load_fails_with(safetensors_bytes("{\"a\": ", ""), "header is not valid JSON"));
  EXPECT_TRUE(load_fails_with(safetensors_bytes("[1, 2]", ""),
                              "header is a JSON array, expected an object"));
  EXPECT_TRUE(load_fails_with(safetensors_bytes("{\"x\": 3}", ""),
                              "tensor 'x' is a JSON number, expected an object"));
  EXPECT_TRUE(load_fails_with(
      safetensors_bytes("{\"x\": {\"shape\": [], \"data_offsets\": [0, 4]}}", f32_bytes({1})),
      "tensor 'x' has no string field 'dtype'"));
  EXPECT_TRUE(load_fails_with(
      safetensors_bytes("{\"x\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", f32_bytes({1})),
      "tensor 'x' has no array field 'shape'"));
  EXPECT_TRUE(load_fails_with(
      safetensors_bytes("{\"x\": {\"dtype\": \"F32\", \"shape\": []}}", f32_bytes({1})),
      "tensor 'x' needs 'data_offsets': [begin, end] with non-negative integers, found none"));
  EXPECT_TRUE(load_fails_with(safetensors_bytes("{\"x\": {\"dtype\": \"F32\", \"shape\": [], "
                                                "\"data_offsets\": [0]}}",
                                                f32_bytes({1})),
                              "found [0]"));
  EXPECT_TRUE(load_fails_with(
      safetensors_bytes("{\"x\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}",
                        f32_bytes({1})),
      "tensor 'x' has shape [-1], expected non-negative integer dimensions"));
  EXPECT_TRUE(load_fails_with(
      safetensors_bytes("{\"x\": {\"dtype\": \"F32\", \"shape\": [1.0], \"data_offsets\": [0, 4]}}",
                        f32_bytes({1})),
      "expected non-negative integer dimensions"));
  EXPECT_TRUE(load_fails_with(
      safetensors_bytes("{\"x\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], "
                        "\"data_offsets\": [0, 4]}}",
                        f32_bytes({1})),
      "whose size overflows"));
  EXPECT_TRUE(load_fails_with(safetensors_bytes("{\"__metadata__\": {\"epoch\": 3}}", ""),
                              "__metadata__ entry 'epoch' is a JSON number, expected a string"));
  EXPECT_TRUE(load_fails_with(safetensors_bytes("{\"__metadata__\": [\"a\"]}", ""),
                              "__metadata__ is a JSON array, expected an object of strings"));
}

TEST_F(Safetensors, RejectsDtypesOtherThanF32) {
  for (const std::string dtype : {"BF16", "F16", "F64", "I64", "I32", "U8", "BOOL"}) {
    SCOPED_TRACE(dtype);
    const std::string header =
        "{\"emb\": {\"dtype\": \"" + dtype + "\", \"shape\": [2], \"data_offsets\": [0, 8]}}";
    EXPECT_TRUE(
        load_fails_with(safetensors_bytes(header, std::string(8, '\0')),
                        "safetensors: tensor 'emb' has dtype " + dtype + "; recur reads F32 only"));
  }
}

TEST_F(Safetensors, RejectsOffsetsThatDisagreeWithTheShapeOrTheBuffer) {
  EXPECT_TRUE(load_fails_with(
      safetensors_bytes("{\"x\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}",
                        f32_bytes({1, 2, 3})),
      "tensor 'x' has shape [3] (12 bytes of F32), but data_offsets [0,8] span 8 bytes"));
  EXPECT_TRUE(load_fails_with(
      safetensors_bytes("{\"x\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [8, 4]}}",
                        f32_bytes({1, 2, 3})),
      "with begin after end"));
  EXPECT_TRUE(load_fails_with(
      safetensors_bytes("{\"x\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 12]}}",
                        f32_bytes({1, 2})),
      "tensor 'x' has data_offsets [0,12], past the end of the 8-byte data buffer"));
  EXPECT_TRUE(load_fails_with(
      safetensors_bytes("{\"x\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": "
                        "[18446744073709551612, 18446744073709551616]}}",
                        f32_bytes({1})),
      "tensor 'x' needs 'data_offsets'"));
}

TEST_F(Safetensors, RejectsATruncatedCopyOfAValidFile) {
  SafeTensors file;
  file.tensors["a"] = iota({4}, 0.0f);
  file.tensors["b"] = iota({8}, 1.0f);
  const std::string path = temp_path("full.safetensors");
  save_safetensors(path, file);
  const std::string bytes = read_bytes(path);
  EXPECT_TRUE(load_fails_with(bytes.substr(0, bytes.size() - 4),
                              "tensor 'b' has data_offsets [16,48], past the end of the 44-byte"));
}

TEST_F(Safetensors, SaveRejectsBadInputWithoutLeavingFiles) {
  const std::string path = temp_path("bad_save.safetensors");
  SafeTensors reserved;
  reserved.tensors["__metadata__"] = Tensor({1});
  EXPECT_TRUE(throws_error_containing([&] { save_safetensors(path, reserved); },
                                      "a tensor cannot be named '__metadata__'"));
  SafeTensors undefined;
  undefined.tensors["h0"] = Tensor();
  EXPECT_TRUE(throws_error_containing([&] { save_safetensors(path, undefined); },
                                      "tensor 'h0' is undefined"));
  SafeTensors bad_utf8;
  bad_utf8.metadata["note"] = "\xff\xfe";
  EXPECT_TRUE(
      throws_error_containing([&] { save_safetensors(path, bad_utf8); }, "must be valid UTF-8"));
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  SafeTensors file;
  file.tensors["x"] = Tensor({2});
  const std::string no_dir = temp_path("no_such_dir/model.safetensors");
  EXPECT_TRUE(throws_error_containing([&] { save_safetensors(no_dir, file); },
                                      "cannot open '" + no_dir + ".tmp' for writing"));
}

TEST_F(Safetensors, FailedRenameRemovesTheTemporaryFile) {
  // Renaming a file onto a non-empty directory fails after the tmp file is fully written.
  const std::string path = temp_path("is_a_dir");
  std::filesystem::create_directories(path + "/child");
  SafeTensors file;
  file.tensors["x"] = iota({3}, 0.0f);
  EXPECT_TRUE(throws_error_containing([&] { save_safetensors(path, file); }, "cannot rename"));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_TRUE(std::filesystem::is_directory(path + "/child"));
}

}  // namespace
}  // namespace recur
