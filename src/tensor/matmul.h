// Matrix products of weights with activations, the hot loop of inference.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "tensor/packed_matrix.h"
#include "tensor/tensor.h"
#include "tensor/thread_pool.h"

namespace kindred {

// Reusable buffers for matmul; they only grow, so steady-state decoding allocates nothing.
struct MatmulScratch {
  std::vector<uint8_t> quantized_x;
  std::vector<QuantizedActivations> packed_x;  // one per distinct input of a batch
  struct Task {
    int job;
    int64_t g0, g1;
  };
  std::vector<Task> tasks;
  std::vector<int> job_input;  // which packed_x each job reads
};

// One product of a batch: y = x · wᵀ over n_tokens rows of x.
struct MatmulJob {
  const TensorView* w;
  const float* x;
  int64_t n_tokens;
  float* y;
};

// y = x · wᵀ: x is n_tokens × w.cols() floats (row-major), y is n_tokens × w.rows() floats.
// Activations are converted once to the weight type's vec_dot_type; output rows are split
// across the pool's threads, and every token is processed while a weight row is in cache.
void matmul(const TensorView& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            MatmulScratch& scratch);

// Several independent products in one parallel loop, so that small ones (the q/k/v projections,
// each expert of a token) share one hand-off to the threads; jobs with the same x and width
// quantize it once. Packed weights run the packed kernels; others run matmul one by one.
void matmul_batch(std::span<const MatmulJob> jobs, ThreadPool& pool, MatmulScratch& scratch);

// Row r of w as floats (embedding lookup): dst receives w.cols() values.
void get_row(const TensorView& w, int64_t r, float* dst);

}  // namespace kindred
