#include "tensor/matmul.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "tensor/quants.h"

namespace kindred {
namespace {

// Weight bytes a chunk of rows should stay under so it sits in L2 while every token of a
// batch streams past it.
constexpr size_t kChunkBytes = 256 * 1024;
// About 20 µs of single-thread work: the cost of handing a loop to the pool and waiting for it.
constexpr int64_t kMinParallelWork = 1 << 18;

// Tokens per pass over a chunk: their activations (a few KiB each) stay in L1/L2 too.
constexpr int64_t kTokenBlock = 16;

void check_view(const TensorView& w, const char* what) {
  if (w.data == nullptr) throw std::invalid_argument(std::string(what) + ": tensor '" + w.name + "' has no data");
  if (w.ne[0] <= 0 || w.ne[1] <= 0 || w.ne[2] <= 0 || w.ne[3] <= 0) {
    throw std::invalid_argument(std::string(what) + ": tensor '" + w.name + "' has an empty dimension");
  }
}

}  // namespace

void matmul(const TensorView& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            MatmulScratch& scratch) {
  check_view(w, "matmul");
  if (n_tokens < 0) throw std::invalid_argument("matmul: negative token count");
  if (n_tokens == 0) return;
  if (!x || !y) throw std::invalid_argument("matmul: null activation or output buffer");
  const TypeKernels& k = type_kernels(w.type);  // throws for non-computable types
  const int64_t cols = w.cols();
  const int64_t rows = w.rows();
  const size_t w_stride = row_bytes(w.type, cols);  // throws unless cols is whole blocks

  // Activations in the weight type's vec_dot_type, once for the whole call.
  const uint8_t* xq = reinterpret_cast<const uint8_t*>(x);
  size_t x_stride = static_cast<size_t>(cols) * sizeof(float);
  if (k.vec_dot_type != DType::F32) {
    const DType xt = k.vec_dot_type;
    x_stride = row_bytes(xt, cols);
    const size_t need = x_stride * static_cast<size_t>(n_tokens);
    if (scratch.quantized_x.size() < need) scratch.quantized_x.resize(need);
    uint8_t* dst = scratch.quantized_x.data();
    auto quantize_token = [&](int64_t t, int) { quantize_row(xt, x + t * cols, dst + static_cast<size_t>(t) * x_stride, cols); };
    if (n_tokens == 1) {
      quantize_token(0, 0);
    } else {
      // (an rvalue: parallel_for's Fn&& does not accept an lvalue callable)
      pool.parallel_for(n_tokens, [&](int64_t t, int thread) { quantize_token(t, thread); });
    }
    xq = dst;
  }

  // Chunks of output rows: small enough to stay in cache and to give every thread several
  // (tasks are handed out dynamically, so uneven progress balances), never below one row.
  // Below kMinParallelWork multiply-adds, waking the other threads costs more than it saves.
  const bool small = rows * cols * n_tokens < kMinParallelWork;
  const int64_t threads = small ? 1 : pool.size();
  const int64_t by_balance = (rows + 4 * threads - 1) / (4 * threads);
  const int64_t by_cache = std::max<int64_t>(1, static_cast<int64_t>(kChunkBytes / w_stride));
  const int64_t rows_per_chunk = small ? rows : std::max<int64_t>(1, std::min(by_balance, by_cache));
  const int64_t n_chunks = (rows + rows_per_chunk - 1) / rows_per_chunk;
  const auto* wbase = static_cast<const uint8_t*>(w.data);
  auto vec_dot = k.vec_dot;

  pool.parallel_for(n_chunks, [&](int64_t chunk, int) {
    const int64_t r0 = chunk * rows_per_chunk;
    const int64_t r1 = std::min(rows, r0 + rows_per_chunk);
    for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokenBlock) {
      const int64_t t1 = std::min(n_tokens, t0 + kTokenBlock);
      for (int64_t r = r0; r < r1; ++r) {
        const uint8_t* wrow = wbase + static_cast<size_t>(r) * w_stride;
        for (int64_t t = t0; t < t1; ++t) {
          y[t * rows + r] = vec_dot(cols, wrow, xq + static_cast<size_t>(t) * x_stride);
        }
      }
    }
  });
}

void get_row(const TensorView& w, int64_t r, float* dst) {
  check_view(w, "get_row");
  if (r < 0 || r >= w.rows()) {
    throw std::invalid_argument("get_row: row " + std::to_string(r) + " is outside tensor '" + w.name + "' (" +
                                std::to_string(w.rows()) + " rows)");
  }
  if (!dst) throw std::invalid_argument("get_row: null output buffer");
  dequantize_row(w.type, w.row(r), dst, w.cols());
}

}  // namespace kindred
