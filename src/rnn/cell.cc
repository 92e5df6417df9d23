// Cell math (equations in cell.h). Written as plain loops over rows and hidden units; the
// compiler vectorises them, and kernels/activation.h supplies sigmoid and tanh. Float rows of
// the LSTM, GRU and tanh RNN have AVX-512 versions as well (kernels/activation_avx512.h), used
// where the CPU has it. On C7's cells (16 rows × 128 units × 32 steps, 1 thread) they take
// 69-71 µs against 105 for the LSTM, 49 against 64 for the GRU and 18 against 33 for tanh.
#include "rnn/cell.h"

#include <immintrin.h>
#include <omp.h>

#include <type_traits>
#include <vector>

#include "kernels/activation.h"
#include "kernels/activation_avx512.h"

// GCC 12 reports the intrinsics' own _mm512_undefined_* temporaries as maybe uninitialized when
// they are inlined into a function with a target attribute (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#define RECUR_AVX512_TARGET __attribute__((target("avx512f")))

namespace recur::rnn {

using kernels::sigmoid;
using kernels::tanh_;

int64_t saved_gate_width(RnnMode mode, int64_t H) {
  switch (mode) {
    case RnnMode::kLstm:
    case RnnMode::kGru:
      return 4 * H;
    default:
      return H;
  }
}

namespace {

namespace vec {

namespace av = kernels::avx512;

// Lanes [k, k + 16) that exist among n units.
RECUR_AVX512_TARGET inline __mmask16 lanes(int64_t k, int64_t n) {
  return n - k >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << (n - k)) - 1);
}

// Loads and stores of lanes m: plain ones for whole vectors, masked ones only at the end of a
// row. Masked stores are slow on the AMD Zen 5 of recur_bench: masking every vector made the
// GRU cell 20-30 % slower.
RECUR_AVX512_TARGET inline __m512 load(__mmask16 m, const float* p) {
  return m == 0xffff ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(m, p);
}

RECUR_AVX512_TARGET inline void store(float* p, __mmask16 m, __m512 v) {
  if (m == 0xffff)
    _mm512_storeu_ps(p, v);
  else
    _mm512_mask_storeu_ps(p, m, v);
}

RECUR_AVX512_TARGET inline __m512 sum3(__mmask16 m, const float* a, const float* b,
                                       const float* c) {
  return _mm512_add_ps(_mm512_add_ps(load(m, a), load(m, b)), load(m, c));
}

// The rows below: the float loops of the portable versions further down, 16 units at a time.
template <bool kSave>
RECUR_AVX512_TARGET void lstm_forward_row(int64_t units, int64_t H, int64_t Hh,
                                          const float* __restrict gx, const float* __restrict gh,
                                          const float* __restrict b, const float* __restrict c_prev,
                                          float* __restrict c, float* __restrict h,
                                          float* __restrict saved) {
  for (int64_t k = 0; k < units; k += 16) {
    const __mmask16 m = lanes(k, units);
    // Every load first, then the math: loads queued behind the long activation chains waited
    // on the stores of the iteration before whenever their addresses matched modulo 4 KiB
    // (large buffers start at the same offset in their pages). C7's cells 67-100 µs against
    // 74-109 with the loads in line, depending on where the buffers land.
    const __m512 pi = sum3(m, gx + k, gh + k, b + k);
    const __m512 pf = sum3(m, gx + H + k, gh + Hh + k, b + H + k);
    const __m512 pg = sum3(m, gx + 2 * H + k, gh + 2 * Hh + k, b + 2 * H + k);
    const __m512 po = sum3(m, gx + 3 * H + k, gh + 3 * Hh + k, b + 3 * H + k);
    const __m512 cp = load(m, c_prev + k);
    const __m512 i = av::sigmoid(pi), f = av::sigmoid(pf), g = av::tanh(pg), o = av::sigmoid(po);
    const __m512 cn = _mm512_fmadd_ps(f, cp, _mm512_mul_ps(i, g));
    store(c + k, m, cn);
    store(h + k, m, _mm512_mul_ps(o, av::tanh(cn)));
    if constexpr (kSave) {
      store(saved + k, m, i);
      store(saved + H + k, m, f);
      store(saved + 2 * H + k, m, g);
      store(saved + 3 * H + k, m, o);
    }
  }
}

template <bool kSave>
RECUR_AVX512_TARGET void gru_forward_row(int64_t units, int64_t H, int64_t Hh,
                                         const float* __restrict gx, const float* __restrict gh,
                                         const float* __restrict b, const float* __restrict b_hn,
                                         const float* __restrict h_prev, float* __restrict h,
                                         float* __restrict saved) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t k = 0; k < units; k += 16) {
    const __mmask16 m = lanes(k, units);
    // Every load first (see lstm_forward_row).
    const __m512 pr = sum3(m, gx + k, gh + k, b + k);
    const __m512 pz = sum3(m, gx + H + k, gh + Hh + k, b + H + k);
    const __m512 hn = _mm512_add_ps(load(m, gh + 2 * Hh + k), load(m, b_hn + k));
    const __m512 xn = _mm512_add_ps(load(m, gx + 2 * H + k), load(m, b + 2 * H + k));
    const __m512 hp = load(m, h_prev + k);
    const __m512 rg = av::sigmoid(pr), z = av::sigmoid(pz);
    const __m512 n = av::tanh(_mm512_fmadd_ps(rg, hn, xn));
    const __m512 hv = _mm512_fmadd_ps(z, hp, _mm512_mul_ps(_mm512_sub_ps(one, z), n));
    store(h + k, m, hv);
    if constexpr (kSave) {
      store(saved + k, m, rg);
      store(saved + H + k, m, z);
      store(saved + 2 * H + k, m, n);
      store(saved + 3 * H + k, m, hn);
    }
  }
}

