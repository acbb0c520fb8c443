// One sequence being run through a model: its KV cache, activation buffers, thread pool (its own
// or a shared one) and position. Not thread-safe; use one Context per concurrent sequence, and
// BatchDecoder (batch_decoder.h) to advance many of them in one forward pass.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "model/kv_cache.h"
#include "model/model.h"

namespace kindred {

// What pooled_layer_states returns: means over the tokens of one text, leaving out the first
// token when there are more. The first token (BOS) is an attention sink whose residual is huge
// and the same for every text; in a mean its 1/n share would swamp what the other tokens say
// and make texts of different lengths differ along it.
struct LayerStates {
  std::vector<std::vector<float>> layers;  // n_layer × n_embd: the residual stream after each layer
  std::vector<float> final_norm;           // n_embd: the final normalised hidden state
  std::vector<float> token_norm;           // n_layer: the mean L2 norm of one token's residual
  int n_pooled = 0;                        // tokens the means are over
};

struct ContextParams {
  int n_ctx = 0;          // 0: the model's training context, capped at 4096
  int n_threads = 0;      // 0: all hardware threads
  int n_batch = 256;      // prompt tokens per forward call (bounds activation memory; the GEMM tiles gain little past it)
  // KV cache element type: F16 halves the memory of F32 at ~1e-3 relative error; Q8_0 (34 bytes per
  // 32 values) nearly halves it again; F32 is exact (what reference comparisons use).
  DType kv_type = DType::F16;
  // When set, the context runs on this pool and starts no threads of its own (a server holds
  // dozens of contexts but has one set of cores). Not owned: it must outlive the context, and
  // contexts sharing it must not run at the same time. n_threads must then be 0 or its size.
  ThreadPool* shared_pool = nullptr;
};

class Context {
 public:
  Context(const Model& model, ContextParams params);

  const Model& model() const { return model_; }
  int n_ctx() const { return cache_.n_ctx(); }
  int n_past() const { return n_past_; }
  // The pool this context runs on: params.shared_pool when set, else its own.
  ThreadPool& pool() { return *pool_; }

  // Appends tokens to the sequence and returns the logits after the last one.
  std::span<const float> eval(std::span<const int32_t> tokens);
  // Makes the sequence exactly `tokens`, computing only what the cache does not already hold:
  // positions up to the longest common prefix with tokens() are kept, the rest is evaluated
  // (at least the last token, for its logits). Returns the logits after the last token; a chat's
  // next turn, a regenerate or an edit so costs only the tokens after the first change.
  std::span<const float> eval_sequence(std::span<const int32_t> tokens);
  // A unit-length embedding of `tokens`: the mean of the model's final normalised hidden states.
  // Uses (and then empties) this context's cache.
  std::vector<float> embed(std::span<const int32_t> tokens);
  // Per-layer means over `tokens` of the residual stream (see LayerStates), in one forward pass
  // with whatever steering is set. Like embed, uses (and then empties) this context's cache;
  // throws ModelError when tokens is empty or longer than n_ctx.
  LayerStates pooled_layer_states(std::span<const int32_t> tokens);
  // Steers this sequence from the next evaluated token on (see SteeringVectors). Throws ModelError
  // naming the layer and sizes unless the vectors fit the model; null clears. Positions already in
  // the cache keep the keys and values computed under the old steering: reset() to recompute them.
  void set_steering(std::shared_ptr<const SteeringVectors> steering);
  void clear_steering() { set_steering(nullptr); }
  const std::shared_ptr<const SteeringVectors>& steering() const { return steering_; }
  // Tokens the last eval_sequence took from the cache instead of computing.
  int last_reused() const { return last_reused_; }
  // The token at every position the cache holds (size n_past()).
  std::span<const int32_t> tokens() const { return tokens_; }
  // Appends tokens and returns logits for every one of them (n_tokens × n_vocab).
  std::span<const float> eval_all(std::span<const int32_t> tokens);
  // Forgets everything from position n on (n <= n_past).
  void truncate(int n);
  void reset() { truncate(0); }
  // Context shift, for chats longer than n_ctx: keeps positions [0, n_keep) (the prompt prefix and
  // attention-sink tokens), forgets the next n_discard and moves the rest down, so n_past shrinks by
  // n_discard. Later logits equal those of evaluating the shortened sequence from scratch (up to
  // the cache type's rounding). Throws ModelError unless 0 <= n_keep, 0 < n_discard and
  // n_keep + n_discard <= n_past.
  void shift(int n_keep, int n_discard);
  const KvCache& cache() const { return cache_; }

  // Writes the sequence (its tokens and their keys and values) to `path` atomically, so a long
  // chat resumes without re-processing. The file names the model it belongs to.
  void save_state(const std::filesystem::path& path) const;
  // Replaces the sequence with one saved by save_state. Throws ModelError naming the problem
  // (not a state file, another model, another cache type, longer than this context, truncated);
  // on error the context is left empty rather than half-loaded.
  void load_state(const std::filesystem::path& path);

 private:
  // Runs many contexts' tokens in one forward pass: it stores into their caches and advances
  // them exactly as eval does (see append_evaluated).
  friend class BatchDecoder;
  // Records tokens whose keys and values a forward pass has just stored at positions
  // [n_past, n_past + tokens.size()) of this context's cache.
  void append_evaluated(std::span<const int32_t> tokens);

  const Model& model_;
  ContextParams params_;
  std::unique_ptr<ThreadPool> owned_pool_;  // null when running on params_.shared_pool
  ThreadPool* pool_;
  KvCache cache_;
  Activations act_;
  std::shared_ptr<const SteeringVectors> steering_;  // act_.steering points into it
  std::vector<float> logits_;
  std::vector<int32_t> tokens_;
  int n_past_ = 0;
  int last_reused_ = 0;
};

}  // namespace kindred
