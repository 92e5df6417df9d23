// Internal: which ONNX recurrent operators run on recur's own kernels (recurrent.cc); the rest
// take the plain spec path. Exposed for the tests that compare the two.
#pragma once

#include <string>
#include <vector>

#include "recur/onnx.h"
#include "recur/rnn.h"

namespace recur::onnx {

// True when recur's kernels compute exactly this operator (then *mode is their mode):
// default activations (Relu allowed for RNN), no clip, input_forget or non-zero peepholes,
// GRU with linear_before_reset, forward or bidirectional, every length ≥ 1.
bool kernels_apply(const std::string& op, const RecurrentAttributes& a, const Value* P,
                   const std::vector<int64_t>& len, RnnMode* mode);

}  // namespace recur::onnx
