// Scalar reference kernels for the K-quants: super-blocks of 256 values split into sub-blocks
// with their own (quantized) scales. Dot products take Q8_K activations, whose per-16 sums
// (bsums) let the "minimum" and "offset" parts of a dot product be computed from 16 numbers
// instead of 256. The integer sums are exact, so the SIMD kernels can match these closely.
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

}  // namespace

// ---- Q2_K: 2-bit levels; 16 sub-blocks of 16 with a 4-bit scale and 4-bit min each
// (scales[j] = scale | min << 4); y = d·scale·q - dmin·min. qs byte l of 128-value half h holds
// values h·128 + l (bits 0-1), +32 (bits 2-3), +64, +96. ----

void to_float_q2_k(const void* src, float* dst, int64_t n) {
  const auto* b = as_blocks<BlockQ2_K>(src);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d = fp16_to_f32(b[i].d);
    const float dmin = fp16_to_f32(b[i].dmin);
    int sub = 0;
    for (int half = 0; half < 2; ++half) {
      const uint8_t* q = b[i].qs + 32 * half;
      for (int shift = 0; shift < 8; shift += 2) {
        for (int part = 0; part < 2; ++part, ++sub) {  // two sub-blocks of 16 per shift
          const uint8_t sc = b[i].scales[sub];
          const float dl = d * static_cast<float>(sc & 0x0F);
          const float ml = dmin * static_cast<float>(sc >> 4);
          for (int l = 0; l < 16; ++l) {
            *dst++ = dl * static_cast<float>((q[16 * part + l] >> shift) & 3) - ml;
          }
        }
      }
    }
  }
}

float vec_dot_q2_k_scalar(int64_t n, const void* w, const void* x) {
  const auto* a = as_blocks<BlockQ2_K>(w);
  const auto* b = as_blocks<BlockQ8_K>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    int isum = 0;  // Σ scale_j · Σ q·x
    int msum = 0;  // Σ min_j · Σ x   (from the activation's bsums)
    const int8_t* xq = b[i].qs;
    int sub = 0;
    for (int half = 0; half < 2; ++half) {
      const uint8_t* q = a[i].qs + 32 * half;
      for (int shift = 0; shift < 8; shift += 2) {
        for (int part = 0; part < 2; ++part, ++sub) {
          int s = 0;
          for (int l = 0; l < 16; ++l) s += ((q[16 * part + l] >> shift) & 3) * xq[l];
          xq += 16;
          isum += (a[i].scales[sub] & 0x0F) * s;
          msum += (a[i].scales[sub] >> 4) * b[i].bsums[sub];
        }
      }
    }
    sum += b[i].d * fp16_to_f32(a[i].d) * static_cast<float>(isum) -
           b[i].d * fp16_to_f32(a[i].dmin) * static_cast<float>(msum);
  }
  return sum;
}

// ---- Q3_K: 2 low bits in qs (Q2_K's arrangement) plus a high bit in hmask: bit k of hmask[l]
// belongs to value 32k + l. The level is (low | high << 2) - 4, i.e. low - 4 when the high bit
// is clear. 16 signed 6-bit scales; y = d · scale · level. ----

void to_float_q3_k(const void* src, float* dst, int64_t n) {
  const auto* b = as_blocks<BlockQ3_K>(src);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d = fp16_to_f32(b[i].d);
    int8_t sc[16];
    unpack_scales_q3_k(b[i].scales, sc);
    int sub = 0;
    int bit = 0;
    for (int half = 0; half < 2; ++half) {
      const uint8_t* q = b[i].qs + 32 * half;
      for (int shift = 0; shift < 8; shift += 2, ++bit) {
        for (int part = 0; part < 2; ++part, ++sub) {
          const float dl = d * static_cast<float>(sc[sub]);
          for (int l = 16 * part; l < 16 * part + 16; ++l) {
            const int level = ((q[l] >> shift) & 3) - ((b[i].hmask[l] >> bit) & 1 ? 0 : 4);
            *dst++ = dl * static_cast<float>(level);
          }
        }
      }
    }
  }
}

float vec_dot_q3_k_scalar(int64_t n, const void* w, const void* x) {
  const auto* a = as_blocks<BlockQ3_K>(w);
  const auto* b = as_blocks<BlockQ8_K>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    int8_t sc[16];
    unpack_scales_q3_k(a[i].scales, sc);
    int isum = 0;
    const int8_t* xq = b[i].qs;
    int sub = 0;
    int bit = 0;
    for (int half = 0; half < 2; ++half) {
      const uint8_t* q = a[i].qs + 32 * half;
      for (int shift = 0; shift < 8; shift += 2, ++bit) {
        for (int part = 0; part < 2; ++part, ++sub) {
          int s = 0;
          for (int l = 16 * part; l < 16 * part + 16; ++l) {
            const int level = ((q[l] >> shift) & 3) - ((a[i].hmask[l] >> bit) & 1 ? 0 : 4);
            s += level * *xq++;
          }
          isum += sc[sub] * s;
        }
      }
    }
    sum += b[i].d * fp16_to_f32(a[i].d) * static_cast<float>(isum);
  }
  return sum;
}

