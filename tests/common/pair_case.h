// The cases of the pair-product tests (f32_panels and bf16_panels pack_pair / multiply_pair):
// C[M, N] (+)= [A1 | A2] · [B1 | B2]ᵀ with the two sides' k ranges one after the other, A1 and
// A2 with row strides of their own and C with a gap and 16 values past its end; row counts
// around the kernels' 12, partial panels, odd K1 and K2.
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "recur/rng.h"

namespace recur::testing {

struct PairCase {
  int64_t M, N, K1, K2, lda1, lda2, ldc;
  std::vector<float> B1, B2, A1, A2, C0;  // B1 [N, K1], B2 [N, K2] row-major; C0 [M, ldc] + 16

  float a(int64_t m, int64_t k) const { return k < K1 ? A1[m * lda1 + k] : A2[m * lda2 + k - K1]; }
  float b(int64_t k, int64_t n) const { return k < K1 ? B1[n * K1 + k] : B2[n * K2 + k - K1]; }
};

inline std::vector<PairCase> pair_cases() {
  std::vector<PairCase> cases;
  for (const auto& [M, N, K1, K2] : std::vector<std::array<int64_t, 4>>{{1, 1, 1, 1},
                                                                        {2, 33, 9, 136},
                                                                        {12, 64, 64, 128},
                                                                        {13, 47, 3, 17},
                                                                        {16, 512, 64, 128},
                                                                        {30, 100, 1, 40}}) {
    PairCase c{M, N, K1, K2, K1 + 3, K2 + 5, N + 2, {}, {}, {}, {}, {}};
    c.B1.resize(N * K1);
    c.B2.resize(N * K2);
    c.A1.resize(M * c.lda1);
    c.A2.resize(M * c.lda2);
    c.C0.resize(M * c.ldc + 16);
    Rng rng(11);
    for (auto* v : {&c.B1, &c.B2, &c.A1, &c.A2, &c.C0})
      for (float& x : *v) x = rng.normal();
    cases.push_back(std::move(c));
  }
  return cases;
}

}  // namespace recur::testing
