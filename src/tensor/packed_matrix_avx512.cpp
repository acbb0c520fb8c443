// AVX-512 VNNI kernels for packed matrices (layout in packed_matrix.h): each 512-bit lane is one
// output row, so a block of 32 columns is 8 vpdpbusd (Q8_0) or 4 loads split into low and high
// nibbles (Q4_0) per token, against activation quants broadcast four at a time, followed by one
// scale multiply-add per token. Several tokens share every weight load (prefill).
// GCC 12's AVX-512 headers trip -Wuninitialized on their own _mm512_undefined_* helpers
// (GCC bug 105593, fixed in 13); the pragma covers the header's code only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstring>

#include "tensor/packed_kernels.h"

namespace kindred::kernels {
namespace {

// Bytes ahead of the loads to prefetch: the hardware streamer stops at each 4 KiB boundary,
// and a decode step reads each weight exactly once (prefill re-reads a group from cache instead).
constexpr int kPrefetchAhead = 2048;

inline __m512i broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return _mm512_set1_epi32(v);
}

// Q4 selects the nibble layout; NT tokens share each weight load. Two integer accumulators per
// token (even and odd column quads) halve the vpdpbusd dependency chain for decode.
template <bool Q4, int NT>
void tile(const uint8_t* group, int64_t blocks, const QuantizedActivations& x, int64_t t0, float* y, int64_t ldy,
          int valid_rows) {
  const size_t scale_bytes = (static_cast<size_t>(blocks) * kPackRows * 2 + 63) / 64 * 64;
  const auto* scales = group;
  const uint8_t* quants = group + scale_bytes;
  const int8_t* xq[NT];
  const float* xd[NT];
  const float* xs[NT];
  __m512 acc[NT], corr[NT];
  for (int t = 0; t < NT; ++t) {
    xq[t] = x.quants(t0 + t);
    xd[t] = x.scales(t0 + t);
    xs[t] = x.scaled_sums(t0 + t);
    acc[t] = _mm512_setzero_ps();
    corr[t] = _mm512_setzero_ps();
  }
  const __m512i low_nibbles = _mm512_set1_epi8(0x0F);
  for (int64_t b = 0; b < blocks; ++b) {
    const __m512 dw = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(scales + b * kPackRows * 2)));
    __m512i even[NT], odd[NT];
    for (int t = 0; t < NT; ++t) even[t] = odd[t] = _mm512_setzero_si512();
    if constexpr (Q4) {
      const uint8_t* c = quants + b * (kPackRows * kPackBlock / 2);
      for (int j = 0; j < 4; ++j) {
        if constexpr (NT == 1) _mm_prefetch(reinterpret_cast<const char*>(c + kPrefetchAhead + j * 64), _MM_HINT_T0);
        const __m512i v = _mm512_load_si512(c + j * 64);
        const __m512i lo = _mm512_and_si512(v, low_nibbles);
        const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low_nibbles);
        for (int t = 0; t < NT; ++t) {
          const int8_t* xb = xq[t] + b * kPackBlock;
          even[t] = _mm512_dpbusd_epi32(even[t], lo, broadcast4(xb + 4 * j));
          odd[t] = _mm512_dpbusd_epi32(odd[t], hi, broadcast4(xb + 16 + 4 * j));
        }
      }
    } else {
      const uint8_t* c = quants + b * (kPackRows * kPackBlock);
      for (int j = 0; j < 8; j += 2) {
        if constexpr (NT == 1) _mm_prefetch(reinterpret_cast<const char*>(c + kPrefetchAhead + j * 64), _MM_HINT_T0);
        if constexpr (NT == 1) _mm_prefetch(reinterpret_cast<const char*>(c + kPrefetchAhead + j * 64 + 64), _MM_HINT_T0);
        const __m512i v0 = _mm512_load_si512(c + j * 64);
        const __m512i v1 = _mm512_load_si512(c + (j + 1) * 64);
        for (int t = 0; t < NT; ++t) {
          const int8_t* xb = xq[t] + b * kPackBlock;
          even[t] = _mm512_dpbusd_epi32(even[t], v0, broadcast4(xb + 4 * j));
          odd[t] = _mm512_dpbusd_epi32(odd[t], v1, broadcast4(xb + 4 * j + 4));
        }
      }
    }
    for (int t = 0; t < NT; ++t) {
      const __m512 dot = _mm512_cvtepi32_ps(_mm512_add_epi32(even[t], odd[t]));
      acc[t] = _mm512_fmadd_ps(dot, _mm512_mul_ps(dw, _mm512_set1_ps(xd[t][b])), acc[t]);
      corr[t] = _mm512_fmadd_ps(dw, _mm512_set1_ps(xs[t][b]), corr[t]);
    }
  }
  const __m512 offset = _mm512_set1_ps(Q4 ? 8.0f : 128.0f);
  const __mmask16 mask = valid_rows >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << valid_rows) - 1);
  for (int t = 0; t < NT; ++t) _mm512_mask_storeu_ps(y + t * ldy, mask, _mm512_fnmadd_ps(offset, corr[t], acc[t]));
}

template <bool Q4>
void tile_any(const uint8_t* group, int64_t blocks, const QuantizedActivations& x, int64_t t0, int nt, float* y,
              int64_t ldy, int valid_rows) {
  switch (nt) {
    case 1: return tile<Q4, 1>(group, blocks, x, t0, y, ldy, valid_rows);
    case 2: return tile<Q4, 2>(group, blocks, x, t0, y, ldy, valid_rows);
    case 3: return tile<Q4, 3>(group, blocks, x, t0, y, ldy, valid_rows);
    default: return tile<Q4, 4>(group, blocks, x, t0, y, ldy, valid_rows);
  }
}

}  // namespace

void packed_tile_q8_0_avx512(const uint8_t* group, int64_t blocks, const QuantizedActivations& x, int64_t t0, int nt,
                             float* y, int64_t ldy, int valid_rows) {
  tile_any<false>(group, blocks, x, t0, nt, y, ldy, valid_rows);
}

void packed_tile_q4_0_avx512(const uint8_t* group, int64_t blocks, const QuantizedActivations& x, int64_t t0, int nt,
                             float* y, int64_t ldy, int valid_rows) {
  tile_any<true>(group, blocks, x, t0, nt, y, ldy, valid_rows);
}

void quantize_activations_avx512(const float* x, int64_t cols, int8_t* q, float* d, float* dsum) {
  const __m512 sign_off = _mm512_castsi512_ps(_mm512_set1_epi32(0x7FFFFFFF));
  for (int64_t b = 0; b < cols / kPackBlock; ++b) {
    const __m512 a = _mm512_loadu_ps(x + b * kPackBlock);
    const __m512 c = _mm512_loadu_ps(x + b * kPackBlock + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_and_ps(a, sign_off), _mm512_and_ps(c, sign_off)));
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    const __m512 vinv = _mm512_set1_ps(inv);
    // Default rounding (half to even), the same as the scalar reference's nearbyint.
    const __m512i qa = _mm512_cvtps_epi32(_mm512_mul_ps(a, vinv));
    const __m512i qc = _mm512_cvtps_epi32(_mm512_mul_ps(c, vinv));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * kPackBlock), _mm512_cvtsepi32_epi8(qa));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * kPackBlock + 16), _mm512_cvtsepi32_epi8(qc));
    const float scale = amax / 127.0f;
    d[b] = scale;
    dsum[b] = scale * static_cast<float>(_mm512_reduce_add_epi32(_mm512_add_epi32(qa, qc)));
  }
}

}  // namespace kindred::kernels
