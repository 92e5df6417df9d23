// recur::Rnn: PyTorch-named parameters, argument checking and layout (batch_first) around
// the engine in engine.h. Leaves out: the math itself.
#include "recur/rnn.h"

#include <cmath>
#include <cstring>
#include <set>

#include "recur/error.h"
#include "rnn/engine.h"

namespace recur {

struct RnnWorkspace::Impl {
  rnn::StackWorkspace<float> stack;
  RnnOptions options;  // of the Rnn that filled it; backward() checks it is the same
};

RnnWorkspace::RnnWorkspace() = default;
RnnWorkspace::~RnnWorkspace() = default;
RnnWorkspace::RnnWorkspace(RnnWorkspace&&) noexcept = default;
RnnWorkspace& RnnWorkspace::operator=(RnnWorkspace&&) noexcept = default;
bool RnnWorkspace::filled() const { return impl != nullptr; }

std::string mode_name(RnnMode mode) {
  switch (mode) {
    case RnnMode::kRnnTanh:
      return "rnn_tanh";
    case RnnMode::kRnnRelu:
      return "rnn_relu";
    case RnnMode::kLstm:
      return "lstm";
    case RnnMode::kGru:
      return "gru";
  }
  return "?";
}

RnnMode parse_mode(const std::string& name) {
  for (RnnMode m : {RnnMode::kRnnTanh, RnnMode::kRnnRelu, RnnMode::kLstm, RnnMode::kGru})
    if (mode_name(m) == name) return m;
  throw_error("unknown RNN mode '" + name + "'; expected one of rnn_tanh, rnn_relu, lstm, gru");
}

std::string precision_name(Precision precision) {
  return precision == Precision::kBfloat16 ? "bf16" : "f32";
}

Precision parse_precision(const std::string& name) {
  if (name == "f32" || name == "float32") return Precision::kFloat32;
  if (name == "bf16" || name == "bfloat16") return Precision::kBfloat16;
  throw_error("unknown precision '" + name + "'; expected f32 or bf16");
}

int64_t gate_count(RnnMode mode) {
  switch (mode) {
    case RnnMode::kLstm:
      return 4;
    case RnnMode::kGru:
      return 3;
    default:
      return 1;
  }
}

namespace {

std::string str(int64_t v) { return std::to_string(v); }

void validate(const RnnOptions& o) {
  RECUR_CHECK(o.input_size > 0, "RNN: input_size must be positive, got " + str(o.input_size));
  RECUR_CHECK(o.hidden_size > 0, "RNN: hidden_size must be positive, got " + str(o.hidden_size));
  RECUR_CHECK(o.num_layers > 0, "RNN: num_layers must be positive, got " + str(o.num_layers));
  RECUR_CHECK(o.dropout >= 0.0f && o.dropout < 1.0f,
              "RNN: dropout must be in [0, 1), got " + std::to_string(o.dropout));
  RECUR_CHECK(o.proj_size >= 0, "RNN: proj_size must be >= 0, got " + str(o.proj_size));
  RECUR_CHECK(o.proj_size == 0 || o.mode == RnnMode::kLstm,
              "RNN: proj_size is only supported for lstm, not " + mode_name(o.mode));
  RECUR_CHECK(o.proj_size < o.hidden_size || o.proj_size == 0,
              "RNN: proj_size (" + str(o.proj_size) + ") must be smaller than hidden_size (" +
                  str(o.hidden_size) + ")");
}

std::string describe(const RnnOptions& o) {
  return mode_name(o.mode) + " input_size=" + str(o.input_size) +
         " hidden_size=" + str(o.hidden_size) + " num_layers=" + str(o.num_layers) +
         " proj_size=" + str(o.proj_size) + (o.bidirectional ? " bidirectional" : "") +
         (o.bias ? "" : " bias=false") + (o.batch_first ? " batch_first" : "") +
         (o.precision == Precision::kBfloat16 ? " bf16" : "");
}

bool same_configuration(const RnnOptions& a, const RnnOptions& b) {
  return a.mode == b.mode && a.input_size == b.input_size && a.hidden_size == b.hidden_size &&
         a.num_layers == b.num_layers && a.proj_size == b.proj_size &&
         a.bidirectional == b.bidirectional && a.bias == b.bias && a.batch_first == b.batch_first;
}

// [B, T, F] <-> [T, B, F]
Tensor swap_first_axes(const Tensor& x) {
  const int64_t A = x.size(0), Bn = x.size(1), F = x.size(2);
  Tensor y({Bn, A, F});
  for (int64_t a = 0; a < A; ++a)
    for (int64_t b = 0; b < Bn; ++b)
      std::memcpy(y.data() + (b * A + a) * F, x.data() + (a * Bn + b) * F, F * sizeof(float));
  return y;
}

}  // namespace

Rnn::Rnn(const RnnOptions& options, uint64_t seed) : options_(options) {
  validate(options_);
  const RnnOptions& o = options_;
  const int64_t GH = gate_count(o.mode) * o.hidden_size, Ho = o.output_hidden_size();
  for (int64_t l = 0; l < o.num_layers; ++l) {
    for (int64_t d = 0; d < o.num_directions(); ++d) {
      const std::string suffix = "_l" + str(l) + (d ? "_reverse" : "");
      names_.push_back("weight_ih" + suffix);
      params_.emplace_back(Shape{GH, rnn::layer_input_size(o, l)});
      names_.push_back("weight_hh" + suffix);
      params_.emplace_back(Shape{GH, Ho});
      if (o.bias) {
        names_.push_back("bias_ih" + suffix);
        params_.emplace_back(Shape{GH});
        names_.push_back("bias_hh" + suffix);
        params_.emplace_back(Shape{GH});
      }
      if (o.proj_size) {
        names_.push_back("weight_hr" + suffix);
        params_.emplace_back(Shape{o.proj_size, o.hidden_size});
      }
    }
  }
  Rng rng(seed);
  const float bound = 1.0f / std::sqrt(static_cast<float>(o.hidden_size));
  for (Tensor& p : params_)
    for (int64_t i = 0; i < p.numel(); ++i) p[i] = rng.uniform(-bound, bound);
}

Rnn::~Rnn() = default;
Rnn::Rnn(const Rnn&) = default;
Rnn& Rnn::operator=(const Rnn&) = default;
Rnn::Rnn(Rnn&&) noexcept = default;
Rnn& Rnn::operator=(Rnn&&) noexcept = default;

Rnn Rnn::from_state_dict(const std::map<std::string, Tensor>& sd, const std::string& mode_hint) {
  auto find = [&](const std::string& name) -> const Tensor* {
    auto it = sd.find(name);
    return it == sd.end() ? nullptr : &it->second;
  };
  const Tensor* w_ih = find("weight_ih_l0");
  const Tensor* w_hh = find("weight_hh_l0");
  RECUR_CHECK(w_ih && w_hh,
              "state_dict: expected tensors 'weight_ih_l0' and 'weight_hh_l0' of a "
              "torch.nn.RNN/LSTM/GRU, but " +
                  std::string(w_ih ? "'weight_hh_l0'" : "'weight_ih_l0'") + " is missing");
  RECUR_CHECK(w_ih->dim() == 2 && w_hh->dim() == 2,
              "state_dict: weight_ih_l0 and weight_hh_l0 must be 2-D, found " +
                  shape_string(w_ih->shape()) + " and " + shape_string(w_hh->shape()));
  RnnOptions o;
  o.input_size = w_ih->size(1);
  o.num_layers = 0;
  while (find("weight_ih_l" + str(o.num_layers))) ++o.num_layers;
  o.bidirectional = find("weight_ih_l0_reverse") != nullptr;
  o.bias = find("bias_ih_l0") != nullptr;
  const Tensor* w_hr = find("weight_hr_l0");
  int64_t H = w_hh->size(1);
  if (w_hr) {
    RECUR_CHECK(w_hr->dim() == 2,
                "state_dict: weight_hr_l0 must be 2-D, found " + shape_string(w_hr->shape()));
    o.proj_size = w_hr->size(0);
    H = w_hr->size(1);
  }
  RECUR_CHECK(H > 0 && w_hh->size(0) % H == 0,
              "state_dict: weight_hh_l0 has shape " + shape_string(w_hh->shape()) +
                  ", which is not a multiple of the hidden size " + str(H));
  const int64_t G = w_hh->size(0) / H;
  o.hidden_size = H;
  if (G == 4) {
    o.mode = RnnMode::kLstm;
  } else if (G == 3) {
    o.mode = RnnMode::kGru;
  } else if (G == 1) {
    o.mode = RnnMode::kRnnTanh;
  } else {
    throw_error("state_dict: weight_hh_l0 has " + str(w_hh->size(0)) + " rows for hidden size " +
                str(H) + ", i.e. " + str(G) + " gates; expected 1 (RNN), 3 (GRU) or 4 (LSTM)");
  }
  if (!mode_hint.empty()) {
    RnnMode hint = parse_mode(mode_hint);
    RECUR_CHECK(gate_count(hint) == G, "state_dict: --mode " + mode_hint + " needs " +
                                           str(gate_count(hint)) + " gates, but the weights have " +
                                           str(G));
    o.mode = hint;
  }
  RECUR_CHECK(!w_hr || o.mode == RnnMode::kLstm,
              "state_dict: 'weight_hr_l0' (a projection) belongs to an LSTM, but the weights are "
              "a " +
                  mode_name(o.mode));
  Rnn rnn(o);
  rnn.load_state_dict(sd, true);
  return rnn;
}

int64_t Rnn::index_of(const std::string& name) const {
  for (size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == name) return static_cast<int64_t>(i);
  return -1;
}

Tensor& Rnn::parameter(const std::string& name) {
  int64_t i = index_of(name);
  RECUR_CHECK(i >= 0, "RNN: no parameter named '" + name + "'");
  return params_[i];
}

const Tensor& Rnn::parameter(const std::string& name) const {
  return const_cast<Rnn*>(this)->parameter(name);
}

std::map<std::string, Tensor> Rnn::state_dict() const {
  std::map<std::string, Tensor> sd;
  for (size_t i = 0; i < names_.size(); ++i) sd.emplace(names_[i], params_[i]);
  return sd;
}

void Rnn::load_state_dict(const std::map<std::string, Tensor>& sd, bool strict) {
  std::set<std::string> seen;
  for (const auto& [name, tensor] : sd) {
    int64_t i = index_of(name);
    if (i < 0) {
      RECUR_CHECK(!strict, "state_dict: unexpected tensor '" + name + "' for a " +
                               mode_name(options_.mode) + " with " + str(options_.num_layers) +
                               " layer(s)" + (options_.bidirectional ? ", bidirectional" : "") +
                               (options_.bias ? "" : ", no bias"));
      continue;
    }
    RECUR_CHECK(tensor.shape() == params_[i].shape(),
                "state_dict: '" + name + "' has shape " + shape_string(tensor.shape()) +
                    ", expected " + shape_string(params_[i].shape()));
    params_[i] = tensor;
    seen.insert(name);
  }
  if (strict)
    for (const std::string& name : names_)
      RECUR_CHECK(seen.count(name), "state_dict: missing tensor '" + name + "'");
}

namespace {

struct Prepared {
  rnn::StackParams<float> params;
  rnn::Batch batch;
  const float* x = nullptr;  // (T, B, I) time-major, padding zeroed: the input or x_copy
  Tensor x_copy;             // when the input is batch_first or has padding
};

Prepared prepare(const RnnOptions& o, const std::vector<Tensor>& params,
                 const std::vector<std::string>& names, const Tensor& input, const RnnArgs& args) {
  RECUR_CHECK(input.dim() == 3,
              "RNN: input must be 3-D " +
                  std::string(o.batch_first ? "[B, T, input_size]" : "[T, B, input_size]") +
                  ", found shape " + shape_string(input.shape()));
  RECUR_CHECK(
      input.size(2) == o.input_size,
      "RNN: input has " + str(input.size(2)) + " features, but input_size is " + str(o.input_size));
  Prepared p;
  const int64_t T = input.size(o.batch_first ? 1 : 0), B = input.size(o.batch_first ? 0 : 1);
  RECUR_CHECK(T > 0 && B > 0, "RNN: input has an empty dimension: " + shape_string(input.shape()));
  p.batch = rnn::Batch::make(T, B, args.lengths);
  if (o.batch_first)
    p.x_copy = swap_first_axes(input);
  else if (!args.lengths.empty())
    p.x_copy = input;
  p.x = p.x_copy.defined() ? p.x_copy.data() : input.data();
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b)
      if (t >= p.batch.lengths[b])
        std::memset(p.x_copy.data() + (t * B + b) * o.input_size, 0, o.input_size * sizeof(float));

