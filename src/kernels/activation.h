// Sigmoid and tanh for the cell math, in two versions behind one choice:
//  - reference: std::exp / std::tanh (float and double), obviously right;
//  - fast (float): branch-free, inline, written so the compiler vectorises whole cell loops
//    (AVX-512, AVX2 or SSE, whatever the build targets). Accuracy is checked in ULPs against
//    std:: by tests/kernels/activation_test.cc.
// The float engine uses the fast versions; the double engine the reference ones.
// Leaves out: hand-written intrinsics (the portable code vectorises as well here).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace recur::kernels {

inline float sigmoid_reference(float x) { return 1.0f / (1.0f + std::exp(-x)); }
inline float tanh_reference(float x) { return std::tanh(x); }

// exp(x) for x in [-87, 88]: x = n·ln2 + r with |r| <= ln2/2 (Cody-Waite split of ln2), then
// a degree-6 polynomial for e^r scaled by 2^n through the exponent bits. Inputs outside the
// range are clamped (sigmoid/tanh saturate there anyway).
inline float exp_fast(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float n = std::nearbyint(x * 1.44269504088896341f);
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  // 1 + r + r²·(c2 + c3·r + r²·(c4 + c5·r + r²·c6)): a degree-6 polynomial fitted for
  // relative error (at most 3.7e-9 on the interval), in Estrin's order: a dependency chain
  // 4 deep where Horner's for the degree-7 Taylor polynomial it replaces was 7.
  const float r2 = r * r;
  const float lo = 0.49999998f + 0.16666521f * r;
  const float hi = 0.041667226f + 0.0083686934f * r + 0.0013879691f * r2;
  const float p = (1.0f + r) + r2 * (lo + r2 * hi);
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline float sigmoid_fast(float x) { return 1.0f / (1.0f + exp_fast(-x)); }

// tanh: an odd Taylor polynomial up to x^13 for |x| < 0.5 (next term < 1 ULP there), and
// (1 - e)/(1 + e) with e = exp(-2|x|) elsewhere, where 1 - e does not cancel.
inline float tanh_fast(float x) {
  const float a = std::fabs(x);
  const float e = exp_fast(-2.0f * a);
  const float big = (1.0f - e) / (1.0f + e);
  const float x2 = x * x;
  float p = 21844.0f / 6081075.0f;
  p = p * x2 - 1382.0f / 155925.0f;
  p = p * x2 + 62.0f / 2835.0f;
  p = p * x2 - 17.0f / 315.0f;
  p = p * x2 + 2.0f / 15.0f;
  p = p * x2 - 1.0f / 3.0f;
  const float small = a + a * x2 * p;
  const float v = a < 0.5f ? small : big;
  return std::copysign(v, x);
}

inline float sigmoid(float x) { return sigmoid_fast(x); }
inline float tanh_(float x) { return tanh_fast(x); }
inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline double tanh_(double x) { return std::tanh(x); }

}  // namespace recur::kernels
