// AVX2 versions of the vector_kernels.h loops (CMake compiles *_avx2.cpp with -mavx2 -mfma).
// GCC does not find the int8 dot-product idiom by itself (it widens to int32 and uses the slow
// vpmulld), hence intrinsics: widen to int16 and let vpmaddwd multiply and add pairs.
#include <immintrin.h>

#include <vector>

#include "memory/vector_kernels.h"

namespace kindred::memory::kernels_detail {

void dot_i8_rows_avx2(const int8_t* query, const int8_t* rows, size_t n_rows, size_t dim, int32_t* out) {
  const size_t vec_dim = dim / 16 * 16;
  // The query is widened once; each row is widened 16 values at a time.
  std::vector<int16_t> q16(query, query + vec_dim);
  const auto q_at = [&](size_t j) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q16.data() + j)); };
  for (size_t r = 0; r < n_rows; ++r) {
    const int8_t* row = rows + r * dim;
    __m256i acc0 = _mm256_setzero_si256();
    __m256i acc1 = _mm256_setzero_si256();
    size_t j = 0;
    for (; j + 32 <= vec_dim; j += 32) {
      const __m256i v0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + j)));
      const __m256i v1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + j + 16)));
      acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(v0, q_at(j)));
      acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(v1, q_at(j + 16)));
    }
    for (; j < vec_dim; j += 16) {
      const __m256i v0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + j)));
      acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(v0, q_at(j)));
    }
    const __m256i acc = _mm256_add_epi32(acc0, acc1);
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    int32_t total = _mm_cvtsi128_si32(s);
    for (; j < dim; ++j) total += static_cast<int32_t>(query[j]) * static_cast<int32_t>(row[j]);
    out[r] = total;
  }
}

float dot_f32_avx2(const float* a, const float* b, size_t dim) {
  // Four independent accumulators hide the latency of the add chain.
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  size_t j = 0;
  for (; j + 32 <= dim; j += 32) {
    for (int u = 0; u < 4; ++u) {
      acc[u] = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 8 * u), _mm256_loadu_ps(b + j + 8 * u), acc[u]);
    }
  }
  for (; j + 8 <= dim; j += 8) acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), acc[0]);
  const __m256 sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(sum), _mm256_extractf128_ps(sum, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  float total = _mm_cvtss_f32(s);
  for (; j < dim; ++j) total += a[j] * b[j];
  return total;
}

// The baseline std::popcount loop with the POPCNT instruction allowed (AVX2 does not imply it);
// dispatched only on CPUs with both.
__attribute__((target("popcnt"))) void hamming_rows_popcnt(const uint64_t* query, const uint64_t* rows,
                                                           size_t n_rows, size_t words, uint16_t* out) {
  for (size_t r = 0; r < n_rows; ++r) {
    unsigned d = 0;
    for (size_t w = 0; w < words; ++w) d += static_cast<unsigned>(__builtin_popcountll(query[w] ^ rows[r * words + w]));
    out[r] = static_cast<uint16_t>(d);
  }
}

}  // namespace kindred::memory::kernels_detail
