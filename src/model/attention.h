// Attention of each sequence's new queries over the keys and values in its own cache.
#pragma once
#include <span>

#include "model/kv_cache.h"
#include "model/model.h"
#include "tensor/thread_pool.h"

namespace kindred {

// Causal attention of every sequence of a batch over its own cache, in one parallel loop (a task
// is one KV head × up to 16 tokens of one sequence, so a batch of single-token decodes still
// spreads over all threads). The tokens of seqs[i], at positions pos..pos+n-1, are rows
// [first_i, first_i + n) of q and out, first_i being the tokens of the sequences before it; query
// t sees cache positions [0, pos + t]. q and out: [tokens][n_head][head_dim]. Uses act's attention
// scratch (per-thread tiles sized by tile and head size, never by the context length).
void attention(const ModelConfig& c, std::span<const SequenceSlice> seqs, int layer, const float* q, float* out,
               Activations& act, ThreadPool& pool);

}  // namespace kindred
