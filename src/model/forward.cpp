// The decoder forward pass shared by every dense architecture: pre-norm attention with GQA,
// RoPE and optional q/k bias and norm, then a SwiGLU feed-forward, each added to the residual
// stream. Architecture differences are flags in ModelConfig (architecture.cpp).
#include <algorithm>
#include <cmath>

#include "model/model.h"
#include "model/rope.h"
#include "tensor/quants.h"

namespace kindred {
namespace {

// y = x / rms(x) * w, for n values; w may be null (no gain).
void rms_norm(const float* x, const float* w, float* y, int n, float eps) {
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  const float scale = 1.0f / std::sqrt(static_cast<float>(sum / n) + eps);
  for (int i = 0; i < n; ++i) y[i] = x[i] * scale * (w ? w[i] : 1.0f);
}

const float* f32_data(const TensorView& t) { return static_cast<const float*>(t.data); }

void add_bias(float* y, const TensorView& bias, int n_tokens, int width) {
  if (!bias.data) return;
  const float* b = f32_data(bias);
  for (int t = 0; t < n_tokens; ++t) {
    for (int i = 0; i < width; ++i) y[static_cast<size_t>(t) * width + i] += b[i];
  }
}

float silu(float x) { return x / (1.0f + std::exp(-x)); }

void grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

// Causal attention of n_tokens queries (positions pos..pos+n_tokens-1) over the cache.
// q: [n_tokens][n_head][head_dim]; out: same shape.
void attention(const ModelConfig& c, KvCache& cache, int layer, int pos, int n_tokens, const float* q,
               float* out, std::vector<float>& scores, ThreadPool& pool) {
  const int hd = c.head_dim;
  const int group = c.n_head / c.n_head_kv;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int n_ctx_needed = pos + n_tokens;
  grow(scores, static_cast<size_t>(pool.size()) * n_ctx_needed);
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

}  // namespace

void Model::forward(std::span<const int32_t> tokens, int pos, KvCache& cache, Activations& act, ThreadPool& pool,
                    std::span<float> logits, bool all_logits) const {
  const ModelConfig& c = config_;
  const ModelWeights& w = weights_;
  const int n = static_cast<int>(tokens.size());
  if (n == 0) throw ModelError("forward called with no tokens");
  if (pos < 0 || pos + n > cache.n_ctx()) {
    throw ModelError("context full: positions " + std::to_string(pos) + ".." + std::to_string(pos + n - 1) +
                     " do not fit a context of " + std::to_string(cache.n_ctx()));
  }
  const size_t n_logit_rows = all_logits ? n : 1;
  if (logits.size() < n_logit_rows * c.n_vocab) throw ModelError("logits buffer too small");
  for (int32_t id : tokens) {
    if (id < 0 || id >= c.n_vocab) throw ModelError("token id " + std::to_string(id) + " is outside the vocabulary");
  }

  const int E = c.n_embd, hd = c.head_dim;
  const int q_dim = c.n_head * hd, kv_dim = c.n_head_kv * hd;
  const auto N = static_cast<size_t>(n);
  grow(act.x, N * E);
  grow(act.xb, N * std::max(E, q_dim));
  grow(act.q, N * q_dim);
  grow(act.k, N * kv_dim);
  grow(act.v, N * kv_dim);
  grow(act.attn_out, N * q_dim);
  grow(act.gate, N * c.n_ff);
  grow(act.up, N * c.n_ff);
  float* x = act.x.data();

  // Token embeddings.
  for (int t = 0; t < n; ++t) get_row(w.token_embd, tokens[t], x + t * E);

  // Rotation angles depend only on the position: compute them once for all layers.
  if (act.rope.size() < N) act.rope.resize(N);
  for (int t = 0; t < n; ++t) rope_angles(c.rope, pos + t, w.rope_freq_factors, act.rope[t]);

  for (int l = 0; l < c.n_layer; ++l) {
    const LayerWeights& L = w.layers[l];

    // Attention block: normalise, project, position-encode, attend, project back, add.
    for (int t = 0; t < n; ++t) rms_norm(x + t * E, f32_data(L.attn_norm), act.xb.data() + t * E, E, c.rms_eps);
    matmul(L.wq, act.xb.data(), n, act.q.data(), pool, act.matmul);
    matmul(L.wk, act.xb.data(), n, act.k.data(), pool, act.matmul);
    matmul(L.wv, act.xb.data(), n, act.v.data(), pool, act.matmul);
    add_bias(act.q.data(), L.bq, n, q_dim);
    add_bias(act.k.data(), L.bk, n, kv_dim);
    add_bias(act.v.data(), L.bv, n, kv_dim);
    for (int t = 0; t < n; ++t) {
      float* q = act.q.data() + t * q_dim;
      float* k = act.k.data() + t * kv_dim;
      if (c.qk_norm) {
        for (int h = 0; h < c.n_head; ++h) rms_norm(q + h * hd, f32_data(L.q_norm), q + h * hd, hd, c.rms_eps);
        for (int h = 0; h < c.n_head_kv; ++h) rms_norm(k + h * hd, f32_data(L.k_norm), k + h * hd, hd, c.rms_eps);
      }
      apply_rope(c.rope, act.rope[t], q, c.n_head, hd);
      apply_rope(c.rope, act.rope[t], k, c.n_head_kv, hd);
      std::copy(k, k + kv_dim, cache.keys(l, pos + t));
      std::copy(act.v.data() + t * kv_dim, act.v.data() + (t + 1) * kv_dim, cache.values(l, pos + t));
    }
    attention(c, cache, l, pos, n, act.q.data(), act.attn_out.data(), act.scores, pool);
    matmul(L.wo, act.attn_out.data(), n, act.xb.data(), pool, act.matmul);
    for (size_t i = 0; i < N * E; ++i) x[i] += act.xb[i];

    // Feed-forward block: SwiGLU, down-projected and added.
    for (int t = 0; t < n; ++t) rms_norm(x + t * E, f32_data(L.ffn_norm), act.xb.data() + t * E, E, c.rms_eps);
    matmul(L.ffn_gate, act.xb.data(), n, act.gate.data(), pool, act.matmul);
    matmul(L.ffn_up, act.xb.data(), n, act.up.data(), pool, act.matmul);
    for (size_t i = 0; i < N * c.n_ff; ++i) act.gate[i] = silu(act.gate[i]) * act.up[i];
    matmul(L.ffn_down, act.gate.data(), n, act.xb.data(), pool, act.matmul);
    for (size_t i = 0; i < N * E; ++i) x[i] += act.xb[i];
  }

  // Final norm and the output head, for the rows the caller wants.
  const int first = all_logits ? 0 : n - 1;
  for (int t = first; t < n; ++t) {
    rms_norm(x + t * E, f32_data(w.output_norm), act.xb.data() + (t - first) * E, E, c.rms_eps);
  }
  matmul(w.output, act.xb.data(), static_cast<int64_t>(n_logit_rows), logits.data(), pool, act.matmul);
}

}  // namespace kindred
