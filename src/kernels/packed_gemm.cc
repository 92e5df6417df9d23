// PackedWeights on recur's panels (float, bf16) where the CPU has them, else on oneDNN's matmul
// primitive with a run-time M: one primitive serves every number of active rows, so
// variable-length batches pay no extra packing.
#include "kernels/packed_gemm.h"

#include <cstdint>
#include <map>
#include <tuple>
#include <vector>

#include "kernels/bf16.h"
#include "kernels/bf16_panels.h"
#include "kernels/dnnl_engine.h"
#include "kernels/f32_panels.h"
#include "recur/error.h"

namespace recur::kernels {

struct PackedWeights::Impl {
  int64_t N = 0, K = 0;
  dnnl::matmul assign, accumulate;
  dnnl::memory weights;
  bool can_accumulate = false;
  bool bf16 = false;    // inputs rounded to bf16
  bool native = false;  // ... and multiplied by oneDNN's bf16 matmul (else rounded floats)
  const uint16_t* panels = nullptr;   // ... or by kernels::bf16_panels, packed here
  const float* f32_panels = nullptr;  // float on kernels::f32_panels, packed here
  std::vector<char> own_panels;       // the panels when no storage was given
  // A and C by (M, ldc)
  mutable std::map<std::pair<int64_t, int64_t>, std::pair<dnnl::memory, dnnl::memory>> operands;
};

namespace {

// This thread's copy of the left-hand side, rounded to bf16.
template <typename T>
T* lhs_copy(int64_t n) {
  thread_local std::vector<T> v;
  if (static_cast<int64_t>(v.size()) < n) v.resize(n);
  return v.data();
}

// The primitives for one shape, made once per thread: creating them (primitive descriptors,
// kernel selection) costs tens of microseconds, as much as a small layer's whole step
// (recur_bench C7).
struct Made {
  dnnl::memory::desc given, weights;  // B as the caller stores it; packed
  dnnl::reorder pack;                 // given -> packed
  dnnl::matmul assign, accumulate;    // accumulate: made when asked for
};

// N, K, trans_b, accumulating, native bf16, ldb
using MadeKey = std::tuple<int64_t, int64_t, bool, bool, bool, int64_t>;

const Made& made_for(const MadeKey& key) {
  thread_local std::map<MadeKey, Made> made;
  auto it = made.find(key);
  if (it != made.end()) return it->second;
  if (made.size() >= 256) made.clear();  // bounded
  const auto [N, K, trans_b, accumulating, native, ldb] = key;
  using dnnl::memory;
  const auto in_type = native ? memory::data_type::bf16 : memory::data_type::f32;
  const auto R = DNNL_RUNTIME_DIM_VAL;
  const memory::desc src({R, K}, in_type, memory::dims{K, 1});
  // Row stride at run time too: C may be a column block of a wider matrix.
  const memory::desc dst({R, N}, memory::data_type::f32, memory::dims{R, 1});
  const memory::desc any({K, N}, in_type, memory::format_tag::any);
  Made m;
  // B [N, K] row-major is the [K, N] matrix Bᵀ stored column by column (tag ba).
  m.given = memory::desc({K, N}, memory::data_type::f32,
                         trans_b ? memory::dims{1, ldb} : memory::dims{ldb, 1});
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, any, dst), cpu_engine());
  m.weights = pd.weights_desc();
  m.assign = dnnl::matmul(pd);
  if (accumulating) {
    dnnl::post_ops sum;
    sum.append_sum(1.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(sum);
    const dnnl::matmul::primitive_desc pd_sum(dnnl::matmul::desc(src, any, dst), attr,
                                              cpu_engine());
    RECUR_ASSERT(pd_sum.weights_desc() == pd.weights_desc());
    m.accumulate = dnnl::matmul(pd_sum);
  }
  m.pack =
      dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), m.given, cpu_engine(), m.weights));
  return made.emplace(key, std::move(m)).first->second;
}
}  // namespace

PackedWeights::PackedWeights() = default;
PackedWeights::~PackedWeights() = default;
PackedWeights::PackedWeights(PackedWeights&&) noexcept = default;
PackedWeights& PackedWeights::operator=(PackedWeights&&) noexcept = default;

