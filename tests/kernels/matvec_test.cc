// kernels::MatVec against the plain-loop reference: both products, odd shapes (row groups and
// vector tails cut short), a row stride wider than the rows, accumulation, 1–3 threads, and
// several calls in a row (every other call walks the rows backwards; the result must not
// change with the direction).
#include "kernels/matvec.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <vector>

#include "kernels/gemm.h"
#include "recur/rng.h"

namespace recur::kernels {
namespace {

struct Shape2 {
  int64_t rows, cols;
};

class MatVecTest : public ::testing::TestWithParam<std::tuple<Shape2, int>> {};

TEST_P(MatVecTest, BothProductsMatchTheReferenceOnEveryCall) {
  const auto [s, threads] = GetParam();
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  const int64_t ldw = s.cols + 5;
  std::vector<float> w(s.rows * ldw), x(s.cols), a(s.rows);
  Rng rng(s.rows * 101 + s.cols);
  for (float& v : w) v = rng.normal();
  for (float& v : x) v = rng.normal();
  for (float& v : a) v = rng.normal();
  const std::vector<double> wd(w.begin(), w.end()), xd(x.begin(), x.end()), ad(a.begin(), a.end());
  std::vector<double> want_y(s.rows), want_z(s.cols);  // W·x and Wᵀ·a
  gemm_reference<double>(false, true, 1, s.rows, s.cols, 1.0, xd.data(), s.cols, wd.data(), ldw,
                         0.0, want_y.data(), s.rows);
  gemm_reference<double>(false, false, 1, s.cols, s.rows, 1.0, ad.data(), s.rows, wd.data(), ldw,
                         0.0, want_z.data(), s.cols);
  const auto tol = [](int64_t terms, double want) {
    return 8 * std::sqrt(double(std::max<int64_t>(terms, 1))) * 1.2e-7 *
           std::max(1.0, std::abs(want)) * 4;
  };

  MatVec mv(w.data(), s.rows, s.cols, ldw);
  EXPECT_EQ(mv.rows(), s.rows);
  EXPECT_EQ(mv.cols(), s.cols);
  for (int call = 0; call < 3; ++call) {
    SCOPED_TRACE("call " + std::to_string(call));
    std::vector<float> y(s.rows, 7.0f), z(s.cols, 7.0f);  // overwritten, not added to
    mv.times(x.data(), y.data(), false);
    for (int64_t r = 0; r < s.rows; ++r)
      ASSERT_NEAR(y[r], want_y[r], tol(s.cols, want_y[r])) << "row " << r;
    mv.transposed_times(a.data(), z.data(), false);
    for (int64_t c = 0; c < s.cols; ++c)
      ASSERT_NEAR(z[c], want_z[c], tol(s.rows, want_z[c])) << "column " << c;
    // Accumulating adds to what is there.
    mv.times(x.data(), y.data(), true);
    for (int64_t r = 0; r < s.rows; ++r)
      ASSERT_NEAR(y[r], 2 * want_y[r], 2 * tol(s.cols, want_y[r])) << "row " << r;
    mv.transposed_times(a.data(), z.data(), true);
    for (int64_t c = 0; c < s.cols; ++c)
      ASSERT_NEAR(z[c], 2 * want_z[c], 2 * tol(s.rows, want_z[c])) << "column " << c;
  }
  omp_set_num_threads(saved);
}

// Small shapes cut every group and tail short; the large ones (at least 64K weights) are split
// over the threads.
INSTANTIATE_TEST_SUITE_P(
    Shapes, MatVecTest,
    ::testing::Combine(::testing::Values(Shape2{1, 1}, Shape2{7, 15}, Shape2{9, 17}, Shape2{33, 40},
                                         Shape2{2048, 512}, Shape2{515, 130}, Shape2{300, 1000}),
                       ::testing::Values(1, 2, 3)));

TEST(MatVec, EmptyMatrixLeavesNothingToCompute) {
  std::vector<float> y(3, 1.0f);
  MatVec mv(nullptr, 0, 3);
  mv.transposed_times(nullptr, y.data(), false);
  for (float v : y) EXPECT_EQ(v, 0.0f);  // Wᵀ·a over no rows is zero
  MatVec none(nullptr, 0, 0);
  none.times(nullptr, nullptr, false);
}

}  // namespace
}  // namespace recur::kernels