  const int64_t LD = o.num_layers * o.num_directions();
  auto check_state = [&](const Tensor& s, const char* what, int64_t width) {
    if (!s.defined()) return;
    Shape want{LD, B, width};
    RECUR_CHECK(s.shape() == want, std::string("RNN: ") + what + " must have shape " +
                                       shape_string(want) + ", found " + shape_string(s.shape()));
  };
  check_state(args.h0, "h0", o.output_hidden_size());
  RECUR_CHECK(
      !args.c0.defined() || o.mode == RnnMode::kLstm,
      "RNN: c0 was given, but only lstm has a cell state (mode is " + mode_name(o.mode) + ")");
  check_state(args.c0, "c0", o.hidden_size);

  p.params.options = o;
  size_t i = 0;
  for (int64_t ld = 0; ld < LD; ++ld) {
    rnn::LayerParams<float> lp;
    lp.w_ih = params[i++].data();
    lp.w_hh = params[i++].data();
    if (o.bias) {
      lp.b_ih = params[i++].data();
      lp.b_hh = params[i++].data();
    }
    if (o.proj_size) lp.w_hr = params[i++].data();
    p.params.layers.push_back(lp);
  }
  RECUR_ASSERT(i == names.size());
  return p;
}

// The engine writes every active step of the output and every row of h_n / c_n; the padded
// steps are zeroed here.
RnnOutput make_output(const RnnOptions& o, const rnn::Batch& b) {
  const int64_t LD = o.num_layers * o.num_directions();
  const int64_t Y = o.num_directions() * o.output_hidden_size();
  RnnOutput out;
  out.output = Tensor::uninitialized({b.T, b.B, Y});
  for (int64_t bb = 0; bb < b.B; ++bb)
    for (int64_t t = b.lengths[bb]; t < b.T; ++t)
      std::memset(out.output.data() + (t * b.B + bb) * Y, 0, Y * sizeof(float));
  out.h_n = Tensor::uninitialized({LD, b.B, o.output_hidden_size()});
  if (o.mode == RnnMode::kLstm) out.c_n = Tensor::uninitialized({LD, b.B, o.hidden_size});
  return out;
}

// `t` with shape `shape`: kept (contents left as they are) when it has it, replaced otherwise.
void reshape_for_output(Tensor& t, const Shape& shape) {
  if (!t.defined() || t.shape() != shape) t = Tensor(shape);
}

}  // namespace

