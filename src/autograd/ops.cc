// The tape's coarse ops other than the recurrent stack: embedding, linear, dropout, concat,
// losses. Each states its forward and backward above the code.
// Leaves out: the recurrent stack (rnn_op.cc).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/activation.h"
#include "kernels/gemm.h"
#include "recur/autograd.h"
#include "recur/error.h"

namespace recur::ag {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

}  // namespace

// y[n, :] = table[ids[n], :]; backward: d table[ids[n], :] += dy[n, :].
Var embedding(Tape& tape, const Var& table, const std::vector<int64_t>& ids, Shape shape) {
  const Tensor& w = table.value();
  RECUR_CHECK(w.dim() == 2, "embedding: table must be 2-D [V, E], got " + shape_string(w.shape()));
  RECUR_CHECK(shape_numel(shape) == static_cast<int64_t>(ids.size()),
              "embedding: " + str(static_cast<int64_t>(ids.size())) + " ids do not fill shape " +
                  shape_string(shape));
  const int64_t V = w.size(0), E = w.size(1);
  for (size_t n = 0; n < ids.size(); ++n)
    RECUR_CHECK(ids[n] >= 0 && ids[n] < V, "embedding: id " + str(ids[n]) + " at position " +
                                               str(static_cast<int64_t>(n)) +
                                               " is outside the table's " + str(V) + " rows");
  Shape out_shape = shape;
  out_shape.push_back(E);
  Tensor y(out_shape);
  for (size_t n = 0; n < ids.size(); ++n)
    std::memcpy(y.data() + n * E, w.data() + ids[n] * E, sizeof(float) * E);
  Var out = tape.result(std::move(y), table.requires_grad());
  if (out.requires_grad()) {
    tape.record([table, out, ids, E] {
      if (out.node()->grad.empty()) return;
      Tensor& gw = table.node()->grad_buffer();
      const float* gy = out.node()->grad.data();
      for (size_t n = 0; n < ids.size(); ++n) {
        float* row = gw.data() + ids[n] * E;
        for (int64_t e = 0; e < E; ++e) row[e] += gy[n * E + e];
      }
    });
  }
  return out;
}

// y = x W^T + b over rows of x [N, in]; backward: dx = dy W, dW += dy^T x, db += sum_n dy.
Var linear(Tape& tape, const Var& x, const Var& weight, const Var& bias) {
  const Tensor& xv = x.value();
  const Tensor& w = weight.value();
  RECUR_CHECK(w.dim() == 2, "linear: weight must be 2-D [out, in], got " + shape_string(w.shape()));
  const int64_t out_f = w.size(0), in_f = w.size(1);
  RECUR_CHECK(xv.dim() >= 1 && xv.size(-1) == in_f,
              "linear: input has " + (xv.dim() ? str(xv.size(-1)) : std::string("no")) +
                  " features, but the layer takes " + str(in_f));
  if (bias.defined())
    RECUR_CHECK(bias.shape() == Shape{out_f},
                "linear: bias must be [" + str(out_f) + "], got " + shape_string(bias.shape()));
  const int64_t N = xv.numel() / in_f;
  Shape out_shape = xv.shape();
  out_shape.back() = out_f;
  Tensor y(out_shape);
  if (bias.defined()) {
    for (int64_t n = 0; n < N; ++n)
      std::memcpy(y.data() + n * out_f, bias.value().data(), sizeof(float) * out_f);
  }
  kernels::gemm<float>(false, true, N, out_f, in_f, 1.0f, xv.data(), in_f, w.data(), in_f,
                       bias.defined() ? 1.0f : 0.0f, y.data(), out_f);
  const bool rg = x.requires_grad() || weight.requires_grad() || bias.requires_grad();
  Var out = tape.result(std::move(y), rg);
  if (rg) {
    tape.record([x, weight, bias, out, N, in_f, out_f] {
      const Tensor& gy = out.node()->grad;
      if (gy.empty()) return;
      if (x.requires_grad()) {
        Tensor& gx = x.node()->grad_buffer();
        kernels::gemm<float>(false, false, N, in_f, out_f, 1.0f, gy.data(), out_f,
                             weight.value().data(), in_f, 1.0f, gx.data(), in_f);
      }
      if (weight.requires_grad()) {
        Tensor& gw = weight.node()->grad_buffer();
        kernels::gemm<float>(true, false, out_f, in_f, N, 1.0f, gy.data(), out_f, x.value().data(),
                             in_f, 1.0f, gw.data(), in_f);
      }
      if (bias.requires_grad()) {
        Tensor& gb = bias.node()->grad_buffer();
        for (int64_t n = 0; n < N; ++n)
          for (int64_t o = 0; o < out_f; ++o) gb[o] += gy[n * out_f + o];
      }
    });
  }
  return out;
}

