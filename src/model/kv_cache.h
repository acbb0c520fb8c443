// The keys and values a sequence has computed, per layer and position, in F32, F16 or Q8_0.
#pragma once
#include <cstddef>
#include <memory>
#include <span>

#include "model/model.h"
#include "tensor/dtype.h"

namespace kindred {

// Keys and values of every layer for one sequence, positions [0, n_ctx). Each (layer, position)
// row holds n_head_kv heads of head_dim values in `type`; a head is whole blocks (Q8_0 needs
// head_dim % 32 == 0) so attention can read one head of one position on its own.
class KvCache {
 public:
  KvCache(const ModelConfig& config, int n_ctx, DType type = DType::F16);

  // n_layer × n_ctx × 2 (K and V) × n_head_kv × head_dim × bytes per element (Q8_0: 34/32).
  // Throws ModelError for a type the cache cannot hold or a head size Q8_0 cannot block.
  static size_t bytes_for(const ModelConfig& config, int n_ctx, DType type);

  int n_ctx() const { return n_ctx_; }
  int n_head_kv() const { return n_head_kv_; }
  int head_dim() const { return head_dim_; }
  DType type() const { return type_; }
  size_t bytes() const { return 2 * layer_bytes_ * static_cast<size_t>(n_layer_); }
  size_t head_bytes() const { return head_bytes_; }
  size_t row_bytes() const { return head_bytes_ * static_cast<size_t>(n_head_kv_); }

  // Converts one position's keys and values (n_head_kv × head_dim floats each) into the cache.
  void store(int layer, int pos, const float* k, const float* v);

  // One head of one position, in `type`. Consecutive positions are row_bytes() apart.
  const std::byte* key(int layer, int pos, int head) const { return k_.get() + offset(layer, pos, head); }
  const std::byte* value(int layer, int pos, int head) const { return v_.get() + offset(layer, pos, head); }
  // Rows [0, n) of one layer's keys or values as raw bytes in type(): the positions are
  // contiguous within a layer, so saving and restoring a sequence is one copy per layer.
  std::span<const std::byte> key_rows(int layer, int n) const { return {k_.get() + offset(layer, 0, 0), rows_bytes(n)}; }
  std::span<const std::byte> value_rows(int layer, int n) const { return {v_.get() + offset(layer, 0, 0), rows_bytes(n)}; }
  std::span<std::byte> key_rows(int layer, int n) { return {k_.get() + offset(layer, 0, 0), rows_bytes(n)}; }
  std::span<std::byte> value_rows(int layer, int n) { return {v_.get() + offset(layer, 0, 0), rows_bytes(n)}; }
  int n_layer() const { return n_layer_; }

  // Dequantized copies (head_dim floats), for tests and the context shift.
  void read_key(int layer, int pos, int head, float* out) const;
  void read_value(int layer, int pos, int head, float* out) const;

  // Context shift: drops positions [n_keep, n_keep + n_discard), moves [n_keep + n_discard, n_used)
  // down by n_discard and rotates those keys by -n_discard positions (RoPE of a position difference
  // is a pure rotation, so no recompute is needed).
  void shift(const ModelConfig& config, std::span<const float> rope_freq_factors, int n_keep, int n_discard,
             int n_used);

 private:
  size_t rows_bytes(int n) const { return static_cast<size_t>(n) * row_bytes(); }
  size_t offset(int layer, int pos, int head) const {
    return static_cast<size_t>(layer) * layer_bytes_ + static_cast<size_t>(pos) * row_bytes() +
           static_cast<size_t>(head) * head_bytes_;
  }

  int n_layer_, n_ctx_, n_head_kv_, head_dim_;
  DType type_;
  size_t head_bytes_;   // bytes of head_dim values in type_
  size_t layer_bytes_;  // bytes of one layer's keys (or values): n_ctx rows
  std::unique_ptr<std::byte[]> k_, v_;  // [layer][pos][head][head_dim]
};

}  // namespace kindred
