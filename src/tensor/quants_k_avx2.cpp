// AVX2 dot products for the K-quants against Q8_K activations. Each 32-value vector of levels
// goes through maddubs (u8 levels × s8 activations → i16 pairs) and madd against its
// sub-block scales (→ i32), so a whole super-block accumulates in integers and is converted
// and scaled once. Signed offsets (Q3_K's -4, Q6_K's -32) and Q2_K/Q4_K/Q5_K's minimums are
// applied through the activation's per-16 sums (bsums), keeping the levels unsigned.
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
inline __m128i load16(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// Byte-shuffle controls: for vector g (values 32g..32g+31), bytes 0-7 pick scale 2g and
// bytes 8-15 scale 2g+1, so after widening to i16 lanes 0-7 / 8-15 match the maddubs pairs
// of the first / second 16 values.
alignas(16) constexpr uint8_t kScalePairs[8][16] = {
    {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1},         {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3},
    {4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5},         {6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7},
    {8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9},         {10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11},
    {12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13}, {14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15},
};

// Scales (16 signed bytes) for vector g as 16 i16 lanes.
inline __m256i scale_pair_i8(__m128i scales, int g) {
  return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, load16(kScalePairs[g])));
}

// Σ over 32 values of level·x·scale, as 8 i32 partial sums.
inline __m256i scaled_dot(__m256i levels, const int8_t* xq, __m256i scale16) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(levels, load32(xq)), scale16);
}

// `value` in every byte where (byte & mask) == mask, 0 elsewhere.
inline __m256i bit_to(__m256i bytes, uint8_t mask, char value) {
  const __m256i m = _mm256_set1_epi8(static_cast<char>(mask));
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(bytes, m), m), _mm256_set1_epi8(value));
}

// Q4_K/Q5_K minimums: Σ_j min_j·(bsum_2j + bsum_2j+1) from one hadd (pair sums) and one madd.
inline __m128i k4_min_sums(const __m128i scales_mins, const int16_t* bsums) {
  const __m256i bs = load32(bsums);
  const __m128i pairs = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
  return _mm_madd_epi16(pairs, _mm_cvtepu8_epi16(_mm_srli_si128(scales_mins, 8)));
}

// Q4_K/Q5_K scale j (from unpack_scales_min_k4_words) in every i16 lane.
inline __m256i k4_scale(const uint32_t* words, int j) {
  return _mm256_set1_epi16(static_cast<int16_t>((words[j / 4] >> (8 * (j % 4))) & 0xff));
}

inline float hsum128(__m128 s) {
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

}  // namespace

// Shapes for every function here: n values (a multiple of 256), w in the K-quant type,
// x in Q8_K.

float vec_dot_q2_k_avx2(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ2_K*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  const __m256i three = _mm256_set1_epi8(3);
  const __m128i low4 = _mm_set1_epi8(0x0F);
  __m256 acc = _mm256_setzero_ps(), acc_m = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const __m128i packed = load16(a[i].scales);
    const __m128i scales = _mm_and_si128(packed, low4);
    const __m128i mins = _mm_and_si128(_mm_srli_epi16(packed, 4), low4);
    const __m256i msum = _mm256_madd_epi16(_mm256_cvtepu8_epi16(mins), load32(b[i].bsums));
    acc_m = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * fp16(a[i].dmin)), _mm256_cvtepi32_ps(msum), acc_m);
    __m256i sumi = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i q = load32(a[i].qs + 32 * h);
      for (int s = 0; s < 4; ++s) {
        const int g = 4 * h + s;
        const __m256i levels = _mm256_and_si256(_mm256_srl_epi16(q, _mm_cvtsi32_si128(2 * s)), three);
        sumi = _mm256_add_epi32(sumi, scaled_dot(levels, b[i].qs + 32 * g, scale_pair_i8(scales, g)));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * fp16(a[i].d)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum(acc) - hsum(acc_m);
}

// level = low2 | high << 2, minus 4: sum with unsigned (low2 | high << 2), subtract 4·Σscale·bsum.
float vec_dot_q3_k_avx2(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ3_K*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  const __m256i three = _mm256_set1_epi8(3);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / QK_K; ++i) {
    uint32_t words[4];
    unpack_scales_q3_k_words(a[i].scales, words);
    const __m128i scales = _mm_sub_epi8(load16(words), _mm_set1_epi8(32));
    const __m256i offset = _mm256_madd_epi16(_mm256_cvtepi8_epi16(scales), load32(b[i].bsums));
    const __m256i hm = load32(a[i].hmask);
    __m256i sumi = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i q = load32(a[i].qs + 32 * h);
      for (int s = 0; s < 4; ++s) {
        const int g = 4 * h + s;
        __m256i levels = _mm256_and_si256(_mm256_srl_epi16(q, _mm_cvtsi32_si128(2 * s)), three);
        levels = _mm256_or_si256(levels, bit_to(hm, static_cast<uint8_t>(1u << g), 4));
        sumi = _mm256_add_epi32(sumi, scaled_dot(levels, b[i].qs + 32 * g, scale_pair_i8(scales, g)));
      }
    }
    sumi = _mm256_sub_epi32(sumi, _mm256_slli_epi32(offset, 2));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * fp16(a[i].d)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum(acc);
}

