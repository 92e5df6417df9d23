// RnnStream (recur/rnn.h): streaming inference on weights prepared once. Per layer, a step is
// gx = x·W_ihᵀ + b, gh = h·W_hhᵀ, the cell (rnn/cell.h) in place on the layer's state, and for
// projected LSTMs h = h_cell·W_hrᵀ. Nothing is allocated after construction.
//
// How each product runs, by measurement on the 2-core AVX-512 machine (recur_bench S1, C3):
// a batch of one where the CPU has the kernel (AVX-512 for float, avx512_bf16 for bf16): both
// products of a layer as one kernels::GateMatVec, split over the threads by hidden units, each
// thread running the cell on its own units right after its rows (one parallel region per layer
// and step); elsewhere float with a batch of one: kernels::MatVec on a private copy of the
// weights (faster there than sgemm's matrix-vector path or oneDNN's packed matmul), the rows
// split over the threads; larger batches and bf16: weights packed once
// (kernels::PackedWeights), bf16 halving the bytes every step must read.
#include <omp.h>

#include <algorithm>
#include <string>
#include <vector>

#include "kernels/gate_matvec.h"
#include "kernels/matvec.h"
#include "kernels/packed_gemm.h"
#include "recur/error.h"
#include "recur/rnn.h"
#include "rnn/cell.h"
#include "rnn/engine.h"

namespace recur {

namespace {

// C[M, N] = A[M, K] · Wᵀ for a weight matrix W [N, K] fixed at construction.
class FixedProduct {
 public:
  FixedProduct() = default;
  FixedProduct(const Tensor& w, int64_t rows, bool bf16) : N_(w.size(0)), K_(w.size(1)) {
    if (rows == 1 && !bf16) {
      copy_.assign(w.data(), w.data() + w.numel());
      matvec_ = kernels::MatVec(copy_.data(), N_, K_);
    } else {
      packed_ = std::make_unique<kernels::PackedWeights>();
      packed_->pack(w.data(), N_, K_, /*trans_b=*/true, /*accumulating=*/false, bf16);
    }
  }
  void operator()(int64_t M, const float* A, float* C) {
    if (packed_)
      packed_->multiply(M, A, C, false);
    else
      matvec_.times(A, C, false);
    (void)M;
  }

 private:
  int64_t N_ = 0, K_ = 0;
  std::vector<float> copy_;
  kernels::MatVec matvec_;  // on copy_ (a vector<float> keeps its buffer when moved)
  std::unique_ptr<kernels::PackedWeights> packed_;
};

}  // namespace

struct RnnStream::Impl {
  RnnOptions o;
  int64_t B = 0;
  struct Layer {
    int64_t I = 0;
    FixedProduct w_ih, w_hh, w_hr;
    std::vector<float> bias;  // (GH) b_ih + b_hh, GRU's n block b_in only
    std::vector<float> b_hn;  // (H) GRU only
    // Batch of one on a CPU with the kernel: W_ih and W_hh as one product (w_ih and w_hh unset).
    std::unique_ptr<kernels::GateMatVec> fused;
  };
  std::vector<Layer> layers;
  RnnState state;                                // h [L, B, Ho], c [L, B, H]
  std::vector<float> gx, gh, h_raw, zeros, out;  // step buffers
  bool flip = false;                             // this step's products in the other order

