// The recurrent engine (see engine.h): input projections for all steps as one GEMM, the
// recurrent product per step on the active prefix, pointwise cells from cell.h, and a BPTT
// backward over the saved workspace whose weight gradients are single GEMMs after the loop.
//
// Legend: T steps, B batch, I input width, H hidden, P projection (0 = none),
// Ho = output width of a direction (P or H), G gates, GH = G*H, W = saved gate width.
#include "rnn/engine.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <numeric>
#include <optional>
#include <string>
#include <type_traits>

#include "kernels/bf16.h"
#include "kernels/bf16_panels.h"
#include "kernels/f32_panels.h"
#include "kernels/gate_matvec.h"
#include "kernels/gemm.h"
#include "kernels/matvec.h"
#include "kernels/packed_gemm.h"
#include "recur/error.h"
#include "rnn/cell.h"

namespace recur::rnn {

using kernels::gemm;

Batch Batch::make(int64_t T, int64_t B, const std::vector<int64_t>& lengths) {
  Batch b;
  b.T = T;
  b.B = B;
  if (lengths.empty()) {
    b.lengths.assign(B, T);
  } else {
    RECUR_CHECK(static_cast<int64_t>(lengths.size()) == B,
                "lengths has " + std::to_string(lengths.size()) +
                    " entries, but the batch size is " + std::to_string(B));
    for (int64_t i = 0; i < B; ++i) {
      RECUR_CHECK(lengths[i] >= 1 && lengths[i] <= T,
                  "lengths[" + std::to_string(i) + "] is " + std::to_string(lengths[i]) +
                      ", but each length must be in 1.." + std::to_string(T) +
                      " (the sequence length)");
    }
    b.lengths = lengths;
  }
  b.perm.resize(B);
  std::iota(b.perm.begin(), b.perm.end(), 0);
  std::stable_sort(b.perm.begin(), b.perm.end(),
                   [&](int64_t x, int64_t y) { return b.lengths[x] > b.lengths[y]; });
  b.sorted_len.resize(B);
  for (int64_t j = 0; j < B; ++j) b.sorted_len[j] = b.lengths[b.perm[j]];
  b.active.assign(T, 0);
  for (int64_t s = 0; s < T; ++s) {
    int64_t n = 0;
    while (n < B && b.sorted_len[n] > s) ++n;
    b.active[s] = n;
  }
  return b;
}

int64_t layer_input_size(const RnnOptions& o, int64_t layer) {
  return layer == 0 ? o.input_size : o.num_directions() * o.output_hidden_size();
}

namespace {

// Every matrix product of the engine: C = op(A)·op(B) + beta·C in float or double, or with
// the inputs rounded to bf16 (kernels/bf16.h) when `bf16`; double then emulates float's bf16
// mode exactly, up to the accumulation.
template <typename S>
void product(bool bf16, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const S* A,
             int64_t lda, const S* B, int64_t ldb, S beta, S* C, int64_t ldc) {
  if (!bf16)
    gemm<S>(trans_a, trans_b, M, N, K, S(1), A, lda, B, ldb, beta, C, ldc);
  else if constexpr (std::is_same_v<S, float>)
    kernels::gemm_bf16(trans_a, trans_b, M, N, K, A, lda, B, ldb, beta, C, ldc);
  else
    kernels::gemm_bf16_reference<S>(trans_a, trans_b, M, N, K, A, lda, B, ldb, beta, C, ldc);
}

// Per-thread scratch buffers, kept between calls so the big one (T·B·G·H: the input
// projections in the forward, the gate gradients in the backward) is not allocated, faulted in
// and zeroed on every call. Contents are garbage on entry; callers write or zero what they read.
template <typename S>
struct Scratch {
  std::vector<S> xw, bias, gx, gh, h_state, c_state, h_raw;
  std::vector<S> dh_all, dh, dc, dh_raw, dh_direct, row, bias_sum;
  std::vector<int64_t> order;
  std::vector<char> packed;     // the packed W_hh of the call running (StepProduct<float>)
  std::vector<S> h_alt;         // forward_two_threads: the other state buffer at inference
  std::vector<S> wgrad;         // add_weight_grad: a block of a weight gradient, transposed
  std::vector<char> packed_in;  // input_product: W_ih packed for bf16
  std::vector<char> pair;       // direction_forward, fused: W_ih and W_hh packed side by side
};

template <typename S>
Scratch<S>& scratch() {
  thread_local Scratch<S> s;
  return s;
}

}  // namespace

struct PackCache {
  std::vector<char> pair;   // direction_forward, fused: [W_ih | W_hh], 64-byte aligned at
  char* pair_at = nullptr;  // pair_at (null until packed)
  std::optional<kernels::PackedWeights> w_hh;          // StepProduct, one block
  std::optional<kernels::PackedWeights> w_hh_half[2];  // StepProduct, split over two threads
  std::optional<kernels::PackedWeights> w_ih;          // input_product, bf16
  std::optional<kernels::PackedWeights> own_rows[2];   // forward_two_threads, each thread's
  std::optional<kernels::GateMatVec> matvec;           // StepProduct, a batch of one
  std::optional<kernels::GateMatVec> matvec_bf16;      // the same in bf16
  std::vector<char> own_pair[2];  // forward_two_threads fused: each thread's [W_ih | W_hh] rows,
  char* own_pair_at[2] = {};      // aligned at own_pair_at[t] (null until packed)
};

void PackCacheDeleter::operator()(PackCache* c) const { delete c; }
PackCachePtr make_pack_cache() { return PackCachePtr(new PackCache); }

namespace {

// `slot`'s weights, packed into it first if it is empty (its own memory, kept).
const kernels::PackedWeights& packed_in(std::optional<kernels::PackedWeights>& slot, const float* w,
                                        int64_t N, int64_t K, bool trans_w, bool bf16,
                                        int64_t ldw = 0) {
  if (!slot) {
    kernels::PackedWeights p;
    p.pack(w, N, K, trans_w, /*accumulating=*/false, bf16, ldw);
    slot = std::move(p);
  }
  return *slot;
}

// The recurrent product of every step, C[M, N] (+)= A[M, K] · op(W), with W fixed for the
// whole call: packed once for float (kernels::PackedWeights), plain gemm() for the double
// reference engine.
// Packing costs about one pass over the weights, so it pays from a few steps on; a single
// step (streaming through Rnn::step) multiplies with the weights as they are. A batch of one
// is a matrix-vector product, where sgemm's own path beats the packed matmul (recur_bench C3,
// 1 thread: 6.6 ms unpacked against 7.2 ms packed).
constexpr int64_t kPackFromSteps = 4;
constexpr int64_t kPackFromRows = 2;
// Products of a batch of one are matrix-vector products, bound by reading the weights:
// kernels::MatVec reads them on every core, alternating its walk so that part comes from L2.
constexpr int64_t kMatVecUpToRows = 1;
// Where the CPU has AVX-512 and the product runs on one thread, the weights are packed for
// kernels::GateMatVec (forward) or kernels::ColumnMatVec (backward) instead, from this many
// steps on (packed once for all calls where RnnInference keeps them): one stream of 1 KiB
// blocks, 16 rows summed at once, where MatVec prefetches and reduces every 8 rows. Packing
// costs about 0.05 ms per MiB. A batch of one, T = 100, 1 thread (recur_bench, ms): LSTM
// I = H = 256 inference 1.39 -> 1.24, training 3.49 -> 3.33; I = H = 128 0.309 -> 0.298 and
// 0.769 -> 0.732; GRU I = 128, H = 160 0.363 -> 0.345. C3 (4 MiB of W_hh, read from L3 at
// every step) within the noise. Split over two threads they ran slower than MatVec's split
// (C3 at 2 threads, inference 3.48 -> 3.60 ms, training 8.1-8.2 -> 8.8-8.9), so a split
// product keeps MatVec.
constexpr int64_t kPackMatVecFromSteps = 32;
// Packed products are split into two column blocks, one per thread, from this many columns
// per block on ...
constexpr int64_t kSplitFromColumns = 64;
// ... and from this many multiply-adds per step on (rows · N · K), as is the two-thread
// forward (use_two_threads). Below it a step is a few microseconds of work: a fork costs 3 µs
// and a barrier 1.7 on the 2-core VM of recur_bench, plus the state's cache lines moving
// between the cores, so two threads ran small layers slower than one (2 threads, inference:
// LSTM B=4 H=32 0.36-0.40 ms against 0.056 on one; B=16 H=96 1.0-1.3 against 0.75-0.9).
// At 2^20 (C7: B=16, 4H=512, H=128) both ways take the same time.
constexpr int64_t kSplitFromMacs = int64_t{1} << 20;
// bf16 steps take about half the time of float ones, so they split from four times as many
// multiply-adds on: C7 in bf16 at 2 threads (2^20 per step) took 0.65 ms split against 0.35
// on one thread; from B=16 H=256 (2^22) on, splitting is faster (1.36 against 1.71 ms).
constexpr int64_t kSplitFromMacsBf16 = int64_t{1} << 22;
int64_t split_from_macs(bool bf16) { return bf16 ? kSplitFromMacsBf16 : kSplitFromMacs; }
// Whatever the rows, a product with at least this many weights is bound by reading them and
// is split, each thread keeping its half in its own L2 from step to step: a bf16 batch of one
// (C3) at 2 threads ran 3.5 ms on one thread against 3.1 split.
constexpr int64_t kSplitFromWeights = int64_t{1} << 19;

template <typename S>
class StepProduct {
 public:
  StepProduct(const S* w, int64_t N, int64_t K, bool trans_w, bool accumulating, int64_t steps,
              int64_t rows, bool bf16, PackCache* cache = nullptr)
      : w_(w), N_(N), K_(K), trans_w_(trans_w), bf16_(bf16) {
    (void)cache;
    (void)accumulating;
    (void)steps;
    (void)rows;
  }
  void operator()(int64_t M, const S* A, S* C, bool accumulate) const {
    product<S>(bf16_, false, trans_w_, M, N_, K_, A, K_, w_, trans_w_ ? K_ : N_,
               accumulate ? S(1) : S(0), C, N_);
  }

