// Sigmoid and tanh on 16 floats at a time with AVX-512 intrinsics, for the cell loops of
// rnn/cell.cc. Compiled for AVX-512 whatever the build's target (function attributes); call
// them only where the CPU has it (f32_panels::available()). They follow kernels/activation.h's
// accuracy (tests/kernels/activation_test.cc checks both in ULPs against std::) with fewer
// instructions than what the compiler makes of the portable versions:
//  - 2^n by vscalefps instead of building the exponent bits in integer registers;
//  - clamps by vminps/vmaxps (ordered so that NaN passes through) instead of compare + blend;
//  - tanh without its two branches: tanh|x| = -m / (2 + m) with m = expm1(-2|x|), which
//    has no cancellation near 0 when expm1 is computed as 2^n·(e^r - 1) + (2^n - 1).
#pragma once

#include <immintrin.h>

#include <atomic>

#define RECUR_AVX512_INLINE inline __attribute__((target("avx512f"), always_inline))

namespace recur::kernels::avx512 {

// Tests set this to run the portable loops on an AVX-512 machine too.
inline std::atomic<bool> g_off_for_tests{false};

// Whether the CPU has AVX-512 (and tests have not turned the vector cells off).
inline bool available() {
  static const bool yes = __builtin_cpu_supports("avx512f");
  return yes && !g_off_for_tests.load(std::memory_order_relaxed);
}

// e^-x for x in [-88, 88] (clamp first): -x = n·ln2 + r, |r| <= ln2/2, then the degree-6
// polynomial of activation.h's exp_fast for e^r, scaled by 2^n.
RECUR_AVX512_INLINE __m512 exp_neg(__m512 x) {
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(-1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // s = x + n·ln2 = -r, ln2 split in two (Cody-Waite) so that the first product is exact.
  __m512 s = _mm512_fmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  s = _mm512_fnmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), s);
  // e^r = (1 + r) + r²·(lo + r²·hi) with r = -s: the odd coefficients change sign.
  const __m512 s2 = _mm512_mul_ps(s, s);
  const __m512 lo = _mm512_fnmadd_ps(_mm512_set1_ps(0.16666521f), s, _mm512_set1_ps(0.49999998f));
  __m512 hi = _mm512_fnmadd_ps(_mm512_set1_ps(0.0083686934f), s, _mm512_set1_ps(0.041667226f));
  hi = _mm512_fmadd_ps(_mm512_set1_ps(0.0013879691f), s2, hi);
  const __m512 p =
      _mm512_fmadd_ps(s2, _mm512_fmadd_ps(s2, hi, lo), _mm512_sub_ps(_mm512_set1_ps(1.0f), s));
  return _mm512_scalef_ps(p, n);
}

RECUR_AVX512_INLINE __m512 sigmoid(__m512 x) {
  // Beyond ±88 the result is 0 (below 6e-39) or 1 anyway; the clamp keeps the reduction
  // exact. vminps/vmaxps return their second operand when either is NaN: x goes second.
  x = _mm512_min_ps(_mm512_set1_ps(88.0f), x);
  x = _mm512_max_ps(_mm512_set1_ps(-88.0f), x);
  return _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), exp_neg(x)));
}

RECUR_AVX512_INLINE __m512 tanh(__m512 x) {
  const __m512 sign = _mm512_castsi512_ps(_mm512_set1_epi32(static_cast<int>(0x80000000u)));
  // |x| up to 9: tanh(9) rounds to 1 in float.
  const __m512 a = _mm512_min_ps(_mm512_set1_ps(9.0f), _mm512_abs_ps(x));
  // y = -2|x| = n·ln2 + r (exact: y and n·0.693359375 have few bits), |r| <= ln2/2.
  const __m512 y = _mm512_mul_ps(a, _mm512_set1_ps(-2.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(y, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), y);
  r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
  // e^r - 1 = r + r²·(1/2 + r/6 + r²/24 + r³/120 + r⁴/720 + r⁵/5040) (Taylor; the first
  // term left out is below 2e-8 relative on |r| <= ln2/2), in Estrin's order.
  const __m512 r2 = _mm512_mul_ps(r, r);
  const __m512 r4 = _mm512_mul_ps(r2, r2);
  const __m512 c01 = _mm512_fmadd_ps(_mm512_set1_ps(1.0f / 6), r, _mm512_set1_ps(0.5f));
  const __m512 c23 = _mm512_fmadd_ps(_mm512_set1_ps(1.0f / 120), r, _mm512_set1_ps(1.0f / 24));
  const __m512 c45 = _mm512_fmadd_ps(_mm512_set1_ps(1.0f / 5040), r, _mm512_set1_ps(1.0f / 720));
  const __m512 q = _mm512_fmadd_ps(r2, _mm512_fmadd_ps(r4, c45, _mm512_fmadd_ps(r2, c23, c01)), r);
  // m = e^y - 1 = 2^n·q + (2^n - 1), with 2^n - 1 exact for n in [-26, 0].
  const __m512 p2 = _mm512_scalef_ps(_mm512_set1_ps(1.0f), n);
  const __m512 m = _mm512_fmadd_ps(q, p2, _mm512_sub_ps(p2, _mm512_set1_ps(1.0f)));
  const __m512 t = _mm512_div_ps(m, _mm512_add_ps(m, _mm512_set1_ps(2.0f)));  // -tanh|x|
  // |t| with the sign of x (bitwise: sign ? x : t), so that tanh(-0) = -0.
  return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(
      _mm512_castps_si512(sign), _mm512_castps_si512(x), _mm512_castps_si512(t), 0xCA));
}

}  // namespace recur::kernels::avx512
