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
// About 3 µs of single-thread work: the cost of handing a loop to the (spinning) pool and waiting.
constexpr int64_t kMinParallelWork = 1 << 15;

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
  if (w.packed) {
    const MatmulJob job{&w, x, n_tokens, y};
    matmul_batch({&job, 1}, pool, scratch);
    return;
  }
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

void matmul_batch(std::span<const MatmulJob> jobs, ThreadPool& pool, MatmulScratch& scratch) {
  // Quantize each distinct input once.
  scratch.job_input.assign(jobs.size(), -1);
  int n_inputs = 0;
  int64_t total_groups = 0, work = 0;
  for (size_t j = 0; j < jobs.size(); ++j) {
    const MatmulJob& job = jobs[j];
    if (!job.w->packed) {
      matmul(*job.w, job.x, job.n_tokens, job.y, pool, scratch);
      continue;
    }
    if (job.n_tokens <= 0) continue;
    if (!job.x || !job.y) throw std::invalid_argument("matmul: null activation or output buffer");
    for (size_t i = 0; i < j; ++i) {
      const MatmulJob& o = jobs[i];
      if (scratch.job_input[i] >= 0 && o.x == job.x && o.n_tokens == job.n_tokens && o.w->cols() == job.w->cols()) {
        scratch.job_input[j] = scratch.job_input[i];
        break;
      }
    }
    if (scratch.job_input[j] < 0) {
      if (static_cast<int>(scratch.packed_x.size()) <= n_inputs) scratch.packed_x.resize(n_inputs + 1);
      quantize_activations(job.x, job.n_tokens, job.w->cols(), scratch.packed_x[n_inputs]);
      scratch.job_input[j] = n_inputs++;
    }
    total_groups += job.w->packed->groups();
    work += job.w->packed->groups() * kPackRows * job.w->cols() * job.n_tokens;
  }
  if (total_groups == 0) return;

  // Tasks are runs of row groups; about eight per thread balance uneven progress.
  const int64_t threads = work < kMinParallelWork ? 1 : pool.size();
  const int64_t per_task = std::max<int64_t>(1, total_groups / (16 * threads));
  scratch.tasks.clear();
  for (size_t j = 0; j < jobs.size(); ++j) {
    if (!jobs[j].w->packed || jobs[j].n_tokens <= 0) continue;
    const int64_t groups = jobs[j].w->packed->groups();
    for (int64_t g = 0; g < groups; g += per_task) {
      scratch.tasks.push_back({static_cast<int>(j), g, std::min(groups, g + per_task)});
    }
  }
  auto run_task = [&](int64_t i, int) {
    const MatmulScratch::Task& task = scratch.tasks[i];
    const MatmulJob& job = jobs[task.job];
    packed_matmul(*job.w->packed, job.w->packed_slice, task.g0, task.g1, scratch.packed_x[scratch.job_input[task.job]],
                  0, job.n_tokens, job.y, job.w->rows());
  };
  const auto n_tasks = static_cast<int64_t>(scratch.tasks.size());
  if (threads == 1) {
    for (int64_t i = 0; i < n_tasks; ++i) run_task(i, 0);
  } else {
    pool.parallel_for(n_tasks, run_task);
  }
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
