// GateMatVec: a whole step's product for a batch of one, [a1 | a2] times [W1 | W2]ᵀ, with the
// weights packed once in blocks of 16 hidden units, so that each thread of a step can multiply
// the rows of its own units and then run the cell on them with no wait in between (RnnStream,
// recur_bench S1). The engine's batch-of-one steps use it too (h·W_hhᵀ, one gate of G·H rows),
// and ColumnMatVec below for their backward.
//
// Such a product reads every weight once per step and does two flops with it: it runs at the
// speed the weights come in (an LSTM with I = H = 512 reads 8 MiB in float per step, more than
// the cores' L2). What it can do about that:
//  - one walk over one packed stream, 1 KiB contiguous per 16 rows and 16 (float) or 32 (bf16)
//    columns, instead of a product per matrix, each walking its rows;
//  - every other call walks the blocks in the opposite order, so the blocks read last, still in
//    L2, come first (the values of each row are still added in one order: the same bits either
//    way);
//  - the products are split by hidden units, the same units on the same thread at every step:
//    each core reads the same share of the weights, and half of that share can stay in its L2.
//
// A product "gate" p is G rows per unit: rows u of W1 (K1 columns) and of W2 (K2 columns), or
// of only one of them (a GRU's candidate takes x·W_inᵀ and h·W_hnᵀ apart).
// Runs where the CPU has AVX-512 (float) or avx512_bf16 (bf16): available(); callers keep
// MatVec or PackedWeights elsewhere. Leaves out: batches of more than one.
#pragma once

#include <cstdint>
#include <vector>

namespace recur::kernels {

class GateMatVec {
 public:
  // Hidden units per block: the rows multiplied together and the unit of the threads' split.
  static constexpr int64_t kBlock = 16;

  // One product gate: its H rows in W1 ([H, K1], row stride K1) and in W2 ([H, K2], stride
  // K2); a null pointer leaves that part of the input out of this gate.
  struct Gate {
    const float* w1 = nullptr;
    const float* w2 = nullptr;
  };

  // Whether this CPU runs the float (bf16 = false) or the bf16 kernel.
  static bool available(bool bf16);

  GateMatVec() = default;
  GateMatVec(const GateMatVec&) = delete;  // holds pointers into its own buffers
  GateMatVec& operator=(const GateMatVec&) = delete;
  GateMatVec(GateMatVec&&) noexcept = default;  // vectors keep their buffers when moved
  GateMatVec& operator=(GateMatVec&&) noexcept = default;
  // Copies (and for bf16 rounds) the weights. `bf16`: weights and input rounded to bf16 (to
  // nearest even), products accumulated in float. `storage`, when given, holds the packed
  // weights instead of memory of this object's own: grown as needed and reused from object to
  // object (a thread's scratch: packing into fresh pages costs more than the packing itself,
  // 2.7 ms for 4 MiB on the 2-core VM). It must outlive this object and serve no other
  // GateMatVec in use at the same time.
  GateMatVec(const std::vector<Gate>& gates, int64_t H, int64_t K1, int64_t K2, bool bf16,
             std::vector<char>* storage = nullptr);

  int64_t blocks() const { return (H_ + kBlock - 1) / kBlock; }
  int64_t weights() const { return static_cast<int64_t>(gates_) * H_ * (K1_ + K2_); }

  // Sets the input [a1 | a2] of the next multiply() calls (a1: K1 values, a2: K2).
  void load(const float* a1, const float* a2);

  // For the units of blocks [b0, b1): out[p][u] = row u of gate p times the input (+= when
  // `accumulate`). Walks the blocks last to first when `reverse`. Calls on disjoint blocks may
  // run at the same time.
  void multiply(int64_t b0, int64_t b1, float* const* out, bool reverse,
                bool accumulate = false) const;

 private:
  int gates_ = 0;
  int64_t H_ = 0, K1_ = 0, K2_ = 0;
  int64_t c1_ = 0, c2_ = 0;  // chunks of a1 and of a2 (a chunk: 64 bytes of each of 16 rows)
  bool bf16_ = false;
  std::vector<int> first_, count_;  // per gate: its first chunk and how many it reads
  std::vector<int64_t> offset_;     // per (block, gate): where its chunks start, in chunks
  std::vector<char> storage_;
  char* packed_ = nullptr;  // 64-byte aligned, in storage_
  std::vector<char> input_storage_;
  char* input_ = nullptr;  // (c1_ + c2_) chunks of 64 bytes, 64-byte aligned
};

// ColumnMatVec: y = a·W for one row a [K] and W [K, N] row-major — the backward's
// dh = dG·W_hh for a batch of one. W is packed once in blocks of 16 columns, each block's K
// rows of 64 bytes one after the other, and y's 16 values of a block are summed in registers
// (a multiply-add of each row by its a[k], 8 rows at a time): no horizontal sums, no stores
// of partial sums. Walks and threads as GateMatVec. Float only; available() as GateMatVec's.
class ColumnMatVec {
 public:
  static constexpr int64_t kBlock = 16;

  ColumnMatVec() = default;
  ColumnMatVec(const ColumnMatVec&) = delete;
  ColumnMatVec& operator=(const ColumnMatVec&) = delete;
  ColumnMatVec(ColumnMatVec&&) noexcept = default;
  ColumnMatVec& operator=(ColumnMatVec&&) noexcept = default;
  // W [K, N] with row stride ldw (0: N). `storage` as GateMatVec's.
  ColumnMatVec(const float* w, int64_t K, int64_t N, int64_t ldw = 0,
               std::vector<char>* storage = nullptr);

  int64_t blocks() const { return (N_ + kBlock - 1) / kBlock; }
  int64_t weights() const { return K_ * N_; }

  // y[c] (+)= Σ_k a[k]·W[k, c] for the columns c of blocks [b0, b1), last block first when
  // `reverse`. Calls on disjoint blocks may run at the same time.
  void multiply(int64_t b0, int64_t b1, const float* a, float* y, bool accumulate,
                bool reverse) const;

 private:
  int64_t K_ = 0, N_ = 0;
  std::vector<char> storage_;
  float* packed_ = nullptr;  // blocks() × K × 16 floats, 64-byte aligned
};

}  // namespace recur::kernels
