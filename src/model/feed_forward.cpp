// SwiGLU feed-forward (Shazeer 2020).
#include "model/feed_forward.h"

#include <cmath>

#include "tensor/matmul.h"

namespace kindred {
namespace {

float silu(float x) { return x / (1.0f + std::exp(-x)); }

}  // namespace

void feed_forward(const ModelConfig& c, const LayerWeights& L, const float* x, int n_tokens, float* out,
                  Activations& act, ThreadPool& pool) {
  matmul(L.ffn_gate, x, n_tokens, act.gate.data(), pool, act.matmul);
  matmul(L.ffn_up, x, n_tokens, act.up.data(), pool, act.matmul);
  const size_t n = static_cast<size_t>(n_tokens) * c.n_ff;
  for (size_t i = 0; i < n; ++i) act.gate[i] = silu(act.gate[i]) * act.up[i];
  matmul(L.ffn_down, act.gate.data(), n_tokens, out, pool, act.matmul);
}

}  // namespace kindred
