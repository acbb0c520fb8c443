// AVX-512 (F/BW/VL/DQ + VNNI, and BF16 where present) dot products for the float types and
// the legacy 32-value block quants. The quants handle two blocks per 512-bit vector and take
// their integer dots with VNNI's vpdpbusd (u8 × s8, four products summed into each i32 lane),
// so unsigned levels are used directly and a signed offset (-8, -16) comes off as
// offset·Σx, itself one vpdpbusd against a constant. The per-block fp16 scales, which cost as
// much as the integer work when converted one by one, are picked out of eight blocks at a time
// with vpermw and converted together. An odd last block goes to the AVX2 kernel.
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

inline __m512i dpbusd(__m512i u8, __m512i s8) { return _mm512_dpbusd_epi32(_mm512_setzero_si512(), u8, s8); }

// The activation quants of blocks i and i+1 (32 bytes each) in one vector.
inline __m512i load_2x32(const int8_t* lo, const int8_t* hi) {
  const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lo));
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(hi));
  return _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
}

// Two 16-byte nibble arrays as 64 levels in block order: [q0 low, q0 high, q1 low, q1 high].
inline __m512i unpack_nibbles_2(const uint8_t* q0, const uint8_t* q1) {
  const __m256i both = _mm256_set_m128i(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q1)),
                                        _mm_loadu_si128(reinterpret_cast<const __m128i*>(q0)));
  const __m512i wide = _mm512_inserti64x4(_mm512_castsi256_si512(both), _mm256_srli_epi16(both, 4), 1);
  // wide's 128-bit lanes are [q0, q1, q0>>4, q1>>4]; reorder to [q0, q0>>4, q1, q1>>4].
  return _mm512_and_si512(_mm512_shuffle_i64x2(wide, wide, _MM_SHUFFLE(3, 1, 2, 0)), _mm512_set1_epi8(0x0F));
}

// Fifth bits of blocks i and i+1: bit j of each qh is value j, so the two words form a
// byte mask in vector order.
inline __mmask64 fifth_bits_2(const uint8_t* qh0, const uint8_t* qh1) {
  uint32_t h0, h1;
  std::memcpy(&h0, qh0, sizeof h0);
  std::memcpy(&h1, qh1, sizeof h1);
  return _cvtu64_mask64(static_cast<uint64_t>(h0) | (static_cast<uint64_t>(h1) << 32));
}

// Per-block scale for both halves: lanes 0-7 get s0, lanes 8-15 s1.
inline __m512 scale_2(float s0, float s1) {
  return _mm512_insertf32x8(_mm512_set1_ps(s0), _mm256_set1_ps(s1), 1);
}

struct HalfIndex {
  alignas(64) int16_t v[32];
};

constexpr __mmask64 first_bytes(int n) { return n >= 64 ? ~0ull : (1ull << n) - 1; }

// The fp16 fields of four consecutive blocks (p points at the first one's field, blocks are
// kStride bytes long) in the low 64 bits. Masked loads read only the bytes spanned, so the
// last blocks of a row never read past it.
template <int kStride>
inline __m128i pick4_fp16(const void* p) {
  static_assert(kStride % 2 == 0);
  constexpr int span = 3 * kStride + 2;
  static_assert(span <= 128);
  static constexpr HalfIndex idx = {{0, kStride / 2, kStride, 3 * kStride / 2}};
  const auto* bytes = static_cast<const uint8_t*>(p);
  const __m512i lo = _mm512_maskz_loadu_epi8(first_bytes(span), bytes);
  if constexpr (span <= 64) {
    return _mm512_castsi512_si128(_mm512_permutexvar_epi16(_mm512_load_si512(idx.v), lo));
  } else {
    const __m512i hi = _mm512_maskz_loadu_epi8(first_bytes(span - 64), bytes + 64);
    return _mm512_castsi512_si128(_mm512_permutex2var_epi16(lo, _mm512_load_si512(idx.v), hi));
  }
}

// The same field of eight consecutive blocks as floats.
template <int kStride>
inline __m256 load8_fp16(const void* p) {
  const auto* bytes = static_cast<const uint8_t*>(p);
  return _mm256_cvtph_ps(_mm_unpacklo_epi64(pick4_fp16<kStride>(bytes), pick4_fp16<kStride>(bytes + 4 * kStride)));
}

