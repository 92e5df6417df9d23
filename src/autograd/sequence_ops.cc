// Tape ops for sequence models beyond the recurrent stack: activations, reshape and select,
// pooling over the valid steps of a padded batch, and the pieces of attention pooling
// (softmax over time, weighted sum). Each states its forward and backward above the code.
// Leaves out: multi-head attention, convolution.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "recur/autograd.h"
#include "recur/error.h"

namespace recur::ag {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

// Valid lengths for a [T, B, ...] batch: all T when empty; each in 1..T.
std::vector<int64_t> check_lengths(const std::vector<int64_t>& lengths, int64_t T, int64_t B,
                                   const char* op) {
  if (lengths.empty()) return std::vector<int64_t>(static_cast<size_t>(B), T);
  RECUR_CHECK(static_cast<int64_t>(lengths.size()) == B,
              std::string(op) + ": " + str(static_cast<int64_t>(lengths.size())) +
                  " lengths for a batch of " + str(B));
  for (int64_t b = 0; b < B; ++b)
    RECUR_CHECK(lengths[b] >= 1 && lengths[b] <= T, std::string(op) + ": length " +
                                                        str(lengths[b]) + " of sequence " + str(b) +
                                                        " is outside 1.." + str(T));
  return lengths;
}

void check_tbf(const Tensor& x, const char* op) {
  RECUR_CHECK(x.dim() == 3,
              std::string(op) + ": expected [T, B, F], got " + shape_string(x.shape()));
}

}  // namespace

// y = max(x, 0); dx = dy * [x > 0].
Var relu(Tape& tape, const Var& x) {
  const Tensor& xv = x.value();
  Tensor y(xv.shape());
  for (int64_t i = 0; i < xv.numel(); ++i) y[i] = xv[i] > 0.0f ? xv[i] : 0.0f;
  Var out = tape.result(std::move(y), x.requires_grad());
  if (out.requires_grad()) {
    tape.record([x, out] {
      const Tensor& gy = out.node()->grad;
      if (gy.empty()) return;
      Tensor& gx = x.node()->grad_buffer();
      const Tensor& xv = x.value();
      for (int64_t i = 0; i < xv.numel(); ++i) gx[i] += xv[i] > 0.0f ? gy[i] : 0.0f;
    });
  }
  return out;
}

// y = tanh(x); dx = dy * (1 - y^2).
Var tanh(Tape& tape, const Var& x) {
  const Tensor& xv = x.value();
  Tensor y(xv.shape());
  for (int64_t i = 0; i < xv.numel(); ++i) y[i] = std::tanh(xv[i]);
  Var out = tape.result(std::move(y), x.requires_grad());
  if (out.requires_grad()) {
    tape.record([x, out] {
      const Tensor& gy = out.node()->grad;
      if (gy.empty()) return;
      Tensor& gx = x.node()->grad_buffer();
      const Tensor& yv = out.value();
      for (int64_t i = 0; i < yv.numel(); ++i) gx[i] += gy[i] * (1.0f - yv[i] * yv[i]);
    });
  }
  return out;
}

// y = x with another shape; dx = dy with x's shape.
Var reshape(Tape& tape, const Var& x, Shape shape) {
  Var out = tape.result(x.value().reshaped(std::move(shape)), x.requires_grad());
  if (out.requires_grad()) {
    tape.record([x, out] {
      const Tensor& gy = out.node()->grad;
      if (gy.empty()) return;
      Tensor& gx = x.node()->grad_buffer();
      for (int64_t i = 0; i < gy.numel(); ++i) gx[i] += gy[i];
    });
  }
  return out;
}

// y = x[index]; dx[index] += dy.
Var select(Tape& tape, const Var& x, int64_t index) {
  const Tensor& xv = x.value();
  RECUR_CHECK(xv.dim() >= 1, "select: input has no axes");
  const int64_t n = xv.size(0);
  RECUR_CHECK(index >= 0 && index < n, "select: index " + str(index) + " outside 0.." + str(n - 1));
  Shape shape(xv.shape().begin() + 1, xv.shape().end());
  const int64_t stride = xv.numel() / n;
  Tensor y(shape);
  std::memcpy(y.data(), xv.data() + index * stride, sizeof(float) * stride);
  Var out = tape.result(std::move(y), x.requires_grad());
  if (out.requires_grad()) {
    tape.record([x, out, index, stride] {
      const Tensor& gy = out.node()->grad;
      if (gy.empty()) return;
      float* gx = x.node()->grad_buffer().data() + index * stride;
      for (int64_t i = 0; i < stride; ++i) gx[i] += gy[i];
    });
  }
  return out;
}

