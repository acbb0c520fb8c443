// Long-term memory search latency: BM25 only and hybrid (BM25 + 384-dim embeddings fused by
// RRF) at 1k / 10k / 100k synthetic memories of ~20 words; the budget is 5 ms at 100k.
//   ./build/bench/kindred_memory_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// Texts draw words from a Zipf-like law over a 5,000-word made-up vocabulary; embeddings are
// clustered (a shared direction + one of 64 topics + noise), like real sentence embeddings.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "memory/memory_index.h"
#include "memory/vector_index.h"

namespace {

using kindred::memory::MemoryIndex;
using kindred::memory::VectorIndex;

constexpr size_t kDim = 384;
constexpr size_t kVocabulary = 5000;
constexpr size_t kTopics = 64;
constexpr size_t kQueries = 64;

// Deterministic helpers on mt19937_64 only (std:: distributions are implementation-defined).
double uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }
double gaussian(std::mt19937_64& rng) {
  double s = 0.0;
  for (int i = 0; i < 4; ++i) s += uniform(rng) - 0.5;
  return s * std::sqrt(3.0);  // sum of 4 uniforms: mean 0, variance 1
}

struct Corpus {
  std::vector<std::string> words;      // vocabulary, index = Zipf rank
  std::vector<double> cumulative;      // Zipf(1) CDF over ranks
  std::vector<std::vector<float>> topics;
  std::vector<float> shared;

  Corpus() {
    std::mt19937_64 rng(7);
    const char* syllables[] = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "an", "or", "el"};
    for (size_t i = 0; i < kVocabulary; ++i) {
      std::string w;
      for (size_t n = 2 + rng() % 3; n > 0; --n) w += syllables[rng() % 12];
      words.push_back(w + std::to_string(i % 7));  // suffix keeps words distinct enough
    }
    double total = 0.0;
    for (size_t i = 0; i < kVocabulary; ++i) cumulative.push_back(total += 1.0 / static_cast<double>(i + 1));
    for (double& c : cumulative) c /= total;
    shared = random_vector(rng);
    for (size_t t = 0; t < kTopics; ++t) topics.push_back(random_vector(rng));
  }
  static std::vector<float> random_vector(std::mt19937_64& rng) {
    std::vector<float> v(kDim);
    for (float& x : v) x = static_cast<float>(gaussian(rng) / std::sqrt(double(kDim)));
    return v;
  }
  const std::string& word(std::mt19937_64& rng) const {
    const double u = uniform(rng);
    const auto it = std::lower_bound(cumulative.begin(), cumulative.end(), u);
    return words[std::min<size_t>(static_cast<size_t>(it - cumulative.begin()), kVocabulary - 1)];
  }
  std::string text(std::mt19937_64& rng, size_t n_words) const {
    std::string s;
    for (size_t i = 0; i < n_words; ++i) s += (i ? " " : "") + word(rng);
    return s;
  }
  std::vector<float> embedding(std::mt19937_64& rng) const {
    const std::vector<float>& topic = topics[rng() % kTopics];
    std::vector<float> v = random_vector(rng);
    for (size_t j = 0; j < kDim; ++j) v[j] = 0.6f * shared[j] + topic[j] + 0.8f * v[j];
    return v;
  }
};

const Corpus& corpus() {
  static const Corpus c;
  return c;
}

struct Fixture {
  std::unique_ptr<MemoryIndex> index;
  VectorIndex vectors;  // the same embeddings alone, for the exhaustive-scan comparison
  std::vector<std::string> queries;
  std::vector<std::vector<float>> query_embeddings;
};

// Built once per (size, embeddings) and kept: building 100k memories takes seconds.
const Fixture& fixture(size_t n, bool with_embeddings) {
  static std::map<std::pair<size_t, bool>, Fixture> cache;
  auto [it, inserted] = cache.try_emplace({n, with_embeddings});
  Fixture& f = it->second;
  if (!inserted) return f;
  const Corpus& c = corpus();
  std::mt19937_64 rng(42 + n);
  f.index = std::make_unique<MemoryIndex>();
  for (size_t i = 0; i < n; ++i) {
    const std::string text = c.text(rng, 16 + rng() % 9);
    if (with_embeddings) {
      const std::vector<float> e = c.embedding(rng);
      f.index->add(static_cast<int64_t>(i), text, e);
      f.vectors.add(static_cast<int64_t>(i), e);
    } else {
      f.index->add(static_cast<int64_t>(i), text);
    }
  }
  for (size_t q = 0; q < kQueries; ++q) {
    f.queries.push_back(c.text(rng, 3 + rng() % 4));
    f.query_embeddings.push_back(c.embedding(rng));
  }
  return f;
}

void BM_SearchBm25(benchmark::State& state) {
  const Fixture& f = fixture(static_cast<size_t>(state.range(0)), false);
  size_t q = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.index->search(f.queries[q], {}, 8));
    q = (q + 1) % kQueries;
  }
}

void BM_SearchHybrid(benchmark::State& state) {
  const Fixture& f = fixture(static_cast<size_t>(state.range(0)), true);
  size_t q = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.index->search(f.queries[q], f.query_embeddings[q], 8));
    q = (q + 1) % kQueries;
  }
}

// The three vector paths on the same 100k × 384 vectors: a plain float scan, the exact int8
// pre-filter with error bounds, and what search() uses at this size (sign-bit pre-filter).
void BM_VectorExhaustive(benchmark::State& state) {
  const Fixture& f = fixture(static_cast<size_t>(state.range(0)), true);
  size_t q = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.vectors.search_exhaustive(f.query_embeddings[q], 50));
    q = (q + 1) % kQueries;
  }
}

void BM_VectorExactInt8(benchmark::State& state) {
  const Fixture& f = fixture(static_cast<size_t>(state.range(0)), true);
  size_t q = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.vectors.search_exact(f.query_embeddings[q], 50));
    q = (q + 1) % kQueries;
  }
}

void BM_VectorSignBits(benchmark::State& state) {
  const Fixture& f = fixture(static_cast<size_t>(state.range(0)), true);
  size_t q = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.vectors.search_binary(f.query_embeddings[q], 50));
    q = (q + 1) % kQueries;
  }
}

BENCHMARK(BM_SearchBm25)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SearchHybrid)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VectorExhaustive)->Arg(100000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VectorExactInt8)->Arg(100000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VectorSignBits)->Arg(100000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
