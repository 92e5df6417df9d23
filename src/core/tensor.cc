// Tensor storage and shape helpers.
#include "recur/tensor.h"

#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "recur/error.h"

namespace recur {
namespace {

constexpr size_t kAlignment = 64;

// Large blocks (training steps allocate the same big activations and gradients every step)
// are kept in a size-keyed cache when freed and handed out again, instead of going back to
// the system: a fresh mmap of 80 MB costs ~20,000 page faults each time. Each block carries
// its size in a 64-byte header. Small blocks go straight to the C allocator. The cache is
// off under sanitizers, so that use-after-free is still caught.
constexpr size_t kCacheMinBytes = size_t{1} << 20;
constexpr size_t kCacheMaxBytes = size_t{1} << 30;  // at most 1 GiB kept

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCacheEnabled = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kCacheEnabled = false;
#else
constexpr bool kCacheEnabled = true;
#endif
#else
constexpr bool kCacheEnabled = true;
#endif

struct BlockCache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;
  size_t cached_bytes = 0;

  ~BlockCache() {
    for (auto& [bytes, blocks] : free_blocks)
      for (void* p : blocks) std::free(p);
  }
};

BlockCache& cache() {
  static BlockCache* c = new BlockCache();  // never destroyed: tensors may outlive statics
  return *c;
}

float* allocate(int64_t numel) {
  if (numel == 0) return nullptr;
  size_t bytes = static_cast<size_t>(numel) * sizeof(float);
  bytes = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* block = nullptr;
  if (kCacheEnabled && bytes >= kCacheMinBytes) {
    BlockCache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.free_blocks.find(bytes);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      block = it->second.back();
      it->second.pop_back();
      c.cached_bytes -= bytes;
    }
  }
  if (block == nullptr) block = std::aligned_alloc(kAlignment, bytes + kAlignment);
  RECUR_CHECK(block != nullptr,
              "Tensor: out of memory allocating " + std::to_string(bytes) + " bytes");
  *static_cast<size_t*>(block) = bytes;
  return reinterpret_cast<float*>(static_cast<char*>(block) + kAlignment);
}

void release(float* data) {
  if (data == nullptr) return;
  void* block = reinterpret_cast<char*>(data) - kAlignment;
  const size_t bytes = *static_cast<size_t*>(block);
  if (kCacheEnabled && bytes >= kCacheMinBytes) {
    BlockCache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    if (c.cached_bytes + bytes <= kCacheMaxBytes) {
      c.free_blocks[bytes].push_back(block);
      c.cached_bytes += bytes;
      return;
    }
  }
  std::free(block);
}

}  // namespace

std::string shape_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    RECUR_CHECK(d >= 0, "Tensor: negative dimension in shape " + shape_string(shape));
    n *= d;
  }
  return n;
}

void Tensor::FreeAligned::operator()(float* p) const { release(p); }

Tensor::Tensor(Shape shape) : shape_(std::move(shape)), numel_(shape_numel(shape_)) {
  data_.reset(allocate(numel_));
  if (numel_) std::memset(data_.get(), 0, numel_ * sizeof(float));
}

Tensor::Tensor(Shape shape, const std::vector<float>& values) : Tensor(std::move(shape)) {
  RECUR_CHECK(static_cast<int64_t>(values.size()) == numel_,
              "Tensor: shape " + shape_string(shape_) + " needs " + std::to_string(numel_) +
                  " values, but " + std::to_string(values.size()) + " were given");
  if (numel_) std::memcpy(data_.get(), values.data(), numel_ * sizeof(float));
}

Tensor Tensor::uninitialized(Shape shape) {
  Tensor t;
  t.numel_ = shape_numel(shape);
  t.shape_ = std::move(shape);
  t.data_.reset(allocate(t.numel_));
#ifndef NDEBUG  // debug builds (the asan preset) fill it with NaN: an element left unwritten shows
  t.fill(std::numeric_limits<float>::quiet_NaN());
#endif
  return t;
}

Tensor Tensor::full(Shape shape, float value) {
  Tensor t(std::move(shape));
  t.fill(value);
  return t;
}

Tensor::Tensor(const Tensor& other) : shape_(other.shape_), numel_(other.numel_) {
  data_.reset(allocate(numel_));
  if (numel_) std::memcpy(data_.get(), other.data_.get(), numel_ * sizeof(float));
}

Tensor& Tensor::operator=(const Tensor& other) {
  if (this != &other) {
    Tensor copy(other);
    *this = std::move(copy);
  }
  return *this;
}

int64_t Tensor::size(int64_t axis) const {
  int64_t n = dim();
  int64_t a = axis < 0 ? axis + n : axis;
  RECUR_CHECK(a >= 0 && a < n, "Tensor: axis " + std::to_string(axis) + " out of range for shape " +
                                   shape_string(shape_));
  return shape_[a];
}

Tensor Tensor::reshaped(Shape shape) const {
  RECUR_CHECK(shape_numel(shape) == numel_,
              "Tensor: cannot reshape " + shape_string(shape_) + " to " + shape_string(shape));
  Tensor t(*this);
  t.shape_ = std::move(shape);
  return t;
}

void Tensor::fill(float value) {
  float* p = data_.get();
  for (int64_t i = 0; i < numel_; ++i) p[i] = value;
}

std::vector<float> Tensor::to_vector() const {
  return std::vector<float>(data_.get(), data_.get() + numel_);
}

}  // namespace recur