 private:
  const S* w_;
  int64_t N_, K_;
  bool trans_w_, bf16_;
};

template <>
class StepProduct<float> {
 public:
  // bf16 packs from one row on: halving the bytes read pays for a matrix-vector product too.
  // With two threads free (not inside a bidirectional layer's two directions), the packed
  // weights are two column blocks, each packed, kept and multiplied by its own thread: every
  // per-step product is then two single-threaded ones, without oneDNN splitting a small
  // product at every step.
  // `cache` (inference): the packed weights are taken from there, packed into it if missing.
  StepProduct(const float* w, int64_t N, int64_t K, bool trans_w, bool accumulating, int64_t steps,
              int64_t rows, bool bf16, PackCache* cache = nullptr)
      : w_(w),
        N_(N),
        K_(K),
        trans_w_(trans_w),
        bf16_(bf16),
        packed_(steps >= kPackFromSteps && (rows >= kPackFromRows || bf16)) {
    if (!bf16 && rows <= kMatVecUpToRows) {
      // Packed where the product stays on one thread and the packing pays (see kPackMatVec*).
      const bool one_thread = omp_in_parallel() || omp_get_max_threads() < 2 ||
                              N * K < kernels::MatVec::kSplitFromWeights;
      // The same choice with or without a cache: RnnInference gives Rnn::forward's bits.
      if (!kernels::GateMatVec::available(false) || !one_thread || steps < kPackMatVecFromSteps) {
        matvec_ = trans_w ? kernels::MatVec(w, N, K) : kernels::MatVec(w, K, N);
      } else if (trans_w) {  // W [N, K]: rows of 16 outputs, packed once per call or cached
        std::optional<kernels::GateMatVec>& slot = cache ? cache->matvec : rows_;
        if (!slot)
          slot.emplace(std::vector<kernels::GateMatVec::Gate>{{w, nullptr}}, N, K, 0, false,
                       cache ? nullptr : &scratch<float>().packed);
        rows_at_ = &*slot;
      } else {  // W [K, N]
        columns_.emplace(w, K, N, N, &scratch<float>().packed);
      }
    }
    if (bf16 && rows <= kMatVecUpToRows && trans_w && steps >= kPackMatVecFromSteps &&
        kernels::GateMatVec::available(true) &&
        (omp_in_parallel() || omp_get_max_threads() < 2 || N * K < kSplitFromWeights)) {
      // bf16, a batch of one on one thread: h·W_hhᵀ on GateMatVec's bf16 blocks too rather
      // than the panels (C3_bf16 inference at 1 thread 3.3-4.3 -> 2.4-3.5 ms, training
      // 9.7-13.4 -> 8.6-12.3; LSTM I = H = 256, T = 100 0.66-0.68 -> 0.52-0.63). The backward
      // keeps the panels.
      std::optional<kernels::GateMatVec>& slot = cache ? cache->matvec_bf16 : rows_;
      if (!slot)
        slot.emplace(std::vector<kernels::GateMatVec::Gate>{{w, nullptr}}, N, K, 0, true,
                     cache ? nullptr : &scratch<float>().packed);
      rows_at_ = &*slot;
      packed_ = false;
    }
    if (!packed_) return;
    // The packed weights live in the packing thread's scratch (see Scratch::packed).
    split_ = N >= 2 * kSplitFromColumns &&
             (rows * N * K >= split_from_macs(bf16) || N * K >= kSplitFromWeights) &&
             !omp_in_parallel() && omp_get_max_threads() >= 2;
    RECUR_ASSERT(!cache || (trans_w && !accumulating));
    if (!split_) {
      if (cache)
        use_[0] = &packed_in(cache->w_hh, w, N, K, trans_w, bf16);
      else
        weights_[0].pack(w, N, K, trans_w, accumulating, bf16, 0, &scratch<float>().packed);
      return;
    }
    half_ = (N / 2 + 15) / 16 * 16;
#pragma omp parallel num_threads(2)
    {
      const int t = omp_get_thread_num();
      const int64_t n0 = t == 0 ? 0 : half_, n = t == 0 ? half_ : N - half_;
      // Column block of op(W): rows of W when transposed, columns otherwise.
      const float* block = trans_w ? w + n0 * K : w + n0;
      if (cache)
        use_[t] = &packed_in(cache->w_hh_half[t], block, n, K, trans_w, bf16, trans_w ? K : N);
      else
        weights_[t].pack(block, n, K, trans_w, accumulating, bf16, trans_w ? K : N,
                         &scratch<float>().packed);
    }
  }
  StepProduct(const StepProduct&) = delete;  // use_ points into the object
  StepProduct& operator=(const StepProduct&) = delete;
  void operator()(int64_t M, const float* A, float* C, bool accumulate) const {
    if (packed_ && split_) {
#pragma omp parallel num_threads(2)
      {
        const int t = omp_get_thread_num();
        use_[t]->multiply(M, A, C + (t == 0 ? 0 : half_), accumulate, N_);
      }
    } else if (packed_) {
      use_[0]->multiply(M, A, C, accumulate);
    } else if (M == 1 && (rows_at_ || columns_)) {
      batch_of_one(A, C, accumulate);
    } else if (!bf16_ && M == 1 && matvec_.rows() > 0) {
      if (trans_w_)
        matvec_.times(A, C, accumulate);
      else
        matvec_.transposed_times(A, C, accumulate);
    } else {
      product<float>(bf16_, false, trans_w_, M, N_, K_, A, K_, w_, trans_w_ ? K_ : N_,
                     accumulate ? 1.0f : 0.0f, C, N_);
    }
  }

