// Tensor: a float32, contiguous, 64-byte aligned, row-major array with a shape.
// Value semantics: copying a Tensor copies its data; moving is cheap.
// Leaves out: strides, views, other dtypes, autograd. Kernels take raw pointers.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace recur {

using Shape = std::vector<int64_t>;

std::string shape_string(const Shape& shape);  // "[2, 3, 4]"
int64_t shape_numel(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape shape);  // zero-filled
  Tensor(Shape shape, const std::vector<float>& values);

  static Tensor zeros(Shape shape) { return Tensor(std::move(shape)); }
  static Tensor full(Shape shape, float value);
  // Contents unspecified (torch.empty): for outputs every element of which is written next.
  static Tensor uninitialized(Shape shape);

  Tensor(const Tensor& other);
  Tensor& operator=(const Tensor& other);
  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;

  const Shape& shape() const { return shape_; }
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t size(int64_t axis) const;  // negative axes count from the end
  int64_t numel() const { return numel_; }
  bool empty() const { return numel_ == 0; }
  bool defined() const { return !shape_.empty() || numel_ != 0; }

  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  float& operator[](int64_t i) { return data_.get()[i]; }
  float operator[](int64_t i) const { return data_.get()[i]; }

  // Same data, new shape with the same number of elements.
  Tensor reshaped(Shape shape) const;
  void fill(float value);
  std::vector<float> to_vector() const;

 private:
  struct FreeAligned {
    void operator()(float* p) const;
  };
  Shape shape_;
  int64_t numel_ = 0;
  std::unique_ptr<float[], FreeAligned> data_;
};

}  // namespace recur
