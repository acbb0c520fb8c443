// Private to src/tensor (and the kernel tests): the kernel functions that quants.cpp assembles
// into per-ISA tables, and the few bit-unpacking helpers several kernel files share.
//
// Naming: to_float_<type> / quantize_<type> are scalar only (they are not on the hot path);
// vec_dot_<type>_<isa> exist per ISA. Every vec_dot takes n values (a multiple of the block
// size), w in the weight type and x in that type's vec_dot_type, and returns w · x.
//
// Helpers here are `static inline` on purpose: the *_avx2.cpp / *_avx512.cpp files compile
// them with wider ISA flags, and internal linkage keeps those copies from being merged with
// (and replacing) the baseline copies that the scalar code calls.
#pragma once
#include <cstdint>
#include <cstring>

#include "tensor/dtype.h"

namespace kindred::kernels {

// ---- scalar: conversions (quants_scalar.cpp, quants_scalar_k.cpp) ----
void to_float_f32(const void* src, float* dst, int64_t n);
void to_float_f16(const void* src, float* dst, int64_t n);
void to_float_bf16(const void* src, float* dst, int64_t n);
void to_float_q4_0(const void* src, float* dst, int64_t n);
void to_float_q4_1(const void* src, float* dst, int64_t n);
void to_float_q5_0(const void* src, float* dst, int64_t n);
void to_float_q5_1(const void* src, float* dst, int64_t n);
void to_float_q8_0(const void* src, float* dst, int64_t n);
void to_float_q2_k(const void* src, float* dst, int64_t n);
void to_float_q3_k(const void* src, float* dst, int64_t n);
void to_float_q4_k(const void* src, float* dst, int64_t n);
void to_float_q5_k(const void* src, float* dst, int64_t n);
void to_float_q6_k(const void* src, float* dst, int64_t n);
void to_float_q8_k(const void* src, float* dst, int64_t n);

// ---- scalar: quantizers, ggml's reference round-to-nearest semantics ----
void quantize_f32(const float* src, void* dst, int64_t n);
void quantize_f16(const float* src, void* dst, int64_t n);
void quantize_bf16(const float* src, void* dst, int64_t n);
void quantize_q4_0(const float* src, void* dst, int64_t n);
void quantize_q4_1(const float* src, void* dst, int64_t n);
void quantize_q5_0(const float* src, void* dst, int64_t n);
void quantize_q5_1(const float* src, void* dst, int64_t n);
void quantize_q8_0(const float* src, void* dst, int64_t n);
void quantize_q8_k(const float* src, void* dst, int64_t n);
void quantize_q2_k(const float* src, void* dst, int64_t n);  // quants_scalar_kquantize.cpp
void quantize_q3_k(const float* src, void* dst, int64_t n);
void quantize_q4_k(const float* src, void* dst, int64_t n);
void quantize_q5_k(const float* src, void* dst, int64_t n);
void quantize_q6_k(const float* src, void* dst, int64_t n);

// ---- dot products; the scalar ones are the reference the SIMD ones are tested against ----
#define KINDRED_DECLARE_VEC_DOTS(isa)                                   \
  float vec_dot_f32_##isa(int64_t n, const void* w, const void* x);    \
  float vec_dot_f16_##isa(int64_t n, const void* w, const void* x);    \
  float vec_dot_bf16_##isa(int64_t n, const void* w, const void* x);   \
  float vec_dot_q4_0_##isa(int64_t n, const void* w, const void* x);   \
  float vec_dot_q4_1_##isa(int64_t n, const void* w, const void* x);   \
  float vec_dot_q5_0_##isa(int64_t n, const void* w, const void* x);   \
  float vec_dot_q5_1_##isa(int64_t n, const void* w, const void* x);   \
  float vec_dot_q8_0_##isa(int64_t n, const void* w, const void* x);   \
  float vec_dot_q2_k_##isa(int64_t n, const void* w, const void* x);   \
  float vec_dot_q3_k_##isa(int64_t n, const void* w, const void* x);   \
  float vec_dot_q4_k_##isa(int64_t n, const void* w, const void* x);   \
  float vec_dot_q5_k_##isa(int64_t n, const void* w, const void* x);   \
  float vec_dot_q6_k_##isa(int64_t n, const void* w, const void* x);
KINDRED_DECLARE_VEC_DOTS(scalar)
KINDRED_DECLARE_VEC_DOTS(avx2)
KINDRED_DECLARE_VEC_DOTS(avx512)
#undef KINDRED_DECLARE_VEC_DOTS
// AVX-512 BF16 dot without the AVX512_BF16 extension (shift-to-f32 and FMA), for CPUs that
// have AVX-512 VNNI but not BF16 (Ice Lake).
float vec_dot_bf16_avx512_nobf16(int64_t n, const void* w, const void* x);

// ---- shared helpers ----

// Round to nearest, ties to even, for |f| < 2^22: adding 1.5·2^23 leaves the rounded integer
// in the low mantissa bits (the FPU's default rounding does the work, no libm call).
static inline int nearest_int(float f) {
  const float biased = f + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &biased, sizeof bits);
  return (bits & 0x007fffff) - 0x00400000;
}