 private:
  const float* w_;
  int64_t N_, K_, half_ = 0;
  bool trans_w_, bf16_, packed_, split_ = false;
  kernels::PackedWeights weights_[2];
  const kernels::PackedWeights* use_[2] = {&weights_[0], &weights_[1]};  // or the cache's
  mutable kernels::MatVec matvec_;  // batch of one (it keeps the direction of its next walk)
  // A batch of one where the CPU has AVX-512: W [N, K] (trans_w) in blocks of 16 rows, in
  // rows_ or the cache; W [K, N] in blocks of 16 columns. Both in the thread's scratch.
  std::optional<kernels::GateMatVec> rows_;
  kernels::GateMatVec* rows_at_ = nullptr;
  std::optional<kernels::ColumnMatVec> columns_;
  mutable bool reverse_ = false;  // every other call walks the blocks last to first

  // C[N] (+)= A[K]·op(W) on this thread.
  void batch_of_one(const float* A, float* C, bool accumulate) const {
    const bool reverse = reverse_;
    reverse_ = !reverse_;
    if (rows_at_) {
      rows_at_->load(A, nullptr);
      float* out[1] = {C};
      rows_at_->multiply(0, rows_at_->blocks(), out, reverse, accumulate);
    } else {
      columns_->multiply(0, columns_->blocks(), A, C, accumulate, reverse);
    }
  }
};

struct Dims {
  RnnMode mode;
  int64_t I, H, P, Ho, G, GH, W;
  bool bf16;  // matrix products in bf16 (RnnOptions::precision)
};

template <typename S>
S* sized(std::vector<S>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(n);
  return v.data();
}

// A weight gradient, G[N, K] += Dᵀ·X for D [R, N] and X [R, K] (R = T·B rows): the gate
// gradients times the layer input or the states. oneDNN's sgemm runs this shape with its
// transposed left operand well below the ceiling (C1's, 2048 × 512 × 2048, 1 thread: 153
// GFLOP/s); computed transposed, Gᵀ = Xᵀ·D, it is the shape sgemm does best (192), so where
// gemm<float> is sgemm (CPUs without AVX-512) the float engine computes Gᵀ for up to
// kWeightGradBlock columns of D at a time into scratch and adds its transpose to G. recur's
// float panels run the plain product at 180-195 GFLOP/s, so with them, in bf16 and in the
// double engine it is one product; and so inside a parallel region (the two directions of a
// bidirectional layer at once): there every thread would hold a block, and C6's training step
// at 2 threads went above PyTorch's peak memory (123 against 122 MiB).
constexpr int64_t kWeightGradBlock = 1024;

// `add` false: G is written, whatever it held.
template <typename S>
void add_weight_grad(bool bf16, int64_t N, int64_t K, int64_t R, const S* D, const S* X, S* G,
                     bool add) {
  if (bf16 || !std::is_same_v<S, float> || omp_in_parallel() || kernels::gemm_uses_panels()) {
    product<S>(bf16, true, false, N, K, R, D, N, X, K, add ? S(1) : S(0), G, K);
    return;
  }
  const int64_t block = std::min(N, kWeightGradBlock);
  S* t = sized(scratch<S>().wgrad, K * block);  // [K, block]: Gᵀ's columns [n0, n0 + block)
  constexpr int64_t kTile = 16;
  for (int64_t n0 = 0; n0 < N; n0 += block) {
    const int64_t nb = std::min(block, N - n0);
    gemm<S>(true, false, K, nb, R, S(1), X, K, D + n0, N, S(0), t, nb);
    for (int64_t k0 = 0; k0 < K; k0 += kTile)  // G[n0 + j, k] += t[k, j], in 16 × 16 tiles
      for (int64_t j0 = 0; j0 < nb; j0 += kTile)
        for (int64_t j = j0; j < std::min(nb, j0 + kTile); ++j) {
          S* g = G + (n0 + j) * K;
          if (add)
            for (int64_t k = k0; k < std::min(K, k0 + kTile); ++k) g[k] += t[k * nb + j];
          else
            for (int64_t k = k0; k < std::min(K, k0 + kTile); ++k) g[k] = t[k * nb + j];
        }
  }
}

// The products of all steps with W_ih, C[M, N] (+)= A[M, K] · op(W): the input projections
// (W [N, K], trans_w) and d x (W [K, N]). In bf16 the weights are packed first
// (kernels::PackedWeights, into the thread's scratch): oneDNN's bf16 matmul on weights as
// they are runs the projection's shape at 224 GFLOP/s, packed at 364 including the packing
// (C1's, 2048 × 2048 × 512, 1 thread). Float and the double engine: one gemm.
// `cache` (inference, bf16): W packed there once.
template <typename S>
void input_product(bool bf16, int64_t M, int64_t N, int64_t K, const S* A, const S* W, bool trans_w,
                   S* C, bool accumulate, PackCache* cache = nullptr) {
  if constexpr (std::is_same_v<S, float>) {
    if (bf16 && cache) {
      packed_in(cache->w_ih, W, N, K, trans_w, /*bf16=*/true).multiply(M, A, C, accumulate);
      return;
    }
    if (bf16) {
      kernels::PackedWeights packed;
      packed.pack(W, N, K, trans_w, accumulate, /*bf16=*/true, 0, &scratch<float>().packed_in);
      packed.multiply(M, A, C, accumulate);
      return;
    }
  }
  product<S>(bf16, false, trans_w, M, N, K, A, K, W, trans_w ? K : N, accumulate ? S(1) : S(0), C,
             N);
}

// Grows v to n elements without clearing it (the caller writes or zeroes what it reads).
template <typename S>
void grow(std::vector<S>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) != n) v.resize(n);
}

// Zeroes rows [active[s], B) of each (B, width) block s of a (T, B, width) buffer: the rows
// an iteration does not write, so the weight-gradient GEMMs see exact zeros there.
template <typename S>
void zero_inactive(S* buf, const Batch& b, int64_t width) {
  for (int64_t s = 0; s < b.T; ++s)
    std::fill(buf + (s * b.B + b.active[s]) * width, buf + (s + 1) * b.B * width, S(0));
}

// Whether the workspace keeps the cell's saved activations. A vanilla RNN's are its new h
// (width H, no projection), which h_all holds already.
bool saves_gates(const Dims& d) { return d.mode == RnnMode::kLstm || d.mode == RnnMode::kGru; }

Dims dims_of(const RnnOptions& o, int64_t layer) {
  Dims d;
  d.mode = o.mode;
  d.I = layer_input_size(o, layer);
  d.H = o.hidden_size;
  d.P = o.proj_size;
  d.Ho = o.output_hidden_size();
  d.G = gate_count(o.mode);
  d.GH = d.G * d.H;
  d.W = saved_gate_width(o.mode, d.H);
  d.bf16 = o.precision == Precision::kBfloat16;
  return d;
}

