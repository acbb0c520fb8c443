// The feed-forward block of a decoder layer.
#pragma once
#include "model/model.h"
#include "tensor/thread_pool.h"

namespace kindred {

// out = W_down (silu(W_gate x) * (W_up x)) for n_tokens rows of x (normalised input, n_embd each);
// out has n_tokens rows of n_embd.
void feed_forward(const ModelConfig& c, const LayerWeights& L, const float* x, int n_tokens, float* out,
                  Activations& act, ThreadPool& pool);

}  // namespace kindred
