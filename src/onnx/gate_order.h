// The one place that knows how ONNX orders gates against PyTorch (and recur): LSTM i,o,f,c
// against i,f,g,o; GRU z,r,h against r,z,n; RNN has one gate. Used by export (PyTorch → ONNX)
// and by the importer's fast path (ONNX → recur's kernels).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "recur/rnn.h"

namespace recur::onnx {

// ONNX gate block k is PyTorch's block torch_block_of_onnx_gate(mode)[k].
inline std::vector<int64_t> torch_block_of_onnx_gate(RnnMode mode) {
  if (mode == RnnMode::kLstm) return {0, 3, 1, 2};
  if (mode == RnnMode::kGru) return {1, 0, 2};
  return {0};
}

// `src` holds G blocks of `block` elements each, in one order; writes them to `dst` in the
// other. to_onnx: dst block k = src block map[k]; otherwise dst block map[k] = src block k.
inline void reorder_gate_blocks(RnnMode mode, bool to_onnx, const float* src, int64_t block,
                                float* dst) {
  const auto map = torch_block_of_onnx_gate(mode);
  for (size_t k = 0; k < map.size(); ++k) {
    const int64_t onnx_block = static_cast<int64_t>(k), torch_block = map[k];
    const float* from = src + (to_onnx ? torch_block : onnx_block) * block;
    float* to = dst + (to_onnx ? onnx_block : torch_block) * block;
    std::copy_n(from, block, to);
  }
}

}  // namespace recur::onnx