namespace {

// Rnn::forward, and RnnInference's with its packed weights kept in `caches` (one per layer and
// direction).
void forward_into(const RnnOptions& o, const std::vector<Tensor>& params,
                  const std::vector<std::string>& names, const Tensor& input, const RnnArgs& args,
                  RnnOutput* out, const std::vector<rnn::PackCachePtr>* caches) {
  RECUR_CHECK(out != nullptr, "RNN: forward needs an RnnOutput to write into");
  RECUR_CHECK(&input != &out->output && &input != &out->h_n && &input != &out->c_n,
              "RNN: forward's input must not be a tensor of the RnnOutput it writes into "
              "(copy it first)");
  Prepared p = prepare(o, params, names, input, args);
  if (caches)
    for (size_t i = 0; i < p.params.layers.size(); ++i)
      p.params.layers[i].cache = (*caches)[i].get();
  const rnn::Batch& b = p.batch;
  const int64_t LD = o.num_layers * o.num_directions();
  const int64_t Y = o.num_directions() * o.output_hidden_size();
  reshape_for_output(out->h_n, {LD, b.B, o.output_hidden_size()});
  if (o.mode == RnnMode::kLstm)
    reshape_for_output(out->c_n, {LD, b.B, o.hidden_size});
  else
    out->c_n = Tensor();
  // The engine writes every active step of the output; padded steps are zeros.
  Tensor time_major;
  Tensor& y = o.batch_first ? time_major : out->output;
  reshape_for_output(y, {b.T, b.B, Y});
  for (int64_t bb = 0; bb < b.B; ++bb)
    for (int64_t t = b.lengths[bb]; t < b.T; ++t)
      std::memset(y.data() + (t * b.B + bb) * Y, 0, Y * sizeof(float));
  rnn::stack_forward<float>(p.params, b, p.x, args.h0.defined() ? args.h0.data() : nullptr,
                            args.c0.defined() ? args.c0.data() : nullptr, y.data(), out->h_n.data(),
                            out->c_n.data(), nullptr, nullptr);
  if (o.batch_first) out->output = swap_first_axes(time_major);
}

}  // namespace

