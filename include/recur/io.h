// Reading and writing tensors: safetensors (checkpoints, weights, gradients) and .npy (CLI
// inputs and outputs). Leaves out: ONNX (its own header), dtypes other than those listed.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "recur/tensor.h"

namespace recur {

// A safetensors file: named float32 tensors plus the free-form string map `__metadata__`.
// Tensors of any other dtype are rejected with an Error naming the tensor and its dtype.
struct SafeTensors {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

SafeTensors load_safetensors(const std::string& path);
// Writes to `path + ".tmp"` and renames, so a failure never leaves a partial file.
void save_safetensors(const std::string& path, const SafeTensors& file);

// A .npy array of float32 or int64, C order (the only layouts recur reads).
struct NpyArray {
  enum class Dtype { kFloat32, kInt64 };
  Dtype dtype = Dtype::kFloat32;
  Shape shape;
  std::vector<float> f32;    // when dtype == kFloat32
  std::vector<int64_t> i64;  // when dtype == kInt64
};

NpyArray load_npy(const std::string& path);
// Loads a float32 array as a Tensor; any other dtype is an Error.
Tensor load_npy_tensor(const std::string& path);
// Loads an int64 array (int32 is widened); float arrays are an Error.
std::vector<int64_t> load_npy_int64(const std::string& path, Shape* shape = nullptr);

// Both write to a temporary file and rename.
void save_npy(const std::string& path, const Tensor& tensor);
void save_npy_int64(const std::string& path, const std::vector<int64_t>& values,
                    const Shape& shape);

}  // namespace recur
