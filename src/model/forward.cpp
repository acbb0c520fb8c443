// The decoder forward pass shared by every architecture: pre-norm attention with GQA, RoPE and
// optional q/k bias and norm, then a SwiGLU (or mixture-of-experts) feed-forward, each added to
// the residual stream. Architecture differences are flags in ModelConfig (architecture.cpp).
// One pass runs the tokens of one or many sequences: the matrix products see every token at
// once, while positions, KV caches, attention and steering belong to each token's sequence.
#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

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

// Checks one sequence's share of a pass; index < 0 is the single-sequence forward, whose
// messages name no slice.
void validate_slice(const ModelConfig& c, const SequenceSlice& s, int index) {
  auto where = [&] { return index < 0 ? std::string() : "sequence " + std::to_string(index) + " of the batch: "; };
  if (!s.cache) throw ModelError(where() + "no KV cache");
  const auto n = static_cast<int64_t>(s.tokens.size());
  if (n == 0) throw ModelError(where() + "forward called with no tokens");
  if (s.pos < 0 || s.pos + n > s.cache->n_ctx()) {
    throw ModelError(where() + "context full: positions " + std::to_string(s.pos) + ".." + std::to_string(s.pos + n - 1) +
                     " do not fit a context of " + std::to_string(s.cache->n_ctx()));
  }
  for (int32_t id : s.tokens) {
    if (id < 0 || id >= c.n_vocab) {
      throw ModelError(where() + "token id " + std::to_string(id) + " is outside the vocabulary");
    }
  }
  if (!s.steering) return;
  try {
    validate_steering(*s.steering, c);
  } catch (const ModelError& e) {
    throw ModelError(where() + e.what());
  }
}

void validate_pooling(const Activations& act, const ModelConfig& c) {
  if (act.pool_layers && (act.layer_sums.size() != static_cast<size_t>(c.n_layer + 1) * c.n_embd ||
                          act.layer_norm_sums.size() != static_cast<size_t>(c.n_layer))) {
    throw ModelError("pool_layers needs layer_sums of (n_layer + 1) × n_embd and layer_norm_sums of n_layer");
  }
}

void check_logits_size(std::span<const float> logits, size_t rows, const ModelConfig& c) {
  if (logits.size() < rows * c.n_vocab) {
    throw ModelError("logits buffer too small: " + std::to_string(logits.size()) + " floats for " + std::to_string(rows) +
                     " rows of " + std::to_string(c.n_vocab));
  }
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
  // Checked before any work so a bad call never leaves a half-written cache.
  const SequenceSlice seq{.tokens = tokens, .pos = pos, .cache = &cache, .steering = act.steering};
  validate_slice(config_, seq, -1);
  check_logits_size(logits, all_logits ? tokens.size() : 1, config_);
  validate_pooling(act, config_);
  run_forward({&seq, 1}, act, pool, logits, all_logits);
}

void Model::forward_batch(std::span<const SequenceSlice> seqs, Activations& act, ThreadPool& pool,
                          std::span<float> logits) const {
  if (seqs.empty()) throw ModelError("forward_batch called with no sequences");
  if (act.steering) {
    throw ModelError("forward_batch takes steering per sequence (SequenceSlice::steering); act.steering must be null");
  }
  if (act.pool_hidden || act.pool_layers) {
    throw ModelError("forward_batch does not pool hidden states: pooling is for one sequence (Model::forward)");
  }
  std::vector<const KvCache*>& caches = act.slice_caches;
  caches.clear();
  for (size_t i = 0; i < seqs.size(); ++i) {
    validate_slice(config_, seqs[i], static_cast<int>(i));
    caches.push_back(seqs[i].cache);
  }
  // Two slices writing one cache would overwrite each other's positions.
  std::sort(caches.begin(), caches.end(), std::less<>());  // std::less: a total order even for unrelated pointers
  if (const auto dup = std::adjacent_find(caches.begin(), caches.end()); dup != caches.end()) {
    size_t first = 0;
    while (seqs[first].cache != *dup) ++first;
    size_t second = first + 1;
    while (seqs[second].cache != *dup) ++second;
    throw ModelError("sequences " + std::to_string(first) + " and " + std::to_string(second) +
                     " of the batch share one KV cache");
  }
  check_logits_size(logits, seqs.size(), config_);
  run_forward(seqs, act, pool, logits, false);
}

