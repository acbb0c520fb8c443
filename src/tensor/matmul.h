// Matrix products of weights with activations, the hot loop of inference.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/tensor.h"
#include "tensor/thread_pool.h"

namespace kindred {

// Reusable buffers for matmul; they only grow, so steady-state decoding allocates nothing.
struct MatmulScratch {
  std::vector<uint8_t> quantized_x;
};

// y = x · wᵀ: x is n_tokens × w.cols() floats (row-major), y is n_tokens × w.rows() floats.
// Activations are converted once to the weight type's vec_dot_type; output rows are split
// across the pool's threads, and every token is processed while a weight row is in cache.
void matmul(const TensorView& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            MatmulScratch& scratch);

// Row r of w as floats (embedding lookup): dst receives w.cols() values.
void get_row(const TensorView& w, int64_t r, float* dst);

}  // namespace kindred
