// Scalar reference kernels for the float types and the legacy 32-value block quants.
// These define the results: the SIMD kernels are tested against them, and they are what runs on
// CPUs without AVX2. The dequantizers evaluate the same expressions, in the same order, as
// ggml's, so values are bit-identical to llama.cpp's.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "tensor/quants.h"
#include "tensor/quants_internal.h"

namespace kindred::kernels {
namespace {

template <typename Block>
const Block* as_blocks(const void* p) {
  return static_cast<const Block*>(p);
}

// Signed-extreme of a block: the value with the largest magnitude, sign kept (the symmetric
// quantizers map it to the most negative level so that level is not wasted).
float signed_absmax(const float* x, int n, float* amax_out) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  *amax_out = amax;
  return max;
}

void min_max(const float* x, int n, float* mn, float* mx) {
  *mn = x[0];
  *mx = x[0];
  for (int j = 1; j < n; ++j) {
    *mn = std::min(*mn, x[j]);
    *mx = std::max(*mx, x[j]);
  }
}

// The 32 five-bit values' top bits live in a little-endian uint32: bit j for value j.
uint32_t load_qh(const uint8_t qh[4]) {
  uint32_t v;
  std::memcpy(&v, qh, sizeof v);
  return v;
}

}  // namespace

// ---- F32 / F16 / BF16: n is any count ----

void to_float_f32(const void* src, float* dst, int64_t n) { std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float)); }
void quantize_f32(const float* src, void* dst, int64_t n) { std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float)); }

void to_float_f16(const void* src, float* dst, int64_t n) {
  const auto* h = static_cast<const fp16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_f32(h[i]);
}
void quantize_f16(const float* src, void* dst, int64_t n) {
  auto* h = static_cast<fp16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) h[i] = f32_to_fp16(src[i]);
}

void to_float_bf16(const void* src, float* dst, int64_t n) {
  const auto* h = static_cast<const bf16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(h[i]);
}
void quantize_bf16(const float* src, void* dst, int64_t n) {
  auto* h = static_cast<bf16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) h[i] = f32_to_bf16(src[i]);
}

// The float dot references accumulate in double, so a SIMD kernel's difference from them is
// its own rounding, not the reference's.
float vec_dot_f32_scalar(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const float*>(w);
  const auto* b = static_cast<const float*>(x);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(sum);
}

float vec_dot_f16_scalar(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const fp16_t*>(w);
  const auto* b = static_cast<const fp16_t*>(x);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(fp16_to_f32(a[i])) * fp16_to_f32(b[i]);
  return static_cast<float>(sum);
}

float vec_dot_bf16_scalar(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const bf16_t*>(w);
  const auto* b = static_cast<const bf16_t*>(x);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(bf16_to_f32(a[i])) * bf16_to_f32(b[i]);
  return static_cast<float>(sum);
}

// ---- Q4_0: 32 values, fp16 d, 16 bytes of nibbles. Value j < 16 is the low nibble of qs[j],
// value j + 16 its high nibble; y = d · (q - 8). ----

void to_float_q4_0(const void* src, float* dst, int64_t n) {
  const auto* b = as_blocks<BlockQ4_0>(src);
  for (int64_t i = 0; i < n / QK4_0; ++i, dst += QK4_0) {
    const float d = fp16_to_f32(b[i].d);
    for (int j = 0; j < QK4_0 / 2; ++j) {
      dst[j] = static_cast<float>((b[i].qs[j] & 0x0F) - 8) * d;
      dst[j + QK4_0 / 2] = static_cast<float>((b[i].qs[j] >> 4) - 8) * d;
    }
  }
}

