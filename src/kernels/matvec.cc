#include "kernels/matvec.h"

#include <omp.h>

#include <algorithm>

namespace recur::kernels {

namespace {

// Vec values never cross a call boundary of this file's interface (all helpers are inline),
// so the warning that their calling convention depends on AVX-512 is moot on portable builds.
#pragma GCC diagnostic ignored "-Wpsabi"

// One vector register of floats on the build's target: 16 with AVX-512, 8 with AVX, else 4.
#if defined(__AVX512F__)
constexpr int kLanes = 16;
#elif defined(__AVX__)
constexpr int kLanes = 8;
#else
constexpr int kLanes = 4;
#endif
// kLanes floats, loaded and stored at any float alignment.
typedef float Vec __attribute__((vector_size(kLanes * sizeof(float)), aligned(alignof(float))));

inline Vec load(const float* p) { return *reinterpret_cast<const Vec*>(p); }
inline void store(float* p, Vec v) { *reinterpret_cast<Vec*>(p) = v; }

inline float sum(Vec v) {
  float s = 0;
  for (int i = 0; i < kLanes; ++i) s += v[i];
  return s;
}

// Rows read together: R streams of W in flight, R dot products sharing each load of x.
constexpr int kRows = 8;
// How far ahead in each row the next lines are asked for (floats): with two cores streaming
// from L3, the hardware prefetcher alone leaves a quarter of the bandwidth unused (2048 × 512,
// 2 threads: 43 µs without, 33 µs with; 1 thread unchanged).
constexpr int64_t kPrefetchAhead = 128;

#if defined(__AVX512F__)
// The 8 lane sums of v[0..8), in lanes 0..8 of the result (lanes 8..16 hold them again):
// three rounds of pairwise shuffles and adds, each halving the lanes every row spreads over,
// instead of 8 serial sums of 16 lanes.
inline Vec sums_of_8(const Vec* v) {
  // Lanes 0-7: a's two halves added; lanes 8-15: b's.
  const auto pair = [](Vec a, Vec b) {
    return __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
           __builtin_shufflevector(a, b, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30,
                                   31);
  };
  // 4-lane sums: a's two rows in lanes 0-3 and 8-11, b's in 4-7 and 12-15.
  const auto quad = [](Vec a, Vec b) {
    return __builtin_shufflevector(a, b, 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27) +
           __builtin_shufflevector(a, b, 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30,
                                   31);
  };
  // Rows by lane pair after each round: pair → (0|1) (2|3) (4|5) (6|7); quad → 0 2 1 3 and
  // 4 6 5 7 in 4-lane groups; the last round → 2-lane groups of rows 0 4 2 6 1 5 3 7.
  const Vec q0 = quad(pair(v[0], v[1]), pair(v[2], v[3]));
  const Vec q1 = quad(pair(v[4], v[5]), pair(v[6], v[7]));
  const Vec z =
      __builtin_shufflevector(q0, q1, 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29) +
      __builtin_shufflevector(q0, q1, 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
  // z's lane pairs hold rows 0 4 2 6 1 5 3 7: add each pair, in row order.
  return __builtin_shufflevector(z, z, 0, 8, 4, 12, 2, 10, 6, 14, 0, 8, 4, 12, 2, 10, 6, 14) +
         __builtin_shufflevector(z, z, 1, 9, 5, 13, 3, 11, 7, 15, 1, 9, 5, 13, 3, 11, 7, 15);
}

#endif

// y[0, R) (+)= W[0, R) · x, W rows of `cols` at stride ldw; R is 1 or 8.
template <int R>
void dot_rows(const float* w, int64_t ldw, int64_t cols, const float* x, float* y,
              bool accumulate) {
  Vec acc[R] = {};
  int64_t k = 0;
  for (; k + kLanes <= cols; k += kLanes) {
    const Vec xv = load(x + k);
    for (int r = 0; r < R; ++r) __builtin_prefetch(w + r * ldw + k + kPrefetchAhead);
    for (int r = 0; r < R; ++r) acc[r] += load(w + r * ldw + k) * xv;
  }
  float s[R];
#if defined(__AVX512F__)
  if constexpr (R == 8) {
    const Vec v = sums_of_8(acc);
    for (int r = 0; r < R; ++r) s[r] = v[r];
  } else
#endif
  {
    for (int r = 0; r < R; ++r) s[r] = sum(acc[r]);
  }
  for (int r = 0; r < R; ++r) {
    for (int64_t j = k; j < cols; ++j) s[r] += w[r * ldw + j] * x[j];
    y[r] = accumulate ? y[r] + s[r] : s[r];
  }
}

// y[c0, c1) += Σ_r a[r] · W[r, c0..c1) over R rows.
template <int R>
void axpy_rows(const float* w, int64_t ldw, const float* a, int64_t c0, int64_t c1, float* y) {
  Vec av[R];
  for (int r = 0; r < R; ++r) av[r] = Vec{} + a[r];
  int64_t k = c0;
  for (; k + kLanes <= c1; k += kLanes) {
    Vec yv = load(y + k);
    for (int r = 0; r < R; ++r) __builtin_prefetch(w + r * ldw + k + kPrefetchAhead);
    for (int r = 0; r < R; ++r) yv += av[r] * load(w + r * ldw + k);
    store(y + k, yv);
  }
  for (; k < c1; ++k) {
    float s = y[k];
    for (int r = 0; r < R; ++r) s += a[r] * w[r * ldw + k];
    y[k] = s;
  }
}

// Calls f(r, R) over the rows [r0, r1) in groups of kRows (then single rows), first to last or
// last to first.
template <typename F>
void walk_rows(int64_t r0, int64_t r1, bool reverse, F&& f) {
  const int64_t grouped = r0 + (r1 - r0) / kRows * kRows;
  if (!reverse) {
    for (int64_t r = r0; r < grouped; r += kRows) f(r, kRows);
    for (int64_t r = grouped; r < r1; ++r) f(r, 1);
  } else {
    for (int64_t r = r1 - 1; r >= grouped; --r) f(r, 1);
    for (int64_t r = grouped - kRows; r >= r0; r -= kRows) f(r, kRows);
  }
}

// Threads for a product over `units` splittable rows or columns: one unless it is big enough.
int threads_for(int64_t units, int64_t weights) {
  if (omp_in_parallel() || weights < MatVec::kSplitFromWeights) return 1;
  return static_cast<int>(
      std::max<int64_t>(1, std::min<int64_t>(omp_get_max_threads(), units / (2 * kLanes))));
}

// Thread t's share [begin, end) of `units`, in multiples of kLanes.
void share(int64_t units, int threads, int t, int64_t* begin, int64_t* end) {
  const int64_t block = ((units + threads - 1) / threads + kLanes - 1) / kLanes * kLanes;
  *begin = std::min(units, t * block);
  *end = std::min(units, *begin + block);
}

}  // namespace

MatVec::MatVec(const float* w, int64_t rows, int64_t cols, int64_t ldw)
    : w_(w), rows_(rows), cols_(cols), ldw_(ldw > 0 ? ldw : cols) {}

void MatVec::times(const float* x, float* y, bool accumulate) {
  const bool reverse = reverse_;
  reverse_ = !reverse_;
  const float* w = w_;
  const int64_t ldw = ldw_, cols = cols_;
  const auto rows = [&](int64_t r0, int64_t r1) {
    walk_rows(r0, r1, reverse, [&](int64_t r, int n) {
      if (n == kRows)
        dot_rows<kRows>(w + r * ldw, ldw, cols, x, y + r, accumulate);
      else
        dot_rows<1>(w + r * ldw, ldw, cols, x, y + r, accumulate);
    });
  };
  const int threads = threads_for(rows_, rows_ * cols_);
  if (threads == 1) {
    rows(0, rows_);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    int64_t r0, r1;
    share(rows_, threads, omp_get_thread_num(), &r0, &r1);
    rows(r0, r1);
  }
}

void MatVec::transposed_times(const float* a, float* y, bool accumulate) {
  const bool reverse = reverse_;
  reverse_ = !reverse_;
  const float* w = w_;
  const int64_t ldw = ldw_, cols = cols_;
  // y[0, cols) (+)= the rows [r0, r1) of Wᵀ·a.
  const auto rows = [&](int64_t r0, int64_t r1, float* out, bool add) {
    if (!add) std::fill(out, out + cols, 0.0f);
    walk_rows(r0, r1, reverse, [&](int64_t r, int n) {
      if (n == kRows)
        axpy_rows<kRows>(w + r * ldw, ldw, a + r, 0, cols, out);
      else
        axpy_rows<1>(w + r * ldw, ldw, a + r, 0, cols, out);
    });
  };
  const int threads = threads_for(rows_, rows_ * cols_);
  if (threads == 1) {
    rows(0, rows_, y, accumulate);
    return;
  }
  // Each thread walks its own block of W's rows (a contiguous part of W, as in times()) into
  // its own partial sum: the first thread's is y, the others' are summed into it after.
  if (static_cast<int64_t>(partial_.size()) < (threads - 1) * cols)
    partial_.resize((threads - 1) * cols);
  float* partial = partial_.data();
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    int64_t r0, r1;
    share(rows_, threads, t, &r0, &r1);
    rows(r0, r1, t == 0 ? y : partial + (t - 1) * cols, t == 0 && accumulate);
#pragma omp barrier
    int64_t c0, c1;
    share(cols, threads, t, &c0, &c1);
    for (int u = 1; u < threads; ++u)
      for (int64_t c = c0; c < c1; ++c) y[c] += partial[(u - 1) * cols + c];
  }
}

}  // namespace recur::kernels
