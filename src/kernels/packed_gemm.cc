// PackedWeights on oneDNN's matmul primitive with a run-time M: one primitive serves every
// number of active rows, so variable-length batches pay no extra packing.
#include "kernels/packed_gemm.h"

#include <oneapi/dnnl/dnnl.hpp>

#include "recur/error.h"

namespace recur::kernels {
namespace {

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpu_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

}  // namespace

struct PackedWeights::Impl {
  int64_t N = 0, K = 0;
  dnnl::matmul assign, accumulate;
  dnnl::memory weights;
  bool can_accumulate = false;
};

PackedWeights::PackedWeights() = default;
PackedWeights::~PackedWeights() = default;
PackedWeights::PackedWeights(PackedWeights&&) noexcept = default;
PackedWeights& PackedWeights::operator=(PackedWeights&&) noexcept = default;

void PackedWeights::pack(const float* B, int64_t N, int64_t K, bool trans_b, bool accumulating) {
  using dnnl::memory;
  try {
    auto impl = std::make_unique<Impl>();
    impl->N = N;
    impl->K = K;
    const auto R = DNNL_RUNTIME_DIM_VAL;
    const memory::desc src({R, K}, memory::data_type::f32, memory::dims{K, 1});
    const memory::desc dst({R, N}, memory::data_type::f32, memory::dims{N, 1});
    const memory::desc any({K, N}, memory::data_type::f32, memory::format_tag::any);
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
    impl->weights = memory(pd.weights_desc(), cpu_engine());
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
  const memory::desc src({M, impl_->K}, memory::data_type::f32, memory::dims{impl_->K, 1});
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
