// AVX-512 dot products for the K-quants against Q8_K activations, 64 values per vector.
// Sub-block scales vary every 16 or 32 values, so rather than vpdpbusd (which would leave
// per-lane sums still to be scaled) each vector takes vpmaddubsw (u8 levels × s8 activations
// → i16 pairs) and then VNNI's vpdpwssd against the scales permuted into matching i16 lanes:
// the scaling and accumulation are one instruction and the super-block stays in integers.
// Offsets and minimums go through the activation's bsums, as in the AVX2 kernels.
// GCC 12's AVX-512 headers trip -Wuninitialized on their own _mm512_undefined_* helpers
// (GCC bug 105593, fixed in 13); the pragma covers the header's code only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "tensor/quants_internal.h"

namespace kindred::kernels {
namespace {

inline float fp16(uint16_t h) { return _cvtsh_ss(h); }

inline __m512i load64(const void* p) { return _mm512_loadu_si512(p); }
inline __m256i load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m128i load16(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// Lane t's index into the scales: t / 8 (16 values per scale) or t / 16 (32 per scale).
alignas(64) constexpr int16_t kLaneDiv8[32] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                               2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
alignas(64) constexpr int16_t kLaneDiv16[32] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

// i16 scales (up to 16, in the low lanes of `scales`) spread over the 32 maddubs lanes of a
// 64-value vector, starting at scale `first`.
inline __m512i spread_scales(__m512i scales, const int16_t* lane_div, int first) {
  const __m512i idx = _mm512_add_epi16(load64(lane_div), _mm512_set1_epi16(static_cast<int16_t>(first)));
  return _mm512_permutexvar_epi16(idx, scales);
}

// acc += Σ over 64 values of level·x·scale (16 i32 lanes).
inline __m512i scaled_dot(__m512i acc, __m512i levels, const int8_t* xq, __m512i scale16) {
  return _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(levels, load64(xq)), scale16);
}

// 32 bytes then the same 32 bytes shifted right by `shift` bits (per 16-bit lane: callers
// mask so bits crossing from the neighbouring byte are never used).
inline __m512i with_shifted(__m256i v, int shift) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(v), _mm256_srl_epi16(v, _mm_cvtsi32_si128(shift)), 1);
}

inline float finish(__m512 acc) { return _mm512_reduce_add_ps(acc); }

inline float hsum256(__m256 v) {  // (Q2_K's minimums)
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Q4_K/Q5_K: the 8 scales as i16 lanes 0-7 (for spread_scales), and acc_m += dmin·Σ_j
// min_j·(bsum_2j + bsum_2j+1) with one hadd (bsum pairs) and one madd.
inline __m512i k4_scales_and_mins(const uint8_t* packed, const int16_t* bsums, float dmin, __m128& acc_m) {
  uint32_t words[4];
  unpack_scales_min_k4_words(packed, words);
  const __m256i sm16 = _mm256_cvtepu8_epi16(load16(words));  // lanes 0-7 scales, 8-15 mins
  const __m256i bs = load32(bsums);
  const __m128i pairs = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
  const __m128i msum = _mm_madd_epi16(pairs, _mm256_extracti128_si256(sm16, 1));
  acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(msum), acc_m);
  return _mm512_castsi256_si512(sm16);
}

inline float hsum128(__m128 s) {
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

}  // namespace

// Shapes for every function here: n values (a multiple of 256), w in the K-quant type,
// x in Q8_K.

