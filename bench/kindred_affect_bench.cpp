// Latency of the LLM-free emotion appraiser (shipped English model): feature extraction alone,
// and a whole appraisal (features, 28 sigmoids, thresholds, PAD, lexicon valence). Target < 1 ms.
//   ./build/bench/kindred_affect_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include "affect/shipped_classifiers.h"

namespace {

constexpr const char* kUtterance = "Honestly I'm not sure why, but your message made me really happy today! Thanks :)";

void BM_ExtractFeatures(benchmark::State& state) {
  const auto& c = kindred::affect::shipped_emotion_classifier(kindred::affect::Language::English);
  for (auto _ : state) benchmark::DoNotOptimize(c.features().extract(kUtterance));
}
BENCHMARK(BM_ExtractFeatures)->Unit(benchmark::kMicrosecond);

void BM_AppraiseEnglish(benchmark::State& state) {
  auto appraiser = kindred::affect::make_default_appraiser();
  for (auto _ : state) benchmark::DoNotOptimize(appraiser->appraise(kUtterance));
}
BENCHMARK(BM_AppraiseEnglish)->Unit(benchmark::kMicrosecond);

void BM_AppraiseChinese(benchmark::State& state) {
  auto appraiser = kindred::affect::make_default_appraiser();
  for (auto _ : state) benchmark::DoNotOptimize(appraiser->appraise("你这么说我真的很开心，谢谢你！"));
}
BENCHMARK(BM_AppraiseChinese)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