// Lanes 0-7 scale 2k, lanes 8-15 scale 2k+1 of eight per-block scales.
inline __m512 pair_scale(__m256 scales8, int k) {
  const __m512i idx = _mm512_add_epi32(_mm512_set1_epi32(2 * k),
                                       _mm512_srli_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), 3));
  return _mm512_permutexvar_ps(idx, _mm512_castps256_ps512(scales8));
}

// Integer sums of a pair of blocks: levels·x in lanes 0-7 / 8-15 and, for the types with a
// minimum, Σx in the same layout.
struct PairSums {
  __m512i dot;
  __m512i xsum;
};

// The shared loop of the legacy quants: eight blocks per step (four pairs sharing one
// scale conversion), then pairs, then an odd block through the AVX2 kernel (`tail`).
// pair(j) gives the integer sums of blocks j, j+1; with kHasMin, m·dx·Σx is added too.
template <typename Block, bool kHasMin, typename Pair>
float legacy_dot(const Block* a, const BlockQ8_0* b, int64_t nb, Pair pair,
                 float (*tail)(int64_t, const void*, const void*)) {
  constexpr int kW = sizeof(Block);
  constexpr int kX = sizeof(BlockQ8_0);
  __m512 acc = _mm512_setzero_ps(), acc_m = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= nb; i += 8) {
    const __m256 dx = load8_fp16<kX>(&b[i].d);
    const __m256 d = _mm256_mul_ps(load8_fp16<kW>(&a[i].d), dx);
    __m256 m = _mm256_setzero_ps();
    if constexpr (kHasMin) m = _mm256_mul_ps(load8_fp16<kW>(&a[i].m), dx);
    for (int k = 0; k < 4; ++k) {
      const PairSums s = pair(i + 2 * k);
      acc = _mm512_fmadd_ps(pair_scale(d, k), _mm512_cvtepi32_ps(s.dot), acc);
      if constexpr (kHasMin) acc_m = _mm512_fmadd_ps(pair_scale(m, k), _mm512_cvtepi32_ps(s.xsum), acc_m);
    }
  }
  for (; i + 2 <= nb; i += 2) {
    const float dx0 = fp16(b[i].d), dx1 = fp16(b[i + 1].d);
    const PairSums s = pair(i);
    acc = _mm512_fmadd_ps(scale_2(fp16(a[i].d) * dx0, fp16(a[i + 1].d) * dx1), _mm512_cvtepi32_ps(s.dot), acc);
    if constexpr (kHasMin) {
      acc_m = _mm512_fmadd_ps(scale_2(fp16(a[i].m) * dx0, fp16(a[i + 1].m) * dx1), _mm512_cvtepi32_ps(s.xsum), acc_m);
    }
  }
  float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc, acc_m));
  static_assert(QK4_0 == QK8_0 && QK4_1 == QK8_0 && QK5_0 == QK8_0 && QK5_1 == QK8_0);
  if (i < nb) sum += tail(QK8_0, a + i, b + i);  // one block
  return sum;
}

}  // namespace

// Shapes for every function here: n values (any n for the float types, a multiple of 32 for
// the quants), w in the weight type, x in its vec_dot_type (same type / Q8_0).

float vec_dot_f32_avx512(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const float*>(w);
  const auto* b = static_cast<const float*>(x);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
    acc2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), acc2);
    acc3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), acc3);
  }
  for (; i < n; i += 16) {  // masked loads read nothing past n
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1);
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

float vec_dot_f16_avx512(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const uint16_t*>(w);
  const auto* b = static_cast<const uint16_t*>(x);
  auto load = [](const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); };
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(load(a + i), load(b + i), acc0);
    acc1 = _mm512_fmadd_ps(load(a + i + 16), load(b + i + 16), acc1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1);
    acc0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, a + i)),
                           _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, b + i)), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