void quantize_q4_0(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ4_0*>(dst);
  for (int64_t i = 0; i < n / QK4_0; ++i, src += QK4_0) {
    float amax;
    const float max = signed_absmax(src, QK4_0, &amax);
    const float d = max / -8;  // the extreme maps to level 0 (value -8)
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = f32_to_fp16(d);
    for (int j = 0; j < QK4_0 / 2; ++j) {
      // +8.5 then truncation rounds half up; the far extreme lands on 16, clamped to 15.
      const int q0 = std::min(15, static_cast<int>(src[j] * id + 8.5f));
      const int q1 = std::min(15, static_cast<int>(src[j + QK4_0 / 2] * id + 8.5f));
      b[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

float vec_dot_q4_0_scalar(int64_t n, const void* w, const void* x) {
  const auto* a = as_blocks<BlockQ4_0>(w);
  const auto* b = as_blocks<BlockQ8_0>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / QK4_0; ++i) {
    int isum = 0;
    for (int j = 0; j < QK4_0 / 2; ++j) {
      isum += ((a[i].qs[j] & 0x0F) - 8) * b[i].qs[j];
      isum += ((a[i].qs[j] >> 4) - 8) * b[i].qs[j + QK4_0 / 2];
    }
    sum += static_cast<float>(isum) * (fp16_to_f32(a[i].d) * fp16_to_f32(b[i].d));
  }
  return sum;
}

// ---- Q4_1: like Q4_0 with an fp16 minimum m and unsigned levels: y = d · q + m ----

void to_float_q4_1(const void* src, float* dst, int64_t n) {
  const auto* b = as_blocks<BlockQ4_1>(src);
  for (int64_t i = 0; i < n / QK4_1; ++i, dst += QK4_1) {
    const float d = fp16_to_f32(b[i].d);
    const float m = fp16_to_f32(b[i].m);
    for (int j = 0; j < QK4_1 / 2; ++j) {
      dst[j] = static_cast<float>(b[i].qs[j] & 0x0F) * d + m;
      dst[j + QK4_1 / 2] = static_cast<float>(b[i].qs[j] >> 4) * d + m;
    }
  }
}

void quantize_q4_1(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ4_1*>(dst);
  for (int64_t i = 0; i < n / QK4_1; ++i, src += QK4_1) {
    float mn, mx;
    min_max(src, QK4_1, &mn, &mx);
    const float d = (mx - mn) / 15;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = f32_to_fp16(d);
    b[i].m = f32_to_fp16(mn);
    for (int j = 0; j < QK4_1 / 2; ++j) {
      const int q0 = std::min(15, static_cast<int>((src[j] - mn) * id + 0.5f));
      const int q1 = std::min(15, static_cast<int>((src[j + QK4_1 / 2] - mn) * id + 0.5f));
      b[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

// Σ (d·q + m)·(dx·x) = d·dx·Σq·x + m·dx·Σx.
float vec_dot_q4_1_scalar(int64_t n, const void* w, const void* x) {
  const auto* a = as_blocks<BlockQ4_1>(w);
  const auto* b = as_blocks<BlockQ8_0>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / QK4_1; ++i) {
    int isum = 0;
    int xsum = 0;
    for (int j = 0; j < QK4_1 / 2; ++j) {
      isum += (a[i].qs[j] & 0x0F) * b[i].qs[j] + (a[i].qs[j] >> 4) * b[i].qs[j + QK4_1 / 2];
      xsum += b[i].qs[j] + b[i].qs[j + QK4_1 / 2];
    }
    const float dx = fp16_to_f32(b[i].d);
    sum += static_cast<float>(isum) * (fp16_to_f32(a[i].d) * dx) +
           static_cast<float>(xsum) * (fp16_to_f32(a[i].m) * dx);
  }
  return sum;
}

// ---- Q5_0: Q4_0's nibbles plus a fifth bit per value in qh (bit j for value j);
// y = d · (q - 16) ----

void to_float_q5_0(const void* src, float* dst, int64_t n) {
  const auto* b = as_blocks<BlockQ5_0>(src);
  for (int64_t i = 0; i < n / QK5_0; ++i, dst += QK5_0) {
    const float d = fp16_to_f32(b[i].d);
    const uint32_t qh = load_qh(b[i].qh);
    for (int j = 0; j < QK5_0 / 2; ++j) {
      const int q0 = static_cast<int>((b[i].qs[j] & 0x0F) | (((qh >> j) & 1u) << 4)) - 16;
      const int q1 = static_cast<int>((b[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1u) << 4)) - 16;
      dst[j] = static_cast<float>(q0) * d;
      dst[j + QK5_0 / 2] = static_cast<float>(q1) * d;
    }
  }
}

void quantize_q5_0(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ5_0*>(dst);
  for (int64_t i = 0; i < n / QK5_0; ++i, src += QK5_0) {
    float amax;
    const float max = signed_absmax(src, QK5_0, &amax);
    const float d = max / -16;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = f32_to_fp16(d);
    uint32_t qh = 0;
    for (int j = 0; j < QK5_0 / 2; ++j) {
      const int q0 = std::min(31, static_cast<int>(src[j] * id + 16.5f));
      const int q1 = std::min(31, static_cast<int>(src[j + QK5_0 / 2] * id + 16.5f));
      b[i].qs[j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
      qh |= static_cast<uint32_t>(q0 >> 4) << j;
      qh |= static_cast<uint32_t>(q1 >> 4) << (j + 16);
    }
    std::memcpy(b[i].qh, &qh, sizeof qh);
  }
}

float vec_dot_q5_0_scalar(int64_t n, const void* w, const void* x) {
  const auto* a = as_blocks<BlockQ5_0>(w);
  const auto* b = as_blocks<BlockQ8_0>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / QK5_0; ++i) {
    const uint32_t qh = load_qh(a[i].qh);
    int isum = 0;
    for (int j = 0; j < QK5_0 / 2; ++j) {
      const int q0 = static_cast<int>((a[i].qs[j] & 0x0F) | (((qh >> j) & 1u) << 4)) - 16;
      const int q1 = static_cast<int>((a[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1u) << 4)) - 16;
      isum += q0 * b[i].qs[j] + q1 * b[i].qs[j + QK5_0 / 2];
    }
    sum += static_cast<float>(isum) * (fp16_to_f32(a[i].d) * fp16_to_f32(b[i].d));
  }
  return sum;
}

// ---- Q5_1: Q5_0's bits, unsigned levels with a minimum: y = d · q + m ----

void to_float_q5_1(const void* src, float* dst, int64_t n) {
  const auto* b = as_blocks<BlockQ5_1>(src);
  for (int64_t i = 0; i < n / QK5_1; ++i, dst += QK5_1) {
    const float d = fp16_to_f32(b[i].d);
    const float m = fp16_to_f32(b[i].m);
    const uint32_t qh = load_qh(b[i].qh);
    for (int j = 0; j < QK5_1 / 2; ++j) {
      const uint32_t q0 = (b[i].qs[j] & 0x0Fu) | (((qh >> j) & 1u) << 4);
      const uint32_t q1 = (b[i].qs[j] >> 4u) | (((qh >> (j + 16)) & 1u) << 4);
      dst[j] = static_cast<float>(q0) * d + m;
      dst[j + QK5_1 / 2] = static_cast<float>(q1) * d + m;
    }
  }
}

void quantize_q5_1(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ5_1*>(dst);
  for (int64_t i = 0; i < n / QK5_1; ++i, src += QK5_1) {
    float mn, mx;
    min_max(src, QK5_1, &mn, &mx);
    const float d = (mx - mn) / 31;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = f32_to_fp16(d);
    b[i].m = f32_to_fp16(mn);
    uint32_t qh = 0;
    for (int j = 0; j < QK5_1 / 2; ++j) {
      const int q0 = std::min(31, static_cast<int>((src[j] - mn) * id + 0.5f));
      const int q1 = std::min(31, static_cast<int>((src[j + QK5_1 / 2] - mn) * id + 0.5f));
      b[i].qs[j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
      qh |= static_cast<uint32_t>(q0 >> 4) << j;
      qh |= static_cast<uint32_t>(q1 >> 4) << (j + 16);
    }
    std::memcpy(b[i].qh, &qh, sizeof qh);
  }
}

float vec_dot_q5_1_scalar(int64_t n, const void* w, const void* x) {
  const auto* a = as_blocks<BlockQ5_1>(w);
  const auto* b = as_blocks<BlockQ8_0>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / QK5_1; ++i) {
    const uint32_t qh = load_qh(a[i].qh);
    int isum = 0;
    int xsum = 0;
    for (int j = 0; j < QK5_1 / 2; ++j) {
      const int q0 = static_cast<int>((a[i].qs[j] & 0x0Fu) | (((qh >> j) & 1u) << 4));
      const int q1 = static_cast<int>((a[i].qs[j] >> 4u) | (((qh >> (j + 16)) & 1u) << 4));
      isum += q0 * b[i].qs[j] + q1 * b[i].qs[j + QK5_1 / 2];
      xsum += b[i].qs[j] + b[i].qs[j + QK5_1 / 2];
    }
    const float dx = fp16_to_f32(b[i].d);
    sum += static_cast<float>(isum) * (fp16_to_f32(a[i].d) * dx) +
           static_cast<float>(xsum) * (fp16_to_f32(a[i].m) * dx);
  }
  return sum;
}

// ---- Q8_0: 32 int8 values and an fp16 d: y = d · q ----

void to_float_q8_0(const void* src, float* dst, int64_t n) {
  const auto* b = as_blocks<BlockQ8_0>(src);
  for (int64_t i = 0; i < n / QK8_0; ++i, dst += QK8_0) {
    const float d = fp16_to_f32(b[i].d);
    for (int j = 0; j < QK8_0; ++j) dst[j] = static_cast<float>(b[i].qs[j]) * d;
  }
}

void quantize_q8_0(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / QK8_0; ++i, src += QK8_0) {
    float amax = 0.0f;
    for (int j = 0; j < QK8_0; ++j) amax = std::max(amax, std::fabs(src[j]));
    const float d = amax / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = f32_to_fp16(d);
    // roundf (half away from zero) as ggml's reference; |src·id| <= 127 so no clamp is needed.
    for (int j = 0; j < QK8_0; ++j) b[i].qs[j] = static_cast<int8_t>(std::round(src[j] * id));
  }
}

float vec_dot_q8_0_scalar(int64_t n, const void* w, const void* x) {
  const auto* a = as_blocks<BlockQ8_0>(w);
  const auto* b = as_blocks<BlockQ8_0>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / QK8_0; ++i) {
    int isum = 0;
    for (int j = 0; j < QK8_0; ++j) isum += a[i].qs[j] * b[i].qs[j];
    sum += static_cast<float>(isum) * (fp16_to_f32(a[i].d) * fp16_to_f32(b[i].d));
  }
  return sum;
}

}  // namespace kindred::kernels
