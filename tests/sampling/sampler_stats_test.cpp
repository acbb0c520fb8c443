// Statistical and reproducibility checks of the random draw, all with fixed seeds so every
// run sees the same numbers (the thresholds are still chosen as if they were random).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "sampling/sampler.h"
#include "sampling/sampling_test_util.h"

namespace kindred {
namespace {

using test::plain_params;
using test::reference_softmax;

// Regularised lower incomplete gamma P(a, x) by its power series, which converges for all
// x > 0 and is accurate enough here (x < 100).
double gamma_p(double a, double x) {
  if (x <= 0.0) return 0.0;
  double term = 1.0 / a;
  double sum = term;
  for (int n = 1; n < 100000; ++n) {
    term *= x / (a + n);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum * std::exp(-x + a * std::log(x) - std::lgamma(a));
}

// P(X > x) for X ~ chi-square with df degrees of freedom.
double chi2_survival(double x, int df) { return 1.0 - gamma_p(df / 2.0, x / 2.0); }

// The x with P(X > x) = alpha, by bisection (the survival function is decreasing).
double chi2_critical(int df, double alpha) {
  double lo = 0.0, hi = 1000.0;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (chi2_survival(mid, df) > alpha ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

std::vector<int> draw_counts(Sampler& s, const std::vector<float>& logits, int n) {
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < n; ++i) ++counts[static_cast<size_t>(s.sample(logits))];
  return counts;
}

double chi_square(const std::vector<int>& observed, const std::vector<double>& probs, int n) {
  double stat = 0.0;
  for (size_t i = 0; i < probs.size(); ++i) {
    const double expected = n * probs[i];
    stat += (observed[i] - expected) * (observed[i] - expected) / expected;
  }
  return stat;
}

double entropy(const std::vector<double>& p) {
  double h = 0.0;
  for (double x : p) {
    if (x > 0.0) h -= x * std::log(x);
  }
  return h;
}

TEST(ChiSquare, CriticalValuesMatchPublishedTables) {
  // Standard table values for p = 0.001.
  EXPECT_NEAR(chi2_critical(1, 0.001), 10.828, 2e-3);
  EXPECT_NEAR(chi2_critical(3, 0.001), 16.266, 2e-3);
  EXPECT_NEAR(chi2_critical(5, 0.001), 20.515, 2e-3);
  EXPECT_NEAR(chi2_critical(10, 0.001), 29.588, 2e-3);
}

TEST(SamplerStats, DrawsFollowTheSoftmax) {
  const std::vector<float> logits = {2.0f, 1.0f, 0.5f, 0.0f, -1.0f, 1.5f};
  const std::vector<double> probs = reference_softmax(logits);
  constexpr int kDraws = 20000;
  SamplerParams p = plain_params();
  p.seed = 20240601;
  Sampler s(p, 6);
  const std::vector<int> counts = draw_counts(s, logits, kDraws);
  const int df = static_cast<int>(probs.size()) - 1;
  const double stat = chi_square(counts, probs, kDraws);
  const double critical = chi2_critical(df, 0.001);
  std::printf("[ chi2     ] plain softmax: chi2 = %.3f, df = %d, critical(p=0.001) = %.3f, p-value = %.3f\n", stat, df,
              critical, chi2_survival(stat, df));
  EXPECT_LT(stat, critical);
}

TEST(SamplerStats, DrawsFollowTheFilteredTemperedDistribution) {
  // top-k 6 keeps ids 0..5 (p = .380 .230 .140 .114 .085 .051); top-p 0.9 stops at id 4
  // (cumulative .949); min-p 0.25 drops id 4 (.085 / .380 = .22). Left: ids 0..3, then
  // sampled at temperature 0.7.
  const std::vector<float> logits = {3.0f, 2.5f, 2.0f, 1.8f, 1.5f, 1.0f, 0.5f, 0.0f, -0.5f, -1.0f};
  const std::vector<double> probs = reference_softmax({3.0f, 2.5f, 2.0f, 1.8f}, 0.7);
  constexpr int kDraws = 20000;
  Sampler s({.temperature = 0.7f, .top_k = 6, .top_p = 0.9f, .min_p = 0.25f, .seed = 99}, 10);
  const std::vector<int> counts = draw_counts(s, logits, kDraws);
  for (size_t id = 4; id < counts.size(); ++id) EXPECT_EQ(counts[id], 0) << "filtered token " << id << " drawn";
  const std::vector<int> kept(counts.begin(), counts.begin() + 4);
  const int df = 3;
  const double stat = chi_square(kept, probs, kDraws);
  const double critical = chi2_critical(df, 0.001);
  std::printf("[ chi2     ] filtered, T=0.7: chi2 = %.3f, df = %d, critical(p=0.001) = %.3f, p-value = %.3f\n", stat, df,
              critical, chi2_survival(stat, df));
  EXPECT_LT(stat, critical);
}

TEST(SamplerStats, HigherTemperatureGivesHigherEntropy) {
  const std::vector<float> logits = {2.0f, 1.5f, 1.0f, 0.5f, 0.0f, -0.5f, -1.0f, -1.5f};
  constexpr int kDraws = 20000;
  std::vector<double> observed;
  for (float t : {0.5f, 1.0f, 2.0f}) {
    SamplerParams p = plain_params();
    p.temperature = t;
    p.seed = 5;
    Sampler s(p, 8);
    const std::vector<int> counts = draw_counts(s, logits, kDraws);
    std::vector<double> freq;
    for (int c : counts) freq.push_back(static_cast<double>(c) / kDraws);
    observed.push_back(entropy(freq));
    // The plug-in estimate's standard error here is about 0.005 nats.
    EXPECT_NEAR(observed.back(), entropy(reference_softmax(logits, t)), 0.03) << "temperature " << t;
  }
  std::printf("[ entropy  ] T=0.5: %.4f  T=1: %.4f  T=2: %.4f nats\n", observed[0], observed[1], observed[2]);
  EXPECT_LT(observed[0] + 0.2, observed[1]);
  EXPECT_LT(observed[1] + 0.2, observed[2]);
}

std::vector<int32_t> sequence(uint64_t seed, int n) {
  std::vector<float> logits(50);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = 0.01f * static_cast<float>(i);
  SamplerParams p = plain_params();
  p.seed = seed;
  Sampler s(p, 50);
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) out.push_back(s.sample(logits));
  return out;
}

TEST(SamplerSeeds, SameSeedSameSequenceOtherSeedOtherSequence) {
  const auto a = sequence(42, 200);
  EXPECT_EQ(a, sequence(42, 200));
  const auto b = sequence(43, 200);
  int differ = 0;
  for (size_t i = 0; i < a.size(); ++i) differ += a[i] != b[i];
  EXPECT_GT(differ, 150);  // near-uniform over 50 tokens: ~98% of positions differ
}

TEST(SamplerSeeds, ResetReplaysTheSequence) {
  SamplerParams p = plain_params();
  p.seed = 1234;
  p.presence_penalty = 0.5f;
  const std::vector<float> logits = {0.3f, 0.1f, 0.0f, 0.2f, -0.1f};
  Sampler s(p, 5);
  std::vector<int32_t> first, second;
  for (int i = 0; i < 100; ++i) {
    first.push_back(s.sample(logits));
    s.accept(first.back());
  }
  s.reset();
  for (int i = 0; i < 100; ++i) {
    second.push_back(s.sample(logits));
    s.accept(second.back());
  }
  EXPECT_EQ(first, second);
}

// The documented draw, re-implemented from the header's description: one mt19937_64
// output x, u = (x >> 11) * 2^-53, walk the survivors in ascending id.
int32_t documented_draw(std::mt19937_64& rng, const std::vector<int32_t>& ids, const std::vector<double>& probs) {
  const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
  double total = 0.0;
  for (double p : probs) total += p;
  double running = 0.0;
  for (size_t i = 0; i < ids.size(); ++i) {
    running += probs[i];
    if (u * total < running) return ids[i];
  }
  return ids.back();
}

TEST(SamplerSeeds, DrawIsTheDocumentedInverseCdfOnMt19937_64) {
  const std::vector<float> logits = {0.0f, 1.0f, -0.5f, 2.0f, 0.7f, 1.2f};
  constexpr uint64_t kSeed = 0xC0FFEE;
  {  // no filter: all six, in id order
    SamplerParams p = plain_params();
    p.seed = kSeed;
    Sampler s(p, 6);
    std::mt19937_64 rng(kSeed);
    const std::vector<double> probs = reference_softmax(logits);
    for (int i = 0; i < 2000; ++i) {
      ASSERT_EQ(s.sample(logits), documented_draw(rng, {0, 1, 2, 3, 4, 5}, probs)) << "draw " << i;
    }
  }
  {  // top-k 3 keeps ids 3, 5, 1; the walk is still in id order: 1, 3, 5
    SamplerParams p = plain_params();
    p.top_k = 3;
    p.temperature = 1.3f;
    p.seed = kSeed;
    Sampler s(p, 6);
    std::mt19937_64 rng(kSeed);
    const std::vector<double> probs = reference_softmax({1.0f, 2.0f, 1.2f}, 1.3);
    for (int i = 0; i < 2000; ++i) {
      ASSERT_EQ(s.sample(logits), documented_draw(rng, {1, 3, 5}, probs)) << "draw " << i;
    }
  }
}

}  // namespace
}  // namespace kindred
