// The oneDNN peer (see onednn_rnn.h). Written against oneDNN 2.6's C operation descriptors
// (dnnl_*_desc_init) so that one code path serves the three cell kinds, with the C++ API for
// memory, primitive descriptors and execution.
#include "peers/onednn_rnn.h"

#include <oneapi/dnnl/dnnl.h>

#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <utility>
#include <vector>

#include "recur/error.h"

namespace recur::bench {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using Args = std::unordered_map<int, memory>;

constexpr auto kF32 = memory::data_type::f32;

float* ptr(const memory& m) { return static_cast<float*>(m.get_data_handle()); }

// The same dims and strides as md (a plain, unblocked layout), in f32.
memory::desc as_f32(const memory::desc& md) {
  const auto& strides = md.data.format_desc.blocking.strides;
  return memory::desc(md.dims(), kF32, memory::dims(strides, strides + md.data.ndims));
}

// Writes m's values from floats, converting when m holds bf16 (a oneDNN reorder: round to
// nearest even); read_floats is the way back.
void write_floats(memory m, const float* data, dnnl::stream strm) {
  if (m.get_desc().data_type() == kF32) {
    std::memcpy(m.get_data_handle(), data, m.get_desc().get_size());
    return;
  }
  memory src(as_f32(m.get_desc()), m.get_engine(), const_cast<float*>(data));
  dnnl::reorder(src, m).execute(strm, src, m);
  strm.wait();
}

void read_floats(memory m, float* data, dnnl::stream strm) {
  if (m.get_desc().data_type() == kF32) {
    std::memcpy(data, m.get_data_handle(), m.get_desc().get_size());
    return;
  }
  memory dst(as_f32(m.get_desc()), m.get_engine(), data);
  dnnl::reorder(m, dst).execute(strm, m, dst);
  strm.wait();
}

void zero(const memory& m) { std::memset(m.get_data_handle(), 0, m.get_desc().get_size()); }

// oneDNN gate k holds PyTorch gate kGatePerm[k]. LSTM: i,f,g,o in both. GRU: oneDNN u,r,o
// (u = PyTorch's z, o = its n) from PyTorch r,z,n. RNN: one gate.
int torch_gate(RnnMode mode, int k) {
  static const int gru[] = {1, 0, 2};
  return mode == RnnMode::kGru ? gru[k] : k;
}

// Bias gates: lbr_gru has a 4th, b_hn, which stays inside r * (W_hn h + b_hn).
int64_t bias_gates(RnnMode mode) { return mode == RnnMode::kGru ? 4 : gate_count(mode); }

// Memory descriptors of one RNN operation; zero descriptors mean "not used".
struct Mds {
  memory::desc src_layer, src_iter, src_iter_c, wl, wi, bias, dst_layer, dst_iter, dst_iter_c;
  memory::desc diff_src_layer, diff_src_iter, diff_src_iter_c, diff_wl, diff_wi, diff_bias,
      diff_dst_layer, diff_dst_iter, diff_dst_iter_c;
};

void check(dnnl_status_t status, const std::string& what) {
  RECUR_CHECK(status == dnnl_success,
              "oneDNN peer: " + what + " failed with status " + std::to_string(status));
}

dnnl_rnn_desc_t forward_desc(RnnMode mode, dnnl_prop_kind_t prop, dnnl_rnn_direction_t dir,
                             const Mds& m) {
  dnnl_rnn_desc_t d;
  switch (mode) {
    case RnnMode::kRnnTanh:
    case RnnMode::kRnnRelu:
      check(dnnl_vanilla_rnn_forward_desc_init(
                &d, prop, mode == RnnMode::kRnnTanh ? dnnl_eltwise_tanh : dnnl_eltwise_relu, dir,
                &m.src_layer.data, &m.src_iter.data, &m.wl.data, &m.wi.data, &m.bias.data,
                &m.dst_layer.data, &m.dst_iter.data, 0, 0.0f, 0.0f),
            "vanilla_rnn forward descriptor");
      break;
    case RnnMode::kLstm:
      check(dnnl_lstm_forward_desc_init(&d, prop, dir, &m.src_layer.data, &m.src_iter.data,
                                        &m.src_iter_c.data, &m.wl.data, &m.wi.data, &m.bias.data,
                                        &m.dst_layer.data, &m.dst_iter.data, &m.dst_iter_c.data, 0),
            "lstm forward descriptor");
      break;
    case RnnMode::kGru:
      check(dnnl_lbr_gru_forward_desc_init(&d, prop, dir, &m.src_layer.data, &m.src_iter.data,
                                           &m.wl.data, &m.wi.data, &m.bias.data, &m.dst_layer.data,
                                           &m.dst_iter.data, 0),
            "lbr_gru forward descriptor");
      break;
  }
  return d;
}

dnnl_rnn_desc_t backward_desc(RnnMode mode, dnnl_rnn_direction_t dir, const Mds& m) {
  dnnl_rnn_desc_t d;
  switch (mode) {
    case RnnMode::kRnnTanh:
    case RnnMode::kRnnRelu:
      check(
          dnnl_vanilla_rnn_backward_desc_init(
              &d, dnnl_backward, mode == RnnMode::kRnnTanh ? dnnl_eltwise_tanh : dnnl_eltwise_relu,
              dir, &m.src_layer.data, &m.src_iter.data, &m.wl.data, &m.wi.data, &m.bias.data,
              &m.dst_layer.data, &m.dst_iter.data, &m.diff_src_layer.data, &m.diff_src_iter.data,
              &m.diff_wl.data, &m.diff_wi.data, &m.diff_bias.data, &m.diff_dst_layer.data,
              &m.diff_dst_iter.data, 0, 0.0f, 0.0f),
          "vanilla_rnn backward descriptor");
      break;
    case RnnMode::kLstm:
      check(dnnl_lstm_backward_desc_init(
                &d, dnnl_backward, dir, &m.src_layer.data, &m.src_iter.data, &m.src_iter_c.data,
                &m.wl.data, &m.wi.data, &m.bias.data, &m.dst_layer.data, &m.dst_iter.data,
                &m.dst_iter_c.data, &m.diff_src_layer.data, &m.diff_src_iter.data,
                &m.diff_src_iter_c.data, &m.diff_wl.data, &m.diff_wi.data, &m.diff_bias.data,
                &m.diff_dst_layer.data, &m.diff_dst_iter.data, &m.diff_dst_iter_c.data, 0),
            "lstm backward descriptor");
      break;
    case RnnMode::kGru:
      check(dnnl_lbr_gru_backward_desc_init(
                &d, dnnl_backward, dir, &m.src_layer.data, &m.src_iter.data, &m.wl.data, &m.wi.data,
                &m.bias.data, &m.dst_layer.data, &m.dst_iter.data, &m.diff_src_layer.data,
                &m.diff_src_iter.data, &m.diff_wl.data, &m.diff_wi.data, &m.diff_bias.data,
                &m.diff_dst_layer.data, &m.diff_dst_iter.data, 0),
            "lbr_gru backward descriptor");
      break;
  }
  return d;
}

memory::desc exec_md(const dnnl::primitive_desc& pd, int arg) {
  return pd.query_md(dnnl::query::exec_arg_md, arg);
}

struct Reorder {
  dnnl::reorder prim;
  memory src, dst;
  void run(const dnnl::stream& strm) { prim.execute(strm, src, dst); }
};

struct Layer {
  int64_t slc = 0;
  memory user_wl, user_wi, user_bias;                 // ldgoi / ldgo, oneDNN gate order
  memory user_diff_wl, user_diff_wi, user_diff_bias;  // same layouts, the gradients
  memory dst_layer, diff_src_layer, workspace;
  dnnl::primitive_desc fwd_pd, bwd_pd;
  dnnl::primitive fwd, bwd;
  Args fwd_args, bwd_args;
  Args stream_args[2];        // parity p reads state p, writes state 1 - p
  memory h[2], c[2];          // streaming: the state; training: [0] zero h0/c0, [1] their gradients
  std::vector<memory> diffs;  // the gradients in the primitive's layouts
  std::vector<Reorder> before, after;  // per training step: weights in, gradients out
};

}  // namespace

