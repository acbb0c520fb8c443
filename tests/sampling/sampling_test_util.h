// Helpers shared by the sampling tests.
#pragma once
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "sampling/sampler.h"

namespace kindred::test {

// Every filter off, temperature 1: the chain is a plain softmax.
inline SamplerParams plain_params() {
  return {.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .typical_p = 1.0f};
}

// Logits whose softmax is exactly (up to rounding) the given probabilities.
inline std::vector<float> logits_from_probs(const std::vector<double>& probs) {
  std::vector<float> out;
  for (double p : probs) out.push_back(static_cast<float>(std::log(p)));
  return out;
}

inline std::vector<int32_t> ids_of(const std::vector<std::pair<int32_t, float>>& dist) {
  std::vector<int32_t> out;
  for (const auto& [id, p] : dist) out.push_back(id);
  return out;
}

// softmax(logits / temperature) in double, for expected values computed independently.
inline std::vector<double> reference_softmax(const std::vector<float>& logits, double temperature = 1.0) {
  double top = -INFINITY;
  for (float l : logits) top = std::max(top, static_cast<double>(l));
  std::vector<double> p;
  double sum = 0.0;
  for (float l : logits) {
    p.push_back(std::exp((l - top) / temperature));
    sum += p.back();
  }
  for (double& x : p) x /= sum;
  return p;
}

}  // namespace kindred::test
