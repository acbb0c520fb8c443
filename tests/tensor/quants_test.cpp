// fp16/bf16 conversions, ISA selection and the kernel table's error handling.
#include "tensor/quants.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "tensor_test_util.h"

namespace kindred {
namespace {

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// IEEE half decoded from its definition, independently of the library's bit manipulation.
double half_value(uint16_t h) {
  const int sign = (h >> 15) ? -1 : 1;
  const int exp = (h >> 10) & 0x1f;
  const int mant = h & 0x3ff;
  if (exp == 0) return sign * std::ldexp(mant, -24);
  if (exp == 31) return mant ? std::numeric_limits<double>::quiet_NaN() : sign * INFINITY;
  return sign * std::ldexp(1024 + mant, exp - 25);
}

TEST(Fp16, DecodesEveryHalfExactly) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = fp16_to_f32(static_cast<uint16_t>(h));
    const double want = half_value(static_cast<uint16_t>(h));
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << h;
      EXPECT_EQ((bits_of(f) >> 13) & 0x3ff, h & 0x3ff) << "payload kept for " << std::hex << h;
    } else {
      ASSERT_EQ(static_cast<double>(f), want) << std::hex << h;
      ASSERT_EQ(std::signbit(f), (h & 0x8000) != 0) << std::hex << h;  // -0 stays -0
    }
  }
}

TEST(Fp16, EveryHalfRoundTrips) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint16_t back = f32_to_fp16(fp16_to_f32(static_cast<uint16_t>(h)));
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) {
      EXPECT_EQ(back & 0x7c00, 0x7c00);  // NaN stays NaN (made quiet)
      EXPECT_NE(back & 0x3ff, 0);
    } else {
      ASSERT_EQ(back, h) << std::hex << h;
    }
  }
}

// Between every two adjacent finite halves (normal and subnormal, both signs): the exact
// midpoint goes to the even one, anything past it to the nearer one.
TEST(Fp16, RoundsToNearestEven) {
  for (uint32_t h = 0; h < 0x7bff; ++h) {
    for (uint16_t sign : {uint16_t{0}, uint16_t{0x8000}}) {
      const auto lo = static_cast<uint16_t>(h | sign), hi = static_cast<uint16_t>((h + 1) | sign);
      const float mid = static_cast<float>((half_value(lo) + half_value(hi)) / 2);  // exact in float
      const uint16_t even = (h & 1) ? hi : lo;
      ASSERT_EQ(f32_to_fp16(mid), even) << std::hex << h;
      ASSERT_EQ(f32_to_fp16(std::nextafter(mid, sign ? -INFINITY : INFINITY)), hi) << std::hex << h;
      ASSERT_EQ(f32_to_fp16(std::nextafter(mid, 0.0f)), lo) << std::hex << h;
    }
  }
}

TEST(Fp16, OverflowUnderflowAndSpecials) {
  EXPECT_EQ(f32_to_fp16(65504.0f), 0x7bff);                          // largest half
  EXPECT_EQ(f32_to_fp16(std::nextafter(65520.0f, 0.0f)), 0x7bff);    // just below the tie
  EXPECT_EQ(f32_to_fp16(65520.0f), 0x7c00);                          // tie rounds to even: inf
  EXPECT_EQ(f32_to_fp16(FLT_MAX), 0x7c00);
  EXPECT_EQ(f32_to_fp16(-FLT_MAX), 0xfc00);
  EXPECT_EQ(f32_to_fp16(INFINITY), 0x7c00);
  EXPECT_EQ(f32_to_fp16(-INFINITY), 0xfc00);
  EXPECT_EQ(f32_to_fp16(0.0f), 0x0000);
  EXPECT_EQ(f32_to_fp16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_fp16(0x1p-24f), 0x0001);                           // smallest subnormal
  EXPECT_EQ(f32_to_fp16(0x1p-25f), 0x0000);                           // half of it: tie to even 0
  EXPECT_EQ(f32_to_fp16(std::nextafter(0x1p-25f, 1.0f)), 0x0001);
  EXPECT_EQ(f32_to_fp16(-0x1p-26f), 0x8000);                          // underflow keeps the sign
  EXPECT_EQ(f32_to_fp16(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(f32_to_fp16(0x1p-14f), 0x0400);                           // smallest normal
  EXPECT_EQ(f32_to_fp16(0x1p-14f - 0x1p-25f), 0x0400);               // rounds up into the normals
  EXPECT_EQ(f32_to_fp16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_fp16(-2.0f), 0xc000);
  // NaNs stay NaN even when their payload sits only in bits a half cannot hold.
  for (uint32_t nan : {0x7fc00000u, 0x7f800001u, 0xffc00000u, 0x7fffffffu}) {
    const uint16_t h = f32_to_fp16(float_of(nan));
    EXPECT_EQ(h & 0x7c00, 0x7c00) << std::hex << nan;
    EXPECT_NE(h & 0x3ff, 0) << std::hex << nan;
    EXPECT_EQ(h >> 15, nan >> 31);
  }
}

TEST(Bf16, DecodeIsTheTopHalfOfAFloat) {
  for (uint32_t h = 0; h < 65536; ++h) ASSERT_EQ(bits_of(bf16_to_f32(static_cast<uint16_t>(h))), h << 16);
}

TEST(Bf16, RoundsToNearestEvenAndKeepsNaN) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);        // tie, 0x3f80 is even
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);    // tie, rounds up to even
  EXPECT_EQ(f32_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81);
  EXPECT_EQ(f32_to_bf16(-1.0f - 0x1p-8f - 0x1p-20f), 0xbf81);
  EXPECT_EQ(f32_to_bf16(FLT_MAX), 0x7f80);               // rounds to inf
  EXPECT_EQ(f32_to_bf16(float_of(0x7f7f7fffu)), 0x7f7f);  // largest that stays finite
  EXPECT_EQ(f32_to_bf16(INFINITY), 0x7f80);
  EXPECT_EQ(f32_to_bf16(-INFINITY), 0xff80);
  EXPECT_EQ(f32_to_bf16(-0.0f), 0x8000);
  // Subnormals are rounded, not flushed.
  EXPECT_EQ(f32_to_bf16(float_of(0x00008000u)), 0x0000);  // tie to even
  EXPECT_EQ(f32_to_bf16(float_of(0x00018000u)), 0x0002);  // tie to even
  EXPECT_EQ(f32_to_bf16(float_of(0x00010001u)), 0x0001);
  for (uint32_t nan : {0x7fc00000u, 0x7f800001u, 0xff800001u, 0x7fffffffu}) {
    const uint16_t h = f32_to_bf16(float_of(nan));
    EXPECT_TRUE(std::isnan(bf16_to_f32(h))) << std::hex << nan;
    EXPECT_EQ(h >> 15, nan >> 31);
  }
  // Exhaustive check that every bf16 value survives a round trip.
  for (uint32_t h = 0; h < 65536; ++h) {
    if ((h & 0x7f80) == 0x7f80 && (h & 0x7f)) continue;  // NaNs: checked above
    ASSERT_EQ(f32_to_bf16(bf16_to_f32(static_cast<uint16_t>(h))), h) << std::hex << h;
  }
}

