// Helpers shared by the tensor kernel tests: the computable types, deterministic data, and
// blocks filled with random bytes but sane fp16 scales.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "tensor/dtype.h"
#include "tensor/quants.h"

namespace kindred::test {

inline const std::vector<DType>& computable_types() {
  static const std::vector<DType> types = {DType::F32,  DType::F16,  DType::BF16, DType::Q8_0, DType::Q4_0,
                                           DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q2_K, DType::Q3_K,
                                           DType::Q4_K, DType::Q5_K, DType::Q6_K};
  return types;
}

inline std::vector<Isa> supported_isas() {
  std::vector<Isa> isas = {Isa::Scalar};
  if (best_supported_isa() == Isa::Avx2 || best_supported_isa() == Isa::Avx512) isas.push_back(Isa::Avx2);
  if (best_supported_isa() == Isa::Avx512) isas.push_back(Isa::Avx512);
  return isas;
}

// Restores the active ISA when a test that switches it ends, however it ends.
struct IsaGuard {
  Isa saved = active_isa();
  ~IsaGuard() { set_active_isa(saved); }
};

inline std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Input for the ggml golden hashes: built from integer arithmetic only (no libm, no <random>
// distributions), so every platform produces the same floats. It has outliers, an all-zero
// super-block, a super-block of tiny values and an all-positive one.
inline std::vector<float> golden_input(int64_t n) {
  std::vector<float> x(static_cast<size_t>(n));
  uint64_t s = 0x9E3779B97F4A7C15ull;
  for (int64_t i = 0; i < n; ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    float v = (static_cast<float>(s >> 40) * 0x1p-24f - 0.5f) * 4.0f;
    if (i % 61 == 0) v *= 8.0f;
    if (i >= 512 && i < 768) v = 0.0f;
    if (i >= 1024 && i < 1280) v *= 1e-30f;
    if (i >= 1536 && i < 1792) v = std::abs(v) + 1.0f;
    x[static_cast<size_t>(i)] = v;
  }
  return x;
}

inline uint64_t fnv1a(const void* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  const auto* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) {
    h ^= b[i];
    h *= 1099511628211ull;
  }
  return h;
}

// Byte offsets of the fp16 scale fields in one block of `t` (none for the float types).
inline std::vector<size_t> fp16_scale_offsets(DType t) {
  switch (t) {
    case DType::Q4_0: return {offsetof(BlockQ4_0, d)};
    case DType::Q4_1: return {offsetof(BlockQ4_1, d), offsetof(BlockQ4_1, m)};
    case DType::Q5_0: return {offsetof(BlockQ5_0, d)};
    case DType::Q5_1: return {offsetof(BlockQ5_1, d), offsetof(BlockQ5_1, m)};
    case DType::Q8_0: return {offsetof(BlockQ8_0, d)};
    case DType::Q2_K: return {offsetof(BlockQ2_K, d), offsetof(BlockQ2_K, dmin)};
    case DType::Q3_K: return {offsetof(BlockQ3_K, d)};
    case DType::Q4_K: return {offsetof(BlockQ4_K, d), offsetof(BlockQ4_K, dmin)};
    case DType::Q5_K: return {offsetof(BlockQ5_K, d), offsetof(BlockQ5_K, dmin)};
    case DType::Q6_K: return {offsetof(BlockQ6_K, d)};
    default: return {};
  }
}

// A row of n values of weight type t: every level/scale byte random (so every bit pattern a
// file may hold is exercised), fp16 scales drawn from [-0.5, 0.5] so results stay finite.
// Float types get normal-distributed values instead.
inline std::vector<uint8_t> random_row(DType t, int64_t n, uint32_t seed) {
  const size_t bytes = row_bytes(t, n);
  std::vector<uint8_t> row(bytes);
  std::mt19937 rng(seed);
  if (t == DType::F32 || t == DType::F16 || t == DType::BF16) {
    const std::vector<float> f = random_floats(static_cast<size_t>(n), seed);
    quantize_row(t, f.data(), row.data(), n);
    return row;
  }
  for (auto& b : row) b = static_cast<uint8_t>(rng() & 0xFF);
  const DTypeInfo& info = dtype_info(t);
  std::uniform_real_distribution<float> scale(-0.5f, 0.5f);
  for (size_t blk = 0; blk < bytes / info.block_bytes; ++blk) {
    for (size_t off : fp16_scale_offsets(t)) {
      const fp16_t h = f32_to_fp16(scale(rng));
      std::memcpy(row.data() + blk * info.block_bytes + off, &h, sizeof h);
    }
  }
  return row;
}

}  // namespace kindred::test