struct OnednnRnn::Impl {
  cli::BenchProblem p;
  OnednnRun run;
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  memory x, dy;              // [T, B, I] (stream: [1, B, I]) and [T, B, D*H]
  memory x_all, stream_out;  // streaming: [T, B, I] in, [T, B, H] out, in the data type
  std::vector<Layer> layers;
  int parity = 0;

  // Memory in `md`'s layout holding `user`'s values: `user` itself when the layouts agree, else
  // a new buffer and a reorder, run now (`now`) or recorded into `steps` for every run.
  memory adopt(const memory& user, const memory::desc& md, bool now, std::vector<Reorder>* steps) {
    if (md == user.get_desc()) return user;
    memory m(md, eng);
    Reorder r{dnnl::reorder(user, m), user, m};
    if (now) {
      r.run(strm);
      strm.wait();
    } else {
      steps->push_back(r);
    }
    return m;
  }

  void build_layer(int64_t l, const std::map<std::string, Tensor>& sd);
};

void OnednnRnn::Impl::build_layer(int64_t l, const std::map<std::string, Tensor>& sd) {
  Layer& layer = layers[static_cast<std::size_t>(l)];
  const int64_t D = p.directions(), H = p.H, G = gate_count(p.mode), Gb = bias_gates(p.mode);
  const int64_t slc = l == 0 ? p.I : D * H;
  const int64_t T = run == OnednnRun::kStream ? 1 : p.T, B = p.B;
  layer.slc = slc;

  // PyTorch's weights in oneDNN's gate order. ldgoi = [l][d][g][o][i], i.e. PyTorch's
  // weight_ih [G*H, in] per direction once the gate blocks are permuted.
  layer.user_wl = memory({{1, D, slc, G, H}, kF32, tag::ldgoi}, eng);
  layer.user_wi = memory({{1, D, H, G, H}, kF32, tag::ldgoi}, eng);
  layer.user_bias = memory({{1, D, Gb, H}, kF32, tag::ldgo}, eng);
  for (int64_t d = 0; d < D; ++d) {
    const std::string suffix = "_l" + std::to_string(l) + (d ? "_reverse" : "");
    const Tensor& w_ih = sd.at("weight_ih" + suffix);
    const Tensor& w_hh = sd.at("weight_hh" + suffix);
    const Tensor& b_ih = sd.at("bias_ih" + suffix);
    const Tensor& b_hh = sd.at("bias_hh" + suffix);
    RECUR_CHECK(w_ih.numel() == G * H * slc && w_hh.numel() == G * H * H,
                "oneDNN peer: unexpected weight shapes in layer " + std::to_string(l));
    float* bias = ptr(layer.user_bias) + d * Gb * H;
    for (int k = 0; k < G; ++k) {
      const int64_t g = torch_gate(p.mode, k);
      std::memcpy(ptr(layer.user_wl) + (d * G + k) * H * slc, w_ih.data() + g * H * slc,
                  sizeof(float) * H * slc);
      std::memcpy(ptr(layer.user_wi) + (d * G + k) * H * H, w_hh.data() + g * H * H,
                  sizeof(float) * H * H);
      for (int64_t o = 0; o < H; ++o) {
        const bool lbr_candidate = p.mode == RnnMode::kGru && k == 2;
        bias[k * H + o] = b_ih[g * H + o] + (lbr_candidate ? 0.0f : b_hh[g * H + o]);
      }
    }
    if (p.mode == RnnMode::kGru)
      for (int64_t o = 0; o < H; ++o) bias[3 * H + o] = b_hh[2 * H + o];
  }

  // bf16: layer data, hidden states and weights in bf16; biases, cell states and every gradient
  // in f32 (the only bf16 backward oneDNN 2.6 accepts).
  const auto dt = p.bf16 ? memory::data_type::bf16 : kF32;
  const auto dir = D == 2 ? dnnl_bidirectional_concat : dnnl_unidirectional_left2right;
  const memory::desc any_wl({1, D, slc, G, H}, dt, tag::any);
  const memory::desc any_wi({1, D, H, G, H}, dt, tag::any);
  const memory::desc any_bias({1, D, Gb, H}, kF32, tag::any);
  const memory::desc src_md({T, B, slc}, dt, tag::tnc);
  const memory::desc dst_md({T, B, D * H}, dt, tag::tnc);
  const memory::desc iter_md({1, D, B, H}, dt, tag::ldnc);
  const memory::desc iter_c_md({1, D, B, H}, kF32, tag::ldnc);
  const memory::desc diff_src_md({T, B, slc}, kF32, tag::tnc);
  const memory::desc diff_dst_md({T, B, D * H}, kF32, tag::tnc);
  const memory::desc diff_iter_md({1, D, B, H}, kF32, tag::ldnc);
  const memory::desc diff_wl({1, D, slc, G, H}, kF32, tag::any);
  const memory::desc diff_wi({1, D, H, G, H}, kF32, tag::any);
  const bool lstm = p.mode == RnnMode::kLstm;

  Mds m;
  m.src_layer = src_md;
  m.dst_layer = dst_md;
  m.wl = any_wl;
  m.wi = any_wi;
  m.bias = any_bias;
  if (run == OnednnRun::kStream) {
    m.src_iter = m.dst_iter = iter_md;
    if (lstm) m.src_iter_c = m.dst_iter_c = iter_c_md;
  }
  // Training passes the zero initial state explicitly: with it left out (a zero descriptor),
  // oneDNN 2.6's unidirectional backward gives wrong weight_iter gradients (found by
  // --self-test; bidirectional and lbr_gru were right).
  if (run == OnednnRun::kTraining) {
    m.src_iter = iter_md;
    if (lstm) m.src_iter_c = iter_c_md;
  }
  const dnnl_prop_kind_t prop =
      run == OnednnRun::kTraining ? dnnl_forward_training : dnnl_forward_inference;
  const dnnl_rnn_desc_t fd = forward_desc(p.mode, prop, dir, m);
  layer.fwd_pd = dnnl::primitive_desc(&fd, nullptr, eng, nullptr);
  layer.fwd = dnnl::primitive(layer.fwd_pd);
  layer.dst_layer = memory(dst_md, eng);
  const memory& src = l == 0 ? x : layers[static_cast<std::size_t>(l - 1)].dst_layer;
  const bool train = run == OnednnRun::kTraining;
  layer.fwd_args = {
      {DNNL_ARG_SRC_LAYER, src},
      {DNNL_ARG_WEIGHTS_LAYER,
       adopt(layer.user_wl, exec_md(layer.fwd_pd, DNNL_ARG_WEIGHTS_LAYER), !train, &layer.before)},
      {DNNL_ARG_WEIGHTS_ITER,
       adopt(layer.user_wi, exec_md(layer.fwd_pd, DNNL_ARG_WEIGHTS_ITER), !train, &layer.before)},
      {DNNL_ARG_BIAS,
       adopt(layer.user_bias, exec_md(layer.fwd_pd, DNNL_ARG_BIAS), !train, &layer.before)},
      {DNNL_ARG_DST_LAYER, layer.dst_layer}};
  const memory::desc ws_md = layer.fwd_pd.workspace_desc();
  if (ws_md.get_size() > 0) {
    layer.workspace = memory(ws_md, eng);
    layer.fwd_args[DNNL_ARG_WORKSPACE] = layer.workspace;
  }

  if (run == OnednnRun::kTraining) {
    layer.h[0] = memory(iter_md, eng);  // zeros, never written
    layer.fwd_args[DNNL_ARG_SRC_ITER] = layer.h[0];
    if (lstm) {
      layer.c[0] = memory(iter_c_md, eng);
      layer.fwd_args[DNNL_ARG_SRC_ITER_C] = layer.c[0];
    }
    zero(layer.h[0]);
    if (lstm) zero(layer.c[0]);
  }
  if (run == OnednnRun::kStream) {
    for (int s = 0; s < 2; ++s) {
      layer.h[s] = memory(iter_md, eng);
      if (lstm) layer.c[s] = memory(iter_c_md, eng);
    }
    for (int s = 0; s < 2; ++s) {
      layer.stream_args[s] = layer.fwd_args;
      layer.stream_args[s][DNNL_ARG_SRC_ITER] = layer.h[s];
      layer.stream_args[s][DNNL_ARG_DST_ITER] = layer.h[1 - s];
      if (lstm) {
        layer.stream_args[s][DNNL_ARG_SRC_ITER_C] = layer.c[s];
        layer.stream_args[s][DNNL_ARG_DST_ITER_C] = layer.c[1 - s];
      }
    }
  }
  if (!train) return;

  m.diff_src_layer = diff_src_md;
  m.diff_src_iter = diff_iter_md;
  if (lstm) m.diff_src_iter_c = iter_c_md;
  m.diff_dst_layer = diff_dst_md;
  m.diff_wl = diff_wl;
  m.diff_wi = diff_wi;
  m.diff_bias = any_bias;
  const dnnl_rnn_desc_t bd = backward_desc(p.mode, dir, m);
  layer.bwd_pd = dnnl::primitive_desc(&bd, nullptr, eng, layer.fwd_pd.get());
  layer.bwd = dnnl::primitive(layer.bwd_pd);
  layer.diff_src_layer = memory(diff_src_md, eng);
  layer.user_diff_wl = memory(layer.user_wl.get_desc(), eng);
  layer.user_diff_wi = memory(layer.user_wi.get_desc(), eng);
  layer.user_diff_bias = memory(layer.user_bias.get_desc(), eng);
  layer.bwd_args = {
      {DNNL_ARG_SRC_LAYER, src},
      {DNNL_ARG_WEIGHTS_LAYER,
       adopt(layer.user_wl, exec_md(layer.bwd_pd, DNNL_ARG_WEIGHTS_LAYER), false, &layer.before)},
      {DNNL_ARG_WEIGHTS_ITER,
       adopt(layer.user_wi, exec_md(layer.bwd_pd, DNNL_ARG_WEIGHTS_ITER), false, &layer.before)},
      {DNNL_ARG_BIAS,
       adopt(layer.user_bias, exec_md(layer.bwd_pd, DNNL_ARG_BIAS), false, &layer.before)},
      {DNNL_ARG_DST_LAYER, layer.dst_layer},
      {DNNL_ARG_DIFF_SRC_LAYER, layer.diff_src_layer},
      {DNNL_ARG_SRC_ITER, layer.h[0]},
      {DNNL_ARG_DIFF_SRC_ITER, layer.h[1] = memory(diff_iter_md, eng)}};
  if (lstm) {
    layer.bwd_args[DNNL_ARG_SRC_ITER_C] = layer.c[0];
    layer.bwd_args[DNNL_ARG_DIFF_SRC_ITER_C] = layer.c[1] = memory(iter_c_md, eng);
  }
  if (layer.workspace) layer.bwd_args[DNNL_ARG_WORKSPACE] = layer.workspace;
  // The gradients: written by the primitive in its own layout, reordered to PyTorch's after.
  const std::pair<int, memory*> diffs[] = {{DNNL_ARG_DIFF_WEIGHTS_LAYER, &layer.user_diff_wl},
                                           {DNNL_ARG_DIFF_WEIGHTS_ITER, &layer.user_diff_wi},
                                           {DNNL_ARG_DIFF_BIAS, &layer.user_diff_bias}};
  for (const auto& [arg, user] : diffs) {
    const memory::desc md = exec_md(layer.bwd_pd, arg);
    if (md == user->get_desc()) {
      layer.bwd_args[arg] = *user;
    } else {
      memory prim(md, eng);
      layer.after.push_back({dnnl::reorder(prim, *user), prim, *user});
      layer.bwd_args[arg] = prim;
    }
    layer.diffs.push_back(layer.bwd_args[arg]);
  }
}

