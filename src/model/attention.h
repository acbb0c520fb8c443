// Attention of a batch of queries over the keys and values in a sequence's cache.
#pragma once
#include <vector>

#include "model/kv_cache.h"
#include "model/model.h"
#include "tensor/thread_pool.h"

namespace kindred {

// Causal attention of n_tokens queries at positions pos..pos+n_tokens-1 over cache positions
// [0, pos + t] for query t. q and out: [n_tokens][n_head][head_dim]. scratch is per-thread
// working memory, grown here; its size depends on the tile sizes and head size, never on the
// context length.
void attention(const ModelConfig& c, const KvCache& cache, int layer, int pos, int n_tokens, const float* q,
               float* out, std::vector<float>& scratch, ThreadPool& pool);

}  // namespace kindred