RECUR_AVX512_TARGET void tanh_forward_row(int64_t units, const float* __restrict gx,
                                          const float* __restrict gh, const float* __restrict b,
                                          float* __restrict h, float* __restrict saved) {
  for (int64_t k = 0; k < units; k += 16) {
    const __mmask16 m = lanes(k, units);
    const __m512 v = av::tanh(sum3(m, gx + k, gh + k, b + k));
    store(h + k, m, v);
    if (saved) store(saved + k, m, v);
  }
}

// s·(1 - s): the derivative of the sigmoid at its value s. (A function, not a lambda: a lambda
// does not take the target attribute of the function it is in.)
RECUR_AVX512_TARGET inline __m512 dsig(__m512 s) {
  return _mm512_mul_ps(s, _mm512_sub_ps(_mm512_set1_ps(1.0f), s));
}

RECUR_AVX512_TARGET void lstm_backward_row(int64_t H, const float* __restrict saved,
                                           const float* __restrict c_prev,
                                           const float* __restrict c, const float* __restrict dh,
                                           float* __restrict dc, float* __restrict dgx) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t k = 0; k < H; k += 16) {
    const __mmask16 m = lanes(k, H);
    const __m512 i = load(m, saved + k), f = load(m, saved + H + k);
    const __m512 g = load(m, saved + 2 * H + k), o = load(m, saved + 3 * H + k);
    const __m512 d = load(m, dh + k), cv = load(m, c + k), dc_in = load(m, dc + k);
    const __m512 cp = load(m, c_prev + k);  // every load first (see lstm_forward_row)
    const __m512 tc = av::tanh(cv);
    // dc + dh·o·(1 - tc²)
    const __m512 dcc = _mm512_fmadd_ps(_mm512_mul_ps(d, o), _mm512_fnmadd_ps(tc, tc, one), dc_in);
    store(dc + k, m, _mm512_mul_ps(dcc, f));
    // σ' = s·(1 - s) (dsig), tanh' = 1 - t²
    store(dgx + k, m, _mm512_mul_ps(_mm512_mul_ps(dcc, g), dsig(i)));
    store(dgx + H + k, m, _mm512_mul_ps(_mm512_mul_ps(dcc, cp), dsig(f)));
    store(dgx + 2 * H + k, m, _mm512_mul_ps(_mm512_mul_ps(dcc, i), _mm512_fnmadd_ps(g, g, one)));
    store(dgx + 3 * H + k, m, _mm512_mul_ps(_mm512_mul_ps(d, tc), dsig(o)));
  }
}

}  // namespace vec

// One row of each cell, with every buffer a __restrict parameter: the buffers never overlap,
// and saying so lets GCC vectorise these loops (with plain pointers it gives up on the dozens
// of run-time alias checks the LSTM would need). kSave: write the activations for backward.
// `units` hidden units; gate g of unit k at gx[g * H + k], b[g * H + k], saved[g * H + k] and
// gh[g * Hh + k] (the same for GRU below).
template <typename S, bool kSave>
void lstm_forward_row(int64_t units, int64_t H, int64_t Hh, const S* __restrict gx,
                      const S* __restrict gh, const S* __restrict b, const S* __restrict c_prev,
                      S* __restrict c, S* __restrict h, S* __restrict saved) {
  if constexpr (std::is_same_v<S, float>)
    if (kernels::avx512::available())
      return vec::lstm_forward_row<kSave>(units, H, Hh, gx, gh, b, c_prev, c, h, saved);
  for (int64_t k = 0; k < units; ++k) {
    S i = sigmoid(gx[k] + gh[k] + b[k]);
    S f = sigmoid(gx[H + k] + gh[Hh + k] + b[H + k]);
    S g = tanh_(gx[2 * H + k] + gh[2 * Hh + k] + b[2 * H + k]);
    S o = sigmoid(gx[3 * H + k] + gh[3 * Hh + k] + b[3 * H + k]);
    S cn = f * c_prev[k] + i * g;
    c[k] = cn;
    h[k] = o * tanh_(cn);
    if constexpr (kSave) {
      saved[k] = i;
      saved[H + k] = f;
      saved[2 * H + k] = g;
      saved[3 * H + k] = o;
    }
  }
}

