#include "engine/batch_decoder.h"

#include <algorithm>
#include <functional>
#include <string>

namespace kindred {

BatchDecoder::BatchDecoder(const Model& model, ThreadPool& pool) : model_(model), pool_(pool) {}

void BatchDecoder::validate(std::span<const BatchItem> items) {
  if (items.empty()) throw ModelError("BatchDecoder::eval: the batch has no items");
  auto item = [](size_t i) { return "batch item " + std::to_string(i) + ": "; };
  seen_.clear();
  for (size_t i = 0; i < items.size(); ++i) {
    const BatchItem& it = items[i];
    if (!it.ctx) throw ModelError(item(i) + "no context");
    if (&it.ctx->model() != &model_) throw ModelError(item(i) + "its context belongs to another model");
    if (it.tokens.empty()) throw ModelError(item(i) + "no tokens");
    if (it.tokens.size() > static_cast<size_t>(it.ctx->n_ctx() - it.ctx->n_past())) {
      throw ModelError(item(i) + "context full: " + std::to_string(it.tokens.size()) + " tokens after " +
                       std::to_string(it.ctx->n_past()) + " do not fit a context of " + std::to_string(it.ctx->n_ctx()));
    }
    seen_.push_back(it.ctx);
  }
  // One context twice would store two continuations at the same positions.
  std::sort(seen_.begin(), seen_.end(), std::less<>());
  if (const auto dup = std::adjacent_find(seen_.begin(), seen_.end()); dup != seen_.end()) {
    size_t first = 0;
    while (items[first].ctx != *dup) ++first;
    size_t second = first + 1;
    while (items[second].ctx != *dup) ++second;
    throw ModelError("batch items " + std::to_string(first) + " and " + std::to_string(second) +
                     " are the same context");
  }
}

std::span<const float> BatchDecoder::eval(std::span<const BatchItem> items) {
  validate(items);
  slices_.clear();
  for (const BatchItem& it : items) {
    Context& ctx = *it.ctx;
    slices_.push_back({.tokens = it.tokens, .pos = ctx.n_past_, .cache = &ctx.cache_, .steering = ctx.steering_.get()});
  }
  const size_t V = static_cast<size_t>(n_vocab());
  logits_.resize(items.size() * V);
  // Token ids and steering are checked there, before any work; its messages name "sequence i of
  // the batch", i being the item's index.
  model_.forward_batch(slices_, act_, pool_, logits_);
  for (const BatchItem& it : items) it.ctx->append_evaluated(it.tokens);
  return logits_;
}

}  // namespace kindred