// Q4_K/Q5_K pack 8 six-bit scales and 8 six-bit mins into 12 bytes: bytes 0-3 hold scales 0-3
// (low 6 bits) and bytes 4-7 mins 0-3; bytes 8-11 hold the low nibbles of scales 4-7 and the
// high nibbles of mins 4-7, whose top two bits sit in the top bits of bytes 0-3 / 4-7.
static inline void unpack_scales_min_k4(const uint8_t* s, uint8_t sc[8], uint8_t mn[8]) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = s[j] & 63;
    mn[j] = s[j + 4] & 63;
    sc[j + 4] = static_cast<uint8_t>((s[j + 8] & 0x0F) | ((s[j] >> 6) << 4));
    mn[j + 4] = static_cast<uint8_t>((s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4));
  }
}

// The same unpacking four values at a time, for the SIMD kernels: out = {scales 0-3,
// scales 4-7, mins 0-3, mins 4-7}, one value per byte (little-endian), so the 16 bytes are
// the 8 scales followed by the 8 mins.
static inline void unpack_scales_min_k4_words(const uint8_t* s, uint32_t out[4]) {
  uint32_t w[3];
  std::memcpy(w, s, sizeof w);
  out[0] = w[0] & 0x3f3f3f3fu;
  out[1] = (w[2] & 0x0f0f0f0fu) | (((w[0] >> 6) & 0x03030303u) << 4);
  out[2] = w[1] & 0x3f3f3f3fu;
  out[3] = ((w[2] >> 4) & 0x0f0f0f0fu) | (((w[1] >> 6) & 0x03030303u) << 4);
}

// Q3_K packs 16 six-bit scales (stored +32) in 12 bytes: the low nibbles of scales 0-7 and then
// 8-15 in bytes 0-7 (low, then high nibble), the top two bits of scale j in byte 8 + j%4 at
// bit 2·(j/4). Returns the signed scales.
static inline void unpack_scales_q3_k(const uint8_t* s, int8_t sc[16]) {
  for (int j = 0; j < 16; ++j) {
    const int low = j < 8 ? (s[j] & 0x0F) : (s[j - 8] >> 4);
    const int high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    sc[j] = static_cast<int8_t>((low | (high << 4)) - 32);
  }
}

// The same four scales at a time, for the SIMD kernels: out holds scales 0-15 one per byte,
// still stored +32 (the kernels subtract 32 in-vector).
static inline void unpack_scales_q3_k_words(const uint8_t* s, uint32_t out[4]) {
  uint32_t w[3];
  std::memcpy(w, s, sizeof w);
  out[0] = (w[0] & 0x0f0f0f0fu) | (((w[2] >> 0) & 0x03030303u) << 4);
  out[1] = (w[1] & 0x0f0f0f0fu) | (((w[2] >> 2) & 0x03030303u) << 4);
  out[2] = ((w[0] >> 4) & 0x0f0f0f0fu) | (((w[2] >> 4) & 0x03030303u) << 4);
  out[3] = ((w[1] >> 4) & 0x0f0f0f0fu) | (((w[2] >> 6) & 0x03030303u) << 4);
}

}  // namespace kindred::kernels
