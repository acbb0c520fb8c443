// The feed-forward block of a decoder layer: a mixture of SwiGLU experts, of which a dense FFN is
// the case of one expert with weight 1, plus an optional gated shared expert (qwen2moe).
#pragma once
#include "model/model.h"
#include "tensor/thread_pool.h"

namespace kindred {

// out = Σ_e w_e(x) · W_down,e (silu(W_gate,e x) * (W_up,e x)) [+ sigmoid(g · x) · shared(x)] for
// n_tokens rows of x (normalised input, n_embd each); out has n_tokens rows of n_embd.
// Tokens are grouped by expert so each expert's weights are read once per call.
void feed_forward(const ModelConfig& c, const LayerWeights& L, const float* x, int n_tokens, float* out,
                  Activations& act, ThreadPool& pool);

}  // namespace kindred
