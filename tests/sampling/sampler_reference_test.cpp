// The optimised chain (top-k during loading, partial sorts for top-p and typical-p, sparse
// bias and penalties) against a deliberately naive reference on random inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <vector>

#include "sampling/sampler.h"

namespace kindred {
namespace {

struct Ref {
  int32_t id;
  double logit;
  double p = 0.0;
  double score = 0.0;
};

bool canonical(const Ref& a, const Ref& b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); }

void ref_softmax(std::vector<Ref>& c, double temperature) {
  double top = -INFINITY;
  for (const Ref& x : c) top = std::max(top, x.logit);
  double sum = 0.0;
  for (Ref& x : c) sum += (x.p = std::exp((x.logit - top) / temperature));
  for (Ref& x : c) x.p /= sum;
}

// The documented chain, step by step, with full sorts. logits are already adjusted.
std::map<int32_t, double> reference_chain(const std::vector<float>& logits, const SamplerParams& params) {
  std::vector<Ref> c;
  for (size_t i = 0; i < logits.size(); ++i) {
    float l = logits[i];
    if (std::isnan(l) || l == -INFINITY) continue;
    if (l == INFINITY) l = std::numeric_limits<float>::max();
    c.push_back({static_cast<int32_t>(i), l});
  }
  std::sort(c.begin(), c.end(), canonical);
  if (params.top_k > 0 && static_cast<size_t>(params.top_k) < c.size()) c.resize(static_cast<size_t>(params.top_k));
  if (params.typical_p < 1.0f) {
    ref_softmax(c, 1.0);
    double h = 0.0;
    for (const Ref& x : c) h -= x.p > 0 ? x.p * std::log(x.p) : 0.0;
    for (Ref& x : c) x.score = x.p > 0 ? std::abs(-std::log(x.p) - h) : INFINITY;
    std::sort(c.begin(), c.end(), [](const Ref& a, const Ref& b) {
      return a.score < b.score || (a.score == b.score && canonical(a, b));
    });
    double mass = 0.0;
    for (size_t i = 0; i < c.size(); ++i) {
      if ((mass += c[i].p) > params.typical_p) {
        c.resize(i + 1);
        break;
      }
    }
    std::sort(c.begin(), c.end(), canonical);
  }
  if (params.top_p < 1.0f) {
    ref_softmax(c, 1.0);
    double mass = 0.0;
    for (size_t i = 0; i < c.size(); ++i) {
      if ((mass += c[i].p) >= params.top_p) {
        c.resize(i + 1);
        break;
      }
    }
  }
  if (params.min_p > 0.0f) {
    const double threshold = c.front().logit + std::log(static_cast<double>(params.min_p));
    std::erase_if(c, [&](const Ref& x) { return x.logit < threshold; });
  }
  std::map<int32_t, double> out;
  if (params.temperature <= 0.0f) {
    out[c.front().id] = 1.0;
    return out;
  }
  ref_softmax(c, params.temperature);
  for (const Ref& x : c) {
    if (x.p > 0) out[x.id] = x.p;
  }
  return out;
}

TEST(SamplerReference, OptimisedChainMatchesTheNaiveOne) {
  constexpr int32_t kVocab = 1500;
  std::mt19937 gen(31337);
  const auto pick = [&](auto... options) {
    const std::vector<double> v = {static_cast<double>(options)...};
    return v[gen() % v.size()];
  };
  int compared = 0;
  for (int trial = 0; trial < 200; ++trial) {
    // Quarter-integer logits give plenty of exact ties; a few NaN and infinities mixed in.
    std::vector<float> logits(kVocab);
    for (float& l : logits) {
      const unsigned r = gen() % 1000;
      l = r == 0 ? NAN : r == 1 ? -INFINITY : static_cast<float>(static_cast<int>(gen() % 81) - 40) / 4.0f;
    }
    if (trial % 10 == 0) logits[gen() % kVocab] = INFINITY;
    SamplerParams p{
        .temperature = static_cast<float>(pick(0.0, 0.3, 1.0, 2.5)),
        .top_k = static_cast<int>(pick(0, 0, 1, 7, 100, 1499, 5000)),
        .top_p = static_cast<float>(pick(1.0, 0.0, 0.5, 0.9, 0.97, 0.999)),
        .min_p = static_cast<float>(pick(0.0, 0.0, 0.001, 0.05, 0.3)),
        .typical_p = static_cast<float>(pick(1.0, 1.0, 0.2, 0.8, 0.95)),
        .repeat_penalty = static_cast<float>(pick(1.0, 1.3)),
        .presence_penalty = static_cast<float>(pick(0.0, 0.4)),
        .frequency_penalty = static_cast<float>(pick(0.0, 0.1, -0.2)),
        .penalty_last_n = static_cast<int>(pick(0, 5, 64, -1)),
        .seed = static_cast<uint64_t>(trial),
    };
    for (int i = 0; i < 20; ++i) {
      p.logit_bias.emplace_back(static_cast<int32_t>(gen() % kVocab), static_cast<float>(pick(-INFINITY, -2.0, 1.5, 3.0)));
    }
    Sampler s(p, kVocab);
    for (int i = 0; i < 100; ++i) s.accept(static_cast<int32_t>(gen() % 200));

    const std::map<int32_t, double> expected = reference_chain(s.adjusted_logits(logits), p);
    const auto dist = s.distribution(logits);
    ASSERT_EQ(dist.size(), expected.size()) << "trial " << trial;
    for (const auto& [id, prob] : dist) {
      const auto it = expected.find(id);
      ASSERT_NE(it, expected.end()) << "trial " << trial << ": unexpected survivor " << id;
      ASSERT_NEAR(prob, it->second, 1e-6 + 1e-5 * it->second) << "trial " << trial << ", id " << id;
    }
    for (int i = 0; i < 10; ++i) {
      const int32_t t = s.sample(logits);
      ASSERT_TRUE(expected.count(t)) << "trial " << trial << ": sampled filtered token " << t;
    }
    ++compared;
  }
  EXPECT_EQ(compared, 200);
}

}  // namespace
}  // namespace kindred