void Model::run_forward(std::span<const SequenceSlice> seqs, Activations& act, ThreadPool& pool,
                        std::span<float> logits, bool all_logits) const {
  const ModelConfig& c = config_;
  const ModelWeights& w = weights_;
  size_t N = 0;
  for (const SequenceSlice& s : seqs) N += s.tokens.size();
  const int n = static_cast<int>(N);
  const int E = c.n_embd, hd = c.head_dim;
  const int q_dim = c.n_head * hd, kv_dim = c.n_head_kv * hd;
  grow(act.x, N * E);
  grow(act.xb, N * std::max(E, q_dim));
  grow(act.q, N * q_dim);
  grow(act.k, N * kv_dim);
  grow(act.v, N * kv_dim);
  grow(act.attn_out, N * q_dim);
  grow(act.gate, N * c.n_ff);
  grow(act.up, N * c.n_ff);
  grow(act.ffn_out, N * E);
  float* x = act.x.data();

  // Token embeddings; rotation angles depend only on the position, so each token's are computed
  // once for all layers. Tokens are numbered across the batch, slice after slice.
  if (act.rope.size() < N) act.rope.resize(N);
  for (size_t first = 0; const SequenceSlice& s : seqs) {
    for (size_t j = 0; j < s.tokens.size(); ++j) {
      get_row(w.token_embd, s.tokens[j], x + (first + j) * E);
      rope_angles(c.rope, s.pos + static_cast<int>(j), w.rope_freq_factors, act.rope[first + j]);
    }
    first += s.tokens.size();
  }

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
    for (size_t first = 0; const SequenceSlice& s : seqs) {
      for (size_t j = 0; j < s.tokens.size(); ++j) {
        const size_t t = first + j;
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
        // Into the token's own sequence's cache, converted to the cache type.
        s.cache->store(l, s.pos + static_cast<int>(j), k, act.v.data() + t * kv_dim);
      }
      first += s.tokens.size();
    }
    // Each sequence attends over its own cache only; all of them in one parallel loop.
    attention(c, seqs, l, act.q.data(), act.attn_out.data(), act, pool);
    matmul(L.wo, act.attn_out.data(), n, act.xb.data(), pool, act.matmul);
    for (size_t i = 0; i < N * E; ++i) x[i] += act.xb[i];

    // Feed-forward block, added to the residual stream.
    for (int t = 0; t < n; ++t) rms_norm(x + t * E, f32_data(L.ffn_norm), act.xb.data() + t * E, E, c.rms_eps);
    feed_forward(c, L, act.xb.data(), n, act.ffn_out.data(), act, pool);
    for (size_t i = 0; i < N * E; ++i) x[i] += act.ffn_out[i];

    for (size_t first = 0; const SequenceSlice& s : seqs) {
      if (s.steering && !s.steering->layers[l].empty()) {
        const float* v = s.steering->layers[l].data();
        for (size_t t = first; t < first + s.tokens.size(); ++t) {
          for (int i = 0; i < E; ++i) x[t * E + i] += v[i];
        }
      }
      first += s.tokens.size();
    }
    if (act.pool_layers) {  // one sequence (forward_batch refuses pooling)
      const SequenceSlice& s = seqs.front();
      float* sum = act.layer_sums.data() + static_cast<size_t>(l) * E;
      for (int t = std::max(0, act.pool_from - s.pos); t < n; ++t) {
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

  if (act.pool_hidden || act.pool_layers) {
    const int pos = seqs.front().pos;
    if (act.pool_layers) act.pool_count += std::max(0, n - std::max(0, act.pool_from - pos));
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

  // Final norm and the output head, only for the rows the caller wants: every token, or the last
  // of each sequence (the head is the largest matrix of a small model).
  size_t n_rows = 0;
  auto add_row = [&](size_t t) {
    rms_norm(x + t * E, f32_data(w.output_norm), act.xb.data() + n_rows * E, E, c.rms_eps);
    ++n_rows;
  };
  if (all_logits) {
    for (size_t t = 0; t < N; ++t) add_row(t);
  } else {
    for (size_t end = 0; const SequenceSlice& s : seqs) add_row((end += s.tokens.size()) - 1);
  }
  matmul(w.output, act.xb.data(), static_cast<int64_t>(n_rows), logits.data(), pool, act.matmul);
}

}  // namespace kindred
