// The decoder forward pass shared by every dense architecture: pre-norm attention with GQA,
// RoPE and optional q/k bias and norm, then a SwiGLU feed-forward, each added to the residual
// stream. Architecture differences are flags in ModelConfig (architecture.cpp).
#include <algorithm>
#include <cmath>

#include "model/attention.h"
#include "model/kv_cache.h"
#include "model/feed_forward.h"
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

void grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

}  // namespace

void validate_steering(const SteeringVectors& s, const ModelConfig& config) {
  if (static_cast<int>(s.layers.size()) != config.n_layer) {
    throw ModelError("steering vectors cover " + std::to_string(s.layers.size()) + " layers but the model has " +
                     std::to_string(config.n_layer));
  }
  for (size_t l = 0; l < s.layers.size(); ++l) {
    const size_t n = s.layers[l].size();
    if (n != 0 && n != static_cast<size_t>(config.n_embd)) {
      throw ModelError("steering vector for layer " + std::to_string(l) + " has " + std::to_string(n) +
                       " values but the model's n_embd is " + std::to_string(config.n_embd));
    }
  }
}

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

  // Checked before any work so a bad vector never leaves a half-written cache.
  if (act.steering) validate_steering(*act.steering, c);
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
  grow(act.ffn_out, N * E);
  if (act.pool_layers) {
    if (act.layer_sums.size() != static_cast<size_t>(c.n_layer + 1) * E ||
        act.layer_norm_sums.size() != static_cast<size_t>(c.n_layer)) {
      throw ModelError("pool_layers needs layer_sums of (n_layer + 1) × n_embd and layer_norm_sums of n_layer");
    }
  }
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
    const MatmulJob qkv[] = {{&L.wq, act.xb.data(), n, act.q.data()},
                             {&L.wk, act.xb.data(), n, act.k.data()},
                             {&L.wv, act.xb.data(), n, act.v.data()}};
    matmul_batch(qkv, pool, act.matmul);
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
      if (c.qk_norm_full) {  // olmoe, minimax-m2 normalise all heads together
        rms_norm(q, f32_data(L.q_norm), q, q_dim, c.rms_eps);
        rms_norm(k, f32_data(L.k_norm), k, kv_dim, c.rms_eps);
      }
      // RoPE rotates the first rope.n_dims of each head (all of it unless partial, as in minimax-m2).
      apply_rope(c.rope, act.rope[t], q, c.n_head, hd);
      apply_rope(c.rope, act.rope[t], k, c.n_head_kv, hd);
      cache.store(l, pos + t, k, act.v.data() + static_cast<size_t>(t) * kv_dim);  // converts to the cache type
    }
    attention(c, cache, l, pos, n, act.q.data(), act.attn_out.data(), act.attn_scratch, pool);
    matmul(L.wo, act.attn_out.data(), n, act.xb.data(), pool, act.matmul);
    for (size_t i = 0; i < N * E; ++i) x[i] += act.xb[i];

    // Feed-forward block, added to the residual stream.
    for (int t = 0; t < n; ++t) rms_norm(x + t * E, f32_data(L.ffn_norm), act.xb.data() + t * E, E, c.rms_eps);
    feed_forward(c, L, act.xb.data(), n, act.ffn_out.data(), act, pool);
    for (size_t i = 0; i < N * E; ++i) x[i] += act.ffn_out[i];

    if (act.steering && !act.steering->layers[l].empty()) {
      const float* v = act.steering->layers[l].data();
      for (int t = 0; t < n; ++t) {
        for (int i = 0; i < E; ++i) x[static_cast<size_t>(t) * E + i] += v[i];
      }
    }
    if (act.pool_layers) {
      float* sum = act.layer_sums.data() + static_cast<size_t>(l) * E;
      for (int t = std::max(0, act.pool_from - pos); t < n; ++t) {
        const float* row = x + static_cast<size_t>(t) * E;
        double sq = 0;
        for (int i = 0; i < E; ++i) {
          sum[i] += row[i];
          sq += static_cast<double>(row[i]) * row[i];
        }
        act.layer_norm_sums[l] += std::sqrt(sq);
      }
    }
  }
  if (act.pool_layers) act.pool_count += std::max(0, n - std::max(0, act.pool_from - pos));

  if (act.pool_hidden || act.pool_layers) {
    if (act.pool_hidden) act.pooled.resize(static_cast<size_t>(E), 0.0f);
    float* final_sum = act.pool_layers ? act.layer_sums.data() + static_cast<size_t>(c.n_layer) * E : nullptr;
    std::vector<float>& row = act.ffn_out;  // free at this point
    for (int t = 0; t < n; ++t) {
      rms_norm(x + t * E, f32_data(w.output_norm), row.data(), E, c.rms_eps);
      if (act.pool_hidden) {
        for (int i = 0; i < E; ++i) act.pooled[i] += row[i];
      }
      if (final_sum && pos + t >= act.pool_from) {
        for (int i = 0; i < E; ++i) final_sum[i] += row[i];
      }
    }
  }

  // Final norm and the output head, for the rows the caller wants.
  const int first = all_logits ? 0 : n - 1;
  for (int t = first; t < n; ++t) {
    rms_norm(x + t * E, f32_data(w.output_norm), act.xb.data() + (t - first) * E, E, c.rms_eps);
  }
  matmul(w.output, act.xb.data(), static_cast<int64_t>(n_logit_rows), logits.data(), pool, act.matmul);
}

}  // namespace kindred
