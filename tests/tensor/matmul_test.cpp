// matmul against a naive float loop, for every type, ISA, several shapes and 1-3 threads;
// get_row; the errors both raise.
#include "tensor/matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "tensor/quants.h"
#include "tensor_test_util.h"

namespace kindred {
namespace {

struct Shape {
  int64_t rows, cols, tokens;
};

// Includes one row, odd row counts, token counts above the 16-token block, and a 3-D weight.
const Shape kShapes[] = {{1, 256, 1}, {7, 256, 3}, {33, 512, 5}, {130, 768, 1}, {67, 256, 19}, {64, 1024, 2}};

struct Weights {
  std::vector<uint8_t> bytes;
  TensorView view;
};

Weights make_weights(DType t, int64_t rows, int64_t cols, uint32_t seed) {
  Weights w;
  w.bytes = test::random_row(t, rows * cols, seed);  // rows back to back are one long row
  w.view.name = std::string("w");  // (a plain char* assignment trips GCC 12's false -Wrestrict)
  w.view.type = t;
  w.view.ne = {cols, rows, 1, 1};
  w.view.n_dims = 2;
  w.view.data = w.bytes.data();
  return w;
}

// y_ref[t][r] = Σ_i w[r][i]·x̂[t][i] in double, where x̂ is x after the round trip through the
// weight type's vec_dot_type (so only matmul's own work is being checked), plus Σ|·| per entry.
void naive_matmul(const TensorView& w, const std::vector<float>& x, int64_t n_tokens, std::vector<double>& y,
                  std::vector<double>& scale) {
  const int64_t cols = w.cols(), rows = w.rows();
  const DType xt = type_kernels(w.type).vec_dot_type;
  std::vector<float> wrow(static_cast<size_t>(cols)), xr(static_cast<size_t>(cols) * n_tokens);
  std::vector<uint8_t> xq(row_bytes(xt, cols));
  for (int64_t t = 0; t < n_tokens; ++t) {
    quantize_row(xt, x.data() + t * cols, xq.data(), cols);
    dequantize_row(xt, xq.data(), xr.data() + t * cols, cols);
  }
  y.assign(static_cast<size_t>(rows * n_tokens), 0.0);
  scale.assign(y.size(), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    dequantize_row(w.type, w.row(r), wrow.data(), cols);
    for (int64_t t = 0; t < n_tokens; ++t) {
      double s = 0.0, a = 0.0;
      for (int64_t i = 0; i < cols; ++i) {
        const double p = static_cast<double>(wrow[static_cast<size_t>(i)]) * xr[static_cast<size_t>(t * cols + i)];
        s += p;
        a += std::fabs(p);
      }
      y[static_cast<size_t>(t * rows + r)] = s;
      scale[static_cast<size_t>(t * rows + r)] = a;
    }
  }
}

// Same bound as the vec_dot tests (see quants_simd_test.cpp): 2e-5 of Σ|w·x|.
constexpr double kTolerance = 2e-5;

TEST(Matmul, MatchesNaiveLoopForEveryTypeIsaAndThreadCount) {
  test::IsaGuard guard;
  ThreadPool pools[] = {ThreadPool(1), ThreadPool(2), ThreadPool(3)};
  for (DType t : test::computable_types()) {
    for (const Shape& s : kShapes) {
      if (s.cols % dtype_info(t).block_size != 0) continue;
      const Weights w = make_weights(t, s.rows, s.cols, static_cast<uint32_t>(s.rows * 131 + s.cols));
      const std::vector<float> x = test::random_floats(static_cast<size_t>(s.cols * s.tokens), 77);
      std::vector<double> want, scale;
      naive_matmul(w.view, x, s.tokens, want, scale);
      for (Isa isa : test::supported_isas()) {
        set_active_isa(isa);
        for (ThreadPool& pool : pools) {
          MatmulScratch scratch;
          std::vector<float> y(static_cast<size_t>(s.rows * s.tokens), NAN);
          matmul(w.view, x.data(), s.tokens, y.data(), pool, scratch);
          for (size_t i = 0; i < y.size(); ++i) {
            ASSERT_LE(std::fabs(y[i] - want[i]), kTolerance * scale[i] + 1e-30)
                << dtype_name(t) << " " << isa_name(isa) << " threads=" << pool.size() << " rows=" << s.rows
                << " cols=" << s.cols << " tokens=" << s.tokens << " entry " << i;
          }
        }
      }
    }
  }
}

// Each output is exactly the kernel's dot product: chunking and threading change nothing.
TEST(Matmul, EqualsVecDotPerRowExactly) {
  ThreadPool pool(3);
  for (DType t : {DType::Q4_0, DType::Q4_K, DType::F16}) {
    const int64_t rows = 45, cols = 512, tokens = 20;
    const Weights w = make_weights(t, rows, cols, 9);
    const std::vector<float> x = test::random_floats(static_cast<size_t>(cols * tokens), 10);
    MatmulScratch scratch;
    std::vector<float> y(static_cast<size_t>(rows * tokens));
    matmul(w.view, x.data(), tokens, y.data(), pool, scratch);
    const TypeKernels& k = type_kernels(t);
    std::vector<uint8_t> xq(row_bytes(k.vec_dot_type, cols));
    for (int64_t tok = 0; tok < tokens; ++tok) {
      quantize_row(k.vec_dot_type, x.data() + tok * cols, xq.data(), cols);
      for (int64_t r = 0; r < rows; ++r) {
        ASSERT_EQ(y[static_cast<size_t>(tok * rows + r)], k.vec_dot(cols, w.view.row(r), xq.data())) << dtype_name(t);
      }
    }
  }
}

TEST(Matmul, ThreeDimensionalWeightsAreRowsBackToBack) {
  ThreadPool pool(2);
  Weights w = make_weights(DType::Q8_0, 12, 64, 3);
  w.view.ne = {64, 3, 4, 1};  // 12 rows
  w.view.n_dims = 3;
  const std::vector<float> x = test::random_floats(64 * 2, 4);
  std::vector<double> want, scale;
  naive_matmul(w.view, x, 2, want, scale);
  MatmulScratch scratch;
  std::vector<float> y(24);
  matmul(w.view, x.data(), 2, y.data(), pool, scratch);
  for (size_t i = 0; i < y.size(); ++i) EXPECT_LE(std::fabs(y[i] - want[i]), kTolerance * scale[i]);
}

TEST(Matmul, ScratchIsReusedWithoutReallocating) {
  ThreadPool pool(2);
  const Weights w = make_weights(DType::Q4_K, 16, 512, 5);
  const std::vector<float> x = test::random_floats(512 * 4, 6);
  std::vector<float> y(16 * 4);
  MatmulScratch scratch;
  matmul(w.view, x.data(), 4, y.data(), pool, scratch);
  const uint8_t* data = scratch.quantized_x.data();
  const size_t capacity = scratch.quantized_x.capacity();
  for (int64_t tokens : {1, 3, 4, 2}) {
    matmul(w.view, x.data(), tokens, y.data(), pool, scratch);
    EXPECT_EQ(scratch.quantized_x.data(), data);
    EXPECT_EQ(scratch.quantized_x.capacity(), capacity);
  }
}

TEST(Matmul, ZeroTokensDoNothing) {
  ThreadPool pool(1);
  const Weights w = make_weights(DType::Q4_0, 4, 64, 1);
  MatmulScratch scratch;
  EXPECT_NO_THROW(matmul(w.view, nullptr, 0, nullptr, pool, scratch));
}

TEST(Matmul, RejectsBadInput) {
  ThreadPool pool(1);
  MatmulScratch scratch;
  std::vector<float> x(1024, 1.0f), y(1024);
  std::vector<uint8_t> bytes(64 * 1024);
  TensorView w;
  w.name = "blk.0.ffn_up.weight";
  w.data = bytes.data();
  w.ne = {256, 4, 1, 1};
  for (DType t : {DType::Q8_1, DType::Q8_K, DType::IQ2_XXS, DType::IQ4_XS, DType::I8}) {
    w.type = t;
    EXPECT_THROW(matmul(w, x.data(), 1, y.data(), pool, scratch), std::invalid_argument) << dtype_name(t);
  }
  w.type = DType::Q4_0;
  w.ne = {48, 4, 1, 1};  // 48 is not a multiple of 32
  EXPECT_THROW(matmul(w, x.data(), 1, y.data(), pool, scratch), std::invalid_argument);
  w.ne = {64, 4, 1, 1};
  EXPECT_THROW(matmul(w, x.data(), -1, y.data(), pool, scratch), std::invalid_argument);
  EXPECT_THROW(matmul(w, nullptr, 1, y.data(), pool, scratch), std::invalid_argument);
  w.data = nullptr;
  EXPECT_THROW(matmul(w, x.data(), 1, y.data(), pool, scratch), std::invalid_argument);
}

TEST(GetRow, DequantizesOneRow) {
  for (DType t : test::computable_types()) {
    const Weights w = make_weights(t, 5, 256, 8);
    std::vector<float> got(256), want(256);
    for (int64_t r = 0; r < 5; ++r) {
      get_row(w.view, r, got.data());
      dequantize_row(t, w.view.row(r), want.data(), 256);
      ASSERT_EQ(got, want) << dtype_name(t) << " row " << r;
    }
    EXPECT_THROW(get_row(w.view, 5, got.data()), std::invalid_argument);
    EXPECT_THROW(get_row(w.view, -1, got.data()), std::invalid_argument);
  }
  TensorView bad;
  bad.type = DType::Q4_K;
  bad.ne = {100, 2, 1, 1};
  std::vector<uint8_t> bytes(1024);
  bad.data = bytes.data();
  std::vector<float> out(100);
  EXPECT_THROW(get_row(bad, 0, out.data()), std::invalid_argument);  // 100 is not whole blocks
}

}  // namespace
}  // namespace kindred
