#include "engine/context.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace kindred {
namespace {

int choose_n_ctx(const ModelConfig& c, int requested) {
  if (requested < 0) throw ModelError("context length must not be negative");
  if (requested > 0) return requested;
  return std::min(c.n_ctx_train, 4096);
}

std::unique_ptr<ThreadPool> own_pool_unless_shared(const ContextParams& p) {
  if (!p.shared_pool) return std::make_unique<ThreadPool>(p.n_threads);
  if (p.n_threads != 0 && p.n_threads != p.shared_pool->size()) {
    throw ModelError("n_threads " + std::to_string(p.n_threads) + " contradicts the shared pool of " +
                     std::to_string(p.shared_pool->size()) + " threads (leave n_threads at 0 with shared_pool)");
  }
  return nullptr;
}

}  // namespace

Context::Context(const Model& model, ContextParams params)
    : model_(model),
      params_(params),
      owned_pool_(own_pool_unless_shared(params)),
      pool_(params.shared_pool ? params.shared_pool : owned_pool_.get()),
      cache_(model.config(), choose_n_ctx(model.config(), params.n_ctx), params.kv_type) {
  if (params_.n_batch <= 0) throw ModelError("batch size must be positive");
}

std::span<const float> Context::eval(std::span<const int32_t> tokens) {
  const size_t n_vocab = static_cast<size_t>(model_.config().n_vocab);
  logits_.resize(n_vocab);
  for (size_t start = 0; start < tokens.size(); start += static_cast<size_t>(params_.n_batch)) {
    const auto chunk = tokens.subspan(start, std::min<size_t>(params_.n_batch, tokens.size() - start));
    model_.forward(chunk, n_past_, cache_, act_, *pool_, logits_);
    append_evaluated(chunk);
  }
  return logits_;
}

void Context::append_evaluated(std::span<const int32_t> tokens) {
  n_past_ += static_cast<int>(tokens.size());
  tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
}

std::span<const float> Context::eval_sequence(std::span<const int32_t> tokens) {
  if (tokens.empty()) throw ModelError("eval_sequence: the sequence is empty");
  const auto limit = std::min(tokens.size() - 1, tokens_.size());  // the last token is always computed
  size_t common = 0;
  while (common < limit && tokens_[common] == tokens[common]) ++common;
  truncate(static_cast<int>(common));
  last_reused_ = static_cast<int>(common);
  return eval(tokens.subspan(common));
}

std::span<const float> Context::eval_all(std::span<const int32_t> tokens) {
  const size_t n_vocab = static_cast<size_t>(model_.config().n_vocab);
  logits_.resize(n_vocab * tokens.size());
  for (size_t start = 0; start < tokens.size(); start += static_cast<size_t>(params_.n_batch)) {
    const size_t count = std::min<size_t>(params_.n_batch, tokens.size() - start);
    const auto chunk = tokens.subspan(start, count);
    model_.forward(chunk, n_past_, cache_, act_, *pool_,
                   std::span<float>(logits_).subspan(start * n_vocab, count * n_vocab), true);
    append_evaluated(chunk);
  }
  return logits_;
}

std::vector<float> Context::embed(std::span<const int32_t> tokens) {
  if (tokens.empty()) throw ModelError("embed: no tokens");
  reset();
  act_.pool_hidden = true;
  act_.pooled.assign(static_cast<size_t>(model_.config().n_embd), 0.0f);
  try {
    eval(tokens.first(std::min<size_t>(tokens.size(), static_cast<size_t>(n_ctx()))));
  } catch (...) {
    act_.pool_hidden = false;
    reset();
    throw;
  }
  act_.pool_hidden = false;
  std::vector<float> v = std::move(act_.pooled);
  act_.pooled.clear();
  reset();
  double norm = 0;
  for (float f : v) norm += static_cast<double>(f) * f;
  if (norm > 0) {
    const auto inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (float& f : v) f *= inv;
  }
  return v;
}

LayerStates Context::pooled_layer_states(std::span<const int32_t> tokens) {
  if (tokens.empty()) throw ModelError("pooled_layer_states: no tokens");
  if (tokens.size() > static_cast<size_t>(n_ctx())) {
    throw ModelError("pooled_layer_states: " + std::to_string(tokens.size()) + " tokens do not fit a context of " +
                     std::to_string(n_ctx()));
  }
  const ModelConfig& c = model_.config();
  const auto E = static_cast<size_t>(c.n_embd);
  reset();
  act_.pool_layers = true;
  act_.pool_from = tokens.size() > 1 ? 1 : 0;
  act_.layer_sums.assign(static_cast<size_t>(c.n_layer + 1) * E, 0.0f);
  act_.layer_norm_sums.assign(static_cast<size_t>(c.n_layer), 0.0);
  act_.pool_count = 0;
  try {
    eval(tokens);
  } catch (...) {
    act_.pool_layers = false;
    reset();
    throw;
  }
  act_.pool_layers = false;
  reset();
  LayerStates out;
  out.n_pooled = act_.pool_count;
  const float inv = 1.0f / static_cast<float>(act_.pool_count);
  for (int l = 0; l <= c.n_layer; ++l) {
    std::vector<float> mean(act_.layer_sums.begin() + static_cast<std::ptrdiff_t>(l * E),
                            act_.layer_sums.begin() + static_cast<std::ptrdiff_t>((l + 1) * E));
    for (float& f : mean) f *= inv;
    if (l < c.n_layer) {
      out.layers.push_back(std::move(mean));
    } else {
      out.final_norm = std::move(mean);
    }
  }
  out.token_norm.resize(static_cast<size_t>(c.n_layer));
  for (int l = 0; l < c.n_layer; ++l) out.token_norm[l] = static_cast<float>(act_.layer_norm_sums[l] / act_.pool_count);
  return out;
}

void Context::set_steering(std::shared_ptr<const SteeringVectors> steering) {
  if (steering) validate_steering(*steering, model_.config());
  steering_ = std::move(steering);
  act_.steering = steering_.get();
}

void Context::truncate(int n) {
  if (n < 0 || n > n_past_) throw ModelError("cannot truncate a sequence of " + std::to_string(n_past_) + " to " + std::to_string(n));
  n_past_ = n;
  tokens_.resize(static_cast<size_t>(n));
}

void Context::shift(int n_keep, int n_discard) {
  if (n_keep < 0 || n_discard <= 0 || n_keep > n_past_ || n_discard > n_past_ - n_keep) {
    throw ModelError("cannot shift the context: keeping " + std::to_string(n_keep) + " and discarding " +
                     std::to_string(n_discard) + " positions needs 0 <= keep, 0 < discard and keep + discard <= " +
                     std::to_string(n_past_) + " (the positions evaluated so far)");
  }
  cache_.shift(model_.config(), model_.weights().rope_freq_factors, n_keep, n_discard, n_past_);
  n_past_ -= n_discard;
  tokens_.erase(tokens_.begin() + n_keep, tokens_.begin() + n_keep + n_discard);
}

}  // namespace kindred
