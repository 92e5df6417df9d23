// Internal: the ops the interpreter runs, each a function from a node's inputs to its outputs.
// Leaves out: graph plumbing (model.cc) and the recurrent maths (recurrent.cc).
#pragma once

#include <string>
#include <vector>

#include "onnx/proto.h"

namespace recur::onnx {

// `inputs` has one entry per node input; nullptr for an absent optional one ("").
using Kernel = std::vector<Value> (*)(const Node& node, const std::vector<const Value*>& inputs);

// nullptr when recur does not run `op_type`.
Kernel find_kernel(const std::string& op_type);
std::vector<std::string> supported_ops();  // sorted

}  // namespace recur::onnx