// Value 128h + 32s + l is bits 2s of qs[32h + l]: [Q, Q>>2] gives values 128h + 0..63 in
// bits 0-1 and 128h + 64..127 in bits 4-5.
float vec_dot_q2_k_avx512(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ2_K*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  const __m512i three = _mm512_set1_epi8(3);
  const __m128i low4 = _mm_set1_epi8(0x0F);
  __m512 acc = _mm512_setzero_ps();
  __m256 acc_m = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const __m128i packed = load16(a[i].scales);
    const __m256i sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(packed, low4));
    const __m256i mn16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), low4));
    acc_m = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * fp16(a[i].dmin)),
                            _mm256_cvtepi32_ps(_mm256_madd_epi16(mn16, load32(b[i].bsums))), acc_m);
    const __m512i scales = _mm512_castsi256_si512(sc16);
    __m512i sumi[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};  // two dpwssd chains
    for (int h = 0; h < 2; ++h) {
      const __m512i q = with_shifted(load32(a[i].qs + 32 * h), 2);
      const __m512i v0 = _mm512_and_si512(q, three);
      const __m512i v1 = _mm512_and_si512(_mm512_srli_epi16(q, 4), three);
      sumi[0] = scaled_dot(sumi[0], v0, b[i].qs + 128 * h, spread_scales(scales, kLaneDiv8, 8 * h));
      sumi[1] = scaled_dot(sumi[1], v1, b[i].qs + 128 * h + 64, spread_scales(scales, kLaneDiv8, 8 * h + 4));
    }
    acc = _mm512_fmadd_ps(_mm512_set1_ps(b[i].d * fp16(a[i].d)), _mm512_cvtepi32_ps(_mm512_add_epi32(sumi[0], sumi[1])), acc);
  }
  return finish(acc) - hsum256(acc_m);
}

// Levels as unsigned low2 + 4·high (0..7); the -4 comes off as 4·Σscale·bsum.
float vec_dot_q3_k_avx512(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ3_K*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  const __m512i three = _mm512_set1_epi8(3);
  const __m512i four = _mm512_set1_epi8(4);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < n / QK_K; ++i) {
    uint32_t words[4];
    unpack_scales_q3_k_words(a[i].scales, words);
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_sub_epi8(load16(words), _mm_set1_epi8(32)));
    const __m256i offset = _mm256_madd_epi16(sc16, load32(b[i].bsums));
    const __m512i scales = _mm512_castsi256_si512(sc16);
    // Bit k of hmask[l] is value 32k + l: [hm, hm>>1] puts 64-value group g's bits at 2g.
    const __m512i hm = with_shifted(load32(a[i].hmask), 1);
    __m512i sumi[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};  // two dpwssd chains
    for (int h = 0; h < 2; ++h) {
      const __m512i q = with_shifted(load32(a[i].qs + 32 * h), 2);
      for (int k = 0; k < 2; ++k) {
        const int g = 2 * h + k;
        __m512i v = _mm512_and_si512(k == 0 ? q : _mm512_srli_epi16(q, 4), three);
        const __mmask64 high = _mm512_test_epi8_mask(hm, _mm512_set1_epi8(static_cast<char>(1 << (2 * g))));
        v = _mm512_mask_add_epi8(v, high, v, four);
        sumi[k] = scaled_dot(sumi[k], v, b[i].qs + 64 * g, spread_scales(scales, kLaneDiv8, 4 * g));
      }
    }
    const __m512i total = _mm512_sub_epi32(_mm512_add_epi32(sumi[0], sumi[1]), _mm512_zextsi256_si512(_mm256_slli_epi32(offset, 2)));
    acc = _mm512_fmadd_ps(_mm512_set1_ps(b[i].d * fp16(a[i].d)), _mm512_cvtepi32_ps(total), acc);
  }
  return finish(acc);
}

// 32 qs bytes → [low nibbles, high nibbles] = sub-blocks 2c and 2c+1, matching x[64c..64c+63].
float vec_dot_q4_k_avx512(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ4_K*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  __m512 acc = _mm512_setzero_ps();
  __m128 acc_m = _mm_setzero_ps();
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const __m512i scales = k4_scales_and_mins(a[i].scales, b[i].bsums, b[i].d * fp16(a[i].dmin), acc_m);
    __m512i sumi[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};  // two dpwssd chains
    for (int c = 0; c < 4; ++c) {
      const __m512i v = _mm512_and_si512(with_shifted(load32(a[i].qs + 32 * c), 4), low4);
      sumi[c & 1] = scaled_dot(sumi[c & 1], v, b[i].qs + 64 * c, spread_scales(scales, kLaneDiv16, 2 * c));
    }
    acc = _mm512_fmadd_ps(_mm512_set1_ps(b[i].d * fp16(a[i].d)), _mm512_cvtepi32_ps(_mm512_add_epi32(sumi[0], sumi[1])), acc);
  }
  return finish(acc) - hsum128(acc_m);
}

