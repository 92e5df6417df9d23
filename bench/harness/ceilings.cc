// GEMM and read-bandwidth ceilings (see ceilings.h).
#include "harness/ceilings.h"

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <oneapi/dnnl/dnnl.hpp>

#include "recur/error.h"
#include "recur/rng.h"
#include "recur/tensor.h"

namespace recur::bench {
namespace {

constexpr int64_t kLanes = 64;  // independent partial sums per thread: 4 AVX-512 registers

// Sums p[0, n) with n a multiple of kLanes * threads; the partial sums keep the adds independent
// so the loop is bound by loads, not by the latency of one accumulator.
float parallel_sum(const float* p, int64_t n) {
  float total = 0;
#pragma omp parallel reduction(+ : total)
  {
    const int64_t threads = omp_get_num_threads(), id = omp_get_thread_num();
    const int64_t chunk = n / threads;
    const float* q = p + id * chunk;
    float acc[kLanes] = {};
    for (int64_t i = 0; i < chunk; i += kLanes)
      for (int64_t j = 0; j < kLanes; ++j) acc[j] += q[i + j];
    for (int64_t j = 0; j < kLanes; ++j) total += acc[j];
  }
  return total;
}

}  // namespace

double gemm_gflops(int64_t M, int64_t N, int64_t K, bool trans_b, int warmup, int repeats) {
  Tensor a({M, K}), b(trans_b ? Shape{N, K} : Shape{K, N}), c({M, N});
  Rng rng(5);
  for (int64_t i = 0; i < a.numel(); ++i) a[i] = rng.normal();
  for (int64_t i = 0; i < b.numel(); ++i) b[i] = rng.normal();
  const cli::TimingStats s = cli::time_calls(
      [&] {
        const dnnl_status_t status = dnnl_sgemm('N', trans_b ? 'T' : 'N', M, N, K, 1.0f, a.data(),
                                                K, b.data(), trans_b ? K : N, 0.0f, c.data(), N);
        RECUR_CHECK(status == dnnl_success, "dnnl_sgemm failed");
      },
      warmup, repeats);
  return 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K) / s.median *
         1e-9;
}

double gemm_gflops_bf16(int64_t M, int64_t N, int64_t K, bool trans_b, int warmup, int repeats) {
  using dnnl::memory;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  const memory::desc a_md({M, K}, memory::data_type::bf16, memory::format_tag::ab);
  const memory::desc b_md({K, N}, memory::data_type::bf16,
                          trans_b ? memory::format_tag::ba : memory::format_tag::ab);
  const memory::desc c_md({M, N}, memory::data_type::f32, memory::format_tag::ab);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), eng);
  const dnnl::matmul matmul(pd);
  memory a(a_md, eng), b(b_md, eng), c(c_md, eng);
  auto fill = [](const memory& m, int64_t n) {  // bf16 values in [-1, 1]: 0xbf80 = -1
    auto* p = static_cast<uint16_t*>(m.get_data_handle());
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<uint16_t>(0x3c00 + (i * 37) % 0x0380);
  };
  fill(a, M * K);
  fill(b, K * N);
  const cli::TimingStats s = cli::time_calls(
      [&] {
        matmul.execute(strm, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
        strm.wait();
      },
      warmup, repeats);
  return 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K) / s.median *
         1e-9;
}

double read_bandwidth(int64_t bytes, int warmup, int repeats) {
  const int64_t block = kLanes * omp_get_max_threads();
  const int64_t n = (bytes / static_cast<int64_t>(sizeof(float)) + block - 1) / block * block;
  Tensor buffer({n});
  for (int64_t i = 0; i < n; ++i) buffer[i] = static_cast<float>(i % 7) * 0.125f;
  const int64_t passes = std::max<int64_t>(1, (int64_t{64} << 20) / (n * 4));
  volatile float sink = 0;
  const cli::TimingStats s = cli::time_calls(
      [&] {
        float sum = 0;
        for (int64_t k = 0; k < passes; ++k) sum += parallel_sum(buffer.data(), n);
        sink = sum;
      },
      warmup, repeats);
  (void)sink;
  return static_cast<double>(n * 4) * static_cast<double>(passes) / s.median;
}

}  // namespace recur::bench
