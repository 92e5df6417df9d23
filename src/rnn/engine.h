// The recurrent engine: one direction of one layer over a batch of variable-length
// sequences (forward and BPTT backward), and stacks of layers x directions on top of it.
// Templated on the scalar type: float is the product, double is the reference used by the
// finite-difference checks. Everything here is time-major, (T, B, features).
// Leaves out: tensors, names, batch_first and argument checking (src/rnn/rnn.cc does those).
//
// Variable lengths follow PyTorch's packed sequences. Rows are processed in an order sorted
// by decreasing length (perm), so at iteration s the active rows are a prefix [0, active[s]).
// The forward direction visits t = s; the reverse direction visits t = len - 1 - s, so each
// sequence is reversed within its own length.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "recur/rnn.h"

namespace recur::rnn {

struct Batch {
  int64_t T = 0;
  int64_t B = 0;
  std::vector<int64_t> lengths;     // (B) original order
  std::vector<int64_t> perm;        // (B) sorted position -> original batch index
  std::vector<int64_t> sorted_len;  // (B) lengths in sorted order (non-increasing)
  std::vector<int64_t> active;      // (T) rows with sorted_len > s

  // Validates lengths (each in 1..T); an empty vector means every sequence has length T.
  static Batch make(int64_t T, int64_t B, const std::vector<int64_t>& lengths);
  int64_t time_of(int64_t s, int64_t j, bool reverse) const {
    return reverse ? sorted_len[j] - 1 - s : s;
  }
};

// The packed weights of one layer-direction, kept from call to call (RnnInference): each form
// the forward needs (W_ih and W_hh side by side, W_hh whole or as two halves, W_ih in bf16,
// each thread's gate rows) is packed on its first use and reused after. Inference only, and the
// weights must not change while it is in use. Not for two calls at once.
struct PackCache;
struct PackCacheDeleter {
  void operator()(PackCache* c) const;
};
using PackCachePtr = std::unique_ptr<PackCache, PackCacheDeleter>;
PackCachePtr make_pack_cache();

template <typename S>
struct LayerParams {           // one layer, one direction
  const S* w_ih = nullptr;     // (G*H, I)
  const S* w_hh = nullptr;     // (G*H, H_out)
  const S* b_ih = nullptr;     // (G*H) or null
  const S* b_hh = nullptr;     // (G*H) or null
  const S* w_hr = nullptr;     // (P, H) or null
  PackCache* cache = nullptr;  // float inference only: packed weights kept (else packed per call)
};

template <typename S>
struct LayerGrads {  // same shapes as LayerParams; empty vectors for absent parameters
  std::vector<S> w_ih, w_hh, b_ih, b_hh, w_hr;
};

template <typename S>
struct LayerGradPtrs {  // where one layer-direction's gradients are accumulated; null if absent
  S* w_ih = nullptr;
  S* w_hh = nullptr;
  S* b_ih = nullptr;
  S* b_hh = nullptr;
  S* w_hr = nullptr;
};

template <typename S>
struct StackParams {
  RnnOptions options;
  std::vector<LayerParams<S>> layers;  // (L*D), index l*D + d
};

template <typename S>
struct DirectionWorkspace {
  std::vector<S> h_all;  // (T+1, B, H_out) state before/after each iteration, sorted rows
  std::vector<S> c_all;  // (T+1, B, H) LSTM only
  std::vector<S> h_raw;  // (T, B, H) projected LSTM only: h before the projection
  std::vector<S> saved;  // (T, B, saved_gate_width) gate activations; RNN: none, h_all has them
};

template <typename S>
struct StackWorkspace {
  Batch batch;
  std::vector<std::vector<S>> layer_inputs;  // (L) each (T, B, I_l), after dropout
  std::vector<std::vector<S>> masks;  // (L) masks[l] scaled the input of layer l; may be empty
  std::vector<DirectionWorkspace<S>> dirs;  // (L*D)
};

// Runs the whole stack. `input` must be zero at padded positions. h0/c0 (L*D, B, H_out / H)
// may be null for zeros; c0/c_n are used by LSTM only. `masks`, when non-null, holds for each
// layer l >= 1 a (T, B, D*H_out) multiplier applied to that layer's input (dropout); empty
// entries mean none. `ws` null = inference.
template <typename S>
void stack_forward(const StackParams<S>& params, const Batch& batch, const S* input, const S* h0,
                   const S* c0, S* output, S* h_n, S* c_n, const std::vector<std::vector<S>>* masks,
                   StackWorkspace<S>* ws);

// Gradients of sum(output*d_output) + sum(h_n*d_h_n) + sum(c_n*d_c_n). Parameter gradients
// are accumulated into `grads` (L*D entries, each as LayerParams has them), or written there,
// whatever they held, when !accumulate_grads. d_input (T, B, I), d_h0 (L*D, B, H_out) and d_c0
// (L*D, B, H) are written; d_h_n and d_c_n may be null.
template <typename S>
void stack_backward(const StackParams<S>& params, const StackWorkspace<S>& ws, const S* d_output,
                    const S* d_h_n, const S* d_c_n, const std::vector<LayerGradPtrs<S>>& grads,
                    S* d_input, S* d_h0, S* d_c0, bool accumulate_grads = true);

// The same, accumulating into vectors (sized and zeroed by this call when `grads` is empty).
template <typename S>
void stack_backward(const StackParams<S>& params, const StackWorkspace<S>& ws, const S* d_output,
                    const S* d_h_n, const S* d_c_n, std::vector<LayerGrads<S>>* grads, S* d_input,
                    S* d_h0, S* d_c0);

// Input width of layer l.
int64_t layer_input_size(const RnnOptions& options, int64_t layer);

}  // namespace recur::rnn
