// Causal self-attention over a sequence's KV cache, with grouped-query heads.
#include "model/attention.h"

#include <algorithm>
#include <cmath>

namespace kindred {

// Causal attention of n_tokens queries (positions pos..pos+n_tokens-1) over the cache.
// q: [n_tokens][n_head][head_dim]; out: same shape.
void attention(const ModelConfig& c, KvCache& cache, int layer, int pos, int n_tokens, const float* q,
               float* out, std::vector<float>& scores, ThreadPool& pool) {
  const int hd = c.head_dim;
  const int group = c.n_head / c.n_head_kv;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int n_ctx_needed = pos + n_tokens;
  if (scores.size() < static_cast<size_t>(pool.size()) * n_ctx_needed) scores.resize(static_cast<size_t>(pool.size()) * n_ctx_needed);
  auto attend = [&](int64_t task, int thread) {
    const int t = static_cast<int>(task / c.n_head);
    const int h = static_cast<int>(task % c.n_head);
    const int kvh = h / group;
    const int n_keys = pos + t + 1;
    const float* qh = q + (static_cast<size_t>(t) * c.n_head + h) * hd;
    float* s = scores.data() + static_cast<size_t>(thread) * n_ctx_needed;
    float max_score = -INFINITY;
    for (int j = 0; j < n_keys; ++j) {
      const float* k = cache.keys(layer, j) + static_cast<size_t>(kvh) * hd;
      float dot = 0;
      for (int i = 0; i < hd; ++i) dot += qh[i] * k[i];
      s[j] = dot * scale;
      max_score = std::max(max_score, s[j]);
    }
    float sum = 0;
    for (int j = 0; j < n_keys; ++j) {
      s[j] = std::exp(s[j] - max_score);
      sum += s[j];
    }
    float* o = out + (static_cast<size_t>(t) * c.n_head + h) * hd;
    std::fill(o, o + hd, 0.0f);
    for (int j = 0; j < n_keys; ++j) {
      const float* v = cache.values(layer, j) + static_cast<size_t>(kvh) * hd;
      const float p = s[j] / sum;
      for (int i = 0; i < hd; ++i) o[i] += p * v[i];
    }
  };
  const int64_t n_tasks = static_cast<int64_t>(n_tokens) * c.n_head;
  // Short contexts are cheaper on one thread than the hand-off to the pool.
  if (n_tasks * n_ctx_needed * hd < (1 << 18)) {
    for (int64_t task = 0; task < n_tasks; ++task) attend(task, 0);
  } else {
    pool.parallel_for(n_tasks, attend);
  }
}

}  // namespace kindred
