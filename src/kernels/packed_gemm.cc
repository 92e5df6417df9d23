// PackedWeights on oneDNN's matmul primitive with a run-time M: one primitive serves every
// number of active rows, so variable-length batches pay no extra packing.
#include "kernels/packed_gemm.h"

#include <cstdint>
#include <vector>

#include "kernels/bf16.h"
#include "kernels/dnnl_engine.h"
#include "recur/error.h"

namespace recur::kernels {

struct PackedWeights::Impl {
  int64_t N = 0, K = 0;
  dnnl::matmul assign, accumulate;
  dnnl::memory weights;
  bool can_accumulate = false;
  bool bf16 = false;    // inputs rounded to bf16
  bool native = false;  // ... and multiplied by oneDNN's bf16 matmul (else rounded floats)
};

namespace {

// This thread's copy of the left-hand side, rounded to bf16.
template <typename T>
T* lhs_copy(int64_t n) {
  thread_local std::vector<T> v;
  if (static_cast<int64_t>(v.size()) < n) v.resize(n);
  return v.data();
}

}  // namespace

PackedWeights::PackedWeights() = default;
PackedWeights::~PackedWeights() = default;
PackedWeights::PackedWeights(PackedWeights&&) noexcept = default;
PackedWeights& PackedWeights::operator=(PackedWeights&&) noexcept = default;

void PackedWeights::pack(const float* B, int64_t N, int64_t K, bool trans_b, bool accumulating,
                         bool bf16, std::vector<char>* storage) {
  using dnnl::memory;
  try {
    auto impl = std::make_unique<Impl>();
    impl->N = N;
    impl->K = K;
    impl->bf16 = bf16;
    impl->native = bf16 && bf16_native();
    std::vector<float> rounded;  // the portable bf16 path packs bf16-rounded floats
    if (bf16 && !impl->native) {
      rounded.resize(N * K);
      for (int64_t i = 0; i < N * K; ++i) rounded[i] = round_bf16(B[i]);
      B = rounded.data();
    }
    const auto in_type = impl->native ? memory::data_type::bf16 : memory::data_type::f32;
    const auto R = DNNL_RUNTIME_DIM_VAL;
    const memory::desc src({R, K}, in_type, memory::dims{K, 1});
    const memory::desc dst({R, N}, memory::data_type::f32, memory::dims{N, 1});
    const memory::desc any({K, N}, in_type, memory::format_tag::any);
    // B [N, K] row-major is the [K, N] matrix Bᵀ stored column by column (tag ba).
    const memory::desc given({K, N}, memory::data_type::f32,
                             trans_b ? memory::format_tag::ba : memory::format_tag::ab);
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, any, dst), cpu_engine());
    impl->assign = dnnl::matmul(pd);
    if (accumulating) {
      dnnl::post_ops sum;
      sum.append_sum(1.0f);
      dnnl::primitive_attr attr;
      attr.set_post_ops(sum);
      const dnnl::matmul::primitive_desc pd_sum(dnnl::matmul::desc(src, any, dst), attr,
                                                cpu_engine());
      RECUR_ASSERT(pd_sum.weights_desc() == pd.weights_desc());
      impl->accumulate = dnnl::matmul(pd_sum);
      impl->can_accumulate = true;
    }
    if (storage) {  // 64-byte aligned inside the caller's bytes
      constexpr std::size_t kAlign = 64;
      const std::size_t bytes = pd.weights_desc().get_size() + kAlign;
      if (storage->size() < bytes) storage->resize(bytes);
      const auto at = reinterpret_cast<std::uintptr_t>(storage->data());
      void* aligned = storage->data() + (kAlign - at % kAlign) % kAlign;
      impl->weights = memory(pd.weights_desc(), cpu_engine(), aligned);
    } else {
      impl->weights = memory(pd.weights_desc(), cpu_engine());
    }
    memory user(given, cpu_engine(), const_cast<float*>(B));
    dnnl::reorder(user, impl->weights).execute(cpu_stream(), user, impl->weights);
    cpu_stream().wait();
    impl_ = std::move(impl);
  } catch (const dnnl::error& e) {
    throw_error(std::string("packed gemm: oneDNN failed to pack a weight matrix: ") + e.what());
  }
}

void PackedWeights::multiply(int64_t M, const float* A, float* C, bool accumulate) const {
  RECUR_ASSERT(impl_ != nullptr && (!accumulate || impl_->can_accumulate));
  if (M == 0) return;
  using dnnl::memory;
  const int64_t K = impl_->K;
  if (impl_->native) {
    uint16_t* a = lhs_copy<uint16_t>(M * K);
    to_bf16(A, M * K, a);
    A = reinterpret_cast<const float*>(a);  // handed to oneDNN as bf16 below
  } else if (impl_->bf16) {
    float* a = lhs_copy<float>(M * K);
    for (int64_t i = 0; i < M * K; ++i) a[i] = round_bf16(A[i]);
    A = a;
  }
  const memory::desc src({M, K}, impl_->native ? memory::data_type::bf16 : memory::data_type::f32,
                         memory::dims{K, 1});
  const memory::desc dst({M, impl_->N}, memory::data_type::f32, memory::dims{impl_->N, 1});
  try {
    memory a(src, cpu_engine(), const_cast<float*>(A)), c(dst, cpu_engine(), C);
    (accumulate ? impl_->accumulate : impl_->assign)
        .execute(cpu_stream(),
                 {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, impl_->weights}, {DNNL_ARG_DST, c}});
    cpu_stream().wait();
  } catch (const dnnl::error& e) {
    throw_error(std::string("packed gemm: oneDNN matmul failed: ") + e.what());
  }
}

}  // namespace recur::kernels
