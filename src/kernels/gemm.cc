// GEMM seam implementation. oneDNN's sgemm was chosen by measurement on the 2-core
// AVX-512 machine (see docs/ARCHITECTURE.md): ~108 GFLOP/s on 1 thread, ~218 on 2.
#include "kernels/gemm.h"

#include <oneapi/dnnl/dnnl.h>

#include <string>

#include "recur/error.h"

namespace recur::kernels {

template <typename S>
void gemm_reference(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, S alpha,
                    const S* A, int64_t lda, const S* B, int64_t ldb, S beta, S* C, int64_t ldc) {
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      S acc = 0;
      for (int64_t k = 0; k < K; ++k) {
        S a = trans_a ? A[k * lda + m] : A[m * lda + k];
        S b = trans_b ? B[n * ldb + k] : B[k * ldb + n];
        acc += a * b;
      }
      S& c = C[m * ldc + n];
      c = alpha * acc + (beta == S(0) ? S(0) : beta * c);
    }
  }
}

template <>
void gemm<double>(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha,
                  const double* A, int64_t lda, const double* B, int64_t ldb, double beta,
                  double* C, int64_t ldc) {
  gemm_reference(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template <>
void gemm<float>(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                 const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                 int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) C[m * ldc + n] = beta == 0.0f ? 0.0f : beta * C[m * ldc + n];
    return;
  }
  dnnl_status_t status = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A,
                                    lda, B, ldb, beta, C, ldc);
  RECUR_CHECK(status == dnnl_success,
              "gemm: dnnl_sgemm failed with status " + std::to_string(static_cast<int>(status)));
}

template void gemm_reference<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*,
                                    int64_t, const float*, int64_t, float, float*, int64_t);
template void gemm_reference<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*,
                                     int64_t, const double*, int64_t, double, double*, int64_t);

}  // namespace recur::kernels