// Layers on one thread multiply each step's input and previous state by W_ih and W_hh at once
// (f32_panels::multiply_pair, both packed side by side along k), instead of one product of all
// T·B inputs by W_ih first: C7's input projection (K = I = 64) ran at 207 GFLOP/s, each kernel
// call storing its block of C after only 64 values of k, and wrote a T·B·G·H buffer that the
// cells then read back. Larger layers gain less but still gain, the cells reading their gates
// from cache (recur_bench, 1 thread, inference: C1 42.5 -> 41.6 ms, C5 10.7 -> 10.4, C6
// 54.4 -> 53.3; in bf16 C1 23.1 -> 22.1, C6 30.9 -> 29.4; training within 1 %), up to 8 MiB
// of packed weights, read at every step: C2's 32 MiB (16 in bf16) ran 3 % slower fused.
// LSTM and RNN, whose gates add the two products (GRU keeps W_hn·h apart); full batches (the
// rows of x in place) without projection.
constexpr int64_t kFuseUpToBytes = int64_t{8} << 20;

// bf16 layers the same on bf16 panels (bf16_panels::multiply_pair), their weights packed in
// half the bytes.
int64_t packed_pair_bytes(const Dims& d) {
  return d.bf16 ? kernels::bf16_panels::packed_pair_bytes(d.GH, d.I, d.H)
                : kernels::f32_panels::packed_pair_bytes(d.GH, d.I, d.H);
}

template <typename S>
bool fuse_input_product(const Dims& d, const Batch& b) {
  return std::is_same_v<S, float> &&
         (d.bf16 ? kernels::bf16_panels::available() : kernels::f32_panels::available()) &&
         d.mode != RnnMode::kGru && b.sorted_len[b.B - 1] == b.T && d.P == 0 &&
         b.T >= kPackFromSteps && b.B >= kPackFromRows && packed_pair_bytes(d) <= kFuseUpToBytes;
}

// The forward steps on two threads, each owning half of the hidden units: it packs the gate
// rows of W_hh for its units once, then at every step multiplies the whole previous state by
// them and runs the cell for its units only. One barrier per step (the next product reads
// every unit), where splitting the product and the cell separately forks twice per step.
// At inference the state alternates between two buffers (h_state, then the scratch h_alt),
// since one thread's cell writes its units while the other's product may still read the
// previous state; the LSTM cell state stays in place (each unit's is touched by its owner
// only). For a full batch without projection from kSplitFromMacs per step (use_two_threads).
// Where the layer's input and state products are fused (fuse_input_product), each thread packs
// its gate rows of W_ih and W_hh side by side and multiplies [x_t | h] by them: 2 threads,
// inference, C1 24.8-25.9 -> 22.1-24.4 ms, C7 0.56-0.72 -> 0.44-0.47, C1_bf16 14.2-15.2 ->
// 12.8-13.1 (one run 16.9).
template <typename S>
bool use_two_threads(const Dims& d, const Batch& b) {
  return std::is_same_v<S, float> && b.sorted_len[b.B - 1] == b.T && d.P == 0 &&
         b.T >= kPackFromSteps && b.B >= kPackFromRows && d.H >= 2 * 16 &&
         b.B * d.GH * d.H >= split_from_macs(d.bf16) && !omp_in_parallel() &&
         omp_get_max_threads() >= 2;
}

// `x` non-null (fuse_input_product): each thread packs its gate rows of W_ih and W_hh side by
// side and multiplies [x_t | h] by them at every step; xw is not read.
void forward_two_threads(const Dims& d, const LayerParams<float>& w, bool reverse, const Batch& b,
                         const float* x, const float* xw, const float* bias, const float* b_hn,
                         float* y, int64_t y_stride, float* h_state, float* c_state,
                         DirectionWorkspace<float>* ws) {
  const int64_t T = b.T, B = b.B, H = d.H, G = d.G, GH = d.GH;
  const bool lstm = d.mode == RnnMode::kLstm;
  const int64_t half = (H / 2 + 15) / 16 * 16;  // thread 0's units: [0, half)
  float* h_alt = ws ? nullptr : sized(scratch<float>().h_alt, B * H);
  std::exception_ptr error[2];      // each written by its thread, read after the region
  std::atomic<bool> failed{false};  // read by both threads on the way
#pragma omp parallel num_threads(2)
  {
    const int t = omp_get_thread_num();
    const int64_t u0 = t == 0 ? 0 : half, n = t == 0 ? half : H - half;
    Scratch<float>& own = scratch<float>();
    kernels::PackedWeights packed;
    const kernels::PackedWeights* weights = &packed;  // or the cache's
    const char* pair = nullptr;                       // fused: this thread's [W_ih | W_hh]
    float* gh = nullptr;
    try {
      if (x) {
        std::vector<char>& bytes = w.cache ? w.cache->own_pair[t] : own.pair;
        if (!w.cache || !w.cache->own_pair_at[t]) {
          const int64_t N = G * n;
          const int64_t size = (d.bf16 ? kernels::bf16_panels::packed_pair_bytes(N, d.I, H)
                                       : kernels::f32_panels::packed_pair_bytes(N, d.I, H)) +
                               64;
          if (static_cast<int64_t>(bytes.size()) < size) bytes.resize(size);
          const auto at = reinterpret_cast<std::uintptr_t>(bytes.data());
          char* to = bytes.data() + (64 - at % 64) % 64;
          // Gate g's rows for units [u0, u0 + n), in turn, of W_ih and of W_hh.
          std::vector<float> in(N * d.I), hh(N * H);
          for (int64_t g = 0; g < G; ++g) {
            std::copy_n(w.w_ih + (g * H + u0) * d.I, n * d.I, in.data() + g * n * d.I);
            std::copy_n(w.w_hh + (g * H + u0) * H, n * H, hh.data() + g * n * H);
          }
          if (d.bf16)
            kernels::bf16_panels::pack_pair(in.data(), d.I, hh.data(), H, N,
                                            reinterpret_cast<uint16_t*>(to));
          else
            kernels::f32_panels::pack_pair(in.data(), d.I, hh.data(), H, N,
                                           reinterpret_cast<float*>(to));
          if (w.cache) w.cache->own_pair_at[t] = to;
          pair = to;
        } else {
          pair = w.cache->own_pair_at[t];
        }
      } else if (!w.cache || !w.cache->own_rows[t]) {
        std::vector<float> rows(G * n * H);  // gate g's rows for units [u0, u0 + n), in turn
        for (int64_t g = 0; g < G; ++g)
          std::copy_n(w.w_hh + (g * H + u0) * H, n * H, rows.data() + g * n * H);
        if (w.cache)
          packed_in(w.cache->own_rows[t], rows.data(), G * n, H, /*trans_w=*/true, d.bf16);
        else
          packed.pack(rows.data(), G * n, H, /*trans_b=*/true, /*accumulating=*/false, d.bf16, 0,
                      &own.packed);
      }
      if (w.cache && !x) weights = &*w.cache->own_rows[t];
      gh = sized(own.gh, B * G * n);
    } catch (...) {
      error[t] = std::current_exception();
      failed = true;
    }
    // Both threads pass every barrier, whatever fails: after a failure they only skip work.
#pragma omp barrier
    for (int64_t s = 0; s < T; ++s) {
      if (!failed) {
        try {
          const int64_t tt = reverse ? T - 1 - s : s;  // full batch: every row at time tt
          const float* h_prev = ws ? &ws->h_all[s * B * H] : (s % 2 ? h_alt : h_state);
          float* h_next = ws ? &ws->h_all[(s + 1) * B * H] : (s % 2 ? h_state : h_alt);
          if (x && d.bf16)  // gates = [x_t | h_prev] · [W_ih | W_hh]ᵀ, this thread's rows
            kernels::bf16_panels::multiply_pair(reinterpret_cast<const uint16_t*>(pair), G * n, d.I,
                                                H, B, x + tt * B * d.I, d.I, h_prev, H, gh, G * n,
                                                false);
          else if (x)
            kernels::f32_panels::multiply_pair(reinterpret_cast<const float*>(pair), G * n, d.I, H,
                                               B, x + tt * B * d.I, d.I, h_prev, H, gh, G * n,
                                               false);
          else
            weights->multiply(B, h_prev, gh, false);
          CellForward<float> cell;
          cell.rows = B;
          cell.H = H;
          cell.gx = x ? nullptr : xw + tt * B * GH;
          cell.gh = gh;
          cell.bias = w.b_ih ? bias : nullptr;
          cell.b_hn = b_hn;
          cell.h_prev = h_prev;
          cell.c_prev = !lstm ? nullptr : ws ? &ws->c_all[s * B * H] : c_state;
          cell.h = h_next;
          cell.c = !lstm ? nullptr : ws ? &ws->c_all[(s + 1) * B * H] : c_state;
          cell.saved = ws && saves_gates(d) ? &ws->saved[s * B * d.W] : nullptr;
          cell.u0 = u0;
          cell.units = n;
          cell.gh_gate = n;
          cell_forward(d.mode, cell);
          for (int64_t r = 0; r < B; ++r)
            std::copy_n(h_next + r * H + u0, n, y + (tt * B + r) * y_stride + u0);
        } catch (...) {
          error[t] = std::current_exception();
          failed = true;
        }
      }
#pragma omp barrier
    }
  }
  for (const auto& e : error)
    if (e) std::rethrow_exception(e);
  if (!ws && T % 2) std::copy_n(h_alt, B * H, h_state);  // the last step wrote h_alt
}

