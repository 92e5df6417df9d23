// GEMM seam implementation: oneDNN's sgemm, or recur's own float panels (f32_panels.h) for
// the shapes where they measured at least as fast on the 2-core AVX-512 machine (see
// docs/ARCHITECTURE.md). The panels allocate nothing per call; sgemm allocates and frees its
// packing buffers (2-2.5 MB on C1's shapes) on every call.
#include "kernels/gemm.h"

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <string>

#include "kernels/f32_panels.h"
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

namespace {

// Where the panels replace sgemm: products from 64 rows and 2^22 multiply-adds up to 2^32, so
// that a training step of layers up to C1's size (2^31 per product) allocates nothing in its
// products. Measured on the 2-core AVX-512 machine, 1 thread, time against sgemm's (best of
// several runs): the engine's weight gradients Gᵀ·X 0.75-0.85, d input G·W 0.9-1.0, the input
// projections X·W_ihᵀ 1.01-1.05. Above 2^32 (C2's products, 1.3·10^10) the panels ran 1.03-1.08
// and C2's training step 2-7 % slower, while sgemm's per-call buffers are small beside such a
// layer's memory (C2's step peaks at 244 / 266 MiB with them, 216 / 247 without, PyTorch's
// 292-311), so sgemm keeps those. Below 64 rows or 2^22 multiply-adds sgemm is 10-20 % faster
// on 1 thread.
bool use_panels(int64_t M, int64_t N, int64_t K, float alpha, float beta) {
  return f32_panels::available() && alpha == 1.0f && (beta == 0.0f || beta == 1.0f) && M >= 64 &&
         M * N * K >= (int64_t{1} << 22) && M * N * K < (int64_t{1} << 32);
}

}  // namespace

bool gemm_uses_panels() { return f32_panels::available(); }

// sgemm's products below this many multiply-adds run on the calling thread only: sgemm splits
// them over every thread OpenMP allows, and at 2 threads a fork (3 µs on the 2-core VM of
// recur_bench) and the moving of C between the cores cost more than the half of a product this
// small. An LSTM with B=4, H=32, T=64 (input projection 2^20) ran 0.057-0.063 ms at 2 threads,
// 0.042 at 1; with this, 0.042 at both.
constexpr int64_t kOneThreadBelowMacs = int64_t{1} << 21;

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
  if (use_panels(M, N, K, alpha, beta)) {
    f32_panels::gemm(trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc, beta == 1.0f);
    return;
  }
  // Small products on this thread only (the calling thread's OpenMP setting, restored after).
  const bool small = M * N * K < kOneThreadBelowMacs && !omp_in_parallel();
  const int threads = small ? omp_get_max_threads() : 1;
  if (small && threads > 1) omp_set_num_threads(1);
  dnnl_status_t status = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A,
                                    lda, B, ldb, beta, C, ldc);
  if (small && threads > 1) omp_set_num_threads(threads);
  RECUR_CHECK(status == dnnl_success,
              "gemm: dnnl_sgemm failed with status " + std::to_string(static_cast<int>(status)));
}

template void gemm_reference<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*,
                                    int64_t, const float*, int64_t, float, float*, int64_t);
template void gemm_reference<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*,
                                     int64_t, const double*, int64_t, double, double*, int64_t);

}  // namespace recur::kernels
