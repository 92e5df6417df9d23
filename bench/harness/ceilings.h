// What the hardware allows, measured in the same run as the benchmarks: f32 GEMM GFLOP/s
// (oneDNN's dnnl_sgemm, the GEMM recur itself calls), bf16 GEMM GFLOP/s (oneDNN's matmul) and the
// read bandwidth of a buffer of a given size (a vectorised sum over it, repeated). Both honour the
// current OpenMP thread count.
#pragma once

#include <cstdint>

#include "cli/bench_core.h"

namespace recur::bench {

// C[M,N] = A[M,K] * op(B), op(B) = B[N,K]^T when trans_b (how recur multiplies by weights).
// Median GFLOP/s over `repeats` calls after `warmup`.
double gemm_gflops(int64_t M, int64_t N, int64_t K, bool trans_b, int warmup, int repeats);
// The same product in bf16 (A and B already bf16, f32 result) on oneDNN's matmul primitive,
// made before timing: the ceiling of bf16 rows.
double gemm_gflops_bf16(int64_t M, int64_t N, int64_t K, bool trans_b, int warmup, int repeats);

// Median bytes/s of summing a `bytes`-sized buffer of floats (each timed run sums it enough
// times to last about a millisecond; the per-pass time is what counts).
double read_bandwidth(int64_t bytes, int warmup, int repeats);

}  // namespace recur::bench