// ---- Q4_K: 8 sub-blocks of 32 with 6-bit scale and min (unpack_scales_min_k4);
// qs byte l of 64-value chunk c holds value 64c + l (low nibble) and 64c + 32 + l (high);
// y = d·scale·q - dmin·min. ----

void to_float_q4_k(const void* src, float* dst, int64_t n) {
  const auto* b = as_blocks<BlockQ4_K>(src);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d = fp16_to_f32(b[i].d);
    const float dmin = fp16_to_f32(b[i].dmin);
    uint8_t sc[8], mn[8];
    unpack_scales_min_k4(b[i].scales, sc, mn);
    for (int c = 0; c < 4; ++c) {
      const uint8_t* q = b[i].qs + 32 * c;
      const float d1 = d * static_cast<float>(sc[2 * c]);
      const float m1 = dmin * static_cast<float>(mn[2 * c]);
      const float d2 = d * static_cast<float>(sc[2 * c + 1]);
      const float m2 = dmin * static_cast<float>(mn[2 * c + 1]);
      for (int l = 0; l < 32; ++l) *dst++ = d1 * static_cast<float>(q[l] & 0x0F) - m1;
      for (int l = 0; l < 32; ++l) *dst++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

float vec_dot_q4_k_scalar(int64_t n, const void* w, const void* x) {
  const auto* a = as_blocks<BlockQ4_K>(w);
  const auto* b = as_blocks<BlockQ8_K>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    uint8_t sc[8], mn[8];
    unpack_scales_min_k4(a[i].scales, sc, mn);
    int isum = 0;
    int msum = 0;
    for (int c = 0; c < 4; ++c) {
      const uint8_t* q = a[i].qs + 32 * c;
      const int8_t* xq = b[i].qs + 64 * c;
      int s1 = 0, s2 = 0;
      for (int l = 0; l < 32; ++l) {
        s1 += (q[l] & 0x0F) * xq[l];
        s2 += (q[l] >> 4) * xq[l + 32];
      }
      isum += sc[2 * c] * s1 + sc[2 * c + 1] * s2;
      msum += mn[2 * c] * (b[i].bsums[4 * c] + b[i].bsums[4 * c + 1]) +
              mn[2 * c + 1] * (b[i].bsums[4 * c + 2] + b[i].bsums[4 * c + 3]);
    }
    sum += b[i].d * fp16_to_f32(a[i].d) * static_cast<float>(isum) -
           b[i].d * fp16_to_f32(a[i].dmin) * static_cast<float>(msum);
  }
  return sum;
}

// ---- Q5_K: Q4_K plus a fifth bit: value 64c + l takes bit 2c of qh[l], value 64c + 32 + l
// bit 2c + 1. ----

void to_float_q5_k(const void* src, float* dst, int64_t n) {
  const auto* b = as_blocks<BlockQ5_K>(src);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d = fp16_to_f32(b[i].d);
    const float dmin = fp16_to_f32(b[i].dmin);
    uint8_t sc[8], mn[8];
    unpack_scales_min_k4(b[i].scales, sc, mn);
    for (int c = 0; c < 4; ++c) {
      const uint8_t* q = b[i].qs + 32 * c;
      const float d1 = d * static_cast<float>(sc[2 * c]);
      const float m1 = dmin * static_cast<float>(mn[2 * c]);
      const float d2 = d * static_cast<float>(sc[2 * c + 1]);
      const float m2 = dmin * static_cast<float>(mn[2 * c + 1]);
      for (int l = 0; l < 32; ++l) {
        const int v = (q[l] & 0x0F) + (((b[i].qh[l] >> (2 * c)) & 1) << 4);
        *dst++ = d1 * static_cast<float>(v) - m1;
      }
      for (int l = 0; l < 32; ++l) {
        const int v = (q[l] >> 4) + (((b[i].qh[l] >> (2 * c + 1)) & 1) << 4);
        *dst++ = d2 * static_cast<float>(v) - m2;
      }
    }
  }
}

