// The AVX-512 cell rows (rnn/cell.cc, vec::) against the portable float loops, which
// FastVsReference checks against the double engine: every mode, forward with and without the
// saved activations, LSTM backward, on unit counts that leave partial vectors, and on a block
// of units with its own gh stride (the two-thread forward). Both use sigmoid/tanh within 4 ULPs
// of std::, so they agree to a few ULPs of the values they produce.
#include "rnn/cell.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/activation_avx512.h"
#include "recur/rng.h"

namespace recur::rnn {
namespace {

std::vector<float> randoms(int64_t n, uint64_t seed, float scale) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = scale * rng.normal();
  return v;
}

// Worst |a - b| / max(1, |b|). Absolute below 1: c = f·c_prev + i·g cancels, and 1 - s² of a
// saturated gate s turns its last-bit differences into large relative ones.
double worst_error(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i])) return INFINITY;
    worst = std::max(worst, std::abs(double(a[i]) - b[i]) / std::max(1.0, std::abs(double(b[i]))));
  }
  return worst;
}

class VectorOff {
 public:
  explicit VectorOff(bool off) { kernels::avx512::g_off_for_tests = off; }
  ~VectorOff() { kernels::avx512::g_off_for_tests = false; }
};

struct Outputs {
  std::vector<float> h, c, saved, dgx, dc, dgh, dh_prev;
};

// One forward (and backward) of `mode` over `rows` rows on the given inputs, on the vector
// rows (vector = true) or the portable ones; units [u0, u0 + units) with gh of its own stride
// when `block`.
Outputs run(RnnMode mode, int64_t rows, int64_t H, bool save, bool vector, bool block,
            uint64_t seed) {
  VectorOff off(!vector);
  const int64_t G = gate_count(mode), W = saved_gate_width(mode, H);
  const int64_t u0 = block ? H / 3 : 0, units = block ? H - H / 3 : H;
  const int64_t Hh = block ? units : H;
  // Pre-activations with a spread of 3 reach deep into saturation and the polynomial ranges.
  const auto gx = randoms(rows * G * H, seed, 3.0f), gh = randoms(rows * G * Hh, seed + 1, 3.0f);
  const auto bias = randoms(G * H, seed + 2, 0.5f), b_hn = randoms(H, seed + 3, 0.5f);
  const auto h_prev = randoms(rows * H, seed + 4, 0.7f), c_prev = randoms(rows * H, seed + 5, 2.0f);
  Outputs o;
  o.h.assign(rows * H, 0.0f);
  o.c.assign(rows * H, 0.0f);
  o.saved.assign(rows * W, 0.0f);
  CellForward<float> f;
  f.rows = rows;
  f.H = H;
  f.gx = gx.data();
  f.gh = gh.data();
  f.bias = bias.data();
  f.b_hn = mode == RnnMode::kGru ? b_hn.data() : nullptr;
  f.h_prev = h_prev.data();
  f.c_prev = c_prev.data();
  f.h = o.h.data();
  f.c = o.c.data();
  f.saved = save ? o.saved.data() : nullptr;
  f.u0 = u0;
  f.units = block ? units : 0;
  f.gh_gate = block ? Hh : 0;
  cell_forward(mode, f);
  if (!save || block) return o;

  const auto dh = randoms(rows * H, seed + 6, 1.0f);
  o.dc = randoms(rows * H, seed + 7, 1.0f);
  o.dgx.assign(rows * G * H, 0.0f);
  o.dgh.assign(rows * G * H, 0.0f);
  o.dh_prev.assign(rows * H, 0.0f);
  CellBackward<float> b;
  b.rows = rows;
  b.H = H;
  b.saved = o.saved.data();
  b.h_prev = h_prev.data();
  b.c_prev = c_prev.data();
  b.c = o.c.data();
  b.dh = dh.data();
  b.dc = o.dc.data();
  b.dgx = o.dgx.data();
  b.dgh = o.dgh.data();
  b.dh_prev = o.dh_prev.data();
  cell_backward(mode, b);
  return o;
}

TEST(VectorCells, AgreeWithThePortableLoops) {
  if (!kernels::avx512::available()) GTEST_SKIP() << "no AVX-512 on this CPU";
  for (RnnMode mode : {RnnMode::kRnnTanh, RnnMode::kRnnRelu, RnnMode::kLstm, RnnMode::kGru})
    for (int64_t H : {1, 7, 16, 17, 40, 128})
      for (bool save : {false, true})
        for (bool block : {false, true}) {
          if (block && H < 3) continue;
          SCOPED_TRACE(mode_name(mode) + " H=" + std::to_string(H) + (save ? " save" : "") +
                       (block ? " block" : ""));
          const Outputs v = run(mode, 3, H, save, true, block, 40 + H);
          const Outputs p = run(mode, 3, H, save, false, block, 40 + H);
          // The vector rows must have written every unit they own, and nothing else: a wrong
          // unit, gate or lane is off by O(0.1), rounding by below 1e-6.
          EXPECT_LT(worst_error(v.h, p.h), 3e-6);
          EXPECT_LT(worst_error(v.c, p.c), 3e-6);
          EXPECT_LT(worst_error(v.saved, p.saved), 3e-6);
          EXPECT_LT(worst_error(v.dgx, p.dgx), 3e-6);
          EXPECT_LT(worst_error(v.dc, p.dc), 3e-6);
          EXPECT_LT(worst_error(v.dgh, p.dgh), 3e-6);
          EXPECT_LT(worst_error(v.dh_prev, p.dh_prev), 3e-6);
        }
}

}  // namespace
}  // namespace recur::rnn