OnednnRnn::OnednnRnn(const cli::BenchProblem& p, const std::map<std::string, Tensor>& state_dict,
                     const Tensor& x, const Tensor& dy, OnednnRun run)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.p = p;
  m.run = run;
  RECUR_CHECK(run != OnednnRun::kStream || !p.bidirectional,
              "oneDNN peer: streaming is unidirectional");
  const int64_t T = run == OnednnRun::kStream ? 1 : p.T;
  // bf16: the input is converted once here, not in the timed runs (oneDNN's best case).
  m.x = memory({{T, p.B, p.I}, p.bf16 ? memory::data_type::bf16 : kF32, tag::tnc}, m.eng);
  if (run == OnednnRun::kStream) {
    m.x_all = memory({{p.T, p.B, p.I}, m.x.get_desc().data_type(), tag::tnc}, m.eng);
    m.stream_out = memory({{p.T, p.B, p.H}, m.x.get_desc().data_type(), tag::tnc}, m.eng);
    write_floats(m.x_all, x.data(), m.strm);
  } else {
    write_floats(m.x, x.data(), m.strm);
  }
  if (run == OnednnRun::kTraining) {
    m.dy = memory({{p.T, p.B, p.directions() * p.H}, kF32, tag::tnc}, m.eng);
    std::memcpy(ptr(m.dy), dy.data(), sizeof(float) * dy.numel());
  }
  m.layers.resize(static_cast<std::size_t>(p.L));
  for (int64_t l = 0; l < p.L; ++l) m.build_layer(l, state_dict);
  for (int64_t l = 0; l + 1 < p.L; ++l)
    m.layers[static_cast<std::size_t>(l)].bwd_args[DNNL_ARG_DIFF_DST_LAYER] =
        m.layers[static_cast<std::size_t>(l + 1)].diff_src_layer;
  if (run == OnednnRun::kTraining) m.layers.back().bwd_args[DNNL_ARG_DIFF_DST_LAYER] = m.dy;
}

