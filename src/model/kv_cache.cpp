#include "model/kv_cache.h"

#include <cstring>
#include <string>
#include <vector>

#include "model/rope.h"
#include "tensor/quants.h"

namespace kindred {
namespace {

size_t head_bytes_for(const ModelConfig& c, DType type) {
  if (type != DType::F32 && type != DType::F16 && type != DType::Q8_0) {
    throw ModelError("KV cache type " + std::string(dtype_name(type)) + " is not supported (f32, f16 or q8_0)");
  }
  if (c.head_dim % dtype_info(type).block_size != 0) {
    throw ModelError("KV cache type " + std::string(dtype_name(type)) + " needs a head size that is a multiple of " +
                     std::to_string(dtype_info(type).block_size) + ", not " + std::to_string(c.head_dim));
  }
  return kindred::row_bytes(type, c.head_dim);
}

}  // namespace

size_t KvCache::bytes_for(const ModelConfig& c, int n_ctx, DType type) {
  if (n_ctx <= 0) throw ModelError("context length must be positive");
  return static_cast<size_t>(c.n_layer) * static_cast<size_t>(n_ctx) * 2 * static_cast<size_t>(c.n_head_kv) *
         head_bytes_for(c, type);
}

KvCache::KvCache(const ModelConfig& config, int n_ctx, DType type)
    : n_layer_(config.n_layer),
      n_ctx_(n_ctx),
      n_head_kv_(config.n_head_kv),
      head_dim_(config.head_dim),
      type_(type),
      head_bytes_(head_bytes_for(config, type)) {
  if (n_ctx <= 0) throw ModelError("context length must be positive");
  layer_bytes_ = static_cast<size_t>(n_ctx) * row_bytes();
  const size_t n = layer_bytes_ * static_cast<size_t>(n_layer_);
  // Zeroed so unwritten positions hold finite values (attention never reads them, but a
  // shift or a debugging dump might).
  k_ = std::make_unique<std::byte[]>(n);
  v_ = std::make_unique<std::byte[]>(n);
}

void KvCache::store(int layer, int pos, const float* k, const float* v) {
  std::byte* kd = k_.get() + offset(layer, pos, 0);
  std::byte* vd = v_.get() + offset(layer, pos, 0);
  const int64_t n = static_cast<int64_t>(n_head_kv_) * head_dim_;
  if (type_ == DType::F32) {
    std::memcpy(kd, k, n * sizeof(float));
    std::memcpy(vd, v, n * sizeof(float));
    return;
  }
  // Heads are whole blocks, so the row converts in one call.
  quantize_row(type_, k, kd, n);
  quantize_row(type_, v, vd, n);
}

void KvCache::read_key(int layer, int pos, int head, float* out) const {
  dequantize_row(type_, key(layer, pos, head), out, head_dim_);
}

void KvCache::read_value(int layer, int pos, int head, float* out) const {
  dequantize_row(type_, value(layer, pos, head), out, head_dim_);
}

void KvCache::shift(const ModelConfig& config, std::span<const float> rope_freq_factors, int n_keep, int n_discard,
                    int n_used) {
  if (n_keep < 0 || n_discard <= 0 || n_used > n_ctx_ || n_keep + n_discard > n_used) {
    throw ModelError("KV cache shift out of range: keep " + std::to_string(n_keep) + ", discard " +
                     std::to_string(n_discard) + " of " + std::to_string(n_used) + " positions");
  }
  const int n_move = n_used - n_keep - n_discard;
  RopeAngles delta;
  rope_delta_angles(config.rope, -n_discard, rope_freq_factors, delta);
  std::vector<float> row(static_cast<size_t>(n_head_kv_) * head_dim_);
  for (int l = 0; l < n_layer_; ++l) {
    // Positions of a layer are contiguous, so the move is one memmove per layer and tensor.
    const size_t dst = offset(l, n_keep, 0), src = offset(l, n_keep + n_discard, 0);
    const size_t len = static_cast<size_t>(n_move) * row_bytes();
    std::memmove(k_.get() + dst, k_.get() + src, len);
    std::memmove(v_.get() + dst, v_.get() + src, len);
    for (int p = n_keep; p < n_keep + n_move; ++p) {
      std::byte* kd = k_.get() + offset(l, p, 0);
      dequantize_row(type_, kd, row.data(), static_cast<int64_t>(row.size()));
      apply_rope(config.rope, delta, row.data(), n_head_kv_, head_dim_);
      if (type_ == DType::F32) {
        std::memcpy(kd, row.data(), row.size() * sizeof(float));
      } else {
        quantize_row(type_, row.data(), kd, static_cast<int64_t>(row.size()));
      }
    }
  }
}

}  // namespace kindred
