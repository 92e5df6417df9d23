// The non-recurrent ops: the set PyTorch's exporter emits around a recurrent sequence model
// (embedding lookup, linear layers, reshapes, softmax) and the shape arithmetic it builds its
// zero states with. Semantics follow the ONNX operator spec, numpy-style broadcasting included.
#include "onnx/ops.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>

#include "kernels/gemm.h"
#include "recur/error.h"

namespace recur::onnx {
namespace {

using Inputs = std::vector<const Value*>;

const Value& input(const Node& n, const Inputs& in, size_t k) {
  RECUR_CHECK(k < in.size() && in[k] != nullptr,
              n.describe() + ": input " + std::to_string(k) + " is required");
  return *in[k];
}

const Value* optional_input(const Inputs& in, size_t k) { return k < in.size() ? in[k] : nullptr; }

int64_t normalize_axis(const Node& n, int64_t axis, int64_t rank) {
  RECUR_CHECK(axis >= -rank && axis < std::max<int64_t>(rank, 1),
              n.describe() + ": axis " + std::to_string(axis) + " is out of range for rank " +
                  std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

std::vector<int64_t> int_values(const Node& n, const Value& v, const char* what) {
  RECUR_CHECK(!v.is_float(), n.describe() + ": " + what + " must be an integer tensor, got " +
                                 elem_type_name(v.elem_type));
  return v.i;
}

std::vector<int64_t> strides_of(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int64_t k = static_cast<int64_t>(shape.size()) - 2; k >= 0; --k)
    s[k] = s[k + 1] * shape[k + 1];
  return s;
}

// Values a graph computes are capped at 2^32 elements, so that a damaged shape (a huge
// ConstantOfShape, Expand or Reshape target) is an Error rather than an out-of-memory abort.
int64_t checked_size(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    RECUR_CHECK(d >= 0, "negative dimension in shape " + shape_string(shape));
    RECUR_CHECK(d == 0 || n <= (int64_t{1} << 32) / d,
                "shape " + shape_string(shape) + " is too large (over 2^32 elements)");
    n *= d;
  }
  return n;
}

// Steps a row-major multi-index `coord` to the next element of `shape`.
inline void advance(std::vector<int64_t>& coord, const Shape& shape) {
  for (int64_t k = static_cast<int64_t>(shape.size()) - 1; k >= 0; --k) {
    if (++coord[k] < shape[k]) return;
    coord[k] = 0;
  }
}

Value like(const Value& v, Shape shape) {
  checked_size(shape);
  Value out;
  out.kind = v.kind;
  out.elem_type = v.elem_type;
  out.shape = std::move(shape);
  if (v.is_float())
    out.f.resize(shape_numel(out.shape));
  else
    out.i.resize(shape_numel(out.shape));
  return out;
}

// Copies element `from` of `src` to element `to` of `dst` (same kind).
inline void copy_element(const Value& src, int64_t from, Value& dst, int64_t to) {
  if (src.is_float())
    dst.f[to] = src.f[from];
  else
    dst.i[to] = src.i[from];
}

Shape broadcast_shapes(const Node& n, const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t k = 0; k < rank; ++k) {
    const int64_t da = k + a.size() >= rank ? a[k + a.size() - rank] : 1;
    const int64_t db = k + b.size() >= rank ? b[k + b.size() - rank] : 1;
    RECUR_CHECK(da == db || da == 1 || db == 1, n.describe() + ": shapes " + shape_string(a) +
                                                    " and " + shape_string(b) +
                                                    " cannot be broadcast together");
    out[k] = da == 1 ? db : da;
  }
  return out;
}

// For each element of `out_shape`, the index of the element of `shape` broadcast onto it.
std::vector<int64_t> broadcast_index(const Shape& shape, const Shape& out_shape) {
  const int64_t n = shape_numel(out_shape);
  std::vector<int64_t> index(n);
  const size_t rank = out_shape.size(), offset = rank - shape.size();
  const std::vector<int64_t> in_strides = strides_of(shape);
  std::vector<int64_t> coord(rank, 0);
  for (int64_t e = 0; e < n; ++e) {
    int64_t src = 0;
    for (size_t k = offset; k < rank; ++k)
      if (shape[k - offset] != 1) src += coord[k] * in_strides[k - offset];
    index[e] = src;
    advance(coord, out_shape);
  }
  return index;
}

template <typename F, typename I>
std::vector<Value> binary(const Node& n, const Inputs& in, F float_op, I int_op) {
  const Value& a = input(n, in, 0);
  const Value& b = input(n, in, 1);
  RECUR_CHECK(a.kind == b.kind, n.describe() + ": operands have different element types (" +
                                    elem_type_name(a.elem_type) + ", " +
                                    elem_type_name(b.elem_type) + ")");
  const Shape shape = broadcast_shapes(n, a.shape, b.shape);
  Value out = like(a, shape);
  const auto ia = broadcast_index(a.shape, shape), ib = broadcast_index(b.shape, shape);
  for (size_t e = 0; e < ia.size(); ++e) {
    if (a.is_float())
      out.f[e] = float_op(a.f[ia[e]], b.f[ib[e]]);
    else
      out.i[e] = int_op(a.i[ia[e]], b.i[ib[e]]);
  }
  return {std::move(out)};
}

std::vector<Value> add(const Node& n, const Inputs& in) {
  return binary(n, in, std::plus<float>(), std::plus<int64_t>());
}
std::vector<Value> sub(const Node& n, const Inputs& in) {
  return binary(n, in, std::minus<float>(), std::minus<int64_t>());
}
std::vector<Value> mul(const Node& n, const Inputs& in) {
  return binary(n, in, std::multiplies<float>(), std::multiplies<int64_t>());
}
std::vector<Value> div(const Node& n, const Inputs& in) {
  return binary(n, in, std::divides<float>(), [&n](int64_t x, int64_t y) {
    RECUR_CHECK(y != 0, n.describe() + ": integer division by zero");
    return x / y;
  });
}

template <typename F>
std::vector<Value> unary_float(const Node& n, const Inputs& in, F f) {
  const Value& x = input(n, in, 0);
  RECUR_CHECK(x.is_float(),
              n.describe() + ": expects a float tensor, got " + elem_type_name(x.elem_type));
  Value out = x;
  for (float& v : out.f) v = f(v);
  return {std::move(out)};
}

std::vector<Value> relu(const Node& n, const Inputs& in) {
  return unary_float(n, in, [](float v) { return v > 0.0f ? v : 0.0f; });
}
std::vector<Value> tanh_op(const Node& n, const Inputs& in) {
  return unary_float(n, in, [](float v) { return std::tanh(v); });
}
std::vector<Value> sigmoid(const Node& n, const Inputs& in) {
  return unary_float(n, in, [](float v) { return 1.0f / (1.0f + std::exp(-v)); });
}

std::vector<Value> identity(const Node& n, const Inputs& in) { return {input(n, in, 0)}; }

// Inference: Dropout passes its input through; the optional mask output is all true.
std::vector<Value> dropout(const Node& n, const Inputs& in) {
  const Value& x = input(n, in, 0);
  return {x, Value::ints(x.shape, std::vector<int64_t>(x.numel(), 1), 9)};
}

std::vector<Value> constant(const Node& n, const Inputs&) {
  if (n.has("value")) return {n.get_tensor("value")};
  if (n.has("value_float")) return {Value::floats({}, {n.get_float("value_float", 0.0f)})};
  if (n.has("value_int")) return {Value::ints({}, {n.get_int("value_int", 0)})};
  if (n.has("value_floats")) {
    auto v = n.get_floats("value_floats");
    return {Value::floats({static_cast<int64_t>(v.size())}, v)};
  }
  if (n.has("value_ints")) {
    auto v = n.get_ints("value_ints");
    return {Value::ints({static_cast<int64_t>(v.size())}, v)};
  }
  throw_error(n.describe() +
              ": needs one of the attributes value, value_float(s), value_int(s) "
              "(sparse and string constants are not supported)");
}

std::vector<Value> shape_op(const Node& n, const Inputs& in) {
  const Shape& s = input(n, in, 0).shape;
  const int64_t rank = static_cast<int64_t>(s.size());
  int64_t start = n.get_int("start", 0), end = n.get_int("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  std::vector<int64_t> dims(s.begin() + start, s.begin() + end);
  return {Value::ints({static_cast<int64_t>(dims.size())}, dims)};
}

std::vector<Value> gather(const Node& n, const Inputs& in) {
  const Value& data = input(n, in, 0);
  const Value& idx = input(n, in, 1);
  const auto indices = int_values(n, idx, "indices");
  const int64_t rank = static_cast<int64_t>(data.shape.size());
  RECUR_CHECK(rank >= 1, n.describe() + ": data must have rank >= 1");
  const int64_t axis = normalize_axis(n, n.get_int("axis", 0), rank);
  const int64_t dim = data.shape[axis];
  Shape out_shape(data.shape.begin(), data.shape.begin() + axis);
  out_shape.insert(out_shape.end(), idx.shape.begin(), idx.shape.end());
  out_shape.insert(out_shape.end(), data.shape.begin() + axis + 1, data.shape.end());
  const int64_t outer = shape_numel(Shape(data.shape.begin(), data.shape.begin() + axis));
  const int64_t inner = shape_numel(Shape(data.shape.begin() + axis + 1, data.shape.end()));
  Value out = like(data, out_shape);
  const int64_t m = static_cast<int64_t>(indices.size());
  for (int64_t k = 0; k < m; ++k) {
    int64_t j = indices[k];
    RECUR_CHECK(j >= -dim && j < dim, n.describe() + ": index " + std::to_string(j) +
                                          " is out of range for an axis of size " +
                                          std::to_string(dim));
    if (j < 0) j += dim;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t e = 0; e < inner; ++e)
        copy_element(data, (o * dim + j) * inner + e, out, (o * m + k) * inner + e);
  }
  return {std::move(out)};
}

std::vector<int64_t> axes_of(const Node& n, const Inputs& in, size_t input_index) {
  if (n.opset >= 13) {
    const Value* axes = optional_input(in, input_index);
    return axes ? int_values(n, *axes, "axes") : std::vector<int64_t>{};
  }
  return n.get_ints("axes");
}

std::vector<Value> unsqueeze(const Node& n, const Inputs& in) {
  const Value& x = input(n, in, 0);
  auto axes = axes_of(n, in, 1);
  RECUR_CHECK(!axes.empty(), n.describe() + ": needs axes");
  const int64_t rank = static_cast<int64_t>(x.shape.size() + axes.size());
  for (int64_t& a : axes) a = normalize_axis(n, a, rank);
  std::sort(axes.begin(), axes.end());
  RECUR_CHECK(std::adjacent_find(axes.begin(), axes.end()) == axes.end(),
              n.describe() + ": repeated axis");
  Shape shape;
  size_t next = 0, used = 0;
  for (int64_t k = 0; k < rank; ++k) {
    if (used < axes.size() && axes[used] == k) {
      shape.push_back(1);
      ++used;
    } else {
      shape.push_back(x.shape[next++]);
    }
  }
  Value out = x;
  out.shape = shape;
  return {std::move(out)};
}

std::vector<Value> squeeze(const Node& n, const Inputs& in) {
  const Value& x = input(n, in, 0);
  auto axes = axes_of(n, in, 1);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  for (int64_t& a : axes) {
    a = normalize_axis(n, a, rank);
    RECUR_CHECK(x.shape[a] == 1, n.describe() + ": cannot squeeze axis " + std::to_string(a) +
                                     " of size " + std::to_string(x.shape[a]));
  }
  Shape shape;
  for (int64_t k = 0; k < rank; ++k) {
    const bool drop =
        axes.empty() ? x.shape[k] == 1 : std::find(axes.begin(), axes.end(), k) != axes.end();
    if (!drop) shape.push_back(x.shape[k]);
  }
  Value out = x;
  out.shape = shape;
  return {std::move(out)};
}

std::vector<Value> reshape(const Node& n, const Inputs& in) {
  const Value& x = input(n, in, 0);
  std::vector<int64_t> target =
      n.opset >= 5 ? int_values(n, input(n, in, 1), "shape") : n.get_ints("shape");
  const bool allow_zero = n.get_int("allowzero", 0) != 0;
  int64_t infer = -1, known = 1;
  for (size_t k = 0; k < target.size(); ++k) {
    if (target[k] == 0 && !allow_zero) {
      RECUR_CHECK(k < x.shape.size(), n.describe() + ": shape entry 0 at position " +
                                          std::to_string(k) + " has no input dimension to copy");
      target[k] = x.shape[k];
    }
    if (target[k] == -1) {
      RECUR_CHECK(infer < 0, n.describe() + ": more than one -1 in the target shape");
      infer = static_cast<int64_t>(k);
    } else {
      RECUR_CHECK(target[k] >= 0, n.describe() + ": invalid dimension " +
                                      std::to_string(target[k]) + " in the target shape");
      known *= target[k];
    }
  }
  if (infer >= 0) {
    RECUR_CHECK(known > 0 && x.numel() % known == 0,
                n.describe() + ": cannot reshape " + shape_string(x.shape) + " to " +
                    shape_string(Shape(target.begin(), target.end())));
    target[infer] = x.numel() / known;
  }
  RECUR_CHECK(checked_size(target) == x.numel(),
              n.describe() + ": cannot reshape " + shape_string(x.shape) + " (" +
                  std::to_string(x.numel()) + " elements) to " + shape_string(target));
  Value out = x;
  out.shape = target;
  return {std::move(out)};
}

std::vector<Value> flatten(const Node& n, const Inputs& in) {
  const Value& x = input(n, in, 0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  int64_t axis = n.get_int("axis", 1);
  RECUR_CHECK(axis >= -rank && axis <= rank, n.describe() + ": axis out of range");
  if (axis < 0) axis += rank;
  Value out = x;
  out.shape = {shape_numel(Shape(x.shape.begin(), x.shape.begin() + axis)),
               shape_numel(Shape(x.shape.begin() + axis, x.shape.end()))};
  return {std::move(out)};
}

std::vector<Value> transpose(const Node& n, const Inputs& in) {
  const Value& x = input(n, in, 0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  std::vector<int64_t> perm = n.get_ints("perm");
  if (perm.empty())
    for (int64_t k = rank - 1; k >= 0; --k) perm.push_back(k);
  RECUR_CHECK(static_cast<int64_t>(perm.size()) == rank,
              n.describe() + ": perm has " + std::to_string(perm.size()) +
                  " entries for a tensor of rank " + std::to_string(rank));
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t k = 0; k < rank; ++k)
    RECUR_CHECK(sorted[k] == k, n.describe() + ": perm is not a permutation");
  Shape shape(rank);
  for (int64_t k = 0; k < rank; ++k) shape[k] = x.shape[perm[k]];
  Value out = like(x, shape);
  const auto in_strides = strides_of(x.shape);
  std::vector<int64_t> coord(rank, 0);
  const int64_t total = x.numel();
  for (int64_t e = 0; e < total; ++e) {
    int64_t src = 0;
    for (int64_t k = 0; k < rank; ++k) src += coord[k] * in_strides[perm[k]];
    copy_element(x, src, out, e);
    advance(coord, shape);
  }
  return {std::move(out)};
}

std::vector<Value> concat(const Node& n, const Inputs& in) {
  std::vector<const Value*> parts;
  for (const Value* v : in)
    if (v) parts.push_back(v);
  RECUR_CHECK(!parts.empty(), n.describe() + ": needs at least one input");
  const Value& first = *parts[0];
  const int64_t rank = static_cast<int64_t>(first.shape.size());
  const int64_t axis = normalize_axis(n, n.get_int("axis", 0), rank);
  Shape shape = first.shape;
  shape[axis] = 0;
  for (const Value* p : parts) {
    RECUR_CHECK(p->kind == first.kind && static_cast<int64_t>(p->shape.size()) == rank,
                n.describe() + ": inputs differ in element type or rank");
    for (int64_t k = 0; k < rank; ++k)
      RECUR_CHECK(k == axis || p->shape[k] == first.shape[k],
                  n.describe() + ": cannot concatenate " + shape_string(first.shape) + " and " +
                      shape_string(p->shape) + " along axis " + std::to_string(axis));
    shape[axis] += p->shape[axis];
  }
  Value out = like(first, shape);
  const int64_t outer = shape_numel(Shape(shape.begin(), shape.begin() + axis));
  const int64_t inner = shape_numel(Shape(shape.begin() + axis + 1, shape.end()));
  int64_t offset = 0;
  for (const Value* p : parts) {
    const int64_t len = p->shape[axis];
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t e = 0; e < len * inner; ++e)
        copy_element(*p, o * len * inner + e, out, (o * shape[axis] + offset) * inner + e);
    offset += len;
  }
  return {std::move(out)};
}

std::vector<Value> slice(const Node& n, const Inputs& in) {
  const Value& x = input(n, in, 0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  std::vector<int64_t> starts, ends, axes, steps;
  if (n.opset >= 10) {
    starts = int_values(n, input(n, in, 1), "starts");
    ends = int_values(n, input(n, in, 2), "ends");
    if (const Value* a = optional_input(in, 3)) axes = int_values(n, *a, "axes");
    if (const Value* s = optional_input(in, 4)) steps = int_values(n, *s, "steps");
  } else {
    starts = n.get_ints("starts");
    ends = n.get_ints("ends");
    axes = n.get_ints("axes");
  }
  RECUR_CHECK(starts.size() == ends.size(), n.describe() + ": starts and ends differ in length");
  if (axes.empty())
    for (size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<int64_t>(k));
  if (steps.empty()) steps.assign(starts.size(), 1);
  RECUR_CHECK(axes.size() == starts.size() && steps.size() == starts.size(),
              n.describe() + ": starts, ends, axes and steps differ in length");
  std::vector<int64_t> begin(rank, 0), step(rank, 1);
  Shape shape = x.shape;
  for (size_t k = 0; k < starts.size(); ++k) {
    const int64_t axis = normalize_axis(n, axes[k], rank), dim = x.shape[axis];
    const int64_t st = steps[k];
    RECUR_CHECK(st != 0, n.describe() + ": step 0");
    int64_t s = starts[k] < 0 ? starts[k] + dim : starts[k];
    int64_t e = ends[k] < 0 ? ends[k] + dim : ends[k];
    if (st > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      shape[axis] = e > s ? (e - s + st - 1) / st : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      shape[axis] = s > e ? (s - e - st - 1) / (-st) : 0;
    }
    begin[axis] = s;
    step[axis] = st;
  }
  Value out = like(x, shape);
  const auto in_strides = strides_of(x.shape);
  std::vector<int64_t> coord(rank, 0);
  const int64_t total = shape_numel(shape);
  for (int64_t e = 0; e < total; ++e) {
    int64_t src = 0;
    for (int64_t k = 0; k < rank; ++k) src += (begin[k] + coord[k] * step[k]) * in_strides[k];
    copy_element(x, src, out, e);
    advance(coord, shape);
  }
  return {std::move(out)};
}

std::vector<Value> expand(const Node& n, const Inputs& in) {
  const Value& x = input(n, in, 0);
  const auto target = int_values(n, input(n, in, 1), "shape");
  const Shape shape = broadcast_shapes(n, x.shape, Shape(target.begin(), target.end()));
  Value out = like(x, shape);
  const auto index = broadcast_index(x.shape, shape);
  for (size_t e = 0; e < index.size(); ++e) copy_element(x, index[e], out, e);
  return {std::move(out)};
}

std::vector<Value> constant_of_shape(const Node& n, const Inputs& in) {
  const auto dims = int_values(n, input(n, in, 0), "shape");
  Value fill = n.has("value") ? n.get_tensor("value") : Value::floats({1}, {0.0f});
  RECUR_CHECK(fill.numel() == 1, n.describe() + ": value must hold one element");
  Value out = like(fill, Shape(dims.begin(), dims.end()));
  if (fill.is_float())
    std::fill(out.f.begin(), out.f.end(), fill.f[0]);
  else
    std::fill(out.i.begin(), out.i.end(), fill.i[0]);
  return {std::move(out)};
}

std::vector<Value> cast(const Node& n, const Inputs& in) {
  const Value& x = input(n, in, 0);
  const int64_t to = n.get_int("to", 0);
  const bool to_float = to == 1 || to == 11;
  const bool to_int = to == 2 || to == 3 || to == 4 || to == 5 || to == 6 || to == 7 || to == 9 ||
                      to == 12 || to == 13;
  RECUR_CHECK(
      to_float || to_int,
      n.describe() + ": cast to " + elem_type_name(static_cast<int32_t>(to)) + " is not supported");
  if (to_float) {
    Value out =
        Value::floats(x.shape, x.is_float() ? x.f : std::vector<float>(x.i.begin(), x.i.end()));
    return {std::move(out)};
  }
  std::vector<int64_t> v(x.numel());
  for (int64_t k = 0; k < x.numel(); ++k) {
    const int64_t raw = x.is_float() ? static_cast<int64_t>(x.f[k]) : x.i[k];
    v[k] = to == 9 ? (x.is_float() ? x.f[k] != 0.0f : raw != 0) : raw;
  }
  return {Value::ints(x.shape, std::move(v), static_cast<int32_t>(to))};
}

std::vector<Value> matmul(const Node& n, const Inputs& in) {
  Value a = input(n, in, 0), b = input(n, in, 1);
  RECUR_CHECK(a.is_float() && b.is_float(), n.describe() + ": expects float tensors");
  RECUR_CHECK(!a.shape.empty() && !b.shape.empty(), n.describe() + ": scalars are not allowed");
  const bool a_vec = a.shape.size() == 1, b_vec = b.shape.size() == 1;
  if (a_vec) a.shape.insert(a.shape.begin(), 1);
  if (b_vec) b.shape.push_back(1);
  const int64_t M = a.shape[a.shape.size() - 2], K = a.shape.back();
  const int64_t K2 = b.shape[b.shape.size() - 2], N = b.shape.back();
  RECUR_CHECK(K == K2, n.describe() + ": cannot multiply " + shape_string(a.shape) + " by " +
                           shape_string(b.shape));
  const Shape batch_a(a.shape.begin(), a.shape.end() - 2),
      batch_b(b.shape.begin(), b.shape.end() - 2);
  const Shape batch = broadcast_shapes(n, batch_a, batch_b);
  const auto ia = broadcast_index(batch_a, batch), ib = broadcast_index(batch_b, batch);
  Shape shape = batch;
  if (!a_vec) shape.push_back(M);
  if (!b_vec) shape.push_back(N);
  checked_size(shape);
  std::vector<float> out(shape_numel(batch) * M * N);
  for (size_t k = 0; k < ia.size(); ++k)
    kernels::gemm<float>(false, false, M, N, K, 1.0f, &a.f[ia[k] * M * K], K, &b.f[ib[k] * K * N],
                         N, 0.0f, &out[k * M * N], N);
  return {Value::floats(shape, std::move(out))};
}

std::vector<Value> gemm_op(const Node& n, const Inputs& in) {
  const Value& a = input(n, in, 0);
  const Value& b = input(n, in, 1);
  const Value* c = optional_input(in, 2);
  RECUR_CHECK(a.is_float() && b.is_float() && (!c || c->is_float()),
              n.describe() + ": expects float tensors");
  RECUR_CHECK(a.shape.size() == 2 && b.shape.size() == 2,
              n.describe() + ": A and B must be matrices");
  const bool ta = n.get_int("transA", 0) != 0, tb = n.get_int("transB", 0) != 0;
  const float alpha = n.get_float("alpha", 1.0f), beta = n.get_float("beta", 1.0f);
  const int64_t M = ta ? a.shape[1] : a.shape[0], K = ta ? a.shape[0] : a.shape[1];
  const int64_t K2 = tb ? b.shape[1] : b.shape[0], N = tb ? b.shape[0] : b.shape[1];
  RECUR_CHECK(K == K2, n.describe() + ": inner dimensions differ (" + shape_string(a.shape) + ", " +
                           shape_string(b.shape) + ")");
  std::vector<float> out(M * N, 0.0f);
  if (c && beta != 0.0f) {
    const auto index = broadcast_index(c->shape, broadcast_shapes(n, c->shape, {M, N}));
    RECUR_CHECK(static_cast<int64_t>(index.size()) == M * N,
                n.describe() + ": C of shape " + shape_string(c->shape) +
                    " does not broadcast to [" + std::to_string(M) + ", " + std::to_string(N) +
                    "]");
    for (int64_t e = 0; e < M * N; ++e) out[e] = beta * c->f[index[e]];
  }
  kernels::gemm<float>(ta, tb, M, N, K, alpha, a.f.data(), a.shape[1], b.f.data(), b.shape[1], 1.0f,
                       out.data(), N);
  return {Value::floats({M, N}, std::move(out))};
}

std::vector<Value> softmax_impl(const Node& n, const Inputs& in, bool log) {
  const Value& x = input(n, in, 0);
  RECUR_CHECK(x.is_float(), n.describe() + ": expects a float tensor");
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  Value out = x;
  int64_t outer, len, inner;
  if (n.opset >= 13) {
    const int64_t axis = normalize_axis(n, n.get_int("axis", -1), rank);
    outer = shape_numel(Shape(x.shape.begin(), x.shape.begin() + axis));
    len = x.shape[axis];
    inner = shape_numel(Shape(x.shape.begin() + axis + 1, x.shape.end()));
  } else {  // the input is coerced to 2-D at `axis`
    int64_t axis = n.get_int("axis", 1);
    RECUR_CHECK(axis >= -rank && axis <= rank, n.describe() + ": axis out of range");
    if (axis < 0) axis += rank;
    outer = shape_numel(Shape(x.shape.begin(), x.shape.begin() + axis));
    len = shape_numel(Shape(x.shape.begin() + axis, x.shape.end()));
    inner = 1;
  }
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t e = 0; e < inner; ++e) {
      float* p = &out.f[o * len * inner + e];
      float m = -INFINITY;
      for (int64_t k = 0; k < len; ++k) m = std::max(m, p[k * inner]);
      double sum = 0.0;
      for (int64_t k = 0; k < len; ++k) sum += std::exp(static_cast<double>(p[k * inner] - m));
      const float log_sum = static_cast<float>(std::log(sum));
      for (int64_t k = 0; k < len; ++k)
        p[k * inner] = log ? p[k * inner] - m - log_sum : std::exp(p[k * inner] - m - log_sum);
    }
  return {std::move(out)};
}

std::vector<Value> softmax(const Node& n, const Inputs& in) { return softmax_impl(n, in, false); }
std::vector<Value> log_softmax(const Node& n, const Inputs& in) {
  return softmax_impl(n, in, true);
}

std::vector<Value> recurrent(const Node& n, const Inputs& in) {
  RecurrentAttributes a;
  a.activations = n.get_strings("activations");
  a.activation_alpha = n.get_floats("activation_alpha");
  a.activation_beta = n.get_floats("activation_beta");
  a.clip = n.get_float("clip", 0.0f);
  RECUR_CHECK(!n.has("clip") || a.clip > 0.0f, n.describe() + ": clip must be positive");
  a.direction = n.get_string("direction", "forward");
  a.hidden_size = n.get_int("hidden_size", 0);
  a.input_forget = n.get_int("input_forget", 0);
  a.layout = n.get_int("layout", 0);
  a.linear_before_reset = n.get_int("linear_before_reset", 0);
  try {
    return run_recurrent(n.op_type, a, in);
  } catch (const Error& e) {
    throw Error(n.describe() + ": " + e.what());
  }
}

// TopK along an axis: values and int64 indices, ties broken by the lower index.
std::vector<Value> top_k(const Node& n, const Inputs& in) {
  const Value& x = input(n, in, 0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  const int64_t axis = normalize_axis(n, n.get_int("axis", -1), rank);
  int64_t k = 0;
  if (n.opset >= 10) {
    const auto kv = int_values(n, input(n, in, 1), "K");
    RECUR_CHECK(kv.size() == 1, n.describe() + ": K must hold one value");
    k = kv[0];
  } else {
    k = n.get_int("k", 0);
  }
  const int64_t dim = x.shape[axis];
  RECUR_CHECK(k >= 0 && k <= dim, n.describe() + ": K = " + std::to_string(k) + " is outside 0.." +
                                      std::to_string(dim));
  const bool largest = n.get_int("largest", 1) != 0;
  const int64_t outer = shape_numel(Shape(x.shape.begin(), x.shape.begin() + axis));
  const int64_t inner = shape_numel(Shape(x.shape.begin() + axis + 1, x.shape.end()));
  Shape shape = x.shape;
  shape[axis] = k;
  Value values = like(x, shape);
  std::vector<int64_t> indices(shape_numel(shape));
  std::vector<int64_t> order(dim);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t e = 0; e < inner; ++e) {
      auto at = [&](int64_t j) {
        const int64_t p = (o * dim + j) * inner + e;
        return x.is_float() ? static_cast<double>(x.f[p]) : static_cast<double>(x.i[p]);
      };
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        return largest ? at(a) > at(b) : at(a) < at(b);
      });
      for (int64_t j = 0; j < k; ++j) {
        const int64_t dst = (o * k + j) * inner + e;
        copy_element(x, (o * dim + order[j]) * inner + e, values, dst);
        indices[dst] = order[j];
      }
    }
  return {std::move(values), Value::ints(shape, std::move(indices))};
}

