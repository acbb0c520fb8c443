// AVX2 + FMA + F16C dot products for the float types and the legacy 32-value block quants.
// Integer parts use maddubs (u8 × s8 pairs to i16) and madd (i16 pairs to i32); each block's
// i32 lanes are converted once and scaled by d_w·d_x with an FMA.
#include <immintrin.h>

#include "tensor/quants_internal.h"

namespace kindred::kernels {
namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float fp16(uint16_t h) { return _cvtsh_ss(h); }

inline __m256i load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// The 32 nibbles of a 16-byte legacy block as bytes 0..15: low nibbles (values 0-15) then
// high nibbles (values 16-31), matching the activation block's order.
inline __m256i unpack_nibbles(const uint8_t* qs) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0F));
}

// 0xFF in byte j where bit j of the 32-bit qh is set: broadcast qh, give each byte its source
// byte of qh (j / 8), then test bit j % 8 by OR-ing in every other bit and comparing to all-ones.
inline __m256i unpack_bits(const uint8_t qh[4]) {
  uint32_t bits;
  std::memcpy(&bits, qh, sizeof bits);
  const __m256i pick = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
  const __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), pick);
  const __m256i others = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe);  // byte k: all bits but k
  return _mm256_cmpeq_epi8(_mm256_or_si256(bytes, others), _mm256_set1_epi8(-1));
}

// Σ of 32 u8 × s8 products, as 8 i32 partial sums (|u·s| pairs stay below i16 saturation).
inline __m256i dot_u8_i8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// Σ of 32 s8 × s8 products: move a's sign onto b so maddubs sees |a| as unsigned.
// Needs b != -128 where a < 0; activations are quantized to [-127, 127].
inline __m256i dot_i8_i8(__m256i a, __m256i b) {
  return dot_u8_i8(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
}

// 8 consecutive bf16 as floats: bf16 is the top half of an f32.
inline __m256 load_bf16x8(const uint16_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

inline __m256 load_fp16x8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// Shared loop for the float types (n is any count): four accumulators hide FMA latency.
template <typename T, typename Load, typename Scalar>
float dot_float_like(int64_t n, const T* a, const T* b, Load load, Scalar to_f32) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm256_fmadd_ps(load(a + i), load(b + i), acc0);
    acc1 = _mm256_fmadd_ps(load(a + i + 8), load(b + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(load(a + i + 16), load(b + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(load(a + i + 24), load(b + i + 24), acc3);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(load(a + i), load(b + i), acc0);
  float sum = hsum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
  for (; i < n; ++i) sum += to_f32(a[i]) * to_f32(b[i]);
  return sum;
}

// The fp16 field of eight consecutive blocks (kStride bytes apart) as floats: assembled in
// general registers (AVX2 has no 16-bit permute) and converted with one vcvtph2ps, instead of
// one conversion per block.
template <int kStride>
inline __m256 load8_fp16(const void* p) {
  const auto* bytes = static_cast<const uint8_t*>(p);
  uint64_t lo = 0, hi = 0;
  for (int k = 0; k < 4; ++k) {
    uint16_t h0, h1;
    std::memcpy(&h0, bytes + k * kStride, sizeof h0);
    std::memcpy(&h1, bytes + (k + 4) * kStride, sizeof h1);
    lo |= static_cast<uint64_t>(h0) << (16 * k);
    hi |= static_cast<uint64_t>(h1) << (16 * k);
  }
  return _mm256_cvtph_ps(_mm_set_epi64x(static_cast<int64_t>(hi), static_cast<int64_t>(lo)));
}

// Integer sums of one block: levels·x (8 i32 lanes) and, for the types with a minimum, Σx.
struct BlockSums {
  __m256i dot;
  __m256i xsum;
};

// The shared loop of the legacy quants: scales for eight blocks at a time, two accumulators so
// neighbouring blocks' FMA chains overlap, then the last blocks one by one. sums(i) gives
// block i's integer sums; with kHasMin, m·dx·Σx is added as well.
template <typename Block, bool kHasMin, typename Sums>
float legacy_dot(const Block* a, const BlockQ8_0* b, int64_t nb, Sums sums) {
  constexpr int kW = sizeof(Block);
  constexpr int kX = sizeof(BlockQ8_0);
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  __m256 acc_m = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= nb; i += 8) {
    const __m256 dx = load8_fp16<kX>(&b[i].d);
    const __m256 d = _mm256_mul_ps(load8_fp16<kW>(&a[i].d), dx);
    __m256 m = _mm256_setzero_ps();
    if constexpr (kHasMin) m = _mm256_mul_ps(load8_fp16<kW>(&a[i].m), dx);
    for (int k = 0; k < 8; ++k) {
      const BlockSums s = sums(i + k);
      const __m256i lane = _mm256_set1_epi32(k);
      acc[k & 1] = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(d, lane), _mm256_cvtepi32_ps(s.dot), acc[k & 1]);
      if constexpr (kHasMin) acc_m = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(m, lane), _mm256_cvtepi32_ps(s.xsum), acc_m);
    }
  }
  for (; i < nb; ++i) {
    const float dx = fp16(b[i].d);
    const BlockSums s = sums(i);
    acc[0] = _mm256_fmadd_ps(_mm256_set1_ps(fp16(a[i].d) * dx), _mm256_cvtepi32_ps(s.dot), acc[0]);
    if constexpr (kHasMin) acc_m = _mm256_fmadd_ps(_mm256_set1_ps(fp16(a[i].m) * dx), _mm256_cvtepi32_ps(s.xsum), acc_m);
  }
  return hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), acc_m));
}

}  // namespace

