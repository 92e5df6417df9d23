// Internal: the one place recur touches ONNX's protobuf classes. Converts TensorProto to and
// from recur::onnx::Value and holds the graph form the interpreter runs (Node, Attribute).
// Leaves out: everything a graph run does (ops.h, model.cc).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "recur/onnx.h"

namespace recur::onnx {

// `where` prefixes every message ("model.onnx: initializer 'W': ..."). External data is read
// from files relative to `base_dir`.
Value value_from_proto(const ::onnx::TensorProto& proto, const std::string& where,
                       const std::string& base_dir);
void value_to_proto(const Value& value, const std::string& name, ::onnx::TensorProto* proto);

struct Attribute {
  int32_t type = 0;  // AttributeProto::AttributeType
  float f = 0.0f;
  int64_t i = 0;
  std::string s;
  Value t;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
};

struct Node {
  std::string op_type, name;
  std::vector<std::string> inputs, outputs;  // "" = an absent optional argument
  std::map<std::string, Attribute> attributes;
  int64_t opset = 0;  // of the default domain

  // "node 'name' (LSTM)" for messages.
  std::string describe() const;
  bool has(const std::string& attribute) const { return attributes.count(attribute) > 0; }
  int64_t get_int(const std::string& attribute, int64_t fallback) const;
  float get_float(const std::string& attribute, float fallback) const;
  std::string get_string(const std::string& attribute, const std::string& fallback) const;
  std::vector<int64_t> get_ints(const std::string& attribute) const;
  std::vector<float> get_floats(const std::string& attribute) const;
  std::vector<std::string> get_strings(const std::string& attribute) const;
  const Value& get_tensor(const std::string& attribute) const;
};

}  // namespace recur::onnx
