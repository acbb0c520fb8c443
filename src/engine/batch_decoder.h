// Continuous batching: many independent sequences (each a Context with its own KV cache,
// position and steering) advanced together in one forward pass, so a server decodes every active
// chat with one pass per step and the weights are read once per step rather than once per chat.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "engine/context.h"
#include "model/model.h"

namespace kindred {

// One sequence's part of a step: the tokens to append to ctx (one for a decode step, a whole
// prompt for a new request; lengths may differ within a batch).
struct BatchItem {
  Context* ctx = nullptr;
  std::span<const int32_t> tokens;
};

class BatchDecoder {
 public:
  // The contexts given to eval must be of `model`; the pass runs on `pool` (contexts' own pools
  // are not used, so they can all share this one: ContextParams::shared_pool).
  BatchDecoder(const Model& model, ThreadPool& pool);

  // Appends each item's tokens to its context in one forward pass and returns items.size() rows
  // of n_vocab logits, row i after item i's last token (valid until the next eval). Each context
  // ends exactly as Context::eval would leave it (cache, n_past, tokens), steered by its own
  // steering(). A prompt goes in whole: ContextParams::n_batch does not split it and activations
  // grow to the batch's total tokens, so a server bounds the prompt tokens of a step. Throws
  // ModelError naming the item, before any work, when the batch is empty or a context is null, of
  // another model or listed twice, or its tokens are empty, outside the vocabulary (named as
  // "sequence i of the batch") or do not fit; then no context has changed.
  std::span<const float> eval(std::span<const BatchItem> items);

  int n_vocab() const { return model_.config().n_vocab; }

 private:
  void validate(std::span<const BatchItem> items);

  const Model& model_;
  ThreadPool& pool_;
  Activations act_;  // grown to the largest batch seen, reused
  std::vector<SequenceSlice> slices_;
  std::vector<const Context*> seen_;  // duplicate check
  std::vector<float> logits_;
};

}  // namespace kindred