RnnOutput Rnn::forward(const Tensor& input, const RnnArgs& args) const {
  RnnOutput out;
  forward(input, args, &out);
  return out;
}

void Rnn::forward(const Tensor& input, const RnnArgs& args, RnnOutput* out) const {
  forward_into(options_, params_, names_, input, args, out, nullptr);
}

struct RnnInference::Impl {
  Rnn rnn;
  std::vector<rnn::PackCachePtr> caches;  // (L*D)
};

RnnInference::RnnInference(const Rnn& rnn) : impl_(new Impl{rnn, {}}) {
  const RnnOptions& o = rnn.options();
  for (int64_t i = 0; i < o.num_layers * o.num_directions(); ++i)
    impl_->caches.push_back(rnn::make_pack_cache());
}
RnnInference::~RnnInference() = default;
RnnInference::RnnInference(RnnInference&&) noexcept = default;
RnnInference& RnnInference::operator=(RnnInference&&) noexcept = default;

const Rnn& RnnInference::rnn() const { return impl_->rnn; }

RnnOutput RnnInference::forward(const Tensor& input, const RnnArgs& args) {
  RnnOutput out;
  forward(input, args, &out);
  return out;
}

void RnnInference::forward(const Tensor& input, const RnnArgs& args, RnnOutput* out) {
  const Rnn& r = impl_->rnn;
  forward_into(r.options_, r.params_, r.names_, input, args, out, &impl_->caches);
}

