// ONNX interoperability: load a model.onnx (parsed by libprotobuf with ONNX's own schema),
// run its graph — the LSTM, GRU and RNN operators with every attribute and optional input, plus
// the ops PyTorch's exporter emits around a recurrent model — read and write TensorProto .pb
// files, run ONNX backend-test folders, and export recur's models to ONNX.
// Leaves out: training through ONNX graphs, ops outside the list in docs/ONNX.md (an Error names
// them at load time), dtypes other than float32 and integers.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "recur/tensor.h"

namespace recur::onnx {

// A tensor as an ONNX graph passes it: float32, or an integer type held as int64. `elem_type`
// keeps the ONNX element type it was read as (1 = FLOAT, 6 = INT32, 7 = INT64, ...) so that
// outputs are written back as what the graph declares.
struct Value {
  enum class Kind { kFloat, kInt };
  Kind kind = Kind::kFloat;
  int32_t elem_type = 1;
  Shape shape;
  std::vector<float> f;    // when kind == kFloat
  std::vector<int64_t> i;  // when kind == kInt

  static Value floats(Shape shape, std::vector<float> values);
  static Value ints(Shape shape, std::vector<int64_t> values, int32_t elem_type = 7);
  static Value from_tensor(const Tensor& tensor);
  Tensor to_tensor() const;  // float values only; an Error otherwise
  int64_t numel() const;
  bool is_float() const { return kind == Kind::kFloat; }
};

// "FLOAT", "INT64", ... for messages; "type N" for unknown numbers.
std::string elem_type_name(int32_t elem_type);

// A serialized onnx.TensorProto, as in the backend tests' input_K.pb / output_K.pb.
Value read_tensor_pb(const std::string& path, std::string* name = nullptr);
Value parse_tensor_pb(const std::string& bytes, const std::string& source,
                      std::string* name = nullptr);
void write_tensor_pb(const std::string& path, const Value& value, const std::string& name);

struct ValueInfo {
  std::string name;
  int32_t elem_type = 0;  // 0 when the model does not say
  Shape shape;            // -1 for a symbolic or unknown dimension; empty when not given
};

class Model {
 public:
  // Parses and checks the whole graph: every op supported (an Error names the first that is
  // not), every value defined before use, every initializer readable.
  static Model load(const std::string& path);
  static Model parse(const std::string& bytes, const std::string& source,
                     const std::string& base_dir = ".");
  ~Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  // Graph inputs the caller must feed (those with an initializer are optional overrides).
  const std::vector<ValueInfo>& inputs() const;
  const std::vector<ValueInfo>& outputs() const;
  int64_t opset() const;  // of the default domain
  std::vector<std::string> op_types() const;

  // Runs the graph. Every required input must be fed, with the declared element type and
  // fixed dimensions; unknown names are an Error. Returns the graph outputs in order.
  std::vector<Value> run(const std::map<std::string, Value>& feeds) const;

  struct Impl;

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ONNX LSTM / GRU / RNN on their own, exactly as the operator spec (and ONNX Runtime) define
// them. `inputs` in the operator's order (X, W, R, B, sequence_lens, initial_h, initial_c, P),
// with nullptr for an absent optional input; returns Y, Y_h (and Y_c for LSTM).
struct RecurrentAttributes {
  std::vector<std::string> activations;  // empty = the operator's defaults
  std::vector<float> activation_alpha, activation_beta;
  float clip = 0.0f;  // 0 = none
  std::string direction = "forward";
  int64_t hidden_size = 0;  // 0 = from W's shape
  int64_t input_forget = 0;
  int64_t layout = 0;
  int64_t linear_before_reset = 0;
  // Not an ONNX attribute: run the plain spec path even where recur's own kernels apply
  // (default activations, no clip / input_forget / peepholes, GRU with linear_before_reset,
  // not reverse-only). The tests compare the two.
  bool reference_path = false;
};
std::vector<Value> run_recurrent(const std::string& op_type, const RecurrentAttributes& attributes,
                                 const std::vector<const Value*>& inputs);

// One ONNX backend-test folder: model.onnx plus test_data_set_N/{input,output}_K.pb.
struct BackendTestResult {
  std::string name;
  bool passed = false;
  std::string message;  // why it failed
};
BackendTestResult run_backend_test(const std::string& dir, double rtol = 1e-3, double atol = 1e-5);

// Makes `dir` an ONNX backend-test folder from recur's own run of `model_path` on `feeds`:
// model.onnx, test_data_set_0/input_K.pb (in the model's input order) and output_K.pb — so any
// other runtime (ONNX Runtime: tools/onnxruntime/check.js) can be checked against recur.
void write_backend_test(const std::string& model_path, const std::map<std::string, Value>& feeds,
                        const std::string& dir);

// Writes `path` (atomically) as an ONNX model equivalent to a recur checkpoint: a bare
// recurrent stack (a PyTorch-style state_dict, as `recur forward --weights` reads), a language
// model (`recur train lm`), or a classifier / forecaster (`recur train classify|mlp|forecast`:
// inputs tokens or features plus lengths, outputs logits and probabilities, or values; class
// names, vocabulary and preprocessing facts go into the model's metadata). Returns a one-line
// description of the graph's inputs and outputs. Projection LSTMs have no ONNX operator and
// are refused.
std::string export_onnx(const std::string& checkpoint_path, const std::string& path,
                        int64_t opset = 14);

}  // namespace recur::onnx