// y[b, t*F + f] = x[t, b, f]; dx is the same permutation of dy.
Var flatten_time(Tape& tape, const Var& x) {
  const Tensor& xv = x.value();
  check_tbf(xv, "flatten_time");
  const int64_t T = xv.size(0), B = xv.size(1), F = xv.size(2);
  Tensor y({B, T * F});
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b)
      std::memcpy(y.data() + b * T * F + t * F, xv.data() + (t * B + b) * F, sizeof(float) * F);
  Var out = tape.result(std::move(y), x.requires_grad());
  if (out.requires_grad()) {
    tape.record([x, out, T, B, F] {
      const Tensor& gy = out.node()->grad;
      if (gy.empty()) return;
      Tensor& gx = x.node()->grad_buffer();
      for (int64_t t = 0; t < T; ++t)
        for (int64_t b = 0; b < B; ++b)
          for (int64_t f = 0; f < F; ++f) gx[(t * B + b) * F + f] += gy[b * T * F + t * F + f];
    });
  }
  return out;
}

// y[b] = (1/len_b) sum_{t < len_b} x[t, b]; dx[t, b] = dy[b] / len_b for t < len_b.
Var mean_over_time(Tape& tape, const Var& x, const std::vector<int64_t>& lengths_in) {
  const Tensor& xv = x.value();
  check_tbf(xv, "mean_over_time");
  const int64_t T = xv.size(0), B = xv.size(1), F = xv.size(2);
  const std::vector<int64_t> lengths = check_lengths(lengths_in, T, B, "mean_over_time");
  Tensor y({B, F});
  for (int64_t b = 0; b < B; ++b) {
    float* yr = y.data() + b * F;
    for (int64_t t = 0; t < lengths[b]; ++t) {
      const float* xr = xv.data() + (t * B + b) * F;
      for (int64_t f = 0; f < F; ++f) yr[f] += xr[f];
    }
    const float inv = 1.0f / static_cast<float>(lengths[b]);
    for (int64_t f = 0; f < F; ++f) yr[f] *= inv;
  }
  Var out = tape.result(std::move(y), x.requires_grad());
  if (out.requires_grad()) {
    tape.record([x, out, lengths, B, F] {
      const Tensor& gy = out.node()->grad;
      if (gy.empty()) return;
      Tensor& gx = x.node()->grad_buffer();
      for (int64_t b = 0; b < B; ++b) {
        const float inv = 1.0f / static_cast<float>(lengths[b]);
        for (int64_t t = 0; t < lengths[b]; ++t) {
          float* gr = gx.data() + (t * B + b) * F;
          for (int64_t f = 0; f < F; ++f) gr[f] += gy[b * F + f] * inv;
        }
      }
    });
  }
  return out;
}

// y[b, f] = max_{t < len_b} x[t, b, f]; the gradient goes to the (first) arg max.
Var max_over_time(Tape& tape, const Var& x, const std::vector<int64_t>& lengths_in) {
  const Tensor& xv = x.value();
  check_tbf(xv, "max_over_time");
  const int64_t T = xv.size(0), B = xv.size(1), F = xv.size(2);
  const std::vector<int64_t> lengths = check_lengths(lengths_in, T, B, "max_over_time");
  Tensor y({B, F});
  std::vector<int64_t> arg(static_cast<size_t>(B * F), 0);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t f = 0; f < F; ++f) {
      float best = xv[b * F + f];
      int64_t at = 0;
      for (int64_t t = 1; t < lengths[b]; ++t) {
        const float v = xv[(t * B + b) * F + f];
        if (v > best) {
          best = v;
          at = t;
        }
      }
      y[b * F + f] = best;
      arg[b * F + f] = at;
    }
  }
  Var out = tape.result(std::move(y), x.requires_grad());
  if (out.requires_grad()) {
    tape.record([x, out, arg, B, F] {
      const Tensor& gy = out.node()->grad;
      if (gy.empty()) return;
      Tensor& gx = x.node()->grad_buffer();
      for (int64_t b = 0; b < B; ++b)
        for (int64_t f = 0; f < F; ++f) gx[(arg[b * F + f] * B + b) * F + f] += gy[b * F + f];
    });
  }
  return out;
}