// ScatterElements without reduction: a copy of data with updates written at indices on axis.
std::vector<Value> scatter_elements(const Node& n, const Inputs& in) {
  const Value& data = input(n, in, 0);
  const auto indices = int_values(n, input(n, in, 1), "indices");
  const Value& idx = input(n, in, 1);
  const Value& updates = input(n, in, 2);
  RECUR_CHECK(n.get_string("reduction", "none") == "none",
              n.describe() + ": only reduction 'none' is supported");
  RECUR_CHECK(updates.kind == data.kind && updates.shape == idx.shape &&
                  updates.shape.size() == data.shape.size(),
              n.describe() + ": indices and updates must have the same shape and data's rank");
  const int64_t rank = static_cast<int64_t>(data.shape.size());
  const int64_t axis = normalize_axis(n, n.get_int("axis", 0), rank);
  Value out = data;
  const auto strides = strides_of(data.shape);
  std::vector<int64_t> coord(rank, 0);
  for (size_t e = 0; e < indices.size(); ++e) {
    int64_t dst = 0;
    for (int64_t k = 0; k < rank; ++k) {
      int64_t c = coord[k];
      if (k == axis) {
        c = indices[e];
        const int64_t dim = data.shape[axis];
        RECUR_CHECK(c >= -dim && c < dim, n.describe() + ": index " + std::to_string(c) +
                                              " is out of range for an axis of size " +
                                              std::to_string(dim));
        if (c < 0) c += dim;
      } else {
        RECUR_CHECK(c < data.shape[k], n.describe() + ": indices are larger than data");
      }
      dst += c * strides[k];
    }
    copy_element(updates, static_cast<int64_t>(e), out, dst);
    advance(coord, idx.shape);
  }
  return {std::move(out)};
}

