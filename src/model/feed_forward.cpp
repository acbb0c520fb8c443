// SwiGLU feed-forward (Shazeer 2020) over routed experts. A dense layer takes the same path with
// one expert that every token uses at weight 1, so there is one feed-forward implementation.
#include "model/feed_forward.h"

#include <algorithm>
#include <cmath>

#include "model/moe.h"
#include "tensor/matmul.h"

namespace kindred {
namespace {

float silu(float x) { return x / (1.0f + std::exp(-x)); }

template <typename T>
void grow(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

void silu_mul(float* gate, const float* up, size_t n) {
  for (size_t i = 0; i < n; ++i) gate[i] = silu(gate[i]) * up[i];
}

}  // namespace

void feed_forward(const ModelConfig& c, const LayerWeights& L, const float* x, int n_tokens, float* out,
                  Activations& act, ThreadPool& pool) {
  const bool routed = c.n_expert > 0;
  const int E = c.n_embd;
  const int n_expert = routed ? c.n_expert : 1;
  const int n_used = routed ? c.n_expert_used : 1;
  const int hidden = routed ? c.n_ff_exp : c.n_ff;
  const TensorView& gate = routed ? L.ffn_gate_exps : L.ffn_gate;
  const TensorView& up = routed ? L.ffn_up_exps : L.ffn_up;
  const TensorView& down = routed ? L.ffn_down_exps : L.ffn_down;
  const auto N = static_cast<size_t>(n_tokens);
  const size_t n_slots = N * n_used;
  MoeScratch& m = act.moe;
  grow(act.gate, std::max(n_slots * hidden, N * c.n_ff_shexp));
  grow(act.up, std::max(n_slots * hidden, N * c.n_ff_shexp));
  grow(m.ids, n_slots);
  grow(m.weights, n_slots);

  // Route: each token picks its experts and weights (the dense layer: expert 0, weight 1).
  if (routed) {
    const RoutingRule rule = routing_rule(c);
    grow(m.logits, N * n_expert);
    grow(m.scores, static_cast<size_t>(n_expert));
    grow(m.order, static_cast<size_t>(n_expert));
    matmul(L.ffn_gate_inp, x, n_tokens, m.logits.data(), pool, act.matmul);
    const auto* bias = static_cast<const float*>(L.exp_probs_b.data);
    for (size_t t = 0; t < N; ++t) {
      route_token(rule, m.logits.data() + t * n_expert, bias, m.ids.data() + t * n_used, m.weights.data() + t * n_used,
                  m.scores.data(), m.order.data());
    }
  } else {
    std::fill_n(m.ids.begin(), N, 0);
    std::fill_n(m.weights.begin(), N, 1.0f);
  }
  group_by_expert(n_expert, n_tokens, n_used, m);

  // Inputs by slot, so each expert reads a contiguous block of its tokens (a dense layer's
  // slots are its tokens in order: it reads x and writes out directly).
  const float* xs = x;
  float* ys = out;
  if (routed) {
    grow(m.xe, n_slots * E);
    grow(m.ye, n_slots * E);
    for (size_t s = 0; s < n_slots; ++s) {
      const float* src = x + static_cast<size_t>(m.slot_token[s]) * E;
      std::copy(src, src + E, m.xe.data() + s * E);
    }
    xs = m.xe.data();
    ys = m.ye.data();
  }

  // Every used expert's gate and up projections in one batch, then every down projection in one.
  if (m.views.size() < static_cast<size_t>(3 * n_expert)) m.views.resize(3 * n_expert);
  m.jobs.clear();
  for (int e = 0; e < n_expert; ++e) {
    const int first = m.offsets[e], count = m.offsets[e + 1] - first;
    if (count == 0) continue;
    m.views[3 * e] = expert_view(gate, e);
    m.views[3 * e + 1] = expert_view(up, e);
    m.views[3 * e + 2] = expert_view(down, e);
    const float* xe = xs + static_cast<size_t>(first) * E;
    m.jobs.push_back({&m.views[3 * e], xe, count, act.gate.data() + static_cast<size_t>(first) * hidden});
    m.jobs.push_back({&m.views[3 * e + 1], xe, count, act.up.data() + static_cast<size_t>(first) * hidden});
  }
  matmul_batch(m.jobs, pool, act.matmul);
  silu_mul(act.gate.data(), act.up.data(), n_slots * hidden);
  m.jobs.clear();
  for (int e = 0; e < n_expert; ++e) {
    const int first = m.offsets[e], count = m.offsets[e + 1] - first;
    if (count == 0) continue;
    m.jobs.push_back({&m.views[3 * e + 2], act.gate.data() + static_cast<size_t>(first) * hidden, count,
                      ys + static_cast<size_t>(first) * E});
  }
  matmul_batch(m.jobs, pool, act.matmul);

  // Weighted sum of each token's experts.
  if (routed) {
    std::fill_n(out, N * E, 0.0f);
    for (size_t s = 0; s < n_slots; ++s) {
      float* dst = out + static_cast<size_t>(m.slot_token[s]) * E;
      const float* y = m.ye.data() + s * E;
      const float w = m.slot_weight[s];
      for (int j = 0; j < E; ++j) dst[j] += w * y[j];
    }
  }

  // Shared expert (qwen2moe): every token, scaled by its own sigmoid gate.
  if (c.n_ff_shexp > 0) {
    grow(m.shexp_gate, N);
    grow(m.ye, N * E);
    const MatmulJob gate_up[] = {{&L.ffn_gate_shexp, x, n_tokens, act.gate.data()},
                                 {&L.ffn_up_shexp, x, n_tokens, act.up.data()},
                                 {&L.ffn_gate_inp_shexp, x, n_tokens, m.shexp_gate.data()}};
    matmul_batch(gate_up, pool, act.matmul);
    silu_mul(act.gate.data(), act.up.data(), N * c.n_ff_shexp);
    matmul(L.ffn_down_shexp, act.gate.data(), n_tokens, m.ye.data(), pool, act.matmul);
    for (size_t t = 0; t < N; ++t) {
      const float g = 1.0f / (1.0f + std::exp(-m.shexp_gate[t]));
      for (int j = 0; j < E; ++j) out[t * E + j] += g * m.ye[t * E + j];
    }
  }
}

}  // namespace kindred
