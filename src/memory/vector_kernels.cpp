// Baseline-ISA kernels and the once-per-process choice between them and the AVX2 copies.
#include "memory/vector_kernels.h"

#include <bit>

namespace kindred::memory {
namespace kernels_detail {

void dot_i8_rows_base(const int8_t* query, const int8_t* rows, size_t n_rows, size_t dim, int32_t* out) {
  for (size_t r = 0; r < n_rows; ++r) {
    const int8_t* row = rows + r * dim;
    int32_t acc = 0;
    for (size_t j = 0; j < dim; ++j) acc += static_cast<int32_t>(query[j]) * static_cast<int32_t>(row[j]);
    out[r] = acc;
  }
}

float dot_f32_base(const float* a, const float* b, size_t dim) {
  // Eight partial sums, so the compiler may keep them in one vector register.
  float part[8] = {};
  size_t j = 0;
  for (; j + 8 <= dim; j += 8) {
    for (size_t l = 0; l < 8; ++l) part[l] += a[j + l] * b[j + l];
  }
  for (; j < dim; ++j) part[j % 8] += a[j] * b[j];
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

void hamming_rows_base(const uint64_t* query, const uint64_t* rows, size_t n_rows, size_t words, uint16_t* out) {
  for (size_t r = 0; r < n_rows; ++r) {
    unsigned d = 0;
    for (size_t w = 0; w < words; ++w) d += static_cast<unsigned>(std::popcount(query[w] ^ rows[r * words + w]));
    out[r] = static_cast<uint16_t>(d);
  }
}

}  // namespace kernels_detail

namespace {
struct Kernels {
  decltype(&kernels_detail::dot_i8_rows_base) dot_i8_rows;
  decltype(&kernels_detail::dot_f32_base) dot_f32;
  decltype(&kernels_detail::hamming_rows_base) hamming_rows;
};

const Kernels& kernels() {
  static const Kernels chosen = [] {
    Kernels k{kernels_detail::dot_i8_rows_base, kernels_detail::dot_f32_base, kernels_detail::hamming_rows_base};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
      k.dot_i8_rows = kernels_detail::dot_i8_rows_avx2;
      k.dot_f32 = kernels_detail::dot_f32_avx2;
    }
    // It lives in the AVX2 file, so the compiler may use AVX2 in it too.
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt")) {
      k.hamming_rows = kernels_detail::hamming_rows_popcnt;
    }
    return k;
  }();
  return chosen;
}
}  // namespace

void dot_i8_rows(const int8_t* query, const int8_t* rows, size_t n_rows, size_t dim, int32_t* out) {
  kernels().dot_i8_rows(query, rows, n_rows, dim, out);
}

float dot_f32(const float* a, const float* b, size_t dim) { return kernels().dot_f32(a, b, dim); }

void hamming_rows(const uint64_t* query, const uint64_t* rows, size_t n_rows, size_t words, uint16_t* out) {
  kernels().hamming_rows(query, rows, n_rows, words, out);
}

}  // namespace kindred::memory
