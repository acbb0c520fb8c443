// Private to src/tensor (and its tests): the per-ISA kernels behind packed_matrix.h.
// A tile is one group of 16 rows (packed layout) by nt <= kPackTokens tokens starting at t0;
// it writes the first valid_rows outputs of each token to y[t * ldy + r].
#pragma once
#include <cstdint>

#include "tensor/packed_matrix.h"

namespace kindred::kernels {

void quantize_activations_scalar(const float* x, int64_t cols, int8_t* q, float* d, float* dsum);
void quantize_activations_avx512(const float* x, int64_t cols, int8_t* q, float* d, float* dsum);

void packed_tile_scalar(DType type, const uint8_t* group, int64_t blocks, const QuantizedActivations& x, int64_t t0,
                        int nt, float* y, int64_t ldy, int valid_rows);
void packed_tile_q8_0_avx512(const uint8_t* group, int64_t blocks, const QuantizedActivations& x, int64_t t0, int nt,
                             float* y, int64_t ldy, int valid_rows);
void packed_tile_q4_0_avx512(const uint8_t* group, int64_t blocks, const QuantizedActivations& x, int64_t t0, int nt,
                             float* y, int64_t ldy, int valid_rows);

}  // namespace kindred::kernels
