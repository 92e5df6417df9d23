// IDX readers on tiny gzip files written with zlib in the exact Fashion-MNIST layout: pixels,
// labels and class names, plain (uncompressed) files, and every error (bad magic, count
// mismatch, truncated data, a gzip stream cut short, extra bytes, a label out of range).
// Leaves out: the real files (real_datasets_test.cc).
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/throws_error.h"
#include "recur/datasets.h"
#include "temp_dir.h"

namespace recur::data {
namespace {

using recur::testing::ThrowsError;

std::string u32_be(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

std::string images_bytes(uint32_t magic, uint32_t count, uint32_t rows, uint32_t cols,
                         size_t n_pixels) {
  std::string bytes = u32_be(magic) + u32_be(count) + u32_be(rows) + u32_be(cols);
  for (size_t i = 0; i < n_pixels; ++i) bytes += static_cast<char>(i * 7 % 256);
  return bytes;
}

std::string labels_bytes(uint32_t magic, const std::string& labels) {
  return u32_be(magic) + u32_be(static_cast<uint32_t>(labels.size())) + labels;
}

class Idx : public testing::TempDirTest {
 protected:
  std::string write_gz(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ + "/" + name;
    gzFile file = gzopen(path.c_str(), "wb");
    EXPECT_NE(file, nullptr);
    EXPECT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
    EXPECT_EQ(gzclose(file), Z_OK);
    return path;
  }
  // Three 2x3 images with labels 9, 0, 4.
  std::string good_images() { return write_gz("img.gz", images_bytes(0x803, 3, 2, 3, 18)); }
  std::string good_labels() {
    return write_gz("lab.gz", labels_bytes(0x801, std::string("\x09\x00\x04", 3)));
  }
};

TEST_F(Idx, ReadsPixelsAndLabels) {
  const ImageSet set = load_idx(good_images(), good_labels());
  EXPECT_EQ(set.count, 3);
  EXPECT_EQ(set.rows, 2);
  EXPECT_EQ(set.cols, 3);
  ASSERT_EQ(set.pixels.size(), 18u);
  for (size_t i = 0; i < 18; ++i) EXPECT_EQ(set.pixels[i], i * 7 % 256) << i;
  EXPECT_EQ(set.labels, (std::vector<int64_t>{9, 0, 4}));
  EXPECT_EQ(set.class_names.size(), 10u);
  EXPECT_EQ(set.class_names[9], "9");
}

TEST_F(Idx, ReadsUncompressedFilesToo) {
  const ImageSet set = load_idx(write("img", images_bytes(0x803, 3, 2, 3, 18)),
                                write("lab", labels_bytes(0x801, std::string("\x01\x02\x03"))));
  EXPECT_EQ(set.pixels.size(), 18u);
  EXPECT_EQ(set.labels, (std::vector<int64_t>{1, 2, 3}));
}

TEST_F(Idx, BadMagicNamesFileAndBothNumbers) {
  const std::string labels = good_labels();
  const std::string swapped = write_gz("swapped.gz", images_bytes(0x801, 3, 2, 3, 18));
  EXPECT_TRUE(ThrowsError([&] { load_idx(swapped, labels); },
                          {swapped, "images magic number 0x00000803", "found 0x00000801"}));
  const std::string images = good_images();
  const std::string bad = write_gz("bad.gz", labels_bytes(0x08030000, "\x01\x02\x03"));
  EXPECT_TRUE(ThrowsError([&] { load_idx(images, bad); },
                          {bad, "labels magic number 0x00000801", "found 0x08030000"}));
}

TEST_F(Idx, CountMismatch) {
  const std::string images = good_images();
  const std::string labels = write_gz("two.gz", labels_bytes(0x801, std::string("\x01\x02")));
  EXPECT_TRUE(ThrowsError([&] { load_idx(images, labels); },
                          {labels, "as many labels as", "(3), found 2"}));
}

TEST_F(Idx, TruncatedPixelsAndLabels) {
  const std::string labels = good_labels();
  const std::string short_images = write_gz("short.gz", images_bytes(0x803, 3, 2, 3, 11));
  EXPECT_TRUE(ThrowsError([&] { load_idx(short_images, labels); },
                          {short_images, "truncated: expected 18 bytes of pixels, found 11"}));
  const std::string images = good_images();
  const std::string short_labels = write_gz("short_labels.gz", u32_be(0x801) + u32_be(3) + "\x01");
  EXPECT_TRUE(ThrowsError([&] { load_idx(images, short_labels); },
                          {short_labels, "truncated: expected 3 bytes of labels, found 1"}));
  const std::string header = write_gz("header.gz", u32_be(0x803) + u32_be(3));
  EXPECT_TRUE(ThrowsError([&] { load_idx(header, labels); },
                          {header, "truncated: expected 16 bytes of IDX header, found 8"}));
}

TEST_F(Idx, GzipFileCutShort) {
  // 600 pixels of noise-like bytes, so the compressed stream is long enough to cut in the middle.
  std::string bytes = u32_be(0x803) + u32_be(6) + u32_be(10) + u32_be(10);
  uint32_t x = 12345;
  for (int i = 0; i < 600; ++i) {
    x = x * 1103515245u + 12345u;
    bytes += static_cast<char>(x >> 24);
  }
  const std::string path = write_gz("cut.gz", bytes);
  const std::string labels = write_gz("lab6.gz", labels_bytes(0x801, std::string(6, '\x01')));
  ASSERT_EQ(load_idx(path, labels).pixels.size(), 600u);
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size / 2);  // cut inside the pixels
  EXPECT_TRUE(ThrowsError([&] { load_idx(path, labels); },
                          {path, "truncated: expected 600 bytes of pixels, found"}));
  const std::string whole = write_gz("cut_trailer.gz", bytes);
  std::filesystem::resize_file(whole, size - 4);  // all pixels there, the trailer cut off
  EXPECT_TRUE(ThrowsError([&] { load_idx(whole, labels); }, {whole, "truncated gzip stream"}));
}

TEST_F(Idx, ExtraBytesAndLabelOutOfRange) {
  const std::string labels = good_labels();
  const std::string long_images = write_gz("long.gz", images_bytes(0x803, 3, 2, 3, 20));
  EXPECT_TRUE(ThrowsError([&] { load_idx(long_images, labels); },
                          {long_images, "end after the pixels, found 2 more bytes"}));
  const std::string images = good_images();
  const std::string ten = write_gz("ten.gz", labels_bytes(0x801, "\x01\x0A\x02"));
  EXPECT_TRUE(ThrowsError([&] { load_idx(images, ten); },
                          {ten, "label 1 is 10, expected a class id below 10"}));
  EXPECT_TRUE(ThrowsError([&] { load_idx(images, dir_ + "/missing.gz"); }, {"missing.gz"}));
}

TEST_F(Idx, FashionMnistLayout) {
  std::filesystem::create_directories(dir_ + "/fashion-mnist");
  write_gz("fashion-mnist/t10k-images-idx3-ubyte.gz", images_bytes(0x803, 2, 28, 28, 2 * 784));
  write_gz("fashion-mnist/t10k-labels-idx1-ubyte.gz",
           labels_bytes(0x801, std::string("\x00\x09", 2)));
  const ImageSet set = load_fashion_mnist(dir_, "test");
  EXPECT_EQ(set.count, 2);
  EXPECT_EQ(set.class_names.front(), "T-shirt/top");
  EXPECT_EQ(set.class_names.back(), "Ankle boot");
  EXPECT_EQ(set.labels, (std::vector<int64_t>{0, 9}));
  EXPECT_TRUE(
      ThrowsError([&] { load_fashion_mnist(dir_, "train"); }, {"train-images-idx3-ubyte.gz"}));
  EXPECT_TRUE(ThrowsError([&] { load_fashion_mnist(dir_, "valid"); }, {"'train' or 'test'"}));
  EXPECT_TRUE(ThrowsError([&] { load_fashion_mnist(dir_ + "/nowhere", "test"); },
                          {"run scripts/get-data fashion-mnist"}));
}

}  // namespace
}  // namespace recur::data