OnednnRnn::~OnednnRnn() = default;

void OnednnRnn::inference() {
  Impl& m = *impl_;
  for (Layer& layer : m.layers) layer.fwd.execute(m.strm, layer.fwd_args);
  m.strm.wait();
}

void OnednnRnn::training_step() {
  Impl& m = *impl_;
  for (Layer& layer : m.layers) {
    for (Reorder& r : layer.before) r.run(m.strm);
    for (const memory& d : layer.diffs) zero(d);
  }
  for (Layer& layer : m.layers) layer.fwd.execute(m.strm, layer.fwd_args);
  for (auto it = m.layers.rbegin(); it != m.layers.rend(); ++it)
    it->bwd.execute(m.strm, it->bwd_args);
  for (Layer& layer : m.layers)
    for (Reorder& r : layer.after) r.run(m.strm);
  m.strm.wait();
}

void OnednnRnn::stream_run() {
  Impl& m = *impl_;
  for (Layer& layer : m.layers) {
    zero(layer.h[m.parity]);
    if (layer.c[m.parity]) zero(layer.c[m.parity]);
  }
  const std::size_t in = m.x.get_desc().get_size();
  const std::size_t out = m.layers.back().dst_layer.get_desc().get_size();
  const auto* x_all = static_cast<const char*>(m.x_all.get_data_handle());
  auto* y_all = static_cast<char*>(m.stream_out.get_data_handle());
  for (int64_t t = 0; t < m.p.T; ++t) {
    std::memcpy(m.x.get_data_handle(), x_all + t * in, in);
    for (Layer& layer : m.layers) layer.fwd.execute(m.strm, layer.stream_args[m.parity]);
    m.strm.wait();
    std::memcpy(y_all + t * out, m.layers.back().dst_layer.get_data_handle(), out);
    m.parity = 1 - m.parity;
  }
}