RnnOutput Rnn::forward_train(const Tensor& input, const RnnArgs& args, RnnWorkspace* workspace,
                             Rng* rng) const {
  RECUR_CHECK(workspace != nullptr, "RNN: forward_train needs a workspace");
  Prepared p = prepare(options_, params_, names_, input, args);
  RnnOutput out = make_output(options_, p.batch);
  std::vector<std::vector<float>> masks(options_.num_layers);
  const bool drop = options_.dropout > 0.0f && options_.num_layers > 1;
  if (drop) {
    RECUR_CHECK(rng != nullptr, "RNN: dropout > 0 in training needs an Rng");
    const float keep = 1.0f - options_.dropout, scale = 1.0f / keep;
    const int64_t n =
        p.batch.T * p.batch.B * options_.num_directions() * options_.output_hidden_size();
    for (int64_t l = 1; l < options_.num_layers; ++l) {
      masks[l].resize(n);
      for (float& m : masks[l]) m = rng->bernoulli(keep) ? scale : 0.0f;
    }
  }
  if (!workspace->impl) workspace->impl = std::make_unique<RnnWorkspace::Impl>();
  RnnWorkspace::Impl& ws = *workspace->impl;
  ws.options = options_;
  rnn::stack_forward<float>(p.params, p.batch, p.x, args.h0.defined() ? args.h0.data() : nullptr,
                            args.c0.defined() ? args.c0.data() : nullptr, out.output.data(),
                            out.h_n.data(), out.c_n.data(), drop ? &masks : nullptr, &ws.stack);
  if (options_.batch_first) out.output = swap_first_axes(out.output);
  return out;
}