// One direction forward. x (T, B, I); y (T, B, y_stride) at this direction's column offset;
// h0, c0, h_n, c_n (B, Ho / H) in original batch order.
template <typename S>
void direction_forward(const Dims& d, const LayerParams<S>& w, bool reverse, const Batch& b,
                       const S* x, const S* h0, const S* c0, S* y, int64_t y_stride, S* h_n, S* c_n,
                       DirectionWorkspace<S>* ws) {
  const int64_t T = b.T, B = b.B, H = d.H, Ho = d.Ho, GH = d.GH;
  const bool lstm = d.mode == RnnMode::kLstm;
  const bool gru = d.mode == RnnMode::kGru;

  // Everything that outlives the call (scratch, workspace, packed W_hh) is sized before the
  // input projection, whose GEMM allocates and frees scratch of its own: placed after it, they
  // would sit in the hole it leaves, and the next call's GEMM scratch would not fit there.
  Scratch<S>& sc = scratch<S>();
  const bool full = b.sorted_len[B - 1] == T;  // then perm is the identity
  const bool two_threads = use_two_threads<S>(d, b);
  const bool fused = fuse_input_product<S>(d, b);  // on two threads too, each its own rows
  S* xw = sized(sc.xw, fused ? 0 : T * B * GH);    // (T, B, GH)
  S* bias = sized(sc.bias, GH);
  S* gx = sized(sc.gx, full ? 0 : B * GH);
  S* gh = sized(sc.gh, B * GH);
  S* h_raw_scratch = sized(sc.h_raw, d.P ? B * H : 0);
  S* h_state = sized(sc.h_state, B * Ho);  // (B, Ho) sorted rows
  S* c_state = sized(sc.c_state, lstm ? B * H : 0);
  for (int64_t j = 0; j < B; ++j) {
    S* h = h_state + j * Ho;
    h0 ? std::copy_n(h0 + b.perm[j] * Ho, Ho, h) : std::fill_n(h, Ho, S(0));
    if (lstm) {
      S* c = c_state + j * H;
      c0 ? std::copy_n(c0 + b.perm[j] * H, H, c) : std::fill_n(c, H, S(0));
    }
  }
  if (ws) {
    grow(ws->h_all, (T + 1) * B * Ho);
    std::copy_n(h_state, B * Ho, ws->h_all.data());
    zero_inactive(ws->h_all.data() + B * Ho, b, Ho);
    grow(ws->c_all, lstm ? (T + 1) * B * H : 0);
    if (lstm) {
      std::copy_n(c_state, B * H, ws->c_all.data());
      zero_inactive(ws->c_all.data() + B * H, b, H);
    }
    grow(ws->h_raw, d.P ? T * B * H : 0);
    if (d.P) zero_inactive(ws->h_raw.data(), b, H);
    grow(ws->saved, saves_gates(d) ? T * B * d.W : 0);
  }
  std::optional<StepProduct<S>> recurrent;  // packed here, before the input projection
  char* pair = nullptr;                     // fused: [W_ih | W_hh] packed, in sc.pair
  if (fused && !two_threads) {
    std::vector<char>& bytes = w.cache ? w.cache->pair : scratch<float>().pair;
    const bool packed = w.cache && w.cache->pair_at;
    const int64_t n = packed_pair_bytes(d) + 64;
    if (static_cast<int64_t>(bytes.size()) < n) bytes.resize(n);
    const auto at = reinterpret_cast<std::uintptr_t>(bytes.data());
    pair = bytes.data() + (64 - at % 64) % 64;
    if (w.cache) w.cache->pair_at = pair;
    if constexpr (std::is_same_v<S, float>)
      if (!packed) {
        if (d.bf16)
          kernels::bf16_panels::pack_pair(w.w_ih, d.I, w.w_hh, H, GH,
                                          reinterpret_cast<uint16_t*>(pair));
        else
          kernels::f32_panels::pack_pair(w.w_ih, d.I, w.w_hh, H, GH,
                                         reinterpret_cast<float*>(pair));
      }
  } else if (!two_threads) {
    recurrent.emplace(w.w_hh, GH, Ho, /*trans_w=*/true, /*accumulating=*/false, T, B, d.bf16,
                      w.cache);
  }

  if (!fused)
    input_product<S>(d.bf16, T * B, GH, d.I, x, w.w_ih, /*trans_w=*/true, xw,
                     /*accumulate=*/false, w.cache);
  // The cell adds b_ih + b_hh (except GRU's n block, whose b_hh sits inside r⊙(...)) to the
  // input projections as it reads them: no pass of its own over all T·B·GH of them.
  if (w.b_ih)
    for (int64_t k = 0; k < GH; ++k) bias[k] = w.b_ih[k] + ((gru && k >= 2 * H) ? S(0) : w.b_hh[k]);
  const S* b_hn = (gru && w.b_hh) ? w.b_hh + 2 * H : nullptr;

  // The steps: on two threads (use_two_threads, float only), or in this loop.
  if constexpr (std::is_same_v<S, float>)
    if (two_threads)
      forward_two_threads(d, w, reverse, b, fused ? x : nullptr, xw, bias, b_hn, y, y_stride,
                          h_state, c_state, ws);
  for (int64_t s = 0; s < T && !two_threads; ++s) {
    const int64_t rows = b.active[s];
    if (rows == 0) break;
    S* h_prev = ws ? &ws->h_all[s * B * Ho] : h_state;
    S* h_next = ws ? &ws->h_all[(s + 1) * B * Ho] : h_state;
    S* c_prev = !lstm ? nullptr : ws ? &ws->c_all[s * B * H] : c_state;
    S* c_next = !lstm ? nullptr : ws ? &ws->c_all[(s + 1) * B * H] : c_state;
    S* h_cell = !d.P ? h_next : ws ? &ws->h_raw[s * B * H] : h_raw_scratch;

    // Full batches read this step's input projections where they are (rows in batch order);
    // otherwise the active rows are gathered in sorted order.
    const S* gx_step = fused ? nullptr : full ? xw + (reverse ? T - 1 - s : s) * B * GH : gx;
    if (!full)
      for (int64_t j = 0; j < rows; ++j) {
        const int64_t t = b.time_of(s, j, reverse);
        std::copy_n(&xw[(t * B + b.perm[j]) * GH], GH, &gx[j * GH]);
      }
    if constexpr (std::is_same_v<S, float>)
      if (fused) {  // gates = [x_t | h_prev] · [W_ih | W_hh]ᵀ
        const float* x_t = x + (reverse ? T - 1 - s : s) * B * d.I;
        if (d.bf16)
          kernels::bf16_panels::multiply_pair(reinterpret_cast<const uint16_t*>(pair), GH, d.I, H,
                                              rows, x_t, d.I, h_prev, H, gh, GH, false);
        else
          kernels::f32_panels::multiply_pair(reinterpret_cast<const float*>(pair), GH, d.I, H, rows,
                                             x_t, d.I, h_prev, H, gh, GH, false);
      }
    if (!fused) (*recurrent)(rows, h_prev, gh, false);

    CellForward<S> cell;
    cell.rows = rows;
    cell.H = H;
    cell.gx = gx_step;  // null when fused: gh holds both products
    cell.gh = gh;
    cell.bias = w.b_ih ? bias : nullptr;
    cell.b_hn = b_hn;
    cell.h_prev = h_prev;
    cell.c_prev = c_prev;
    cell.h = h_cell;
    cell.c = c_next;
    cell.saved = ws && saves_gates(d) ? &ws->saved[s * B * d.W] : nullptr;
    cell_forward(d.mode, cell);
    if (d.P) product<S>(d.bf16, false, true, rows, d.P, H, h_cell, H, w.w_hr, H, S(0), h_next, d.P);

    for (int64_t j = 0; j < rows; ++j) {
      const int64_t t = b.time_of(s, j, reverse);
      std::copy_n(&h_next[j * Ho], Ho, &y[(t * B + b.perm[j]) * y_stride]);
    }
  }

  for (int64_t j = 0; j < B; ++j) {
    const int64_t n = b.sorted_len[j];
    const S* h = ws ? &ws->h_all[(n * B + j) * Ho] : h_state + j * Ho;
    std::copy_n(h, Ho, h_n + b.perm[j] * Ho);
    if (lstm) {
      const S* c = ws ? &ws->c_all[(n * B + j) * H] : c_state + j * H;
      std::copy_n(c, H, c_n + b.perm[j] * H);
    }
  }
}