// a[t, b] = exp(s[t, b]) / sum_{u < len_b} exp(s[u, b]) for t < len_b, else 0;
// ds[t, b] = a[t, b] * (da[t, b] - sum_u a[u, b] da[u, b]).
Var softmax_over_time(Tape& tape, const Var& scores, const std::vector<int64_t>& lengths_in) {
  const Tensor& s = scores.value();
  RECUR_CHECK(s.dim() == 2,
              "softmax_over_time: expected scores [T, B], got " + shape_string(s.shape()));
  const int64_t T = s.size(0), B = s.size(1);
  const std::vector<int64_t> lengths = check_lengths(lengths_in, T, B, "softmax_over_time");
  Tensor a({T, B});
  for (int64_t b = 0; b < B; ++b) {
    float m = -std::numeric_limits<float>::infinity();
    for (int64_t t = 0; t < lengths[b]; ++t) m = std::max(m, s[t * B + b]);
    double sum = 0.0;
    for (int64_t t = 0; t < lengths[b]; ++t) sum += a[t * B + b] = std::exp(s[t * B + b] - m);
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t t = 0; t < lengths[b]; ++t) a[t * B + b] *= inv;
  }
  Var out = tape.result(std::move(a), scores.requires_grad());
  if (out.requires_grad()) {
    tape.record([scores, out, lengths, B] {
      const Tensor& ga = out.node()->grad;
      if (ga.empty()) return;
      const Tensor& av = out.value();
      Tensor& gs = scores.node()->grad_buffer();
      for (int64_t b = 0; b < B; ++b) {
        double dot = 0.0;
        for (int64_t t = 0; t < lengths[b]; ++t) dot += av[t * B + b] * ga[t * B + b];
        for (int64_t t = 0; t < lengths[b]; ++t)
          gs[t * B + b] += av[t * B + b] * (ga[t * B + b] - static_cast<float>(dot));
      }
    });
  }
  return out;
}

// y[b] = sum_t w[t, b] x[t, b]; dw[t, b] = <dy[b], x[t, b]>, dx[t, b] = w[t, b] dy[b].
Var weighted_sum_over_time(Tape& tape, const Var& weights, const Var& x) {
  const Tensor& w = weights.value();
  const Tensor& xv = x.value();
  check_tbf(xv, "weighted_sum_over_time");
  const int64_t T = xv.size(0), B = xv.size(1), F = xv.size(2);
  RECUR_CHECK(w.shape() == (Shape{T, B}), "weighted_sum_over_time: weights " +
                                              shape_string(w.shape()) +
                                              " do not match [T, B] = " + shape_string({T, B}));
  Tensor y({B, F});
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) {
      const float wt = w[t * B + b];
      if (wt == 0.0f) continue;
      const float* xr = xv.data() + (t * B + b) * F;
      float* yr = y.data() + b * F;
      for (int64_t f = 0; f < F; ++f) yr[f] += wt * xr[f];
    }
  const bool rg = weights.requires_grad() || x.requires_grad();
  Var out = tape.result(std::move(y), rg);
  if (rg) {
    tape.record([weights, x, out, T, B, F] {
      const Tensor& gy = out.node()->grad;
      if (gy.empty()) return;
      const Tensor& w = weights.value();
      const Tensor& xv = x.value();
      for (int64_t t = 0; t < T; ++t)
        for (int64_t b = 0; b < B; ++b) {
          const float* g = gy.data() + b * F;
          if (weights.requires_grad()) {
            const float* xr = xv.data() + (t * B + b) * F;
            float dot = 0.0f;
            for (int64_t f = 0; f < F; ++f) dot += g[f] * xr[f];
            weights.node()->grad_buffer()[t * B + b] += dot;
          }
          if (x.requires_grad()) {
            float* gx = x.node()->grad_buffer().data() + (t * B + b) * F;
            const float wt = w[t * B + b];
            for (int64_t f = 0; f < F; ++f) gx[f] += wt * g[f];
          }
        }
    });
  }
  return out;
}

}  // namespace recur::ag
