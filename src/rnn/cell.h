// Pointwise cell math for one time step over the active rows of a batch: RNN (tanh, relu),
// LSTM and GRU, forward and backward. The matrix products around it (input projection,
// recurrent projection, LSTM projection) are done by the caller through kernels::gemm.
// Leaves out: GEMMs, time loops, variable lengths (src/rnn/direction.*).
//
// Legend: R = active rows, H = hidden size, G = gate count (RNN 1, LSTM 4, GRU 3).
// gx = x·W_ihᵀ + b_ih (+ b_hh where it can be folded), gh = h_prev·W_hhᵀ (no bias).
//
// RNN:   h = act(gx + gh)                          dpre = dh · act'(h)
// LSTM:  [i f g o] = [σ σ tanh σ](gx + gh)         (b_hh folded into gx)
//        c = f⊙c_prev + i⊙g,  h = o⊙tanh(c)
//        do = dh⊙tanh(c);  dc += dh⊙o⊙(1 - tanh²c);  di = dc⊙g;  dg = dc⊙i;  df = dc⊙c_prev
//        dc_prev = dc⊙f;  pre-activation grads multiply by σ' = s(1-s) or tanh' = 1-t²
// GRU:   r = σ(gx_r + gh_r),  z = σ(gx_z + gh_z)   (b_hr, b_hz folded into gx)
//        hn = gh_n + b_hn,  n = tanh(gx_n + r⊙hn),  h = (1-z)⊙n + z⊙h_prev
//        dn = dh⊙(1-z)⊙(1-n²);  dz = dh⊙(h_prev-n)⊙z(1-z);  dr = dn⊙hn⊙r(1-r)
//        d gx = [dr dz dn],  d gh = [dr dz dn⊙r],  dh_prev (direct part) = dh⊙z
#pragma once

#include <cstdint>

#include "recur/rnn.h"

namespace recur::rnn {

// Width of the per-step saved activations: RNN H (h), LSTM 4H (i f g o), GRU 4H (r z n hn).
int64_t saved_gate_width(RnnMode mode, int64_t H);

template <typename S>
struct CellForward {
  int64_t rows = 0;
  int64_t H = 0;
  const S* gx = nullptr;      // (R, G*H); null: zeros (gh holds the whole pre-activation)
  const S* gh = nullptr;      // (R, G*H)
  const S* bias = nullptr;    // (G*H) added to every row of gx; null: none
  const S* b_hn = nullptr;    // (H) GRU only; null when bias=false
  const S* h_prev = nullptr;  // (R, H) GRU only
  const S* c_prev = nullptr;  // (R, H) LSTM only
  S* h = nullptr;             // (R, H) new hidden state (pre-projection for LSTM)
  S* c = nullptr;             // (R, H) LSTM only
  S* saved = nullptr;         // (R, saved_gate_width) or null at inference
  // Only the hidden units [u0, u0 + units) (units 0: all H), every buffer above indexed as
  // usual, except gh when gh_gate is set: then gh holds just those units, gate g of unit u0 + k
  // at gh[r * G * gh_gate + g * gh_gate + k] (a thread's own block of the step's product).
  int64_t u0 = 0, units = 0, gh_gate = 0;
};

template <typename S>
struct CellBackward {
  int64_t rows = 0;
  int64_t H = 0;
  const S* saved = nullptr;   // (R, saved_gate_width) from the forward
  const S* h_prev = nullptr;  // (R, H) GRU only
  const S* c_prev = nullptr;  // (R, H) LSTM only
  const S* c = nullptr;       // (R, H) LSTM only
  const S* dh = nullptr;      // (R, H) d loss / d h of this step (pre-projection for LSTM)
  S* dc = nullptr;            // (R, H) LSTM: in d loss / d c, out d loss / d c_prev
  S* dgx = nullptr;           // (R, G*H) d loss / d gx
  S* dgh = nullptr;           // (R, G*H) d loss / d gh (GRU only; others equal dgx)
  S* dh_prev = nullptr;       // (R, H) GRU only: the direct part dh⊙z
};

template <typename S>
void cell_forward(RnnMode mode, const CellForward<S>& a);

template <typename S>
void cell_backward(RnnMode mode, const CellBackward<S>& a);

}  // namespace recur::rnn
