// Dot products: the scalar kernels against a double-precision dot of the dequantized values,
// every SIMD kernel against its scalar twin, and quantized dots against float dots.
//
// Tolerances are relative to S = Σ|w_i·x_i| (dequantized values), the natural scale of a dot
// product's rounding error. All kernels compute each block's integer sum exactly, so they
// differ only in float rounding of the per-block scaling and of the accumulation: at most
// about (blocks per accumulator lane + a few)·2^-24·S. For n <= 4128 that is < 1e-5·S for the
// quants (<= 129 blocks) and < 5e-6·S for the float types (<= 258 terms per lane); the
// observed worst case is ~1e-7·S (printed with KINDRED_PRINT_ERRORS=1), so kTolerance = 2e-5
// leaves headroom without hiding a wrong term (one wrong level moves the result by ~1/n of S,
// >= 2.4e-4·S here).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "tensor/quants.h"
#include "tensor/quants_internal.h"
#include "tensor_test_util.h"

namespace kindred {
namespace {

constexpr double kTolerance = 2e-5;

std::vector<int64_t> test_sizes(DType t) {
  const int64_t bs = dtype_info(t).block_size;
  if (bs == 1) return {1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 257, 1000, 4096, 4099};
  std::vector<int64_t> sizes;
  for (int64_t blocks : {1, 2, 3, 5, 8, 17}) sizes.push_back(blocks * bs);
  sizes.push_back(4096);
  sizes.push_back(4096 + bs);  // odd block count: the AVX-512 legacy kernels' tail
  return sizes;
}

struct Operands {
  // Four spare bytes in front: rows need only their blocks' natural alignment (<= 4 bytes), not
  // the vector width, so the SIMD kernels are run on rows that are not 16/32/64-byte aligned.
  std::vector<uint8_t> w_buf, x_buf;
  const void* w = nullptr;
  const void* x = nullptr;
  double exact = 0.0;  // Σ w_i·x_i of the dequantized values, in double
  double scale = 0.0;  // Σ |w_i·x_i|
};

Operands make_operands(DType t, int64_t n, uint32_t seed) {
  Operands op;
  const DType xt = type_kernels(t).vec_dot_type;
  const std::vector<uint8_t> w = test::random_row(t, n, seed);
  const std::vector<float> xf = test::random_floats(static_cast<size_t>(n), seed + 1);
  std::vector<uint8_t> x(row_bytes(xt, n));
  quantize_row(xt, xf.data(), x.data(), n);
  op.w_buf.assign(w.size() + 4, 0);
  op.x_buf.assign(x.size() + 4, 0);
  std::memcpy(op.w_buf.data() + 4, w.data(), w.size());
  std::memcpy(op.x_buf.data() + 4, x.data(), x.size());
  op.w = op.w_buf.data() + 4;
  op.x = op.x_buf.data() + 4;
  std::vector<float> wd(static_cast<size_t>(n)), xd(static_cast<size_t>(n));
  dequantize_row(t, w.data(), wd.data(), n);
  dequantize_row(xt, x.data(), xd.data(), n);
  for (size_t i = 0; i < wd.size(); ++i) {
    op.exact += static_cast<double>(wd[i]) * xd[i];
    op.scale += std::fabs(static_cast<double>(wd[i]) * xd[i]);
  }
  return op;
}

bool print_errors() { return std::getenv("KINDRED_PRINT_ERRORS") != nullptr; }

TEST(VecDot, ScalarMatchesDequantizedDot) {
  for (DType t : test::computable_types()) {
    double worst = 0.0;
    for (int64_t n : test_sizes(t)) {
      const Operands op = make_operands(t, n, static_cast<uint32_t>(n) * 31 + static_cast<uint32_t>(t));
      const double got = type_kernels(t, Isa::Scalar).vec_dot(n, op.w, op.x);
      const double err = std::fabs(got - op.exact);
      ASSERT_LE(err, kTolerance * op.scale) << dtype_name(t) << " n=" << n;
      worst = std::max(worst, err / op.scale);
    }
    if (print_errors()) std::printf("%-5s scalar vs exact: worst %.2e·S\n", std::string(dtype_name(t)).c_str(), worst);
  }
}

TEST(VecDot, SimdMatchesScalar) {
  const std::vector<Isa> isas = test::supported_isas();
  if (isas.size() == 1) GTEST_SKIP() << "this CPU has no SIMD kernels to compare";
  for (DType t : test::computable_types()) {
    for (Isa isa : isas) {
      if (isa == Isa::Scalar) continue;
      double worst = 0.0;
      for (int64_t n : test_sizes(t)) {
        for (uint32_t rep = 0; rep < 3; ++rep) {
          const Operands op = make_operands(t, n, rep * 7919 + static_cast<uint32_t>(n) + static_cast<uint32_t>(t));
          const double want = type_kernels(t, Isa::Scalar).vec_dot(n, op.w, op.x);
          const double got = type_kernels(t, isa).vec_dot(n, op.w, op.x);
          const double err = std::fabs(got - want);
          ASSERT_LE(err, kTolerance * op.scale)
              << dtype_name(t) << " " << isa_name(isa) << " n=" << n << " scalar " << want << " simd " << got;
          worst = std::max(worst, err / op.scale);
        }
      }
      if (print_errors()) {
        std::printf("%-5s %-6s vs scalar: worst %.2e·S\n", std::string(dtype_name(t)).c_str(), isa_name(isa), worst);
      }
    }
  }
}

// The AVX-512 table uses vdpbf16ps where the CPU has AVX512_BF16 and a widen-and-FMA kernel
// where it does not (Ice Lake); the table can only hold one, so the other is checked directly.
TEST(VecDot, Bf16Avx512FallbackMatchesScalar) {
  if (best_supported_isa() != Isa::Avx512) GTEST_SKIP() << "no AVX-512 on this CPU";
  for (int64_t n : test_sizes(DType::BF16)) {
    const Operands op = make_operands(DType::BF16, n, static_cast<uint32_t>(n));
    const double want = type_kernels(DType::BF16, Isa::Scalar).vec_dot(n, op.w, op.x);
    const double got = kernels::vec_dot_bf16_avx512_nobf16(n, op.w, op.x);
    ASSERT_LE(std::fabs(got - want), kTolerance * op.scale) << "n=" << n;
  }
}

// Realistic data (quantized normal weights rather than random bytes) through every ISA.
TEST(VecDot, SimdMatchesScalarOnQuantizedData) {
  for (DType t : test::computable_types()) {
    const int64_t n = 2048;
    const DType xt = type_kernels(t).vec_dot_type;
    const std::vector<float> wf = test::random_floats(n, 5), xf = test::random_floats(n, 6);
    std::vector<uint8_t> w(row_bytes(t, n)), x(row_bytes(xt, n));
    quantize_row(t, wf.data(), w.data(), n);
    quantize_row(xt, xf.data(), x.data(), n);
    double scale = 0.0;
    for (size_t i = 0; i < wf.size(); ++i) scale += std::fabs(static_cast<double>(wf[i]) * xf[i]);
    const float want = type_kernels(t, Isa::Scalar).vec_dot(n, w.data(), x.data());
    for (Isa isa : test::supported_isas()) {
      const float got = type_kernels(t, isa).vec_dot(n, w.data(), x.data());
      EXPECT_LE(std::fabs(static_cast<double>(got) - want), kTolerance * scale) << dtype_name(t) << " " << isa_name(isa);
    }
  }
}

// ggml's test-quantize-fns dot-product check: weights and activations quantized from its
// cosine data, |quantized dot - float dot| / n below 0.02 (0.04 for 2-bit Q2_K).
TEST(VecDot, QuantizedDotCloseToFloatDot) {
  const int64_t n = 4096;
  std::vector<float> a(n), b(n);
  for (int64_t i = 0; i < n; ++i) {
    a[static_cast<size_t>(i)] = 0.1f + 2.0f * std::cos(static_cast<float>(i));
    b[static_cast<size_t>(i)] = 0.1f + 2.0f * std::cos(static_cast<float>(i) + 1.0f);
  }
  double exact = 0.0;
  for (size_t i = 0; i < a.size(); ++i) exact += static_cast<double>(a[i]) * b[i];
  for (DType t : test::computable_types()) {
    const DType xt = type_kernels(t).vec_dot_type;
    std::vector<uint8_t> w(row_bytes(t, n)), x(row_bytes(xt, n));
    quantize_row(t, a.data(), w.data(), n);
    quantize_row(xt, b.data(), x.data(), n);
    const double limit = t == DType::Q2_K ? 0.04 : 0.02;
    for (Isa isa : test::supported_isas()) {
      const double got = type_kernels(t, isa).vec_dot(n, w.data(), x.data());
      EXPECT_LT(std::fabs(got - exact) / static_cast<double>(n), limit) << dtype_name(t) << " " << isa_name(isa);
    }
  }
}

}  // namespace
}  // namespace kindred
