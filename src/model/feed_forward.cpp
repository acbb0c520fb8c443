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

// y = W_down (silu(W_gate x) * (W_up x)) for n rows of x; act.gate/act.up hold n × hidden.
void swiglu(const TensorView& gate, const TensorView& up, const TensorView& down, const float* x, int n, float* y,
            Activations& act, ThreadPool& pool) {
  matmul(gate, x, n, act.gate.data(), pool, act.matmul);
  matmul(up, x, n, act.up.data(), pool, act.matmul);
  const size_t count = static_cast<size_t>(n) * gate.rows();
  for (size_t i = 0; i < count; ++i) act.gate[i] = silu(act.gate[i]) * act.up[i];
  matmul(down, act.gate.data(), n, y, pool, act.matmul);
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
  MoeScratch& m = act.moe;
  grow(act.gate, N * std::max(hidden, c.n_ff_shexp));
  grow(act.up, N * std::max(hidden, c.n_ff_shexp));
  grow(m.xe, N * E);
  grow(m.ye, N * E);
  grow(m.ids, N * n_used);
  grow(m.weights, N * n_used);

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

  // Each expert runs once on the contiguous block of its tokens; results scatter-add by weight.
  std::fill_n(out, N * E, 0.0f);
  for (int e = 0; e < n_expert; ++e) {
    const int first = m.offsets[e], count = m.offsets[e + 1] - first;
    if (count == 0) continue;
    for (int i = 0; i < count; ++i) {
      const float* src = x + static_cast<size_t>(m.slot_token[first + i]) * E;
      std::copy(src, src + E, m.xe.data() + static_cast<size_t>(i) * E);
    }
    swiglu(expert_view(gate, e), expert_view(up, e), expert_view(down, e), m.xe.data(), count, m.ye.data(), act, pool);
    for (int i = 0; i < count; ++i) {
      float* dst = out + static_cast<size_t>(m.slot_token[first + i]) * E;
      const float* y = m.ye.data() + static_cast<size_t>(i) * E;
      const float w = m.slot_weight[first + i];
      for (int j = 0; j < E; ++j) dst[j] += w * y[j];
    }
  }

  // Shared expert (qwen2moe): every token, scaled by its own sigmoid gate.
  if (c.n_ff_shexp > 0) {
    grow(m.shexp_gate, N);
    swiglu(L.ffn_gate_shexp, L.ffn_up_shexp, L.ffn_down_shexp, x, n_tokens, m.ye.data(), act, pool);
    matmul(L.ffn_gate_inp_shexp, x, n_tokens, m.shexp_gate.data(), pool, act.matmul);
    for (size_t t = 0; t < N; ++t) {
      const float g = 1.0f / (1.0f + std::exp(-m.shexp_gate[t]));
      for (int j = 0; j < E; ++j) out[t * E + j] += g * m.ye[t * E + j];
    }
  }
}

}  // namespace kindred
