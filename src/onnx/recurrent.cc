// ONNX's LSTM, GRU and RNN operators exactly as the operator spec defines them: every
// activation with its alpha/beta, clip, the three directions, input_forget, both layouts,
// linear_before_reset, sequence_lens, initial states and peepholes. The ONNX gate orders (LSTM
// i,o,f,c; GRU z,r,h) are used as they are here — this file is the one place that knows them.
// Input projections of all steps are one GEMM per direction; the recurrence is one GEMM per step.
#include "onnx/recurrent.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "kernels/gemm.h"
#include "onnx/gate_order.h"
#include "onnx/proto.h"
#include "recur/error.h"
#include "recur/rnn.h"

namespace recur::onnx {
namespace {

struct Activation {
  enum Kind {
    kRelu,
    kTanh,
    kSigmoid,
    kAffine,
    kLeakyRelu,
    kThresholdedRelu,
    kScaledTanh,
    kHardSigmoid,
    kElu,
    kSoftsign,
    kSoftplus
  } kind;
  float alpha = 0.0f, beta = 0.0f;

  float operator()(float x) const {
    switch (kind) {
      case kRelu:
        return x > 0.0f ? x : 0.0f;
      case kTanh:
        return std::tanh(x);
      case kSigmoid:
        return 1.0f / (1.0f + std::exp(-x));
      case kAffine:
        return alpha * x + beta;
      case kLeakyRelu:
        return x >= 0.0f ? x : alpha * x;
      case kThresholdedRelu:
        return x > alpha ? x : 0.0f;
      case kScaledTanh:
        return alpha * std::tanh(beta * x);
      case kHardSigmoid:
        return std::min(std::max(alpha * x + beta, 0.0f), 1.0f);
      case kElu:
        return x >= 0.0f ? x : alpha * (std::exp(x) - 1.0f);
      case kSoftsign:
        return x / (1.0f + std::fabs(x));
      case kSoftplus:
        return std::log1p(std::exp(-std::fabs(x))) + std::max(x, 0.0f);
    }
    return x;
  }
};

struct ActivationSpec {
  const char* name;
  Activation::Kind kind;
  bool takes_alpha, takes_beta;
  float default_alpha, default_beta;
};

// Which activations read activation_alpha / activation_beta, and their defaults when the lists
// run out: the values of the standalone ONNX ops of the same name.
constexpr ActivationSpec kActivations[] = {
    {"relu", Activation::kRelu, false, false, 0, 0},
    {"tanh", Activation::kTanh, false, false, 0, 0},
    {"sigmoid", Activation::kSigmoid, false, false, 0, 0},
    {"affine", Activation::kAffine, true, true, 1.0f, 0.0f},
    {"leakyrelu", Activation::kLeakyRelu, true, false, 0.01f, 0},
    {"thresholdedrelu", Activation::kThresholdedRelu, true, false, 1.0f, 0},
    {"scaledtanh", Activation::kScaledTanh, true, true, 1.0f, 1.0f},
    {"hardsigmoid", Activation::kHardSigmoid, true, true, 0.2f, 0.5f},
    {"elu", Activation::kElu, true, false, 1.0f, 0},
    {"softsign", Activation::kSoftsign, false, false, 0, 0},
    {"softplus", Activation::kSoftplus, false, false, 0, 0},
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The activations of each direction (f, g, h order), alphas and betas consumed in list order
// by the activations that take them.
std::vector<std::vector<Activation>> make_activations(const std::string& op,
                                                      const RecurrentAttributes& a,
                                                      int64_t per_direction, int64_t directions) {
  std::vector<std::string> names = a.activations;
  if (names.empty()) {
    if (op == "LSTM") names = {"Sigmoid", "Tanh", "Tanh"};
    if (op == "GRU") names = {"Sigmoid", "Tanh"};
    if (op == "RNN") names = {"Tanh"};
  }
  if (directions == 2 && static_cast<int64_t>(names.size()) == per_direction) {
    const std::vector<std::string> forward = names;
    names.insert(names.end(), forward.begin(), forward.end());
  }
  RECUR_CHECK(static_cast<int64_t>(names.size()) == per_direction * directions,
              op + ": 'activations' lists " + std::to_string(names.size()) +
                  " functions, expected " + std::to_string(per_direction) + " per direction (" +
                  std::to_string(per_direction * directions) + ")");
  size_t next_alpha = 0, next_beta = 0;
  std::vector<std::vector<Activation>> out(directions);
  for (size_t k = 0; k < names.size(); ++k) {
    const std::string name = lower(names[k]);
    const ActivationSpec* spec = nullptr;
    for (const auto& s : kActivations)
      if (name == s.name) spec = &s;
    RECUR_CHECK(spec != nullptr, op + ": unknown activation '" + names[k] +
                                     "' (supported: Relu, Tanh, Sigmoid, Affine, LeakyRelu, "
                                     "ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, "
                                     "Softplus)");
    Activation act{spec->kind, spec->default_alpha, spec->default_beta};
    if (spec->takes_alpha && next_alpha < a.activation_alpha.size())
      act.alpha = a.activation_alpha[next_alpha++];
    if (spec->takes_beta && next_beta < a.activation_beta.size())
      act.beta = a.activation_beta[next_beta++];
    out[k / per_direction].push_back(act);
  }
  return out;
}

const Value* optional(const std::vector<const Value*>& inputs, size_t k) {
  return k < inputs.size() && inputs[k] != nullptr && !inputs[k]->shape.empty() ? inputs[k]
                                                                                : nullptr;
}

void check_float(const std::string& op, const char* what, const Value* v) {
  if (v)
    RECUR_CHECK(v->is_float(),
                op + ": " + what + " must be float, got " + elem_type_name(v->elem_type));
}

void check_shape(const std::string& op, const char* what, const Value* v, const Shape& expected) {
  if (v)
    RECUR_CHECK(v->shape == expected, op + ": " + what + " has shape " + shape_string(v->shape) +
                                          ", expected " + shape_string(expected));
}

}  // namespace

bool kernels_apply(const std::string& op, const RecurrentAttributes& a, const Value* P,
                   const std::vector<int64_t>& len, RnnMode* mode) {
  if (a.reference_path || a.clip > 0.0f || a.input_forget != 0 || a.direction == "reverse")
    return false;
  if (P)
    for (float p : P->f)
      if (p != 0.0f) return false;
  for (int64_t l : len)
    if (l < 1) return false;
  std::vector<std::string> acts;
  for (const auto& name : a.activations) acts.push_back(lower(name));
  const size_t per = op == "LSTM" ? 3 : op == "GRU" ? 2 : 1;
  if (acts.size() == 2 * per)  // both directions must agree
    for (size_t k = 0; k < per; ++k)
      if (acts[k] != acts[per + k]) return false;
  acts.resize(acts.empty() ? 0 : per);
  if (op == "LSTM") {
    *mode = RnnMode::kLstm;
    return acts.empty() || acts == std::vector<std::string>{"sigmoid", "tanh", "tanh"};
  }
  if (op == "GRU") {
    *mode = RnnMode::kGru;
    return a.linear_before_reset != 0 &&
           (acts.empty() || acts == std::vector<std::string>{"sigmoid", "tanh"});
  }
  *mode = !acts.empty() && acts[0] == "relu" ? RnnMode::kRnnRelu : RnnMode::kRnnTanh;
  return acts.empty() || acts[0] == "tanh" || acts[0] == "relu";
}

namespace {

// The operator through recur::Rnn: weights re-ordered into PyTorch's gate order, states and
// outputs moved between ONNX's direction axis and recur's [.., D*H] layout.
std::vector<Value> run_with_kernels(RnnMode mode, const RecurrentAttributes& a, const Value& X,
                                    const Value& W, const Value& R, const Value* Bv,
                                    const std::vector<int64_t>& len, const Value* h0,
                                    const Value* c0, int64_t T, int64_t Bn, int64_t I, int64_t D,
                                    int64_t H) {
  const bool bf = a.layout == 1, lstm = mode == RnnMode::kLstm;
  const int64_t G = gate_count(mode);
  RnnOptions o;
  o.mode = mode;
  o.input_size = I;
  o.hidden_size = H;
  o.bidirectional = D == 2;
  o.batch_first = bf;
  Rnn rnn(o, 0);
  for (int64_t d = 0; d < D; ++d) {
    const std::string sfx = d == 1 ? "_l0_reverse" : "_l0";
    reorder_gate_blocks(mode, false, &W.f[d * G * H * I], H * I,
                        rnn.parameter("weight_ih" + sfx).data());
    reorder_gate_blocks(mode, false, &R.f[d * G * H * H], H * H,
                        rnn.parameter("weight_hh" + sfx).data());
    float* b_ih = rnn.parameter("bias_ih" + sfx).data();
    float* b_hh = rnn.parameter("bias_hh" + sfx).data();
    if (Bv) {
      reorder_gate_blocks(mode, false, &Bv->f[d * 2 * G * H], H, b_ih);
      reorder_gate_blocks(mode, false, &Bv->f[d * 2 * G * H + G * H], H, b_hh);
    } else {
      std::fill_n(b_ih, G * H, 0.0f);
      std::fill_n(b_hh, G * H, 0.0f);
    }
  }
  // States: ONNX [D, B, H] (layout 0) or [B, D, H] (layout 1); recur [D, B, H].
  auto to_dbh = [&](const Value* v) {
    if (!v) return Tensor();
    Tensor t({D, Bn, H});
    for (int64_t d = 0; d < D; ++d)
      for (int64_t b = 0; b < Bn; ++b)
        std::copy_n(&v->f[bf ? (b * D + d) * H : (d * Bn + b) * H], H, &t[(d * Bn + b) * H]);
    return t;
  };
  auto from_dbh = [&](const Tensor& t) {
    std::vector<float> out(D * Bn * H);
    for (int64_t d = 0; d < D; ++d)
      for (int64_t b = 0; b < Bn; ++b)
        std::copy_n(t.data() + (d * Bn + b) * H, H, &out[bf ? (b * D + d) * H : (d * Bn + b) * H]);
    return Value::floats(bf ? Shape{Bn, D, H} : Shape{D, Bn, H}, std::move(out));
  };
  RnnArgs args;
  if (std::any_of(len.begin(), len.end(), [T](int64_t l) { return l != T; })) args.lengths = len;
  args.h0 = to_dbh(h0);
  args.c0 = lstm ? to_dbh(c0) : Tensor();
  const RnnOutput out = rnn.forward(Tensor(X.shape, X.f), args);
  std::vector<Value> result;
  if (bf) {  // recur's [B, T, D*H] is ONNX's [B, T, D, H]
    result.push_back(Value::floats({Bn, T, D, H}, out.output.to_vector()));
  } else {  // [T, B, D*H] → [T, D, B, H]
    std::vector<float> y(T * D * Bn * H);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t b = 0; b < Bn; ++b)
        for (int64_t d = 0; d < D; ++d)
          std::copy_n(out.output.data() + (t * Bn + b) * D * H + d * H, H,
                      &y[((t * D + d) * Bn + b) * H]);
    result.push_back(Value::floats({T, D, Bn, H}, std::move(y)));
  }
  result.push_back(from_dbh(out.h_n));
  if (lstm) result.push_back(from_dbh(out.c_n));
  return result;
}

}  // namespace

std::vector<Value> run_recurrent(const std::string& op, const RecurrentAttributes& a,
                                 const std::vector<const Value*>& inputs) {
  RECUR_CHECK(op == "LSTM" || op == "GRU" || op == "RNN",
              "run_recurrent: unknown operator '" + op + "'");
  const bool lstm = op == "LSTM", gru = op == "GRU";
  const int64_t G = lstm ? 4 : gru ? 3 : 1;
  const Value* X = optional(inputs, 0);
  const Value* W = optional(inputs, 1);
  const Value* R = optional(inputs, 2);
  RECUR_CHECK(X && W && R, op + ": inputs X, W and R are required");
  const Value* Bv = optional(inputs, 3);
  const Value* lens = optional(inputs, 4);
  const Value* h0 = optional(inputs, 5);
  const Value* c0 = lstm ? optional(inputs, 6) : nullptr;
  const Value* P = lstm ? optional(inputs, 7) : nullptr;
  for (auto [what, v] : {std::pair<const char*, const Value*>{"X", X},
                         {"W", W},
                         {"R", R},
                         {"B", Bv},
                         {"initial_h", h0},
                         {"initial_c", c0},
                         {"P", P}})
    check_float(op, what, v);
  if (lens) RECUR_CHECK(!lens->is_float(), op + ": sequence_lens must be an integer tensor");

  RECUR_CHECK(
      a.direction == "forward" || a.direction == "reverse" || a.direction == "bidirectional",
      op + ": direction must be forward, reverse or bidirectional, got '" + a.direction + "'");
  const int64_t D = a.direction == "bidirectional" ? 2 : 1;
  RECUR_CHECK(a.layout == 0 || a.layout == 1,
              op + ": layout must be 0 or 1, got " + std::to_string(a.layout));
  RECUR_CHECK(X->shape.size() == 3, op + ": X must be 3-D, got shape " + shape_string(X->shape));
  const bool bf = a.layout == 1;
  const int64_t T = bf ? X->shape[1] : X->shape[0];
  const int64_t Bn = bf ? X->shape[0] : X->shape[1];
  const int64_t I = X->shape[2];
  RECUR_CHECK(W->shape.size() == 3 && W->shape[0] == D && W->shape[2] == I && W->shape[1] % G == 0,
              op + ": W has shape " + shape_string(W->shape) + ", expected [" + std::to_string(D) +
                  ", " + std::to_string(G) + "*hidden_size, " + std::to_string(I) + "]");
  const int64_t H = a.hidden_size > 0 ? a.hidden_size : W->shape[1] / G;
  check_shape(op, "W", W, {D, G * H, I});
  check_shape(op, "R", R, {D, G * H, H});
  check_shape(op, "B", Bv, {D, 2 * G * H});
  const Shape state_shape = bf ? Shape{Bn, D, H} : Shape{D, Bn, H};
  check_shape(op, "initial_h", h0, state_shape);
  check_shape(op, "initial_c", c0, state_shape);
  check_shape(op, "P", P, {D, 3 * H});
  check_shape(op, "sequence_lens", lens, {Bn});
  RECUR_CHECK(a.clip >= 0.0f, op + ": clip must be positive");
  RECUR_CHECK(a.input_forget == 0 || lstm, op + ": input_forget is an LSTM attribute");
  std::vector<int64_t> len(Bn, T);
  if (lens)
    for (int64_t b = 0; b < Bn; ++b) {
      len[b] = lens->i[b];
      RECUR_CHECK(len[b] >= 0 && len[b] <= T, op + ": sequence_lens[" + std::to_string(b) +
                                                  "] = " + std::to_string(len[b]) +
                                                  " is outside 0.." + std::to_string(T));
    }
  const auto acts = make_activations(op, a, lstm ? 3 : gru ? 2 : 1, D);  // validates them
  RnnMode mode;
  if (kernels_apply(op, a, P, len, &mode))
    return run_with_kernels(mode, a, *X, *W, *R, Bv, len, h0, c0, T, Bn, I, D, H);
  const float clip = a.clip;
  auto clipped = [clip](float x) { return clip > 0.0f ? std::min(std::max(x, -clip), clip) : x; };

  // Outputs in layout 0 first ([T, D, B, H]); transposed for layout 1 at the end.
  std::vector<float> Y(T * D * Bn * H, 0.0f), Yh(D * Bn * H, 0.0f), Yc(D * Bn * H, 0.0f);
  std::vector<float> x_tb(T * Bn * I);  // X as [T, B, I]
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < Bn; ++b)
      std::copy_n(&X->f[bf ? (b * T + t) * I : (t * Bn + b) * I], I, &x_tb[(t * Bn + b) * I]);
  auto state_at = [&](const Value* v, int64_t d, int64_t b) {
    return &v->f[bf ? (b * D + d) * H : (d * Bn + b) * H];
  };

