// Cell math (equations in cell.h). Written as plain loops over rows and hidden units; the
// compiler vectorises them, and kernels/activation.h supplies sigmoid and tanh.
#include "rnn/cell.h"

#include "kernels/activation.h"

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

template <typename S>
void cell_forward(RnnMode mode, const CellForward<S>& a) {
  const int64_t H = a.H;
  const int64_t G = gate_count(mode);
  const int64_t W = saved_gate_width(mode, H);
  for (int64_t r = 0; r < a.rows; ++r) {
    const S* gx = a.gx + r * G * H;
    const S* gh = a.gh + r * G * H;
    S* h = a.h + r * H;
    S* saved = a.saved ? a.saved + r * W : nullptr;
    switch (mode) {
      case RnnMode::kRnnTanh:
      case RnnMode::kRnnRelu:
        for (int64_t k = 0; k < H; ++k) {
          S pre = gx[k] + gh[k];
          S v = mode == RnnMode::kRnnTanh ? tanh_(pre) : (pre > S(0) ? pre : S(0));
          h[k] = v;
          if (saved) saved[k] = v;
        }
        break;
      case RnnMode::kLstm: {
        const S* c_prev = a.c_prev + r * H;
        S* c = a.c + r * H;
        for (int64_t k = 0; k < H; ++k) {
          S i = sigmoid(gx[k] + gh[k]);
          S f = sigmoid(gx[H + k] + gh[H + k]);
          S g = tanh_(gx[2 * H + k] + gh[2 * H + k]);
          S o = sigmoid(gx[3 * H + k] + gh[3 * H + k]);
          S cn = f * c_prev[k] + i * g;
          c[k] = cn;
          h[k] = o * tanh_(cn);
          if (saved) {
            saved[k] = i;
            saved[H + k] = f;
            saved[2 * H + k] = g;
            saved[3 * H + k] = o;
          }
        }
        break;
      }
      case RnnMode::kGru: {
        const S* h_prev = a.h_prev + r * H;
        for (int64_t k = 0; k < H; ++k) {
          S rg = sigmoid(gx[k] + gh[k]);
          S z = sigmoid(gx[H + k] + gh[H + k]);
          S hn = gh[2 * H + k] + (a.b_hn ? a.b_hn[k] : S(0));
          S n = tanh_(gx[2 * H + k] + rg * hn);
          h[k] = (S(1) - z) * n + z * h_prev[k];
          if (saved) {
            saved[k] = rg;
            saved[H + k] = z;
            saved[2 * H + k] = n;
            saved[3 * H + k] = hn;
          }
        }
        break;
      }
    }
  }
}

template <typename S>
void cell_backward(RnnMode mode, const CellBackward<S>& a) {
  const int64_t H = a.H;
  const int64_t G = gate_count(mode);
  const int64_t W = saved_gate_width(mode, H);
  for (int64_t r = 0; r < a.rows; ++r) {
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
        const S* c_prev = a.c_prev + r * H;
        const S* c = a.c + r * H;
        S* dc = a.dc + r * H;
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
        break;
      }
      case RnnMode::kGru: {
        const S* h_prev = a.h_prev + r * H;
        S* dgh = a.dgh + r * G * H;
        S* dh_prev = a.dh_prev + r * H;
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
        break;
      }
    }
  }
}

template void cell_forward<float>(RnnMode, const CellForward<float>&);
template void cell_forward<double>(RnnMode, const CellForward<double>&);
template void cell_backward<float>(RnnMode, const CellBackward<float>&);
template void cell_backward<double>(RnnMode, const CellBackward<double>&);

}  // namespace recur::rnn