template <typename S>
void add_column_sums(const S* m, int64_t rows, int64_t cols, S* out, bool add) {
  if (!add) std::fill_n(out, cols, S(0));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < cols; ++k) out[k] += m[r * cols + k];
}

// out (+)= sums, or out = sums.
template <typename S>
void add_or_assign(const S* sums, int64_t n, S* out, bool add) {
  for (int64_t k = 0; k < n; ++k) out[k] = add ? out[k] + sums[k] : sums[k];
}

// Row i of m becomes the old row src[i], for a permutation src of m's n rows (each `width`
// wide), in place: the cycles are followed through one spare row, tmp. Leaves src the identity.
template <typename S>
void permute_rows(S* m, int64_t n, int64_t width, int64_t* src, S* tmp) {
  for (int64_t start = 0; start < n; ++start) {
    if (src[start] == start) continue;
    std::copy_n(m + start * width, width, tmp);
    int64_t cur = start;
    while (src[cur] != start) {
      const int64_t next = src[cur];
      std::copy_n(m + next * width, width, m + cur * width);
      src[cur] = cur;
      cur = next;
    }
    std::copy_n(tmp, width, m + cur * width);
    src[cur] = cur;
  }
}

// One direction backward: adds the parameter gradients to g (writes them when !add_grads),
// writes d loss / d x into dx (T, B, I) and dh0 / dc0 (B, Ho / H) in original order.
//
// The gate gradients of every step, d gx, are kept in one (T, B, GH) buffer, time-major in
// original batch order as x is: the input projections' buffer, dead once the forward has
// returned. When every sequence has length T (rows in batch order, iteration s at time s or
// T - 1 - s) each step writes its block in place. After the products with x, the buffer is
// reordered into iteration order, sorted rows, zeros where inactive, and turned into d gh (the
// same values for LSTM and RNN; GRU's n block times r), for W_hh's gradient: the same matrix,
// summed in the same order, as a second buffer of d gh held through the time loop used to be.
template <typename S>
void direction_backward(const Dims& d, const LayerParams<S>& w, bool reverse, const Batch& b,
                        const S* x, const DirectionWorkspace<S>& ws, const S* dy, int64_t y_stride,
                        const S* dh_n, const S* dc_n, const LayerGradPtrs<S>& g, bool add_grads,
                        S* dx, S* dh0, S* dc0) {
  const int64_t T = b.T, B = b.B, H = d.H, Ho = d.Ho, GH = d.GH;
  const bool lstm = d.mode == RnnMode::kLstm;
  const bool gru = d.mode == RnnMode::kGru;
  const bool full = b.sorted_len[B - 1] == T;  // then perm is the identity
  RECUR_ASSERT(saves_gates(d) || d.W == Ho);   // RNN: the rows of h_all are the saved rows

  Scratch<S>& sc = scratch<S>();
  S* dgx_all = sized(sc.xw, T * B * GH);                // (T, B, GH) see above
  S* dh_all = sized(sc.dh_all, d.P ? T * B * d.P : 0);  // (T, B, P) d h at each iteration
  S* dh = sized(sc.dh, B * Ho);                         // (B, Ho) sorted rows
  S* dc = sized(sc.dc, lstm ? B * H : 0);               // (B, H)
  S* dh_raw = sized(sc.dh_raw, d.P ? B * H : 0);
  // One step's d gx when it is not written in place, and GRU's d gh, (B, GH) sorted rows: the
  // forward's per-step buffers, dead here too.
  S* dgx_step = sized(sc.gx, full ? 0 : B * GH);
  S* dgh_step = sized(sc.gh, gru ? B * GH : 0);
  S* dh_direct = sized(sc.dh_direct, gru ? B * H : 0);
  int64_t* order = sized(sc.order, full ? 0 : T * B);  // for the reordering after the loop
  S* spare_row = sized(sc.row, full ? 0 : GH);
  // The bias gradient, d gx summed over rows, is added up step by step while each step's rows
  // are in cache, once for both biases (they are equal but for GRU's n block), instead of a
  // pass per bias over all T·B·GH of them after the loop: 16 MiB for C1, 0.5-0.7 ms a pass.
  const bool sums = g.b_ih || (g.b_hh && !gru);
  S* bias_sum = sized(sc.bias_sum, sums ? GH : 0);
  std::fill_n(bias_sum, sums ? GH : 0, S(0));
  if (!full)
    for (int64_t t = 0; t < T; ++t)  // padded positions get no gradient
      for (int64_t bb = 0; bb < B; ++bb)
        if (t >= b.lengths[bb]) std::fill_n(dgx_all + (t * B + bb) * GH, GH, S(0));
  if (d.P) zero_inactive(dh_all, b, d.P);
  for (int64_t j = 0; j < B; ++j) {
    dh_n ? std::copy_n(dh_n + b.perm[j] * Ho, Ho, dh + j * Ho) : std::fill_n(dh + j * Ho, Ho, S(0));
    if (lstm)
      dc_n ? std::copy_n(dc_n + b.perm[j] * H, H, dc + j * H) : std::fill_n(dc + j * H, H, S(0));
  }

  const StepProduct<S> recurrent(w.w_hh, Ho, GH, /*trans_w=*/false, /*accumulating=*/gru, T, B,
                                 d.bf16);
  for (int64_t s = T - 1; s >= 0; --s) {
    const int64_t rows = b.active[s];
    if (rows == 0) continue;
    for (int64_t j = 0; j < rows; ++j) {
      const S* dyr = dy + (b.time_of(s, j, reverse) * B + b.perm[j]) * y_stride;
      for (int64_t k = 0; k < Ho; ++k) dh[j * Ho + k] += dyr[k];
    }
    const S* dh_cell = dh;
    if (d.P) {
      std::copy_n(dh, rows * d.P, dh_all + s * B * d.P);
      product<S>(d.bf16, false, false, rows, H, d.P, dh, d.P, w.w_hr, H, S(0), dh_raw, H);
      dh_cell = dh_raw;
    }
    S* dg = full ? dgx_all + (reverse ? T - 1 - s : s) * B * GH : dgx_step;
    CellBackward<S> cell;
    cell.rows = rows;
    cell.H = H;
    cell.saved = saves_gates(d) ? &ws.saved[s * B * d.W] : &ws.h_all[(s + 1) * B * Ho];
    cell.h_prev = &ws.h_all[s * B * Ho];
    cell.c_prev = lstm ? &ws.c_all[s * B * H] : nullptr;
    cell.c = lstm ? &ws.c_all[(s + 1) * B * H] : nullptr;
    cell.dh = dh_cell;
    cell.dc = lstm ? dc : nullptr;
    cell.dgx = dg;
    cell.dgh = gru ? dgh_step : dg;
    cell.dh_prev = gru ? dh_direct : nullptr;
    cell_backward(d.mode, cell);
    if (sums)
      for (int64_t j = 0; j < rows; ++j)
        for (int64_t k = 0; k < GH; ++k) bias_sum[k] += dg[j * GH + k];

    if (!full)
      for (int64_t j = 0; j < rows; ++j) {
        const int64_t t = b.time_of(s, j, reverse);
        std::copy_n(dg + j * GH, GH, dgx_all + (t * B + b.perm[j]) * GH);
      }
    if (gru) std::copy_n(dh_direct, rows * H, dh);
    recurrent(rows, cell.dgh, dh, /*accumulate=*/gru);
  }

  for (int64_t j = 0; j < B; ++j) {
    std::copy_n(dh + j * Ho, Ho, dh0 + b.perm[j] * Ho);
    if (lstm) std::copy_n(dc + j * H, H, dc0 + b.perm[j] * H);
  }

  // In bf16 on the panels, when d gh is d gx as it stands (LSTM and RNN, every sequence full,
  // forward direction), both weight gradients come from one conversion of it.
  bool w_hh_done = false;
  if constexpr (std::is_same_v<S, float>) {
    if (d.bf16 && full && !reverse && !gru && kernels::bf16_panels::available()) {
      kernels::bf16_panels::gemm_pair(/*trans_a=*/true, GH, T * B, dgx_all, GH, x, d.I, d.I, g.w_ih,
                                      d.I, ws.h_all.data(), Ho, Ho, g.w_hh, Ho, add_grads);
      w_hh_done = true;
    }
  }
  if (!w_hh_done) add_weight_grad<S>(d.bf16, GH, d.I, T * B, dgx_all, x, g.w_ih, add_grads);
  if (g.b_ih) add_or_assign(bias_sum, GH, g.b_ih, add_grads);
  // b_hh's gradient is b_ih's, except for GRU's n block (r⊙(W_hn·h + b_hn)): summed below.
  if (g.b_hh && !gru) add_or_assign(bias_sum, GH, g.b_hh, add_grads);
  if (d.P)
    product<S>(d.bf16, true, false, d.P, H, T * B, dh_all, d.P, ws.h_raw.data(), H,
               add_grads ? S(1) : S(0), g.w_hr, H);
  // Every row of dx is written here, padded positions too (their d gx rows are zeros).
  input_product<S>(d.bf16, T * B, d.I, GH, dgx_all, w.w_ih, /*trans_w=*/false, dx,
                   /*accumulate=*/false);

  // dgx_all becomes d gh in iteration order: row s·B + j from time t = time_of(s, j) and batch
  // row perm[j]; the inactive rows from the padded positions (zeros), in any order.
  if (full && reverse) {  // iteration s is time T - 1 - s
    for (int64_t s = 0; s < T / 2; ++s)
      std::swap_ranges(dgx_all + s * B * GH, dgx_all + (s + 1) * B * GH,
                       dgx_all + (T - 1 - s) * B * GH);
  } else if (!full) {
    int64_t* src = order;
    int64_t padded = 0;  // the next padded position, time row t·B + bb with t >= lengths[bb]
    for (int64_t s = 0; s < T; ++s)
      for (int64_t j = 0; j < B; ++j) {
        if (j < b.active[s]) {
          src[s * B + j] = b.time_of(s, j, reverse) * B + b.perm[j];
        } else {
          while (padded / B < b.lengths[padded % B]) ++padded;
          src[s * B + j] = padded++;
        }
      }
    permute_rows(dgx_all, T * B, GH, src, spare_row);
  }
  if (gru)  // d gh's n block is d gx's times r, the first block of the saved gates
    for (int64_t s = 0; s < T; ++s)
      for (int64_t j = 0; j < b.active[s]; ++j) {
        S* dn = dgx_all + (s * B + j) * GH + 2 * H;
        const S* r = &ws.saved[(s * B + j) * d.W];
        for (int64_t k = 0; k < H; ++k) dn[k] *= r[k];
      }
  if (!w_hh_done)
    add_weight_grad<S>(d.bf16, GH, Ho, T * B, dgx_all, ws.h_all.data(), g.w_hh, add_grads);
  if (g.b_hh && gru) add_column_sums(dgx_all, T * B, GH, g.b_hh, add_grads);
}