float vec_dot_q4_k_avx2(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ4_K*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  __m256 acc = _mm256_setzero_ps();
  __m128 acc_m = _mm_setzero_ps();
  for (int64_t i = 0; i < n / QK_K; ++i) {
    uint32_t words[4];
    unpack_scales_min_k4_words(a[i].scales, words);
    const __m128i msum = k4_min_sums(load16(words), b[i].bsums);
    acc_m = _mm_fmadd_ps(_mm_set1_ps(b[i].d * fp16(a[i].dmin)), _mm_cvtepi32_ps(msum), acc_m);
    __m256i sumi = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i q = load32(a[i].qs + 32 * c);
      const __m256i lo = _mm256_and_si256(q, low4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
      sumi = _mm256_add_epi32(sumi, scaled_dot(lo, b[i].qs + 64 * c, k4_scale(words, 2 * c)));
      sumi = _mm256_add_epi32(sumi, scaled_dot(hi, b[i].qs + 64 * c + 32, k4_scale(words, 2 * c + 1)));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * fp16(a[i].d)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum(acc) - hsum128(acc_m);
}

float vec_dot_q5_k_avx2(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ5_K*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  __m256 acc = _mm256_setzero_ps();
  __m128 acc_m = _mm_setzero_ps();
  for (int64_t i = 0; i < n / QK_K; ++i) {
    uint32_t words[4];
    unpack_scales_min_k4_words(a[i].scales, words);
    const __m128i msum = k4_min_sums(load16(words), b[i].bsums);
    acc_m = _mm_fmadd_ps(_mm_set1_ps(b[i].d * fp16(a[i].dmin)), _mm_cvtepi32_ps(msum), acc_m);
    const __m256i qh = load32(a[i].qh);
    __m256i sumi = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i q = load32(a[i].qs + 32 * c);
      const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, low4), bit_to(qh, static_cast<uint8_t>(1u << (2 * c)), 0x10));
      const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), low4),
                                         bit_to(qh, static_cast<uint8_t>(2u << (2 * c)), 0x10));
      sumi = _mm256_add_epi32(sumi, scaled_dot(lo, b[i].qs + 64 * c, k4_scale(words, 2 * c)));
      sumi = _mm256_add_epi32(sumi, scaled_dot(hi, b[i].qs + 64 * c + 32, k4_scale(words, 2 * c + 1)));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * fp16(a[i].d)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum(acc) - hsum128(acc_m);
}

// Levels are 0..63 (stored +32): sum them unsigned, subtract 32·Σscale·bsum.
float vec_dot_q6_k_avx2(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ6_K*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i three = _mm256_set1_epi8(3);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const __m128i scales = load16(a[i].scales);
    const __m256i offset = _mm256_madd_epi16(_mm256_cvtepi8_epi16(scales), load32(b[i].bsums));
    __m256i sumi = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = load32(a[i].ql + 64 * h);
      const __m256i ql1 = load32(a[i].ql + 64 * h + 32);
      const __m256i qh = load32(a[i].qh + 32 * h);
      // Top two bits for the four 32-value groups, moved to bits 4-5.
      const __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(qh, three), 4);
      const __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), three), 4);
      const __m256i h2 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), three), 4);
      const __m256i h3 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), three), 4);
      const __m256i v[4] = {
          _mm256_or_si256(_mm256_and_si256(ql0, low4), h0),
          _mm256_or_si256(_mm256_and_si256(ql1, low4), h1),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4), h2),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4), h3),
      };
      for (int k = 0; k < 4; ++k) {
        const int g = 4 * h + k;
        sumi = _mm256_add_epi32(sumi, scaled_dot(v[k], b[i].qs + 32 * g, scale_pair_i8(scales, g)));
      }
    }
    sumi = _mm256_sub_epi32(sumi, _mm256_slli_epi32(offset, 5));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * fp16(a[i].d)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum(acc);
}

}  // namespace kindred::kernels
