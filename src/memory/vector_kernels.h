// Dot-product kernels for VectorIndex: one query against many contiguous rows.
//
// The baseline versions (vector_kernels.cpp) are plain loops, always compiled; the AVX2 ones
// (vector_kernels_avx2.cpp) are chosen once per process when the CPU has AVX2 and FMA. The
// int8 kernels agree exactly; the float ones differ only by summation order (tests compare).
#pragma once
#include <cstddef>
#include <cstdint>

namespace kindred::memory {

// out[r] = Σ_j query[j]·rows[r·dim + j] in int32 (exact for dim < 2^17).
// query: (dim), rows: (n_rows, dim), out: (n_rows)
void dot_i8_rows(const int8_t* query, const int8_t* rows, size_t n_rows, size_t dim, int32_t* out);

// Σ_j a[j]·b[j] in float with eight partial sums. a, b: (dim)
float dot_f32(const float* a, const float* b, size_t dim);

// out[r] = popcount(query XOR row r): the Hamming distance of sign bits.
// query: (words), rows: (n_rows, words), out: (n_rows); needs words·64 < 65536.
void hamming_rows(const uint64_t* query, const uint64_t* rows, size_t n_rows, size_t words, uint16_t* out);

namespace kernels_detail {
// The same kernels for one ISA each; vector_kernels.cpp dispatches between them.
void dot_i8_rows_base(const int8_t* query, const int8_t* rows, size_t n_rows, size_t dim, int32_t* out);
void dot_i8_rows_avx2(const int8_t* query, const int8_t* rows, size_t n_rows, size_t dim, int32_t* out);
float dot_f32_base(const float* a, const float* b, size_t dim);
float dot_f32_avx2(const float* a, const float* b, size_t dim);
void hamming_rows_base(const uint64_t* query, const uint64_t* rows, size_t n_rows, size_t words, uint16_t* out);
void hamming_rows_popcnt(const uint64_t* query, const uint64_t* rows, size_t n_rows, size_t words, uint16_t* out);
}  // namespace kernels_detail

}  // namespace kindred::memory
