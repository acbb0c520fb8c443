// The keys and values a sequence has computed, per layer and position.
#pragma once
#include <vector>

#include "model/model.h"

namespace kindred {

// Keys and values of every layer for one sequence, in float. Positions [0, n_ctx).
class KvCache {
 public:
  KvCache(const ModelConfig& config, int n_ctx);
  int n_ctx() const { return n_ctx_; }
  int kv_dim() const { return kv_dim_; }
  float* keys(int layer, int pos) { return k_.data() + (static_cast<size_t>(layer) * n_ctx_ + pos) * kv_dim_; }
  float* values(int layer, int pos) { return v_.data() + (static_cast<size_t>(layer) * n_ctx_ + pos) * kv_dim_; }
  size_t bytes() const { return (k_.size() + v_.size()) * sizeof(float); }

 private:
  int n_ctx_;
  int kv_dim_;
  std::vector<float> k_;  // [layer][pos][n_head_kv * head_dim]
  std::vector<float> v_;
};

}  // namespace kindred