template <typename S, bool kSave>
void gru_forward_row(int64_t units, int64_t H, int64_t Hh, const S* __restrict gx,
                     const S* __restrict gh, const S* __restrict b, const S* __restrict b_hn,
                     const S* __restrict h_prev, S* __restrict h, S* __restrict saved) {
  if constexpr (std::is_same_v<S, float>)
    if (kernels::avx512::available())
      return vec::gru_forward_row<kSave>(units, H, Hh, gx, gh, b, b_hn, h_prev, h, saved);
  for (int64_t k = 0; k < units; ++k) {
    S rg = sigmoid(gx[k] + gh[k] + b[k]);
    S z = sigmoid(gx[H + k] + gh[Hh + k] + b[H + k]);
    S hn = gh[2 * Hh + k] + b_hn[k];  // never null: zeros when the layer has no bias
    S n = tanh_(gx[2 * H + k] + b[2 * H + k] + rg * hn);
    h[k] = (S(1) - z) * n + z * h_prev[k];
    if constexpr (kSave) {
      saved[k] = rg;
      saved[H + k] = z;
      saved[2 * H + k] = n;
      saved[3 * H + k] = hn;
    }
  }
}

template <typename S>
void lstm_backward_row(int64_t H, const S* __restrict saved, const S* __restrict c_prev,
                       const S* __restrict c, const S* __restrict dh, S* __restrict dc,
                       S* __restrict dgx) {
  if constexpr (std::is_same_v<S, float>)
    if (kernels::avx512::available())
      return vec::lstm_backward_row(H, saved, c_prev, c, dh, dc, dgx);
  for (int64_t k = 0; k < H; ++k) {
    S i = saved[k], f = saved[H + k], g = saved[2 * H + k], o = saved[3 * H + k];
    S tc = tanh_(c[k]);
    S dcc = dc[k] + dh[k] * o * (S(1) - tc * tc);
    S d_o = dh[k] * tc;
    S di = dcc * g;
    S dg = dcc * i;
    S df = dcc * c_prev[k];
    dc[k] = dcc * f;
    dgx[k] = di * i * (S(1) - i);
    dgx[H + k] = df * f * (S(1) - f);
    dgx[2 * H + k] = dg * (S(1) - g * g);
    dgx[3 * H + k] = d_o * o * (S(1) - o);
  }
}

template <typename S>
void gru_backward_row(int64_t H, const S* __restrict saved, const S* __restrict h_prev,
                      const S* __restrict dh, S* __restrict dgx, S* __restrict dgh,
                      S* __restrict dh_prev) {
  for (int64_t k = 0; k < H; ++k) {
    S rg = saved[k], z = saved[H + k], n = saved[2 * H + k], hn = saved[3 * H + k];
    S dn = dh[k] * (S(1) - z) * (S(1) - n * n);
    S dz = dh[k] * (h_prev[k] - n) * z * (S(1) - z);
    S dr = dn * hn * rg * (S(1) - rg);
    dgx[k] = dr;
    dgx[H + k] = dz;
    dgx[2 * H + k] = dn;
    dgh[k] = dr;
    dgh[H + k] = dz;
    dgh[2 * H + k] = dn * rg;
    dh_prev[k] = dh[k] * z;
  }
}

}  // namespace

// Rows are split over the threads from this many gate values per step on (a fork costs a few
// microseconds; 64K LSTM gate values take about 50 on one core). Inside a parallel region
// (the two directions of a bidirectional layer) the loop stays on its thread.
constexpr int64_t kParallelFrom = int64_t{1} << 16;

// row(r) for every row, split over the threads when the step is big enough. Small steps call
// the loop directly: even a one-thread parallel region costs a libgomp call per step.
template <typename F>
void for_rows(int64_t rows, int64_t width, const F& row) {
  if (rows >= 2 && rows * width >= kParallelFrom && !omp_in_parallel()) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) row(r);
  } else {
    for (int64_t r = 0; r < rows; ++r) row(r);
  }
}