// Comparisons give BOOL tensors (held as int64 0/1).
template <typename C>
std::vector<Value> compare(const Node& n, const Inputs& in, C cmp) {
  const Value& a = input(n, in, 0);
  const Value& b = input(n, in, 1);
  RECUR_CHECK(a.kind == b.kind, n.describe() + ": operands have different element types");
  const Shape shape = broadcast_shapes(n, a.shape, b.shape);
  checked_size(shape);
  const auto ia = broadcast_index(a.shape, shape), ib = broadcast_index(b.shape, shape);
  std::vector<int64_t> out(ia.size());
  for (size_t e = 0; e < ia.size(); ++e)
    out[e] = a.is_float() ? cmp(a.f[ia[e]], b.f[ib[e]]) : cmp(a.i[ia[e]], b.i[ib[e]]);
  return {Value::ints(shape, std::move(out), 9)};
}

std::vector<Value> less(const Node& n, const Inputs& in) {
  return compare(n, in, [](auto x, auto y) { return x < y; });
}
std::vector<Value> greater(const Node& n, const Inputs& in) {
  return compare(n, in, [](auto x, auto y) { return x > y; });
}
std::vector<Value> equal(const Node& n, const Inputs& in) {
  return compare(n, in, [](auto x, auto y) { return x == y; });
}