// Q4_K plus the fifth bit: [qh, qh>>1] puts chunk c's two bits at bit 2c of each half.
float vec_dot_q5_k_avx512(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ5_K*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const __m512i sixteen = _mm512_set1_epi8(16);
  __m512 acc = _mm512_setzero_ps();
  __m128 acc_m = _mm_setzero_ps();
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const __m512i scales = k4_scales_and_mins(a[i].scales, b[i].bsums, b[i].d * fp16(a[i].dmin), acc_m);
    const __m512i qh = with_shifted(load32(a[i].qh), 1);
    __m512i sumi[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};  // two dpwssd chains
    for (int c = 0; c < 4; ++c) {
      __m512i v = _mm512_and_si512(with_shifted(load32(a[i].qs + 32 * c), 4), low4);
      const __mmask64 high = _mm512_test_epi8_mask(qh, _mm512_set1_epi8(static_cast<char>(1 << (2 * c))));
      v = _mm512_mask_add_epi8(v, high, v, sixteen);
      sumi[c & 1] = scaled_dot(sumi[c & 1], v, b[i].qs + 64 * c, spread_scales(scales, kLaneDiv16, 2 * c));
    }
    acc = _mm512_fmadd_ps(_mm512_set1_ps(b[i].d * fp16(a[i].d)), _mm512_cvtepi32_ps(_mm512_add_epi32(sumi[0], sumi[1])), acc);
  }
  return finish(acc) - hsum128(acc_m);
}

// 64 ql bytes: low nibbles are values 128h + 0..63, high nibbles 128h + 64..127; [qh, qh>>2]
// holds their top bits at bits 0-1 and 4-5. The +32 storage offset comes off as 32·Σscale·bsum.
float vec_dot_q6_k_avx512(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ6_K*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const __m512i three = _mm512_set1_epi8(3);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const __m256i sc16 = _mm256_cvtepi8_epi16(load16(a[i].scales));
    const __m256i offset = _mm256_madd_epi16(sc16, load32(b[i].bsums));
    const __m512i scales = _mm512_castsi256_si512(sc16);
    __m512i sumi[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};  // two dpwssd chains
    for (int h = 0; h < 2; ++h) {
      const __m512i ql = load64(a[i].ql + 64 * h);
      const __m512i qh = with_shifted(load32(a[i].qh + 32 * h), 2);
      const __m512i v0 = _mm512_or_si512(_mm512_and_si512(ql, low4), _mm512_slli_epi16(_mm512_and_si512(qh, three), 4));
      const __m512i v1 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low4),
                                         _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(qh, 4), three), 4));
      sumi[0] = scaled_dot(sumi[0], v0, b[i].qs + 128 * h, spread_scales(scales, kLaneDiv8, 8 * h));
      sumi[1] = scaled_dot(sumi[1], v1, b[i].qs + 128 * h + 64, spread_scales(scales, kLaneDiv8, 8 * h + 4));
    }
    const __m512i total = _mm512_sub_epi32(_mm512_add_epi32(sumi[0], sumi[1]), _mm512_zextsi256_si512(_mm256_slli_epi32(offset, 5)));
    acc = _mm512_fmadd_ps(_mm512_set1_ps(b[i].d * fp16(a[i].d)), _mm512_cvtepi32_ps(total), acc);
  }
  return finish(acc);
}

}  // namespace kindred::kernels