  // One layer's step on its fused product: each thread multiplies the rows of its blocks of
  // hidden units, then runs the cell on those units. gx's first 2H (GRU) stay zero.
  void fused_step(Layer& layer, const float* in, float* h, float* c);
};

RnnStream::RnnStream(const Rnn& rnn, int64_t batch) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.o = rnn.options();
  const RnnOptions& o = m.o;
  RECUR_CHECK(
      !o.bidirectional,
      "RnnStream: streaming is one direction; a bidirectional RNN needs the whole sequence");
  RECUR_CHECK(batch > 0,
              "RnnStream: the batch size must be positive, got " + std::to_string(batch));
  m.B = batch;
  const bool bf16 = o.precision == Precision::kBfloat16;
  const bool gru = o.mode == RnnMode::kGru;
  const int64_t H = o.hidden_size, GH = gate_count(o.mode) * H;
  for (int64_t l = 0; l < o.num_layers; ++l) {
    const std::string suffix = "_l" + std::to_string(l);
    Impl::Layer layer;
    layer.I = rnn::layer_input_size(o, l);
    const Tensor& w_ih = rnn.parameter("weight_ih" + suffix);
    const Tensor& w_hh = rnn.parameter("weight_hh" + suffix);
    if (batch == 1 && kernels::GateMatVec::available(bf16)) {
      // Product gates: each gate of x·W_ihᵀ + h·W_hhᵀ, but a GRU's candidate apart (n_h, n_x).
      const int64_t K1 = layer.I, K2 = w_hh.size(1), G = gate_count(o.mode);
      std::vector<kernels::GateMatVec::Gate> gates;
      for (int64_t g = 0; g < G; ++g) {
        const float* a = w_ih.data() + g * H * K1;
        const float* b = w_hh.data() + g * H * K2;
        if (gru && g == 2) {
          gates.push_back({nullptr, b});
          gates.push_back({a, nullptr});
        } else {
          gates.push_back({a, b});
        }
      }
      layer.fused = std::make_unique<kernels::GateMatVec>(gates, H, K1, K2, bf16);
    } else {
      layer.w_ih = FixedProduct(w_ih, batch, bf16);
      layer.w_hh = FixedProduct(w_hh, batch, bf16);
    }
    if (o.proj_size) layer.w_hr = FixedProduct(rnn.parameter("weight_hr" + suffix), batch, bf16);
    layer.bias.assign(GH, 0.0f);
    if (o.bias) {
      const Tensor& b_ih = rnn.parameter("bias_ih" + suffix);
      const Tensor& b_hh = rnn.parameter("bias_hh" + suffix);
      for (int64_t k = 0; k < GH; ++k)
        layer.bias[k] = b_ih[k] + (gru && k >= 2 * H ? 0.0f : b_hh[k]);
      if (gru) layer.b_hn.assign(b_hh.data() + 2 * H, b_hh.data() + 3 * H);
    } else if (gru) {
      layer.b_hn.assign(H, 0.0f);
    }
    m.layers.push_back(std::move(layer));
  }
  m.state = rnn.initial_state(batch);
  m.gx.resize(batch * GH);
  m.gh.resize(batch * GH);
  m.h_raw.resize(o.proj_size ? batch * H : 0);
  m.out.resize(batch * o.output_hidden_size());
}

RnnStream::~RnnStream() = default;
RnnStream::RnnStream(RnnStream&&) noexcept = default;
RnnStream& RnnStream::operator=(RnnStream&&) noexcept = default;

int64_t RnnStream::batch() const { return impl_->B; }
const RnnState& RnnStream::state() const { return impl_->state; }

void RnnStream::set_state(const RnnState& state) {
  const Impl& m = *impl_;
  RECUR_CHECK(state.h.shape() == m.state.h.shape(), "RnnStream: state.h must have shape " +
                                                        shape_string(m.state.h.shape()) +
                                                        ", found " + shape_string(state.h.shape()));
  RECUR_CHECK(state.c.shape() == m.state.c.shape(), "RnnStream: state.c must have shape " +
                                                        shape_string(m.state.c.shape()) +
                                                        ", found " + shape_string(state.c.shape()));
  std::copy_n(state.h.data(), state.h.numel(), impl_->state.h.data());
  if (state.c.defined()) std::copy_n(state.c.data(), state.c.numel(), impl_->state.c.data());
}

void RnnStream::reset() {
  Impl& m = *impl_;
  std::fill_n(m.state.h.data(), m.state.h.numel(), 0.0f);
  if (m.state.c.defined()) std::fill_n(m.state.c.data(), m.state.c.numel(), 0.0f);
}

constexpr int64_t kFusedSplitFromBytes = int64_t{1} << 20;