std::vector<Value> where(const Node& n, const Inputs& in) {
  const Value& c = input(n, in, 0);
  const Value& x = input(n, in, 1);
  const Value& y = input(n, in, 2);
  RECUR_CHECK(!c.is_float(), n.describe() + ": condition must be BOOL");
  RECUR_CHECK(x.kind == y.kind, n.describe() + ": X and Y have different element types");
  const Shape shape = broadcast_shapes(n, broadcast_shapes(n, c.shape, x.shape), y.shape);
  Value out = like(x, shape);
  const auto ic = broadcast_index(c.shape, shape), ix = broadcast_index(x.shape, shape),
             iy = broadcast_index(y.shape, shape);
  for (size_t e = 0; e < ic.size(); ++e) {
    if (c.i[ic[e]] != 0)
      copy_element(x, ix[e], out, static_cast<int64_t>(e));
    else
      copy_element(y, iy[e], out, static_cast<int64_t>(e));
  }
  return {std::move(out)};
}

std::vector<Value> range(const Node& n, const Inputs& in) {
  const Value& start = input(n, in, 0);
  const Value& limit = input(n, in, 1);
  const Value& delta = input(n, in, 2);
  RECUR_CHECK(start.numel() == 1 && limit.numel() == 1 && delta.numel() == 1 &&
                  start.kind == limit.kind && start.kind == delta.kind,
              n.describe() + ": start, limit and delta must be scalars of one type");
  auto at = [](const Value& v) { return v.is_float() ? double(v.f[0]) : double(v.i[0]); };
  const double s = at(start), l = at(limit), d = at(delta);
  RECUR_CHECK(d != 0.0, n.describe() + ": delta is 0");
  const int64_t count = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((l - s) / d)));
  checked_size({count});
  if (start.is_float()) {
    std::vector<float> v(count);
    for (int64_t k = 0; k < count; ++k) v[k] = static_cast<float>(s + k * d);
    return {Value::floats({count}, std::move(v))};
  }
  std::vector<int64_t> v(count);
  for (int64_t k = 0; k < count; ++k) v[k] = start.i[0] + k * delta.i[0];
  return {Value::ints({count}, std::move(v), start.elem_type)};
}

