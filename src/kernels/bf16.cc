// bf16 products: oneDNN's matmul on bf16 copies of the inputs where the CPU has native bf16,
// the float GEMM on bf16-rounded copies elsewhere.
#include "kernels/bf16.h"

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/bf16_panels.h"
#include "kernels/dnnl_engine.h"
#include "kernels/gemm.h"
#include "recur/error.h"

namespace recur::kernels {
namespace {

// Kept per thread between calls, so the copies are not allocated and faulted in every time.
struct Copies {
  std::vector<uint16_t> a, b;
  std::vector<float> fa, fb;
};

Copies& copies() {
  thread_local Copies c;
  return c;
}

template <typename T>
T* sized(std::vector<T>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(n);
  return v.data();
}

void round_rows(const float* __restrict x, int64_t rows, int64_t cols, int64_t ld,
                float* __restrict y) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < cols; ++k) y[r * cols + k] = round_bf16(x[r * ld + k]);
}

// The matmul primitives already made on this thread, by shape: creating one (its primitive
// descriptor) costs tens of microseconds, as much as a small product itself; the engine's
// calls repeat the same few shapes every step.
using MatmulKey = std::tuple<int64_t, int64_t, int64_t, bool, bool, int64_t, float>;

struct Matmul {
  dnnl::memory::desc src, wei, dst;  // bf16 op(A) [M, K], bf16 op(B) [K, N], f32 C [M, N]
  dnnl::matmul prim;
};

const Matmul& matmul_for(const MatmulKey& key) {
  thread_local std::map<MatmulKey, Matmul> made;
  auto it = made.find(key);
  if (it != made.end()) return it->second;
  if (made.size() >= 256) made.clear();  // bounded: shapes change with every batch size
  const auto [M, N, K, trans_a, trans_b, ldc, beta] = key;
  using dnnl::memory;
  const memory::desc src({M, K}, memory::data_type::bf16,
                         trans_a ? memory::dims{1, M} : memory::dims{K, 1});
  const memory::desc wei({K, N}, memory::data_type::bf16,
                         trans_b ? memory::dims{1, K} : memory::dims{N, 1});
  const memory::desc dst({M, N}, memory::data_type::f32, memory::dims{ldc, 1});
  dnnl::primitive_attr attr;
  if (beta != 0.0f) {
    dnnl::post_ops sum;
    sum.append_sum(beta);
    attr.set_post_ops(sum);
  }
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, wei, dst), attr, cpu_engine());
  return made.emplace(key, Matmul{src, wei, dst, dnnl::matmul(pd)}).first->second;
}

}  // namespace

void to_bf16(const float* __restrict x, int64_t n, uint16_t* __restrict y) {
  for (int64_t i = 0; i < n; ++i) y[i] = to_bf16(x[i]);
}

void to_bf16(const float* x, int64_t rows, int64_t cols, int64_t ld, uint16_t* y) {
#pragma omp parallel for if (rows * cols >= (1 << 18) && rows > 1) schedule(static)
  for (int64_t r = 0; r < rows; ++r) to_bf16(x + r * ld, cols, y + r * cols);
}

bool bf16_native() {
  static const bool native = [] {
    using dnnl::memory;
    try {
      const memory::desc src({64, 64}, memory::data_type::bf16, memory::format_tag::ab);
      const memory::desc dst({64, 64}, memory::data_type::f32, memory::format_tag::ab);
      const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, src, dst), cpu_engine());
      // oneDNN falls back to reference loops (or f32 emulation) where bf16 is not native.
      const std::string impl = pd.impl_info_str();
      // cpu_isa values are bit sets: avx512_core_bf16's bits are all in AMX's, none in AVX2's.
      const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
      const auto bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
      return impl.find("ref") == std::string::npos && (isa & bf16) == bf16;
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return native;
}

void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A,
               int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
               bool allow_native) {
  if (M == 0 || N == 0) return;
  // The stored shapes of A and B: op(A) is [M, K], op(B) is [K, N].
  const int64_t a_rows = trans_a ? K : M, a_cols = trans_a ? M : K;
  const int64_t b_rows = trans_b ? N : K, b_cols = trans_b ? K : N;
  Copies& c = copies();
  if (K == 0 || !allow_native || !bf16_native()) {
    float* fa = sized(c.fa, a_rows * a_cols);
    float* fb = sized(c.fb, b_rows * b_cols);
    round_rows(A, a_rows, a_cols, lda, fa);
    round_rows(B, b_rows, b_cols, ldb, fb);
    gemm<float>(trans_a, trans_b, M, N, K, 1.0f, fa, a_cols, fb, b_cols, beta, C, ldc);
    return;
  }
  if (bf16_panels::available() && (beta == 0.0f || beta == 1.0f)) {  // faster than the matmul
    bf16_panels::gemm(trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc, beta == 1.0f);
    return;
  }
  uint16_t* a = sized(c.a, a_rows * a_cols);
  uint16_t* b = sized(c.b, b_rows * b_cols);
  to_bf16(A, a_rows, a_cols, lda, a);
  to_bf16(B, b_rows, b_cols, ldb, b);
  using dnnl::memory;
  try {
    const Matmul& m = matmul_for({M, N, K, trans_a, trans_b, ldc, beta});
    memory ma(m.src, cpu_engine(), a), mb(m.wei, cpu_engine(), b), mc(m.dst, cpu_engine(), C);
    m.prim.execute(cpu_stream(), {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}});
    cpu_stream().wait();
  } catch (const dnnl::error& e) {
    throw_error(std::string("gemm_bf16: oneDNN matmul failed: ") + e.what());
  }
}

template <typename S>
void gemm_bf16_reference(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const S* A,
                         int64_t lda, const S* B, int64_t ldb, S beta, S* C, int64_t ldc) {
  auto round = [](S v) { return static_cast<S>(round_bf16(static_cast<float>(v))); };
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      S acc = 0;
      for (int64_t k = 0; k < K; ++k) {
        const S a = trans_a ? A[k * lda + m] : A[m * lda + k];
        const S b = trans_b ? B[n * ldb + k] : B[k * ldb + n];
        acc += round(a) * round(b);
      }
      S& out = C[m * ldc + n];
      out = acc + (beta == S(0) ? S(0) : beta * out);
    }
  }
}

template void gemm_bf16_reference<float>(bool, bool, int64_t, int64_t, int64_t, const float*,
                                         int64_t, const float*, int64_t, float, float*, int64_t);
template void gemm_bf16_reference<double>(bool, bool, int64_t, int64_t, int64_t, const double*,
                                          int64_t, const double*, int64_t, double, double*,
                                          int64_t);

}  // namespace recur::kernels
