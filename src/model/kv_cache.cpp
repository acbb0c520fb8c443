#include "model/kv_cache.h"

namespace kindred {

KvCache::KvCache(const ModelConfig& config, int n_ctx)
    : n_ctx_(n_ctx), kv_dim_(config.n_head_kv * config.head_dim) {
  if (n_ctx <= 0) throw ModelError("context length must be positive");
  const size_t n = static_cast<size_t>(config.n_layer) * n_ctx * kv_dim_;
  k_.assign(n, 0.0f);
  v_.assign(n, 0.0f);
}

}  // namespace kindred