// ReduceSum / ReduceMean / ReduceMax over `axes` (all when none), keepdims as the spec says.
std::vector<Value> reduce(const Node& n, const Inputs& in, char how) {
  const Value& x = input(n, in, 0);
  RECUR_CHECK(x.is_float(), n.describe() + ": expects a float tensor");
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  // ReduceSum takes axes as an input from opset 13, the others from opset 18.
  const bool axes_input = (how == 's' && n.opset >= 13) || n.opset >= 18;
  std::vector<int64_t> axes;
  if (axes_input) {
    if (const Value* a = optional_input(in, 1)) axes = int_values(n, *a, "axes");
  } else {
    axes = n.get_ints("axes");
  }
  if (axes.empty() && n.get_int("noop_with_empty_axes", 0) != 0) return {x};
  std::vector<bool> reduced(rank, axes.empty());
  for (int64_t a : axes) reduced[normalize_axis(n, a, rank)] = true;
  const bool keep = n.get_int("keepdims", 1) != 0;
  Shape kept_shape(rank), out_shape;
  for (int64_t k = 0; k < rank; ++k) {
    kept_shape[k] = reduced[k] ? 1 : x.shape[k];
    if (!reduced[k] || keep) out_shape.push_back(kept_shape[k]);
  }
  const int64_t m = shape_numel(kept_shape);
  std::vector<double> acc(m, how == 'x' ? -INFINITY : 0.0);
  const auto index = broadcast_index(kept_shape, x.shape);  // element of x → its output slot
  for (size_t e = 0; e < index.size(); ++e)
    acc[index[e]] =
        how == 'x' ? std::max(acc[index[e]], static_cast<double>(x.f[e])) : acc[index[e]] + x.f[e];
  const double count = m > 0 ? static_cast<double>(x.numel()) / m : 1.0;
  std::vector<float> out(m);
  for (int64_t k = 0; k < m; ++k) out[k] = static_cast<float>(how == 'm' ? acc[k] / count : acc[k]);
  return {Value::floats(out_shape, std::move(out))};
}