float vec_dot_q5_k_scalar(int64_t n, const void* w, const void* x) {
  const auto* a = as_blocks<BlockQ5_K>(w);
  const auto* b = as_blocks<BlockQ8_K>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    uint8_t sc[8], mn[8];
    unpack_scales_min_k4(a[i].scales, sc, mn);
    int isum = 0;
    int msum = 0;
    for (int c = 0; c < 4; ++c) {
      const uint8_t* q = a[i].qs + 32 * c;
      const int8_t* xq = b[i].qs + 64 * c;
      int s1 = 0, s2 = 0;
      for (int l = 0; l < 32; ++l) {
        s1 += ((q[l] & 0x0F) + (((a[i].qh[l] >> (2 * c)) & 1) << 4)) * xq[l];
        s2 += ((q[l] >> 4) + (((a[i].qh[l] >> (2 * c + 1)) & 1) << 4)) * xq[l + 32];
      }
      isum += sc[2 * c] * s1 + sc[2 * c + 1] * s2;
      msum += mn[2 * c] * (b[i].bsums[4 * c] + b[i].bsums[4 * c + 1]) +
              mn[2 * c + 1] * (b[i].bsums[4 * c + 2] + b[i].bsums[4 * c + 3]);
    }
    sum += b[i].d * fp16_to_f32(a[i].d) * static_cast<float>(isum) -
           b[i].d * fp16_to_f32(a[i].dmin) * static_cast<float>(msum);
  }
  return sum;
}

// ---- Q6_K: 6-bit levels stored +32: low 4 bits in ql, top 2 in qh. In each 128-value half,
// value l (l < 32) is ql[l] low | qh[l] bits 0-1, l + 32 is ql[l + 32] low | qh[l] bits 2-3,
// l + 64 is ql[l] high | bits 4-5, l + 96 is ql[l + 32] high | bits 6-7. 16 int8 scales;
// y = d · scale · (q - 32). ----

namespace {
// The 6-bit level of value v (0..255) of a Q6_K block, before the -32 offset.
int q6_level(const BlockQ6_K& blk, int v) {
  const int half = v / 128, r = v % 128, quarter = r / 32, l = r % 32;
  const uint8_t lo_byte = blk.ql[64 * half + l + 32 * (quarter & 1)];
  const int low = quarter < 2 ? (lo_byte & 0x0F) : (lo_byte >> 4);
  const int high = (blk.qh[32 * half + l] >> (2 * quarter)) & 3;
  return low | (high << 4);
}
}  // namespace

void to_float_q6_k(const void* src, float* dst, int64_t n) {
  const auto* b = as_blocks<BlockQ6_K>(src);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d = fp16_to_f32(b[i].d);
    for (int v = 0; v < QK_K; ++v) {
      // (d · scale) · level, ggml's order of operations.
      *dst++ = d * static_cast<float>(b[i].scales[v / 16]) * static_cast<float>(q6_level(b[i], v) - 32);
    }
  }
}

float vec_dot_q6_k_scalar(int64_t n, const void* w, const void* x) {
  const auto* a = as_blocks<BlockQ6_K>(w);
  const auto* b = as_blocks<BlockQ8_K>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    int isum = 0;
    for (int sub = 0; sub < 16; ++sub) {
      int s = 0;
      for (int l = 0; l < 16; ++l) {
        const int v = 16 * sub + l;
        s += (q6_level(a[i], v) - 32) * b[i].qs[v];
      }
      isum += a[i].scales[sub] * s;
    }
    sum += b[i].d * fp16_to_f32(a[i].d) * static_cast<float>(isum);
  }
  return sum;
}

// ---- Q8_K: activations for K-quant dot products: float d, 256 int8, and per-16 sums ----

void to_float_q8_k(const void* src, float* dst, int64_t n) {
  const auto* b = as_blocks<BlockQ8_K>(src);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    for (int j = 0; j < QK_K; ++j) *dst++ = b[i].d * static_cast<float>(b[i].qs[j]);
  }
}

void quantize_q8_k(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i, src += QK_K) {
    float amax = 0.0f;
    float max = 0.0f;
    for (int j = 0; j < QK_K; ++j) {
      if (std::fabs(src[j]) > amax) {
        amax = std::fabs(src[j]);
        max = src[j];
      }
    }
    if (amax == 0.0f) {
      std::memset(&b[i], 0, sizeof b[i]);
      continue;
    }
    // Levels span [-127, 127] (not -128) so |x| never overflows the SIMD kernels' sign tricks.
    const float iscale = -127.0f / max;
    int sum16 = 0;
    for (int j = 0; j < QK_K; ++j) {
      const int v = nearest_int(iscale * src[j]);
      b[i].qs[j] = static_cast<int8_t>(v > 127 ? 127 : v);
      sum16 += b[i].qs[j];
      if (j % 16 == 15) {
        b[i].bsums[j / 16] = static_cast<int16_t>(sum16);
        sum16 = 0;
      }
    }
    b[i].d = 1.0f / iscale;
  }
}

}  // namespace kindred::kernels