void PackedWeights::pack(const float* B, int64_t N, int64_t K, bool trans_b, bool accumulating,
                         bool bf16, int64_t ldb, std::vector<char>* storage) {
  if (ldb == 0) ldb = trans_b ? K : N;
  using dnnl::memory;
  try {
    auto impl = std::make_unique<Impl>();
    impl->N = N;
    impl->K = K;
    impl->bf16 = bf16;
    impl->native = bf16 && bf16_native();
    // The panels (bf16 where the CPU has avx512_bf16, float where it has AVX-512) go into
    // `storage`, or memory of this object's own, 64-byte aligned.
    const bool bf16_on_panels = impl->native && bf16_panels::available();
    const bool f32_on_panels = !bf16 && K > 0 && f32_panels::available();
    if (bf16_on_panels || f32_on_panels) {
      constexpr std::size_t kAlign = 64;
      const std::size_t bytes =
          (bf16_on_panels ? bf16_panels::packed_bytes(N, K) : f32_panels::packed_bytes(N, K)) +
          kAlign;
      std::vector<char>& bytes_at = storage ? *storage : impl->own_panels;
      if (bytes_at.size() < bytes) bytes_at.resize(bytes);
      const auto at = reinterpret_cast<std::uintptr_t>(bytes_at.data());
      char* aligned = bytes_at.data() + (kAlign - at % kAlign) % kAlign;
      if (bf16_on_panels) {
        auto* panels = reinterpret_cast<uint16_t*>(aligned);
        bf16_panels::pack(B, N, K, trans_b, ldb, panels);
        impl->panels = panels;
      } else {
        auto* panels = reinterpret_cast<float*>(aligned);
        f32_panels::pack(B, N, K, trans_b, ldb, panels);
        impl->f32_panels = panels;
      }
      impl->can_accumulate = true;
      impl_ = std::move(impl);
      return;
    }
    std::vector<float> rounded;   // the portable bf16 path packs bf16-rounded floats
    if (bf16 && !impl->native) {  // rounded into a dense copy
      const int64_t rows = trans_b ? N : K, cols = trans_b ? K : N;
      rounded.resize(rows * cols);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t k = 0; k < cols; ++k) rounded[r * cols + k] = round_bf16(B[r * ldb + k]);
      B = rounded.data();
      ldb = cols;
    }
    const Made& made = made_for({N, K, trans_b, accumulating, impl->native, ldb});
    impl->assign = made.assign;
    impl->accumulate = made.accumulate;
    impl->can_accumulate = accumulating;
    if (storage) {  // 64-byte aligned inside the caller's bytes
      constexpr std::size_t kAlign = 64;
      const std::size_t bytes = made.weights.get_size() + kAlign;
      if (storage->size() < bytes) storage->resize(bytes);
      const auto at = reinterpret_cast<std::uintptr_t>(storage->data());
      void* aligned = storage->data() + (kAlign - at % kAlign) % kAlign;
      impl->weights = memory(made.weights, cpu_engine(), aligned);
    } else {
      impl->weights = memory(made.weights, cpu_engine());
    }
    memory user(made.given, cpu_engine(), const_cast<float*>(B));
    made.pack.execute(cpu_stream(), user, impl->weights);
    cpu_stream().wait();
    impl_ = std::move(impl);
  } catch (const dnnl::error& e) {
    throw_error(std::string("packed gemm: oneDNN failed to pack a weight matrix: ") + e.what());
  }
}

void PackedWeights::multiply(int64_t M, const float* A, float* C, bool accumulate,
                             int64_t ldc) const {
  RECUR_ASSERT(impl_ != nullptr && (!accumulate || impl_->can_accumulate));
  if (M == 0) return;
  using dnnl::memory;
  const int64_t K = impl_->K;
  if (ldc == 0) ldc = impl_->N;
  if (impl_->panels) {
    bf16_panels::multiply(impl_->panels, impl_->N, K, M, A, K, C, ldc, accumulate);
    return;
  }
  if (impl_->f32_panels) {
    f32_panels::multiply(impl_->f32_panels, impl_->N, K, M, A, K, C, ldc, accumulate);
    return;
  }
  if (impl_->native) {
    uint16_t* a = lhs_copy<uint16_t>(M * K);
    to_bf16(A, M, K, K, a);  // by rows, over the threads when it is large (all steps' inputs)
    A = reinterpret_cast<const float*>(a);  // handed to oneDNN as bf16 below
  } else if (impl_->bf16) {
    float* a = lhs_copy<float>(M * K);
    for (int64_t i = 0; i < M * K; ++i) a[i] = round_bf16(A[i]);
    A = a;
  }
  try {
    // The memory objects for this M, made once (a variable-length batch has a few M values):
    // making two per call cost about 7 % of a small layer's step (recur_bench C7).
    auto it = impl_->operands.find({M, ldc});
    if (it == impl_->operands.end()) {
      const memory::desc src({M, K},
                             impl_->native ? memory::data_type::bf16 : memory::data_type::f32,
                             memory::dims{K, 1});
      const memory::desc dst({M, impl_->N}, memory::data_type::f32, memory::dims{ldc, 1});
      it = impl_->operands
               .emplace(std::make_pair(M, ldc),
                        std::make_pair(memory(src, cpu_engine(), const_cast<float*>(A)),
                                       memory(dst, cpu_engine(), C)))
               .first;
    }
    memory& a = it->second.first;
    memory& c = it->second.second;
    a.set_data_handle(const_cast<float*>(A));
    c.set_data_handle(C);
    (accumulate ? impl_->accumulate : impl_->assign)
        .execute(cpu_stream(),
                 {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, impl_->weights}, {DNNL_ARG_DST, c}});
    cpu_stream().wait();
  } catch (const dnnl::error& e) {
    throw_error(std::string("packed gemm: oneDNN matmul failed: ") + e.what());
  }
}

}  // namespace recur::kernels