// y = x * m / (1 - p), m ~ Bernoulli(1 - p); backward: dx = dy * m / (1 - p).
Var dropout(Tape& tape, const Var& x, float p, Rng& rng, bool variational) {
  RECUR_CHECK(p >= 0.0f && p < 1.0f, "dropout: p must be in [0, 1), got " + std::to_string(p));
  if (p == 0.0f || !tape.training()) return x;
  const Tensor& xv = x.value();
  const int64_t n = xv.numel();
  int64_t period = n;  // mask length; the mask repeats with this period
  if (variational) {
    RECUR_CHECK(xv.dim() == 3,
                "dropout: variational dropout needs [T, B, F], got " + shape_string(xv.shape()));
    period = xv.size(1) * xv.size(2);
  }
  const float scale = 1.0f / (1.0f - p);
  std::vector<float> mask(static_cast<size_t>(period));
  for (auto& m : mask) m = rng.bernoulli(1.0f - p) ? scale : 0.0f;
  Tensor y(xv.shape());
  for (int64_t i = 0; i < n; ++i) y[i] = xv[i] * mask[i % period];
  Var out = tape.result(std::move(y), x.requires_grad());
  if (out.requires_grad()) {
    tape.record([x, out, mask = std::move(mask), period, n] {
      const Tensor& gy = out.node()->grad;
      if (gy.empty()) return;
      Tensor& gx = x.node()->grad_buffer();
      for (int64_t i = 0; i < n; ++i) gx[i] += gy[i] * mask[i % period];
    });
  }
  return out;
}

// y = [a, b, ...] along the last axis; backward: slices of dy go back to each part.
Var concat_last(Tape& tape, const std::vector<Var>& parts) {
  RECUR_CHECK(!parts.empty(), "concat: no inputs");
  Shape lead = parts[0].shape();
  RECUR_CHECK(!lead.empty(), "concat: inputs must have at least one axis");
  lead.pop_back();
  std::vector<int64_t> widths;
  int64_t total = 0;
  bool rg = false;
  for (const Var& v : parts) {
    Shape s = v.shape();
    RECUR_CHECK(!s.empty(), "concat: inputs must have at least one axis");
    widths.push_back(s.back());
    total += s.back();
    s.pop_back();
    RECUR_CHECK(s == lead, "concat: leading axes differ: " + shape_string(parts[0].shape()) +
                               " and " + shape_string(v.shape()));
    rg = rg || v.requires_grad();
  }
  const int64_t rows = shape_numel(lead);
  Shape out_shape = lead;
  out_shape.push_back(total);
  Tensor y(out_shape);
  int64_t offset = 0;
  for (size_t k = 0; k < parts.size(); ++k) {
    const float* src = parts[k].value().data();
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(y.data() + r * total + offset, src + r * widths[k], sizeof(float) * widths[k]);
    offset += widths[k];
  }
  Var out = tape.result(std::move(y), rg);
  if (rg) {
    tape.record([parts, out, widths, rows, total] {
      const Tensor& gy = out.node()->grad;
      if (gy.empty()) return;
      int64_t offset = 0;
      for (size_t k = 0; k < parts.size(); ++k) {
        if (parts[k].requires_grad()) {
          Tensor& g = parts[k].node()->grad_buffer();
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < widths[k]; ++c)
              g[r * widths[k] + c] += gy[r * total + offset + c];
        }
        offset += widths[k];
      }
    });
  }
  return out;
}

