// Continuous batching: aggregate decode throughput (tokens/s over all sequences) when 1, 8, 32
// and 64 sequences, each holding ~64 tokens of context, advance one token per step in one
// BatchDecoder::eval, against the same 64 sequences advanced one Context::eval at a time.
//   KINDRED_BENCH_THREADS=1 ./build/bench/kindred_batch_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
// The model is synthetic (model/synth.h: llama, 512 wide, 4 layers, 32k vocabulary, Q8_0,
// ~45 MB), written once to a temporary file: the weights are read once per step however many
// sequences the step carries, which is what batching buys.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include "engine/batch_decoder.h"
#include "engine/context.h"
#include "model/synth.h"

namespace {

using namespace kindred;

constexpr int kContextTokens = 64;  // tokens each sequence holds when a step starts

// Shared by all contexts, as a server would: KINDRED_BENCH_THREADS threads (default every
// hardware thread; 1 gives steadier numbers on a machine busy with other work).
ThreadPool& bench_pool() {
  static ThreadPool pool([] {
    const char* n = std::getenv("KINDRED_BENCH_THREADS");
    return n ? std::atoi(n) : 0;
  }());
  return pool;
}

const Model& bench_model() {
  static const std::unique_ptr<Model> model = [] {
    SynthSpec spec;
    spec.arch = "llama";
    spec.n_vocab = 32000;
    spec.n_embd = 512;
    spec.n_layer = 4;
    spec.n_head = 8;
    spec.n_head_kv = 4;
    spec.n_ff = 1408;
    spec.n_ctx = 2048;
    const auto path = std::filesystem::temp_directory_path() /
                      ("kindred-batch-bench-" + std::to_string(::getpid()) + ".gguf");
    write_synth_model(spec, path, bench_pool());
    auto file = std::make_shared<const gguf::File>(gguf::File::open(path));
    std::filesystem::remove(path);  // the mapping keeps the data alive
    return Model::load(file);
  }();
  return *model;
}

// n sequences on the shared pool, each prefilled with its own kContextTokens-token prompt.
std::vector<std::unique_ptr<Context>> make_sequences(int n) {
  const Model& model = bench_model();
  std::vector<std::unique_ptr<Context>> ctxs;
  for (int i = 0; i < n; ++i) {
    ctxs.push_back(std::make_unique<Context>(
        model, ContextParams{.n_ctx = kContextTokens + 8, .shared_pool = &bench_pool()}));
    std::vector<int32_t> prompt(kContextTokens);
    for (int t = 0; t < kContextTokens; ++t) prompt[t] = 3 + (t * 131 + i * 977) % (model.config().n_vocab - 3);
    ctxs.back()->eval(prompt);
  }
  return ctxs;
}

int32_t next_token(int seq, int64_t step) { return static_cast<int32_t>(3 + (seq * 31 + step * 7) % 30000); }

// One token per sequence per step, all sequences in one forward pass.
void BM_BatchedDecode(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  auto ctxs = make_sequences(n);
  BatchDecoder decoder(bench_model(), bench_pool());
  std::vector<int32_t> tokens(n);
  std::vector<BatchItem> items(n);
  int64_t step = 0;
  for (auto _ : state) {
    for (int i = 0; i < n; ++i) {
      tokens[i] = next_token(i, step);
      items[i] = {ctxs[i].get(), std::span<const int32_t>(&tokens[i], 1)};
    }
    benchmark::DoNotOptimize(decoder.eval(items).data());
    state.PauseTiming();
    for (auto& c : ctxs) c->truncate(kContextTokens);  // every step sees the same context length
    state.ResumeTiming();
    ++step;
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["sequences"] = n;
}
BENCHMARK(BM_BatchedDecode)->Arg(1)->Arg(8)->Arg(32)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();

// The same step for 64 sequences without batching: one Context::eval per sequence.
void BM_SequentialDecode(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  auto ctxs = make_sequences(n);
  int64_t step = 0;
  for (auto _ : state) {
    for (int i = 0; i < n; ++i) {
      const int32_t token = next_token(i, step);
      benchmark::DoNotOptimize(ctxs[i]->eval(std::span<const int32_t>(&token, 1)).data());
    }
    state.PauseTiming();
    for (auto& c : ctxs) c->truncate(kContextTokens);
    state.ResumeTiming();
    ++step;
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["sequences"] = n;
}
BENCHMARK(BM_SequentialDecode)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