  std::vector<float> xproj(T * Bn * G * H), rproj(Bn * G * H), h(Bn * H), c(Bn * H), hr(Bn * H);
  for (int64_t d = 0; d < D; ++d) {
    const bool reverse = a.direction == "reverse" || d == 1;
    const float* Wd = &W->f[d * G * H * I];
    const float* Rd = &R->f[d * G * H * H];
    const float* Wb = Bv ? &Bv->f[d * 2 * G * H] : nullptr;
    const float* Rb = Bv ? Wb + G * H : nullptr;
    const float* Pd = P ? &P->f[d * 3 * H] : nullptr;
    const auto& act = acts[d];
    // xproj[t, b] = x_t W^T + Wb (and + Rb for every gate whose R term is not reset-gated).
    kernels::gemm<float>(false, true, T * Bn, G * H, I, 1.0f, x_tb.data(), I, Wd, I, 0.0f,
                         xproj.data(), G * H);
    if (Wb)
      for (int64_t r = 0; r < T * Bn; ++r)
        for (int64_t k = 0; k < G * H; ++k) xproj[r * G * H + k] += Wb[k];
    for (int64_t b = 0; b < Bn; ++b)
      for (int64_t j = 0; j < H; ++j) {
        h[b * H + j] = h0 ? state_at(h0, d, b)[j] : 0.0f;
        c[b * H + j] = c0 ? state_at(c0, d, b)[j] : 0.0f;
      }
    for (int64_t s = 0; s < T; ++s) {
      // Recurrent projection for every row; rows whose sequence has ended are not used.
      if (!gru || a.linear_before_reset != 0) {
        kernels::gemm<float>(false, true, Bn, G * H, H, 1.0f, h.data(), H, Rd, H, 0.0f,
                             rproj.data(), G * H);
      } else {  // z and r only; h's recurrent term needs r first
        kernels::gemm<float>(false, true, Bn, 2 * H, H, 1.0f, h.data(), H, Rd, H, 0.0f,
                             rproj.data(), G * H);
      }
      for (int64_t b = 0; b < Bn; ++b) {
        if (s >= len[b]) continue;
        const int64_t t = reverse ? len[b] - 1 - s : s;
        const float* xp = &xproj[(t * Bn + b) * G * H];
        float* rp = &rproj[b * G * H];
        float* hb = &h[b * H];
        float* cb = &c[b * H];
        if (Rb)
          for (int64_t k = 0; k < G * H; ++k) rp[k] += Rb[k];
        if (lstm) {
          for (int64_t j = 0; j < H; ++j) {
            const float c_prev = cb[j];
            float pi = xp[j] + rp[j], po = xp[H + j] + rp[H + j];
            float pf = xp[2 * H + j] + rp[2 * H + j], pc = xp[3 * H + j] + rp[3 * H + j];
            if (Pd) {
              pi += Pd[j] * c_prev;
              pf += Pd[2 * H + j] * c_prev;
            }
            const float i = act[0](clipped(pi));
            const float f = a.input_forget ? 1.0f - i : act[0](clipped(pf));
            const float g = act[1](clipped(pc));
            const float c_new = f * c_prev + i * g;
            if (Pd) po += Pd[H + j] * c_new;
            const float o = act[0](clipped(po));
            cb[j] = c_new;
            hb[j] = o * act[2](c_new);
          }
        } else if (gru) {
          float* hrb = &hr[b * H];
          std::vector<float> z(H), r(H);
          for (int64_t j = 0; j < H; ++j) {
            z[j] = act[0](clipped(xp[j] + rp[j]));
            r[j] = act[0](clipped(xp[H + j] + rp[H + j]));
          }
          std::vector<float> hcand(H);
          if (a.linear_before_reset != 0) {
            for (int64_t j = 0; j < H; ++j)
              hcand[j] = act[1](clipped(xp[2 * H + j] + r[j] * rp[2 * H + j]));
          } else {
            for (int64_t j = 0; j < H; ++j) hrb[j] = r[j] * hb[j];
            const float* Rh = Rd + 2 * H * H;
            for (int64_t j = 0; j < H; ++j) {
              float acc = Rb ? Rb[2 * H + j] : 0.0f;
              for (int64_t k = 0; k < H; ++k) acc += Rh[j * H + k] * hrb[k];
              hcand[j] = act[1](clipped(xp[2 * H + j] + acc));
            }
          }
          for (int64_t j = 0; j < H; ++j) hb[j] = (1.0f - z[j]) * hcand[j] + z[j] * hb[j];
        } else {
          for (int64_t j = 0; j < H; ++j) hb[j] = act[0](clipped(xp[j] + rp[j]));
        }
        std::copy_n(hb, H, &Y[((t * D + d) * Bn + b) * H]);
      }
    }
    for (int64_t b = 0; b < Bn; ++b) {
      if (len[b] == 0) continue;  // no step taken: Y_h and Y_c stay zero
      std::copy_n(&h[b * H], H, &Yh[(d * Bn + b) * H]);
      std::copy_n(&c[b * H], H, &Yc[(d * Bn + b) * H]);
    }
  }