TEST(Isa, SelectionAndLimits) {
  test::IsaGuard guard;
  EXPECT_EQ(active_isa(), best_supported_isa());
  for (Isa isa : test::supported_isas()) {
    set_active_isa(isa);
    EXPECT_EQ(active_isa(), isa);
    EXPECT_STRNE(isa_name(isa), "unknown");
  }
  EXPECT_THROW(set_active_isa(static_cast<Isa>(7)), std::invalid_argument);
  if (best_supported_isa() != Isa::Avx512) {
    EXPECT_THROW(set_active_isa(Isa::Avx512), std::invalid_argument);
    EXPECT_THROW(type_kernels(DType::Q4_0, Isa::Avx512), std::invalid_argument);
  }
}

TEST(KernelTable, EveryComputableTypeHasAllKernels) {
  for (Isa isa : test::supported_isas()) {
    for (DType t : test::computable_types()) {
      const TypeKernels& k = type_kernels(t, isa);
      EXPECT_TRUE(k.to_float && k.from_float && k.vec_dot) << dtype_name(t) << " " << isa_name(isa);
      EXPECT_TRUE(has_quantizer(t)) << dtype_name(t);
      EXPECT_TRUE(dtype_info(t).computable) << dtype_name(t);
    }
  }
  EXPECT_EQ(type_kernels(DType::Q4_0).vec_dot_type, DType::Q8_0);
  EXPECT_EQ(type_kernels(DType::Q4_1).vec_dot_type, DType::Q8_0);  // Kindred's choice, see quants.cpp
  EXPECT_EQ(type_kernels(DType::Q4_K).vec_dot_type, DType::Q8_K);
  EXPECT_EQ(type_kernels(DType::F16).vec_dot_type, DType::F16);
  EXPECT_EQ(type_kernels(DType::BF16).vec_dot_type, DType::BF16);
  EXPECT_EQ(type_kernels(DType::F32).vec_dot_type, DType::F32);
  EXPECT_TRUE(has_quantizer(DType::Q8_K));  // the activation type converts but is no weight type
}

TEST(KernelTable, NonComputableTypesThrow) {
  for (DType t : {DType::Q8_1, DType::Q8_K, DType::IQ2_XXS, DType::IQ4_NL, DType::I32, DType::F64, DType::MXFP4,
                  static_cast<DType>(5), static_cast<DType>(99), static_cast<DType>(1000)}) {
    EXPECT_THROW(type_kernels(t), std::invalid_argument) << static_cast<int>(t);
  }
  try {
    type_kernels(DType::IQ2_XXS);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("iq2_xxs"), std::string::npos) << e.what();
  }
  float out[256];
  uint8_t in[512] = {};
  EXPECT_THROW(dequantize_row(DType::IQ2_XXS, in, out, 256), std::invalid_argument);
  EXPECT_THROW(quantize_row(DType::Q8_1, out, in, 32), std::invalid_argument);
  EXPECT_FALSE(has_quantizer(DType::Q8_1));
  EXPECT_FALSE(has_quantizer(DType::IQ2_XXS));
  EXPECT_FALSE(has_quantizer(static_cast<DType>(99)));
}

TEST(KernelTable, PartialBlocksThrow) {
  std::vector<float> f(512, 1.0f);
  std::vector<uint8_t> q(1024);
  EXPECT_THROW(quantize_row(DType::Q4_0, f.data(), q.data(), 48), std::invalid_argument);
  EXPECT_THROW(quantize_row(DType::Q4_K, f.data(), q.data(), 128), std::invalid_argument);
  EXPECT_THROW(dequantize_row(DType::Q6_K, q.data(), f.data(), 300), std::invalid_argument);
  EXPECT_THROW(dequantize_row(DType::Q8_0, q.data(), f.data(), -32), std::invalid_argument);
  try {
    dequantize_row(DType::Q5_K, q.data(), f.data(), 100);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("block size 256"), std::string::npos) << e.what();
  }
  // Float types have no block constraint.
  EXPECT_NO_THROW(quantize_row(DType::F16, f.data(), q.data(), 7));
  EXPECT_NO_THROW(dequantize_row(DType::BF16, q.data(), f.data(), 7));
}

}  // namespace
}  // namespace kindred