RnnGrads Rnn::backward(const RnnWorkspace& workspace, const Tensor& grad_output,
                       const Tensor& grad_h_n, const Tensor& grad_c_n) const {
  RECUR_CHECK(workspace.impl != nullptr, "RNN: backward needs a workspace filled by forward_train");
  const RnnWorkspace::Impl& ws = *workspace.impl;
  RECUR_CHECK(same_configuration(ws.options, options_),
              "RNN: backward got a workspace filled by another configuration (" +
                  describe(ws.options) + "), but this RNN is " + describe(options_));
  const rnn::Batch& b = ws.stack.batch;
  const RnnOptions& o = options_;
  const int64_t LD = o.num_layers * o.num_directions();
  const int64_t Y = o.num_directions() * o.output_hidden_size();
  Shape want_y = o.batch_first ? Shape{b.B, b.T, Y} : Shape{b.T, b.B, Y};
  RECUR_CHECK(grad_output.shape() == want_y, "RNN: grad_output must have shape " +
                                                 shape_string(want_y) + " (the output's), found " +
                                                 shape_string(grad_output.shape()));
  if (grad_h_n.defined()) {
    Shape want{LD, b.B, o.output_hidden_size()};
    RECUR_CHECK(grad_h_n.shape() == want, "RNN: grad_h_n must have shape " + shape_string(want) +
                                              ", found " + shape_string(grad_h_n.shape()));
  }
  if (grad_c_n.defined()) {
    RECUR_CHECK(o.mode == RnnMode::kLstm, "RNN: grad_c_n given, but only lstm has a cell state");
    Shape want{LD, b.B, o.hidden_size};
    RECUR_CHECK(grad_c_n.shape() == want, "RNN: grad_c_n must have shape " + shape_string(want) +
                                              ", found " + shape_string(grad_c_n.shape()));
  }
  Tensor dy_copy;  // time-major d output when grad_output is batch_first
  if (o.batch_first) dy_copy = swap_first_axes(grad_output);
  const float* dy = o.batch_first ? dy_copy.data() : grad_output.data();

  rnn::StackParams<float> params;
  params.options = o;
  size_t i = 0;
  for (int64_t ld = 0; ld < LD; ++ld) {
    rnn::LayerParams<float> lp;
    lp.w_ih = params_[i++].data();
    lp.w_hh = params_[i++].data();
    if (o.bias) {
      lp.b_ih = params_[i++].data();
      lp.b_hh = params_[i++].data();
    }
    if (o.proj_size) lp.w_hr = params_[i++].data();
    params.layers.push_back(lp);
  }

  // The engine writes every element of the tensors returned (nothing to zero first).
  RnnGrads g;
  std::vector<rnn::LayerGradPtrs<float>> lg(LD);
  i = 0;
  auto grad = [&]() {
    Tensor& t =
        g.parameters.emplace(names_[i], Tensor::uninitialized(params_[i].shape())).first->second;
    ++i;
    return t.data();
  };
  for (int64_t ld = 0; ld < LD; ++ld) {
    lg[ld].w_ih = grad();
    lg[ld].w_hh = grad();
    if (o.bias) {
      lg[ld].b_ih = grad();
      lg[ld].b_hh = grad();
    }
    if (o.proj_size) lg[ld].w_hr = grad();
  }
  g.input = Tensor::uninitialized({b.T, b.B, o.input_size});
  g.h0 = Tensor::uninitialized({LD, b.B, o.output_hidden_size()});
  if (o.mode == RnnMode::kLstm) g.c0 = Tensor::uninitialized({LD, b.B, o.hidden_size});
  rnn::stack_backward<float>(params, ws.stack, dy, grad_h_n.defined() ? grad_h_n.data() : nullptr,
                             grad_c_n.defined() ? grad_c_n.data() : nullptr, lg, g.input.data(),
                             g.h0.data(), g.c0.data(), /*accumulate_grads=*/false);
  if (o.batch_first) g.input = swap_first_axes(g.input);
  return g;
}

RnnState Rnn::initial_state(int64_t batch) const {
  RECUR_CHECK(batch > 0, "RNN: initial_state needs a positive batch size, got " + str(batch));
  RnnState s;
  s.h = Tensor({options_.num_layers, batch, options_.output_hidden_size()});
  if (options_.mode == RnnMode::kLstm)
    s.c = Tensor({options_.num_layers, batch, options_.hidden_size});
  return s;
}

Tensor Rnn::step(const Tensor& x, RnnState* state) const {
  RECUR_CHECK(!options_.bidirectional,
              "RNN: step() streams one direction; a bidirectional RNN needs the whole sequence");
  RECUR_CHECK(state != nullptr, "RNN: step() needs a state (see initial_state())");
  RECUR_CHECK(x.dim() == 2, "RNN: step() input must be 2-D [B, input_size], found shape " +
                                shape_string(x.shape()));
  const int64_t B = x.size(0);
  RnnArgs args;
  args.h0 = state->h;
  args.c0 = state->c;
  RnnOptions o = options_;
  Tensor input = x.reshaped(o.batch_first ? Shape{B, 1, x.size(1)} : Shape{1, B, x.size(1)});
  RnnOutput out = forward(input, args);
  state->h = std::move(out.h_n);
  state->c = std::move(out.c_n);
  return out.output.reshaped({B, o.output_hidden_size()});
}

}  // namespace recur