  std::vector<Value> out;
  if (!bf) {
    out.push_back(Value::floats({T, D, Bn, H}, std::move(Y)));
    out.push_back(Value::floats({D, Bn, H}, std::move(Yh)));
    if (lstm) out.push_back(Value::floats({D, Bn, H}, std::move(Yc)));
    return out;
  }
  std::vector<float> Yb(Y.size()), Yhb(Yh.size()), Ycb(Yc.size());
  for (int64_t t = 0; t < T; ++t)
    for (int64_t d = 0; d < D; ++d)
      for (int64_t b = 0; b < Bn; ++b)
        std::copy_n(&Y[((t * D + d) * Bn + b) * H], H, &Yb[((b * T + t) * D + d) * H]);
  for (int64_t d = 0; d < D; ++d)
    for (int64_t b = 0; b < Bn; ++b) {
      std::copy_n(&Yh[(d * Bn + b) * H], H, &Yhb[(b * D + d) * H]);
      std::copy_n(&Yc[(d * Bn + b) * H], H, &Ycb[(b * D + d) * H]);
    }
  out.push_back(Value::floats({Bn, T, D, H}, std::move(Yb)));
  out.push_back(Value::floats({Bn, D, H}, std::move(Yhb)));
  if (lstm) out.push_back(Value::floats({Bn, D, H}, std::move(Ycb)));
  return out;
}

}  // namespace recur::onnx