std::vector<Value> reduce_sum(const Node& n, const Inputs& in) { return reduce(n, in, 's'); }
std::vector<Value> reduce_mean(const Node& n, const Inputs& in) { return reduce(n, in, 'm'); }
std::vector<Value> reduce_max(const Node& n, const Inputs& in) { return reduce(n, in, 'x'); }

const std::map<std::string, Kernel>& registry() {
  static const std::map<std::string, Kernel> ops = {
      {"Add", add},
      {"Cast", cast},
      {"Concat", concat},
      {"Constant", constant},
      {"ConstantOfShape", constant_of_shape},
      {"Div", div},
      {"Dropout", dropout},
      {"Equal", equal},
      {"Expand", expand},
      {"Flatten", flatten},
      {"GRU", recurrent},
      {"Gather", gather},
      {"Gemm", gemm_op},
      {"Greater", greater},
      {"Identity", identity},
      {"LSTM", recurrent},
      {"Less", less},
      {"LogSoftmax", log_softmax},
      {"MatMul", matmul},
      {"Mul", mul},
      {"RNN", recurrent},
      {"Range", range},
      {"ReduceMax", reduce_max},
      {"ReduceMean", reduce_mean},
      {"ReduceSum", reduce_sum},
      {"Relu", relu},
      {"Reshape", reshape},
      {"ScatterElements", scatter_elements},
      {"Shape", shape_op},
      {"Sigmoid", sigmoid},
      {"Slice", slice},
      {"Softmax", softmax},
      {"Squeeze", squeeze},
      {"Sub", sub},
      {"Tanh", tanh_op},
      {"TopK", top_k},
      {"Transpose", transpose},
      {"Unsqueeze", unsqueeze},
      {"Where", where},
  };
  return ops;
}

}  // namespace

Kernel find_kernel(const std::string& op_type) {
  auto it = registry().find(op_type);
  return it == registry().end() ? nullptr : it->second;
}

std::vector<std::string> supported_ops() {
  std::vector<std::string> names;
  for (const auto& [name, kernel] : registry()) names.push_back(name);
  return names;
}

}  // namespace recur::onnx
