// vec_dot and decode-GEMV throughput per weight type and ISA, side by side. The figure that
// matters for token generation is weights_GB/s: bytes of weights streamed per second (decode
// is one matrix-vector product per weight matrix, so it is bound by how fast weights are read).
//
// Weights are random block bytes with sane fp16 scales (speed does not depend on the values,
// and quantizing 16M values per type would dominate start-up).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "tensor/matmul.h"
#include "tensor/quants.h"

namespace {

using namespace kindred;

const DType kTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                        DType::Q5_1, DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K};

std::vector<Isa> supported_isas() {
  std::vector<Isa> isas = {Isa::Scalar};
  if (best_supported_isa() != Isa::Scalar) isas.push_back(Isa::Avx2);
  if (best_supported_isa() == Isa::Avx512) isas.push_back(Isa::Avx512);
  return isas;
}

// rows × cols weights of type t: random bytes, then every block's fp16 scale fields set to
// small finite values. Blocks are found through dequantize-free knowledge of where scales sit.
std::vector<uint8_t> random_weights(DType t, int64_t rows, int64_t cols) {
  const size_t bytes = row_bytes(t, cols) * static_cast<size_t>(rows);
  std::vector<uint8_t> w(bytes);
  std::mt19937 rng(static_cast<uint32_t>(t) + 1);
  if (t == DType::F32 || t == DType::F16 || t == DType::BF16) {
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      for (auto& v : row) v = dist(rng);
      quantize_row(t, row.data(), w.data() + static_cast<size_t>(r) * row_bytes(t, cols), cols);
    }
    return w;
  }
  for (auto& b : w) b = static_cast<uint8_t>(rng());
  std::vector<size_t> scale_offsets;
  switch (t) {
    case DType::Q4_1: case DType::Q5_1: scale_offsets = {0, 2}; break;
    case DType::Q4_K: case DType::Q5_K: scale_offsets = {0, 2}; break;
    case DType::Q2_K: scale_offsets = {offsetof(BlockQ2_K, d), offsetof(BlockQ2_K, dmin)}; break;
    case DType::Q3_K: scale_offsets = {offsetof(BlockQ3_K, d)}; break;
    case DType::Q6_K: scale_offsets = {offsetof(BlockQ6_K, d)}; break;
    default: scale_offsets = {0}; break;  // Q4_0, Q5_0, Q8_0: d first
  }
  const size_t bb = dtype_info(t).block_bytes;
  const fp16_t small = f32_to_fp16(0.01f);
  for (size_t blk = 0; blk < bytes / bb; ++blk) {
    for (size_t off : scale_offsets) std::memcpy(w.data() + blk * bb + off, &small, sizeof small);
  }
  return w;
}

std::vector<float> random_activations(int64_t n) {
  std::mt19937 rng(42);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = dist(rng);
  return x;
}

// Weight matrices are shared by every ISA's run of a type (built on first use).
const std::vector<uint8_t>& weights_for(DType t, int64_t rows, int64_t cols) {
  static std::map<std::tuple<DType, int64_t, int64_t>, std::vector<uint8_t>> cache;
  auto key = std::make_tuple(t, rows, cols);
  auto it = cache.find(key);
  if (it == cache.end()) {
    cache.clear();  // keep one large matrix alive at a time
    it = cache.emplace(key, random_weights(t, rows, cols)).first;
  }
  return it->second;
}

void set_weights_rate(benchmark::State& state, size_t weight_bytes) {
  state.counters["weights_GB/s"] = benchmark::Counter(
      static_cast<double>(weight_bytes) * static_cast<double>(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

// One dot product of n = 4096: w row (L1/L2 resident after the first pass) · activation row.
void bench_vec_dot(benchmark::State& state, DType t, Isa isa) {
  const int64_t n = 4096;
  const TypeKernels& k = type_kernels(t, isa);
  const std::vector<uint8_t>& w = weights_for(t, 1, n);
  const std::vector<float> xf = random_activations(n);
  std::vector<uint8_t> x(row_bytes(k.vec_dot_type, n));
  quantize_row(k.vec_dot_type, xf.data(), x.data(), n);
  for (auto _ : state) {
    benchmark::DoNotOptimize(k.vec_dot(n, w.data(), x.data()));
  }
  set_weights_rate(state, w.size());
}

// y = W·x for a 4096×4096 W and one token: quantize x once, then every row's dot product,
// split over the pool's threads — the decode-time cost of one weight matrix.
void bench_gemv(benchmark::State& state, DType t, Isa isa, int threads) {
  const int64_t n = 4096;
  set_active_isa(isa);
  const std::vector<uint8_t>& bytes = weights_for(t, n, n);
  TensorView w;
  w.type = t;
  w.ne = {n, n, 1, 1};
  w.n_dims = 2;
  w.data = bytes.data();
  const std::vector<float> x = random_activations(n);
  std::vector<float> y(static_cast<size_t>(n));
  ThreadPool pool(threads);
  MatmulScratch scratch;
  for (auto _ : state) {
    matmul(w, x.data(), 1, y.data(), pool, scratch);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_weights_rate(state, bytes.size());
  set_active_isa(best_supported_isa());
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const std::vector<int> thread_counts = hw > 1 ? std::vector<int>{1, hw} : std::vector<int>{1};
  for (DType t : kTypes) {
    const std::string type(dtype_name(t));
    for (Isa isa : supported_isas()) {
      benchmark::RegisterBenchmark(("vec_dot/" + type + "/" + isa_name(isa)).c_str(), bench_vec_dot, t, isa);
    }
  }
  for (DType t : kTypes) {
    const std::string type(dtype_name(t));
    for (int threads : thread_counts) {
      for (Isa isa : supported_isas()) {
        benchmark::RegisterBenchmark(
            ("gemv4096/" + type + "/" + isa_name(isa) + "/threads:" + std::to_string(threads)).c_str(), bench_gemv, t,
            isa, threads)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
      }
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