// Runs body(dir) for the D directions of a layer: on two threads when the layer is
// bidirectional and two are available (each direction then runs its GEMMs on one core, which
// beats splitting every small per-step GEMM across both), in turn otherwise. An exception from
// either direction is rethrown on the caller's thread.
template <typename F>
void for_each_direction(int64_t D, F&& body) {
  const bool parallel = D == 2 && omp_get_max_threads() >= 2 && !omp_in_parallel();
  if (!parallel) {
    for (int64_t dir = 0; dir < D; ++dir) body(dir);
    return;
  }
  std::exception_ptr error[2];
#pragma omp parallel for num_threads(2) schedule(static, 1)
  for (int64_t dir = 0; dir < 2; ++dir) {
    try {
      body(dir);
    } catch (...) {
      error[dir] = std::current_exception();
    }
  }
  for (const auto& e : error)
    if (e) std::rethrow_exception(e);
}

}  // namespace

template <typename S>
void stack_forward(const StackParams<S>& params, const Batch& batch, const S* input, const S* h0,
                   const S* c0, S* output, S* h_n, S* c_n, const std::vector<std::vector<S>>* masks,
                   StackWorkspace<S>* ws) {
  const RnnOptions& o = params.options;
  const int64_t L = o.num_layers, D = o.num_directions(), T = batch.T, B = batch.B;
  const int64_t Ho = o.output_hidden_size(), H = o.hidden_size;
  const bool lstm = o.mode == RnnMode::kLstm;
  if (ws) {  // resized, not cleared: the buffers are reused from call to call
    ws->batch = batch;
    ws->layer_inputs.resize(L);
    ws->masks.resize(L);
    ws->dirs.resize(L * D);
    ws->layer_inputs[0].assign(input, input + T * B * o.input_size);
    ws->masks[0].clear();
  }
  // A layer's output is the next one's input: written straight into the workspace in training,
  // into two buffers of the thread's kept from call to call at inference.
  thread_local std::vector<S> inference_io[2];
  std::vector<S>& layer_in = inference_io[0];
  std::vector<S>& layer_out = inference_io[1];
  const S* x = input;
  for (int64_t l = 0; l < L; ++l) {
    const Dims d = dims_of(o, l);
    const bool last = l == L - 1;
    std::vector<S>& next = ws && !last ? ws->layer_inputs[l + 1] : layer_out;
    S* out = output;
    if (!last) {  // every active step is written below; the padded ones must read as zeros
      const int64_t Y = D * Ho;
      next.resize(T * B * Y);
      out = next.data();
      for (int64_t bb = 0; bb < B; ++bb)
        for (int64_t t = batch.lengths[bb]; t < T; ++t)
          std::fill_n(out + (t * B + bb) * Y, Y, S(0));
    }
    for_each_direction(D, [&](int64_t dir) {
      const int64_t ld = l * D + dir;
      direction_forward<S>(d, params.layers[ld], dir == 1, batch, x,
                           h0 ? h0 + ld * B * Ho : nullptr, lstm && c0 ? c0 + ld * B * H : nullptr,
                           out + dir * Ho, D * Ho, h_n + ld * B * Ho,
                           lstm ? c_n + ld * B * H : nullptr, ws ? &ws->dirs[ld] : nullptr);
    });
    if (last) break;
    const std::vector<S>* mask = masks && !(*masks)[l + 1].empty() ? &(*masks)[l + 1] : nullptr;
    if (mask)
      for (size_t i = 0; i < next.size(); ++i) next[i] *= (*mask)[i];
    if (ws) {
      if (mask)
        ws->masks[l + 1] = *mask;
      else
        ws->masks[l + 1].clear();
      x = next.data();
    } else {
      layer_in.swap(layer_out);
      x = layer_in.data();
    }
  }
}

