// IDX image and label files (the MNIST family), read through zlib so the .gz files need no
// unpacking, and Fashion-MNIST on top (see recur/datasets.h). Leaves out: IDX element types
// other than unsigned bytes, more than three dimensions, and writing IDX.
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "data/dataset_files.h"
#include "recur/datasets.h"
#include "recur/error.h"

namespace recur::data {
namespace {

constexpr uint32_t kImagesMagic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr uint32_t kLabelsMagic = 0x00000801;  // unsigned bytes, 1 dimension
constexpr size_t kChunk = size_t{1} << 20;

std::string hex32(uint32_t v) {
  static const char* kDigits = "0123456789abcdef";
  std::string s = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) s += kDigits[(v >> shift) & 15];
  return s;
}

// A gzip (or plain) file opened with zlib; every message starts with the path.
class GzFile {
 public:
  explicit GzFile(const std::string& path) : path_(path) {
    std::error_code ec;
    RECUR_CHECK(std::filesystem::is_regular_file(path, ec), path + ": cannot open (no such file)");
    file_ = gzopen(path.c_str(), "rb");
    RECUR_CHECK(file_ != nullptr, path + ": cannot open for reading");
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;
  ~GzFile() { gzclose(file_); }

  // Appends up to `bytes` bytes to `out`, fewer only at the end of the data. A damaged gzip
  // stream is an Error; a stream cut short ends the data (the caller reports the shortfall).
  void read(uint64_t bytes, std::vector<uint8_t>* out) {
    while (bytes > 0) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(bytes, kChunk));
      const size_t old_size = out->size();
      out->resize(old_size + want);
      const int got = gzread(file_, out->data() + old_size, static_cast<unsigned>(want));
      if (got < 0) fail_on_error();
      out->resize(old_size + static_cast<size_t>(std::max(got, 0)));
      if (static_cast<size_t>(got) < want) return;
      bytes -= want;
    }
  }

  // After the last expected byte: an Error when the file holds more, or when its gzip stream
  // was cut short (all data there, but no end marker and checksum).
  void expect_end(const std::string& what) {
    std::vector<uint8_t> extra;
    read(kChunk, &extra);
    uint64_t more = extra.size();
    while (extra.size() == kChunk) {
      extra.clear();
      read(kChunk, &extra);
      more += extra.size();
    }
    RECUR_CHECK(more == 0, path_ + ": expected the file to end after the " + what + ", found " +
                               std::to_string(more) + " more bytes");
    int code = Z_OK;
    gzerror(file_, &code);
    RECUR_CHECK(code != Z_BUF_ERROR,
                path_ + ": truncated gzip stream (the data ends without its end marker)");
  }

 private:
  [[noreturn]] void fail_on_error() {
    int code = Z_OK;
    const char* message = gzerror(file_, &code);
    throw_error(path_ + ": damaged gzip data (" + (message ? message : "unknown zlib error") + ")");
  }

  std::string path_;
  gzFile file_ = nullptr;
};

uint32_t big_endian_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// The header of `n_fields` big-endian u32 values (magic first), checked for the magic.
std::vector<uint32_t> read_header(GzFile& file, const std::string& path, uint32_t magic,
                                  int n_fields, const char* kind) {
  std::vector<uint8_t> bytes;
  const uint64_t size = 4 * static_cast<uint64_t>(n_fields);
  file.read(size, &bytes);
  RECUR_CHECK(bytes.size() == size, path + ": truncated: expected " + std::to_string(size) +
                                        " bytes of IDX header, found " +
                                        std::to_string(bytes.size()));
  std::vector<uint32_t> fields;
  for (int i = 0; i < n_fields; ++i) fields.push_back(big_endian_u32(bytes.data() + 4 * i));
  RECUR_CHECK(fields[0] == magic, path + ": expected the IDX " + kind + " magic number " +
                                      hex32(magic) + ", found " + hex32(fields[0]));
  return fields;
}

}  // namespace

ImageSet load_idx(const std::string& images_gz, const std::string& labels_gz, int64_t num_classes) {
  RECUR_CHECK(num_classes >= 1 && num_classes <= 256,
              "load_idx: expected num_classes in [1, 256], got " + std::to_string(num_classes));
  GzFile images(images_gz);
  GzFile labels(labels_gz);
  const std::vector<uint32_t> image_header =
      read_header(images, images_gz, kImagesMagic, 4, "images");
  const std::vector<uint32_t> label_header =
      read_header(labels, labels_gz, kLabelsMagic, 2, "labels");
  ImageSet set;
  set.count = image_header[1];
  set.rows = image_header[2];
  set.cols = image_header[3];
  RECUR_CHECK(set.rows > 0 && set.cols > 0, images_gz +
                                                ": expected images of at least 1x1, "
                                                "found " +
                                                std::to_string(set.rows) + "x" +
                                                std::to_string(set.cols));
  RECUR_CHECK(label_header[1] == set.count,
              labels_gz + ": expected as many labels as " + images_gz + " has images (" +
                  std::to_string(set.count) + "), found " + std::to_string(label_header[1]));

  // Grown as the data arrives, so a header that lies about its size cannot ask for a huge
  // buffer up front.
  const uint64_t pixel_bytes = static_cast<uint64_t>(set.count) * set.rows * set.cols;
  set.pixels.reserve(static_cast<size_t>(std::min<uint64_t>(pixel_bytes, uint64_t{1} << 28)));
  images.read(pixel_bytes, &set.pixels);
  RECUR_CHECK(set.pixels.size() == pixel_bytes,
              images_gz + ": truncated: expected " + std::to_string(pixel_bytes) +
                  " bytes of pixels, found " + std::to_string(set.pixels.size()));
  images.expect_end("pixels");

  std::vector<uint8_t> label_bytes;
  labels.read(static_cast<uint64_t>(set.count), &label_bytes);
  RECUR_CHECK(label_bytes.size() == static_cast<uint64_t>(set.count),
              labels_gz + ": truncated: expected " + std::to_string(set.count) +
                  " bytes of labels, found " + std::to_string(label_bytes.size()));
  labels.expect_end("labels");
  set.labels.reserve(label_bytes.size());
  for (size_t i = 0; i < label_bytes.size(); ++i) {
    RECUR_CHECK(label_bytes[i] < num_classes, labels_gz + ": label " + std::to_string(i) + " is " +
                                                  std::to_string(label_bytes[i]) +
                                                  ", expected a class id below " +
                                                  std::to_string(num_classes));
    set.labels.push_back(label_bytes[i]);
  }
  for (int64_t c = 0; c < num_classes; ++c) set.class_names.push_back(std::to_string(c));
  return set;
}

ImageSet load_fashion_mnist(const std::string& data_dir, const std::string& part) {
  RECUR_CHECK(part == "train" || part == "test",
              "load_fashion_mnist: expected part 'train' or 'test', got '" + part + "'");
  const std::string dir = detail::data_set_dir("fashion-mnist", data_dir);
  const std::string prefix = dir + "/" + (part == "train" ? "train" : "t10k");
  ImageSet set = load_idx(prefix + "-images-idx3-ubyte.gz", prefix + "-labels-idx1-ubyte.gz", 10);
  set.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                     "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return set;
}

}  // namespace recur::data