template <typename S>
void cell_forward(RnnMode mode, const CellForward<S>& a) {
  const int64_t H = a.H;
  const int64_t G = gate_count(mode);
  const int64_t W = saved_gate_width(mode, H);
  // A layer without biases reads zeros, so that the loops have no branch (and vectorise).
  thread_local std::vector<S> no_bias;
  if ((!a.bias || (mode == RnnMode::kGru && !a.b_hn)) &&
      static_cast<int64_t>(no_bias.size()) < G * H)
    no_bias.assign(G * H, S(0));
  const int64_t u0 = a.u0, n = a.units > 0 ? a.units : H;
  const int64_t Hh = a.gh_gate > 0 ? a.gh_gate : H;  // gate stride of gh
  const S* bias = (a.bias ? a.bias : no_bias.data()) + u0;
  const S* b_hn = a.b_hn || mode != RnnMode::kGru ? a.b_hn : no_bias.data();
  if (b_hn) b_hn += u0;
  if (!a.gx && static_cast<int64_t>(no_bias.size()) < G * H) no_bias.assign(G * H, S(0));
  const auto row = [&](int64_t r) {
    const S* gx = a.gx ? a.gx + r * G * H + u0 : no_bias.data() + u0;  // null: zeros
    const S* gh = a.gh + r * G * Hh + (a.gh_gate > 0 ? 0 : u0);
    S* h = a.h + r * H + u0;
    S* saved = a.saved ? a.saved + r * W + u0 : nullptr;
    const S* c_prev = a.c_prev ? a.c_prev + r * H + u0 : nullptr;
    S* c = a.c ? a.c + r * H + u0 : nullptr;
    const S* h_prev = a.h_prev ? a.h_prev + r * H + u0 : nullptr;
    switch (mode) {
      case RnnMode::kRnnTanh:
      case RnnMode::kRnnRelu:
        if constexpr (std::is_same_v<S, float>)
          if (mode == RnnMode::kRnnTanh && kernels::avx512::available()) {
            vec::tanh_forward_row(n, gx, gh, bias, h, saved);
            break;
          }
        for (int64_t k = 0; k < n; ++k) {
          S pre = gx[k] + gh[k] + bias[k];
          S v = mode == RnnMode::kRnnTanh ? tanh_(pre) : (pre > S(0) ? pre : S(0));
          h[k] = v;
          if (saved) saved[k] = v;
        }
        break;
      case RnnMode::kLstm: {
        if (saved)
          lstm_forward_row<S, true>(n, H, Hh, gx, gh, bias, c_prev, c, h, saved);
        else
          lstm_forward_row<S, false>(n, H, Hh, gx, gh, bias, c_prev, c, h, nullptr);
        break;
      }
      case RnnMode::kGru: {
        if (saved)
          gru_forward_row<S, true>(n, H, Hh, gx, gh, bias, b_hn, h_prev, h, saved);
        else
          gru_forward_row<S, false>(n, H, Hh, gx, gh, bias, b_hn, h_prev, h, nullptr);
        break;
      }
    }
  };
  for_rows(a.rows, G * n, row);
}

template <typename S>
void cell_backward(RnnMode mode, const CellBackward<S>& a) {
  const int64_t H = a.H;
  const int64_t G = gate_count(mode);
  const int64_t W = saved_gate_width(mode, H);
  const auto row = [&](int64_t r) {
    const S* saved = a.saved + r * W;
    const S* dh = a.dh + r * H;
    S* dgx = a.dgx + r * G * H;
    switch (mode) {
      case RnnMode::kRnnTanh:
        for (int64_t k = 0; k < H; ++k) dgx[k] = dh[k] * (S(1) - saved[k] * saved[k]);
        break;
      case RnnMode::kRnnRelu:
        for (int64_t k = 0; k < H; ++k) dgx[k] = saved[k] > S(0) ? dh[k] : S(0);
        break;
      case RnnMode::kLstm: {
        lstm_backward_row<S>(H, saved, a.c_prev + r * H, a.c + r * H, dh, a.dc + r * H, dgx);
        break;
      }
      case RnnMode::kGru: {
        gru_backward_row<S>(H, saved, a.h_prev + r * H, dh, dgx, a.dgh + r * G * H,
                            a.dh_prev + r * H);
        break;
      }
    }
  };
  for_rows(a.rows, G * H, row);
}

template void cell_forward<float>(RnnMode, const CellForward<float>&);
template void cell_forward<double>(RnnMode, const CellForward<double>&);
template void cell_backward<float>(RnnMode, const CellBackward<float>&);
template void cell_backward<double>(RnnMode, const CellBackward<double>&);

}  // namespace recur::rnn
