// sample() must not allocate once the sampler exists: it runs once per generated token.
// This file replaces the global allocation functions of the test binary to count calls.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "sampling/sampler.h"

namespace {
std::atomic<long> g_allocations{0};  // test-only instrumentation
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return ::operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace kindred {
namespace {

TEST(SamplerAllocation, SampleAndAcceptDoNotAllocateInSteadyState) {
  constexpr int32_t kVocab = 4096;
  std::vector<float> logits(kVocab);
  for (int32_t i = 0; i < kVocab; ++i) logits[static_cast<size_t>(i)] = static_cast<float>((i * 37) % 101) * 0.05f;
  // Every stage switched on, so each code path runs.
  Sampler s({.temperature = 0.9f, .top_k = 100, .top_p = 0.9f, .min_p = 0.02f, .typical_p = 0.95f,
             .repeat_penalty = 1.1f, .presence_penalty = 0.2f, .frequency_penalty = 0.1f, .penalty_last_n = 16,
             .logit_bias = {{3, -1.0f}}, .seed = 1},
            kVocab);
  Sampler plain({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f}, kVocab);
  for (int i = 0; i < 32; ++i) s.accept(s.sample(logits));  // fill the penalty window
  const long before = g_allocations.load();
  for (int i = 0; i < 200; ++i) {
    s.accept(s.sample(logits));
    plain.accept(plain.sample(logits));
  }
  EXPECT_EQ(g_allocations.load() - before, 0);
  // The counter works: distribution() returns a vector, so it must allocate.
  (void)s.distribution(logits);
  EXPECT_GT(g_allocations.load() - before, 0);
}

}  // namespace
}  // namespace kindred