// loss = (1/K) sum_{n counted} [logsumexp(z_n) - z_n[t_n]], K = number of counted rows;
// backward: dz_n = g/K * (softmax(z_n) - onehot(t_n)) for counted rows, 0 otherwise.
Var cross_entropy(Tape& tape, const Var& logits, const std::vector<int64_t>& targets,
                  int64_t ignore_index, double* sum_out, int64_t* count_out) {
  const Tensor& z = logits.value();
  RECUR_CHECK(z.dim() >= 2, "cross_entropy: logits must be [..., C] with at least 2 axes, got " +
                                shape_string(z.shape()));
  const int64_t C = z.size(-1), N = z.numel() / C;
  RECUR_CHECK(static_cast<int64_t>(targets.size()) == N,
              "cross_entropy: " + str(N) + " rows of logits but " +
                  str(static_cast<int64_t>(targets.size())) + " targets");
  int64_t count = 0;
  for (int64_t n = 0; n < N; ++n) {
    const int64_t t = targets[n];
    if (t == ignore_index) continue;
    RECUR_CHECK(t >= 0 && t < C, "cross_entropy: target " + str(t) + " at row " + str(n) +
                                     " is outside [0, " + str(C) + ")");
    ++count;
  }
  const bool rg = logits.requires_grad();
  Tensor probs = rg ? Tensor(z.shape()) : Tensor();
  std::vector<double> row_loss(static_cast<size_t>(N), 0.0);
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    if (targets[n] == ignore_index) continue;
    const float* zr = z.data() + n * C;
    float m = zr[0];
    for (int64_t c = 1; c < C; ++c) m = std::max(m, zr[c]);
    float* pr = rg ? probs.data() + n * C : nullptr;
    float s = 0.0f;
    if (pr) {
      for (int64_t c = 0; c < C; ++c) {
        pr[c] = kernels::exp_fast(zr[c] - m);
        s += pr[c];
      }
      const float inv = 1.0f / s;
      for (int64_t c = 0; c < C; ++c) pr[c] *= inv;
    } else {
      for (int64_t c = 0; c < C; ++c) s += kernels::exp_fast(zr[c] - m);
    }
    row_loss[n] = static_cast<double>(m) + std::log(static_cast<double>(s)) - zr[targets[n]];
  }
  double sum = 0.0;
  for (double v : row_loss) sum += v;
  if (sum_out) *sum_out = sum;
  if (count_out) *count_out = count;
  Tensor loss({1});
  loss[0] = count > 0 ? static_cast<float>(sum / count) : 0.0f;
  Var out = tape.result(std::move(loss), rg);
  if (rg) {
    tape.record([logits, out, targets, probs = std::move(probs), ignore_index, count, N, C] {
      const Tensor& gy = out.node()->grad;
      if (gy.empty() || count == 0) return;
      const float g = gy[0] / static_cast<float>(count);
      Tensor& gz = logits.node()->grad_buffer();
#pragma omp parallel for schedule(static)
      for (int64_t n = 0; n < N; ++n) {
        if (targets[n] == ignore_index) continue;
        float* gr = gz.data() + n * C;
        const float* pr = probs.data() + n * C;
        for (int64_t c = 0; c < C; ++c) gr[c] += g * pr[c];
        gr[targets[n]] -= g;
      }
    });
  }
  return out;
}

// loss = (1/n) sum (y - t)^2; backward: dy = g * 2 (y - t) / n.
Var mse(Tape& tape, const Var& prediction, const Tensor& target) {
  const Tensor& y = prediction.value();
  RECUR_CHECK(y.shape() == target.shape(), "mse: prediction " + shape_string(y.shape()) +
                                               " and target " + shape_string(target.shape()) +
                                               " differ in shape");
  const int64_t n = y.numel();
  RECUR_CHECK(n > 0, "mse: empty prediction");
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(y[i]) - target[i];
    sum += d * d;
  }
  Tensor loss({1});
  loss[0] = static_cast<float>(sum / n);
  Var out = tape.result(std::move(loss), prediction.requires_grad());
  if (out.requires_grad()) {
    tape.record([prediction, out, target, n] {
      const Tensor& gy = out.node()->grad;
      if (gy.empty()) return;
      const float g = 2.0f * gy[0] / static_cast<float>(n);
      Tensor& gp = prediction.node()->grad_buffer();
      const Tensor& yv = prediction.value();
      for (int64_t i = 0; i < n; ++i) gp[i] += g * (yv[i] - target[i]);
    });
  }
  return out;
}

}  // namespace recur::ag
