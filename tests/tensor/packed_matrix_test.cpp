// Packed matrices: the interleaved layout and its kernels (scalar and AVX-512) against a double
// loop over the dequantized weights and the quantized activations, padding rows, slices,
// batches through matmul, and the errors.
#include "tensor/packed_matrix.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "tensor/matmul.h"
#include "tensor/packed_kernels.h"
#include "tensor/quants.h"
#include "tensor_test_util.h"

namespace kindred {
namespace {

struct Weights {
  std::vector<uint8_t> bytes;
  TensorView view;
};

Weights make_weights(DType t, int64_t rows, int64_t cols, int64_t slices, uint32_t seed) {
  Weights w;
  w.bytes = test::random_row(t, rows * cols * slices, seed);
  w.view.name = std::string("w");
  w.view.type = t;
  w.view.ne = {cols, rows, slices, 1};
  w.view.n_dims = slices > 1 ? 3 : 2;
  w.view.data = w.bytes.data();
  return w;
}

std::vector<Isa> packed_isas() {
  std::vector<Isa> isas = {Isa::Scalar};
  if (best_supported_isa() == Isa::Avx512) isas.push_back(Isa::Avx512);
  return isas;
}

// Σ_i w[r][i]·(q[t][i]·d[t][block]) in double, and Σ|·| as the error scale.
void reference(const TensorView& w, int64_t slice, const QuantizedActivations& x, std::vector<double>& y,
               std::vector<double>& scale) {
  const int64_t rows = w.ne[1], cols = w.cols();
  std::vector<float> wrow(static_cast<size_t>(cols));
  y.assign(static_cast<size_t>(rows * x.n_tokens), 0.0);
  scale.assign(y.size(), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    dequantize_row(w.type, w.row(slice * rows + r), wrow.data(), cols);
    for (int64_t t = 0; t < x.n_tokens; ++t) {
      double s = 0, a = 0;
      for (int64_t i = 0; i < cols; ++i) {
        const double p = static_cast<double>(wrow[i]) * x.quants(t)[i] * x.scales(t)[i / kPackBlock];
        s += p;
        a += std::fabs(p);
      }
      y[t * rows + r] = s;
      scale[t * rows + r] = a;
    }
  }
}

TEST(PackedMatrix, KernelsMatchTheDequantizedProductForEveryShape) {
  test::IsaGuard guard;
  struct Shape {
    int64_t rows, cols, slices, tokens;
  };
  // Padding rows (1, 17, 50), one block, odd block counts, several slices, token tails.
  const Shape shapes[] = {{1, 32, 1, 1}, {16, 64, 1, 4}, {17, 96, 1, 5}, {50, 256, 3, 9}, {32, 2048, 1, 1}};
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    for (const Shape& s : shapes) {
      const Weights w = make_weights(t, s.rows, s.cols, s.slices, static_cast<uint32_t>(s.rows * 7 + s.cols));
      const PackedMatrix packed(w.view);
      ASSERT_EQ(packed.groups(), (s.rows + 15) / 16);
      const std::vector<float> xf = test::random_floats(static_cast<size_t>(s.cols * s.tokens), 5);
      for (Isa isa : packed_isas()) {
        set_active_isa(isa);
        QuantizedActivations x;
        quantize_activations(xf.data(), s.tokens, s.cols, x);
        for (int64_t slice = 0; slice < s.slices; ++slice) {
          std::vector<double> want, scale;
          reference(w.view, slice, x, want, scale);
          // One extra sentinel row per token: padding rows must never be written.
          const int64_t ldy = s.rows + 1;
          std::vector<float> y(static_cast<size_t>(ldy * s.tokens), -7.0f);
          packed_matmul(packed, slice, 0, packed.groups(), x, 0, s.tokens, y.data(), ldy);
          for (int64_t tok = 0; tok < s.tokens; ++tok) {
            for (int64_t r = 0; r < s.rows; ++r) {
              const double got = y[tok * ldy + r], exp = want[tok * s.rows + r];
              ASSERT_LE(std::fabs(got - exp), 2e-5 * scale[tok * s.rows + r] + 1e-30)
                  << dtype_name(t) << " " << isa_name(isa) << " rows=" << s.rows << " cols=" << s.cols
                  << " slice=" << slice << " token=" << tok << " row=" << r;
            }
            ASSERT_EQ(y[tok * ldy + s.rows], -7.0f) << "padding row written";
          }
        }
      }
    }
  }
}

TEST(PackedMatrix, SimdActivationQuantizationEqualsScalar) {
  if (best_supported_isa() != Isa::Avx512) GTEST_SKIP() << "this CPU has no AVX-512 VNNI";
  std::vector<float> x = test::random_floats(1024, 11, 3.0f);
  for (int i = 256; i < 288; ++i) x[i] = 0.0f;  // an all-zero block
  x[5] = 0.5f * 3.0f / 127.0f;                  // values near rounding ties
  std::vector<int8_t> qa(1024), qb(1024);
  std::vector<float> da(32), db(32), sa(32), sb(32);
  kernels::quantize_activations_scalar(x.data(), 1024, qa.data(), da.data(), sa.data());
  kernels::quantize_activations_avx512(x.data(), 1024, qb.data(), db.data(), sb.data());
  EXPECT_EQ(qa, qb);
  EXPECT_EQ(da, db);
  EXPECT_EQ(sa, sb);
  EXPECT_EQ(da[8], 0.0f);
}

// Batching, threading and sharing one quantized input change nothing: every output equals the
// single-threaded kernel's, and a matmul on a packed view takes the same path.
TEST(PackedMatrix, MatmulBatchEqualsTheKernelExactly) {
  ThreadPool pool(2);
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    const Weights a = make_weights(t, 40, 512, 1, 1), b = make_weights(t, 24, 512, 3, 2);
    const PackedMatrix pa(a.view), pb(b.view);
    TensorView pa_view = a.view, pb_view = b.view;
    pa_view.packed = &pa;
    pb_view.packed = &pb;
    pb_view.ne = {512, 24, 1, 1};
    pb_view.packed_slice = 2;
    for (int64_t tokens : {1, 7, 70}) {
      const std::vector<float> x = test::random_floats(static_cast<size_t>(512 * tokens), 3);
      MatmulScratch scratch;
      std::vector<float> ya(40 * tokens), yb(24 * tokens), yc(40 * tokens), ra(40 * tokens), rb(24 * tokens);
      const MatmulJob jobs[] = {{&pa_view, x.data(), tokens, ya.data()}, {&pb_view, x.data(), tokens, yb.data()}};
      matmul_batch(jobs, pool, scratch);
      matmul(pa_view, x.data(), tokens, yc.data(), pool, scratch);
      QuantizedActivations q;
      quantize_activations(x.data(), tokens, 512, q);
      packed_matmul(pa, 0, 0, pa.groups(), q, 0, tokens, ra.data(), 40);
      packed_matmul(pb, 2, 0, pb.groups(), q, 0, tokens, rb.data(), 24);
      EXPECT_EQ(ya, ra) << dtype_name(t) << " tokens=" << tokens;
      EXPECT_EQ(yc, ra) << dtype_name(t) << " tokens=" << tokens;
      EXPECT_EQ(yb, rb) << dtype_name(t) << " tokens=" << tokens;
    }
  }
}

TEST(PackedMatrix, RejectsTypesWithoutKernelAndPartialBlocks) {
  Weights f = make_weights(DType::F32, 4, 64, 1, 1);
  try {
    PackedMatrix p(f.view);
    FAIL() << "F32 packed";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("f32"), std::string::npos) << e.what();
  }
  QuantizedActivations x;
  const std::vector<float> v(48, 1.0f);
  EXPECT_THROW(quantize_activations(v.data(), 1, 48, x), std::invalid_argument);
}

}  // namespace
}  // namespace kindred