// vdpbf16ps: 32 bf16 pairs per instruction, accumulating in f32.
float vec_dot_bf16_avx512(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const uint16_t*>(w);
  const auto* b = static_cast<const uint16_t*>(x);
  auto bh = [](__m512i v) { return (__m512bh)v; };  // same bits, bf16 pair view
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc0 = _mm512_dpbf16_ps(acc0, bh(_mm512_loadu_si512(a + i)), bh(_mm512_loadu_si512(b + i)));
    acc1 = _mm512_dpbf16_ps(acc1, bh(_mm512_loadu_si512(a + i + 32)), bh(_mm512_loadu_si512(b + i + 32)));
  }
  for (; i < n; i += 32) {
    const __mmask32 m = n - i >= 32 ? static_cast<__mmask32>(0xFFFFFFFFu) : static_cast<__mmask32>((1u << (n - i)) - 1);
    acc0 = _mm512_dpbf16_ps(acc0, bh(_mm512_maskz_loadu_epi16(m, a + i)), bh(_mm512_maskz_loadu_epi16(m, b + i)));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

// Same result without AVX512_BF16: widen bf16 to f32 (a shift) and FMA.
float vec_dot_bf16_avx512_nobf16(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const uint16_t*>(w);
  const auto* b = static_cast<const uint16_t*>(x);
  auto widen = [](__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); };
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i))),
                           widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i))), acc0);
    acc1 = _mm512_fmadd_ps(widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i + 16))),
                           widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i + 16))), acc1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1);
    acc0 = _mm512_fmadd_ps(widen(_mm256_maskz_loadu_epi16(m, a + i)), widen(_mm256_maskz_loadu_epi16(m, b + i)), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

// Signed × signed: vpdpbusd needs an unsigned side, so take |w| and move w's sign onto x.
float vec_dot_q8_0_avx512(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ8_0*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  return legacy_dot<BlockQ8_0, false>(a, b, n / QK8_0, [&](int64_t j) {
    const __m512i wq = load_2x32(a[j].qs, a[j + 1].qs);
    const __m512i xq = load_2x32(b[j].qs, b[j + 1].qs);
    const __m512i xs = _mm512_mask_sub_epi8(xq, _mm512_movepi8_mask(wq), _mm512_setzero_si512(), xq);
    return PairSums{dpbusd(_mm512_abs_epi8(wq), xs), _mm512_setzero_si512()};
  }, vec_dot_q8_0_avx2);
}

float vec_dot_q4_0_avx512(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ4_0*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  const __m512i eight = _mm512_set1_epi8(8);
  return legacy_dot<BlockQ4_0, false>(a, b, n / QK4_0, [&](int64_t j) {
    const __m512i xq = load_2x32(b[j].qs, b[j + 1].qs);
    const __m512i p = _mm512_sub_epi32(dpbusd(unpack_nibbles_2(a[j].qs, a[j + 1].qs), xq), dpbusd(eight, xq));
    return PairSums{p, _mm512_setzero_si512()};
  }, vec_dot_q4_0_avx2);
}

float vec_dot_q4_1_avx512(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ4_1*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  const __m512i ones = _mm512_set1_epi8(1);
  return legacy_dot<BlockQ4_1, true>(a, b, n / QK4_1, [&](int64_t j) {
    const __m512i xq = load_2x32(b[j].qs, b[j + 1].qs);
    return PairSums{dpbusd(unpack_nibbles_2(a[j].qs, a[j + 1].qs), xq), dpbusd(ones, xq)};
  }, vec_dot_q4_1_avx2);
}

float vec_dot_q5_0_avx512(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ5_0*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  const __m512i sixteen = _mm512_set1_epi8(16);
  return legacy_dot<BlockQ5_0, false>(a, b, n / QK5_0, [&](int64_t j) {
    const __m512i xq = load_2x32(b[j].qs, b[j + 1].qs);
    __m512i q = unpack_nibbles_2(a[j].qs, a[j + 1].qs);
    q = _mm512_mask_add_epi8(q, fifth_bits_2(a[j].qh, a[j + 1].qh), q, sixteen);
    return PairSums{_mm512_sub_epi32(dpbusd(q, xq), dpbusd(sixteen, xq)), _mm512_setzero_si512()};
  }, vec_dot_q5_0_avx2);
}

float vec_dot_q5_1_avx512(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ5_1*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  const __m512i ones = _mm512_set1_epi8(1);
  const __m512i sixteen = _mm512_set1_epi8(16);
  return legacy_dot<BlockQ5_1, true>(a, b, n / QK5_1, [&](int64_t j) {
    const __m512i xq = load_2x32(b[j].qs, b[j + 1].qs);
    __m512i q = unpack_nibbles_2(a[j].qs, a[j + 1].qs);
    q = _mm512_mask_add_epi8(q, fifth_bits_2(a[j].qh, a[j + 1].qh), q, sixteen);
    return PairSums{dpbusd(q, xq), dpbusd(ones, xq)};
  }, vec_dot_q5_1_avx2);
}

}  // namespace kindred::kernels