Tensor OnednnRnn::output() const {
  const Impl& m = *impl_;
  Tensor y({m.p.T, m.p.B, m.p.directions() * m.p.H});
  if (m.run == OnednnRun::kStream) {
    read_floats(m.stream_out, y.data(), m.strm);
    return y;
  }
  read_floats(m.layers.back().dst_layer, y.data(), m.strm);
  return y;
}

Tensor OnednnRnn::input_grad() const {
  const Impl& m = *impl_;
  RECUR_CHECK(m.run == OnednnRun::kTraining, "oneDNN peer: no gradients outside training");
  Tensor dx({m.p.T, m.p.B, m.p.I});
  std::memcpy(dx.data(), ptr(m.layers.front().diff_src_layer), sizeof(float) * dx.numel());
  return dx;
}

std::map<std::string, Tensor> OnednnRnn::weight_grads() const {
  const Impl& m = *impl_;
  RECUR_CHECK(m.run == OnednnRun::kTraining, "oneDNN peer: no gradients outside training");
  const int64_t D = m.p.directions(), H = m.p.H, G = gate_count(m.p.mode);
  const int64_t Gb = bias_gates(m.p.mode);
  std::map<std::string, Tensor> grads;
  for (int64_t l = 0; l < m.p.L; ++l) {
    const Layer& layer = m.layers[static_cast<std::size_t>(l)];
    const int64_t slc = layer.slc;
    for (int64_t d = 0; d < D; ++d) {
      const std::string suffix = "_l" + std::to_string(l) + (d ? "_reverse" : "");
      Tensor w_ih({G * H, slc}), w_hh({G * H, H}), b_ih({G * H}), b_hh({G * H});
      const float* bias = ptr(layer.user_diff_bias) + d * Gb * H;
      for (int k = 0; k < G; ++k) {
        const int64_t g = torch_gate(m.p.mode, k);
        std::memcpy(w_ih.data() + g * H * slc, ptr(layer.user_diff_wl) + (d * G + k) * H * slc,
                    sizeof(float) * H * slc);
        std::memcpy(w_hh.data() + g * H * H, ptr(layer.user_diff_wi) + (d * G + k) * H * H,
                    sizeof(float) * H * H);
        const bool lbr_candidate = m.p.mode == RnnMode::kGru && k == 2;
        for (int64_t o = 0; o < H; ++o) {
          b_ih[g * H + o] = bias[k * H + o];
          b_hh[g * H + o] = lbr_candidate ? bias[3 * H + o] : bias[k * H + o];
        }
      }
      grads["weight_ih" + suffix] = std::move(w_ih);
      grads["weight_hh" + suffix] = std::move(w_hh);
      grads["bias_ih" + suffix] = std::move(b_ih);
      grads["bias_hh" + suffix] = std::move(b_hh);
    }
  }
  return grads;
}

std::string OnednnRnn::implementation() const {
  std::size_t before = 0, after = 0;
  for (const Layer& layer : impl_->layers) {
    before += layer.before.size();
    after += layer.after.size();
  }
  std::string text = impl_->layers.front().fwd_pd.impl_info_str();
  if (impl_->run == OnednnRun::kTraining)
    text += ", per step " + std::to_string(before) + " weight reorders in, " +
            std::to_string(after) + " gradient reorders out";
  return text;
}

}  // namespace recur::bench