// Shapes for every function here: n values (any n for the float types, a multiple of 32 for
// the quants), w in the weight type, x in its vec_dot_type (same type / Q8_0).

float vec_dot_f32_avx2(int64_t n, const void* w, const void* x) {
  return dot_float_like(
      n, static_cast<const float*>(w), static_cast<const float*>(x), [](const float* p) { return _mm256_loadu_ps(p); },
      [](float v) { return v; });
}

float vec_dot_f16_avx2(int64_t n, const void* w, const void* x) {
  return dot_float_like(n, static_cast<const uint16_t*>(w), static_cast<const uint16_t*>(x), load_fp16x8, fp16);
}

float vec_dot_bf16_avx2(int64_t n, const void* w, const void* x) {
  return dot_float_like(n, static_cast<const uint16_t*>(w), static_cast<const uint16_t*>(x), load_bf16x8, [](uint16_t h) {
    const uint32_t bits = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  });
}

float vec_dot_q8_0_avx2(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ8_0*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  return legacy_dot<BlockQ8_0, false>(a, b, n / QK8_0, [&](int64_t i) {
    return BlockSums{dot_i8_i8(load32(a[i].qs), load32(b[i].qs)), _mm256_setzero_si256()};
  });
}

float vec_dot_q4_0_avx2(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ4_0*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  const __m256i eight = _mm256_set1_epi8(8);
  return legacy_dot<BlockQ4_0, false>(a, b, n / QK4_0, [&](int64_t i) {
    const __m256i q = _mm256_sub_epi8(unpack_nibbles(a[i].qs), eight);
    return BlockSums{dot_i8_i8(q, load32(b[i].qs)), _mm256_setzero_si256()};
  });
}

// d·dx·Σq·x + m·dx·Σx, with Σx from maddubs against ones.
float vec_dot_q4_1_avx2(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ4_1*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  const __m256i ones = _mm256_set1_epi8(1);
  return legacy_dot<BlockQ4_1, true>(a, b, n / QK4_1, [&](int64_t i) {
    const __m256i xq = load32(b[i].qs);
    return BlockSums{dot_u8_i8(unpack_nibbles(a[i].qs), xq), dot_u8_i8(ones, xq)};
  });
}

// Level - 16 as a signed byte: the nibble, minus 16 where the fifth bit is clear (0xF0 | nib).
float vec_dot_q5_0_avx2(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ5_0*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  const __m256i f0 = _mm256_set1_epi8(static_cast<char>(0xF0));
  return legacy_dot<BlockQ5_0, false>(a, b, n / QK5_0, [&](int64_t i) {
    const __m256i q = _mm256_or_si256(unpack_nibbles(a[i].qs), _mm256_andnot_si256(unpack_bits(a[i].qh), f0));
    return BlockSums{dot_i8_i8(q, load32(b[i].qs)), _mm256_setzero_si256()};
  });
}

float vec_dot_q5_1_avx2(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ5_1*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  const __m256i ones = _mm256_set1_epi8(1);
  const __m256i b4 = _mm256_set1_epi8(0x10);
  return legacy_dot<BlockQ5_1, true>(a, b, n / QK5_1, [&](int64_t i) {
    const __m256i xq = load32(b[i].qs);
    const __m256i q = _mm256_or_si256(unpack_nibbles(a[i].qs), _mm256_and_si256(unpack_bits(a[i].qh), b4));
    return BlockSums{dot_u8_i8(q, xq), dot_u8_i8(ones, xq)};
  });
}

}  // namespace kindred::kernels