template <typename S>
void stack_backward(const StackParams<S>& params, const StackWorkspace<S>& ws, const S* d_output,
                    const S* d_h_n, const S* d_c_n, const std::vector<LayerGradPtrs<S>>& grads,
                    S* d_input, S* d_h0, S* d_c0, bool accumulate_grads) {
  const RnnOptions& o = params.options;
  const Batch& batch = ws.batch;
  const int64_t L = o.num_layers, D = o.num_directions(), T = batch.T, B = batch.B;
  const int64_t Ho = o.output_hidden_size(), H = o.hidden_size;
  const bool lstm = o.mode == RnnMode::kLstm;
  RECUR_CHECK(static_cast<int64_t>(ws.dirs.size()) == L * D,
              "backward: the workspace was filled by a different RNN configuration");
  RECUR_ASSERT(static_cast<int64_t>(grads.size()) == L * D);

  // The top layer reads d_output, layer 0 writes d_input, in place; the layers between pass d
  // input down through dy / dx. dx_reverse: the reverse direction's share of d loss / d input,
  // added after both ran, so the two directions can run at once without writing the same memory.
  std::vector<S> dy, dx, dx_reverse;
  const S* d_out = d_output;
  for (int64_t l = L - 1; l >= 0; --l) {
    const Dims d = dims_of(o, l);
    const int64_t n = T * B * d.I;
    S* d_in = d_input;  // every element written by the forward direction below
    if (l > 0) {
      dx.resize(n);
      d_in = dx.data();
    }
    if (D == 2) dx_reverse.resize(n);
    for_each_direction(D, [&](int64_t dir) {
      const int64_t ld = l * D + dir;
      direction_backward<S>(d, params.layers[ld], dir == 1, batch, ws.layer_inputs[l].data(),
                            ws.dirs[ld], d_out + dir * Ho, D * Ho,
                            d_h_n ? d_h_n + ld * B * Ho : nullptr,
                            lstm && d_c_n ? d_c_n + ld * B * H : nullptr, grads[ld],
                            accumulate_grads, dir == 1 ? dx_reverse.data() : d_in,
                            d_h0 + ld * B * Ho, lstm ? d_c0 + ld * B * H : nullptr);
    });
    if (D == 2)
      for (int64_t i = 0; i < n; ++i) d_in[i] += dx_reverse[i];
    if (l == 0) break;
    const std::vector<S>& mask = ws.masks[l];
    if (!mask.empty())
      for (int64_t i = 0; i < n; ++i) d_in[i] *= mask[i];
    dy.swap(dx);
    d_out = dy.data();
  }
}

template <typename S>
void stack_backward(const StackParams<S>& params, const StackWorkspace<S>& ws, const S* d_output,
                    const S* d_h_n, const S* d_c_n, std::vector<LayerGrads<S>>* grads, S* d_input,
                    S* d_h0, S* d_c0) {
  const RnnOptions& o = params.options;
  const int64_t L = o.num_layers, D = o.num_directions();
  if (grads->empty()) {
    grads->resize(L * D);
    for (int64_t l = 0; l < L; ++l) {
      const Dims d = dims_of(o, l);
      for (int64_t dir = 0; dir < D; ++dir) {
        LayerGrads<S>& g = (*grads)[l * D + dir];
        g.w_ih.assign(d.GH * d.I, S(0));
        g.w_hh.assign(d.GH * d.Ho, S(0));
        if (o.bias) {
          g.b_ih.assign(d.GH, S(0));
          g.b_hh.assign(d.GH, S(0));
        }
        if (d.P) g.w_hr.assign(d.P * d.H, S(0));
      }
    }
  }
  RECUR_CHECK(static_cast<int64_t>(grads->size()) == L * D,
              "backward: the gradients were sized for a different RNN configuration");
  auto ptr = [](std::vector<S>& v) { return v.empty() ? nullptr : v.data(); };
  std::vector<LayerGradPtrs<S>> ptrs(L * D);
  for (int64_t ld = 0; ld < L * D; ++ld) {
    LayerGrads<S>& g = (*grads)[ld];
    ptrs[ld] = {ptr(g.w_ih), ptr(g.w_hh), ptr(g.b_ih), ptr(g.b_hh), ptr(g.w_hr)};
  }
  stack_backward<S>(params, ws, d_output, d_h_n, d_c_n, ptrs, d_input, d_h0, d_c0);
}

template void stack_forward<float>(const StackParams<float>&, const Batch&, const float*,
                                   const float*, const float*, float*, float*, float*,
                                   const std::vector<std::vector<float>>*, StackWorkspace<float>*);
template void stack_forward<double>(const StackParams<double>&, const Batch&, const double*,
                                    const double*, const double*, double*, double*, double*,
                                    const std::vector<std::vector<double>>*,
                                    StackWorkspace<double>*);
template void stack_backward<float>(const StackParams<float>&, const StackWorkspace<float>&,
                                    const float*, const float*, const float*,
                                    const std::vector<LayerGradPtrs<float>>&, float*, float*,
                                    float*, bool);
template void stack_backward<double>(const StackParams<double>&, const StackWorkspace<double>&,
                                     const double*, const double*, const double*,
                                     const std::vector<LayerGradPtrs<double>>&, double*, double*,
                                     double*, bool);
template void stack_backward<float>(const StackParams<float>&, const StackWorkspace<float>&,
                                    const float*, const float*, const float*,
                                    std::vector<LayerGrads<float>>*, float*, float*, float*);
template void stack_backward<double>(const StackParams<double>&, const StackWorkspace<double>&,
                                     const double*, const double*, const double*,
                                     std::vector<LayerGrads<double>>*, double*, double*, double*);

}  // namespace recur::rnn