void RnnStream::Impl::fused_step(Layer& layer, const float* in, float* h, float* c) {
  const int64_t H = o.hidden_size, G = gate_count(o.mode);
  const bool gru = o.mode == RnnMode::kGru;
  kernels::GateMatVec& mv = *layer.fused;
  mv.load(in, h);
  float* out[4] = {};
  for (int64_t g = 0; g < G; ++g) out[g] = gh.data() + g * H;
  if (gru) out[3] = gx.data() + 2 * H;  // x·W_inᵀ apart from h·W_hnᵀ
  const int64_t blocks = mv.blocks();
  const bool reverse = flip;
  const auto part = [&](int threads, int t) {
    const int64_t b0 = blocks * t / threads, b1 = blocks * (t + 1) / threads;
    if (b0 == b1) return;
    mv.multiply(b0, b1, out, reverse);
    rnn::CellForward<float> cell;
    cell.rows = 1;
    cell.H = H;
    cell.gx = gru ? gx.data() : nullptr;
    cell.gh = gh.data();
    cell.bias = layer.bias.empty() ? nullptr : layer.bias.data();
    cell.b_hn = layer.b_hn.empty() ? nullptr : layer.b_hn.data();
    cell.h_prev = h;
    cell.c_prev = c;
    cell.h = o.proj_size ? h_raw.data() : h;
    cell.c = c;
    cell.u0 = b0 * kernels::GateMatVec::kBlock;
    cell.units = std::min(H, b1 * kernels::GateMatVec::kBlock) - cell.u0;
    rnn::cell_forward(o.mode, cell);
  };
  // Split from 1 MiB of weights on: below that, waking the other threads (an OpenMP region, a
  // system call or two: see docs/BENCHMARKS.md, session 10) costs more than their share. At 2
  // threads, µs per step: LSTM I = H = 128 (512 KiB) 5.4-5.5 split against 3.2-3.6 on one
  // thread, I = H = 192 (1.1 MiB) 7.4-8.4 against 9.0-11.2; bf16 I = H = 192 (576 KiB) 5.5-6.2
  // against 3.9-4.6, I = H = 256 (1 MiB) 7.1-7.9 against 8.2-10.6.
  const int64_t bytes = mv.weights() * (o.precision == Precision::kBfloat16 ? 2 : 4);
  const int threads = omp_in_parallel() || bytes < kFusedSplitFromBytes
                          ? 1
                          : static_cast<int>(std::min<int64_t>(omp_get_max_threads(), blocks));
  if (threads <= 1) {
    part(1, 0);
    return;
  }
#pragma omp parallel num_threads(threads)
  part(omp_get_num_threads(), omp_get_thread_num());
}

void RnnStream::step(const float* x, float* y) {
  Impl& m = *impl_;
  const RnnOptions& o = m.o;
  const int64_t B = m.B, H = o.hidden_size, Ho = o.output_hidden_size();
  const bool lstm = o.mode == RnnMode::kLstm;
  const float* in = x;
  for (int64_t l = 0; l < o.num_layers; ++l) {
    Impl::Layer& layer = m.layers[l];
    float* h = m.state.h.data() + l * B * Ho;
    float* c = lstm ? m.state.c.data() + l * B * H : nullptr;
    if (layer.fused) {
      m.fused_step(layer, in, h, c);
      if (o.proj_size) layer.w_hr(B, m.h_raw.data(), h);
      in = h;
      continue;
    }
    // Every other step takes the two products in the other order: each MatVec also reverses
    // its walk, so the weights read last stay in L2 for the first ones read next.
    if (!m.flip) {
      layer.w_ih(B, in, m.gx.data());
      layer.w_hh(B, h, m.gh.data());
    } else {
      layer.w_hh(B, h, m.gh.data());
      layer.w_ih(B, in, m.gx.data());
    }
    rnn::CellForward<float> cell;
    cell.rows = B;
    cell.H = H;
    cell.gx = m.gx.data();
    cell.gh = m.gh.data();
    cell.bias = layer.bias.empty() ? nullptr : layer.bias.data();
    cell.b_hn = layer.b_hn.empty() ? nullptr : layer.b_hn.data();
    cell.h_prev = h;
    cell.c_prev = c;
    cell.h = o.proj_size ? m.h_raw.data() : h;
    cell.c = c;
    rnn::cell_forward(o.mode, cell);
    if (o.proj_size) layer.w_hr(B, m.h_raw.data(), h);
    in = h;
  }
  m.flip = !m.flip;
  std::copy_n(in, B * Ho, y);
}

Tensor RnnStream::step(const Tensor& x) {
  const Impl& m = *impl_;
  RECUR_CHECK(x.dim() == 2 && x.size(0) == m.B && x.size(1) == m.o.input_size,
              "RnnStream: step() input must have shape [" + std::to_string(m.B) + ", " +
                  std::to_string(m.o.input_size) + "] (batch, input_size), found " +
                  shape_string(x.shape()));
  Tensor y({m.B, m.o.output_hidden_size()});
  step(x.data(), y.data());
  return y;
}

}  // namespace recur
