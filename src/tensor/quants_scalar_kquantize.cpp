// Reference quantizers for the K-quants (Q2_K ... Q6_K), with the semantics of ggml's
// quantize_row_*_ref: for every sub-block, search a small set of candidate scales for the one
// that minimises a weighted squared (or absolute) error, then quantize the sub-block scales
// themselves (to 4, 6 or 8 bits against one fp16 super-block scale) and re-round every value
// against the scale it will actually be decoded with.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "tensor/quants.h"
#include "tensor/quants_internal.h"

namespace kindred::kernels {
namespace {

constexpr float kTinyGroup = 1e-15f;  // a sub-block this small is treated as all zeros

// Sums below are written as w·l·l, w·x·l (left to right) on purpose: the same rounding as
// ggml's reference gives byte-identical blocks for the same input.

int clamp_int(int v, int lo, int hi) { return std::min(hi, std::max(lo, v)); }

// Symmetric levels in [-nmax, nmax - 1] (stored + nmax in L) for a scale fitted by weighted
// least squares with weights x², trying 19 candidate reciprocal scales around -nmax/max.
// Returns the scale (which may be negative: the extreme value maps to -nmax).
float fit_symmetric(int n, int nmax, const float* x, int8_t* L) {
  float amax = 0.0f, max = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax < kTinyGroup) {
    std::fill(L, L + n, int8_t{0});
    return 0.0f;
  }
  // For a trial reciprocal scale: Σw·x·l and Σw·l²; the least-squares scale is their ratio and
  // the error it leaves decreases as (Σw·x·l)² / Σw·l² grows.
  auto trial = [&](float iscale, float* sumlx, float* suml2) {
    *sumlx = 0.0f;
    *suml2 = 0.0f;
    for (int i = 0; i < n; ++i) {
      const int l = clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1);
      const float w = x[i] * x[i];
      *sumlx += w * x[i] * static_cast<float>(l);
      *suml2 += w * static_cast<float>(l) * static_cast<float>(l);
    }
  };
  auto assign = [&](float iscale) {
    for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(nmax + clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1));
  };
  float sumlx, suml2;
  float iscale = -static_cast<float>(nmax) / max;
  trial(iscale, &sumlx, &suml2);
  assign(iscale);
  float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int step = -9; step <= 9; ++step) {
    if (step == 0) continue;
    iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(step)) / max;
    trial(iscale, &sumlx, &suml2);
    if (suml2 > 0.0f && sumlx * sumlx > best * suml2) {
      assign(iscale);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Symmetric levels in [-nmax, nmax - 1] (stored + nmax) refined one value at a time: each value
// moves to the level that is best for the least-squares scale of the others, for up to 5 passes
// while anything changes. Weights are x². Returns the scale.
float fit_symmetric_iterative(int n, int nmax, const float* x, int8_t* L) {
  float amax = 0.0f, max = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax < kTinyGroup) {
    std::fill(L, L + n, int8_t{0});
    return 0.0f;
  }
  const float iscale = -static_cast<float>(nmax) / max;
  float sumlx = 0.0f, suml2 = 0.0f;
  for (int i = 0; i < n; ++i) {
    const int l = clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * static_cast<float>(l);
    suml2 += w * static_cast<float>(l) * static_cast<float>(l);
  }
  for (int pass = 0; pass < 5; ++pass) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * static_cast<float>(L[i]);
      if (slx <= 0.0f) continue;
      float sl2 = suml2 - w * static_cast<float>(L[i]) * static_cast<float>(L[i]);
      const int nl = clamp_int(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
      if (nl == L[i]) continue;
      slx += w * x[i] * static_cast<float>(nl);
      sl2 += w * static_cast<float>(nl) * static_cast<float>(nl);
      // Keep the move if it raises (Σw·x·l)²/Σw·l², i.e. lowers the fitted error.
      if (sl2 > 0.0f && slx * slx * suml2 > sumlx * sumlx * sl2) {
        L[i] = static_cast<int8_t>(nl);
        sumlx = slx;
        suml2 = sl2;
        ++changed;
      }
    }
    if (!changed) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// Affine levels in [0, nmax] for x ≈ scale·l - neg_min with neg_min >= 0: starts from the
// min/max grid, then tries nstep+1 grids of (nmax + rmin + rdelta·k) steps, refitting scale and
// min by weighted least squares on each and keeping the one with the smallest weighted error
// (squared, or absolute when use_mad). Returns the scale; *neg_min receives -min.
float fit_affine(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* neg_min,
                 float rmin, float rdelta, int nstep, bool use_mad) {
  float mn = x[0], mx = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    mn = std::min(mn, x[i]);
    mx = std::max(mx, x[i]);
    sum_w += weights[i];
    sum_x += weights[i] * x[i];
  }
  if (mn > 0.0f) mn = 0.0f;  // the offset only ever shifts down, so zero stays representable
  if (mx == mn) {
    std::fill(L, L + n, uint8_t{0});
    *neg_min = -mn;
    return 0.0f;
  }
  auto error_of = [&](float scale, float offset, const uint8_t* levels) {
    float err = 0.0f;
    for (int i = 0; i < n; ++i) {
      const float diff = scale * static_cast<float>(levels[i]) + offset - x[i];
      err += weights[i] * (use_mad ? std::fabs(diff) : diff * diff);
    }
    return err;
  };
  float iscale = static_cast<float>(nmax) / (mx - mn);
  float scale = 1.0f / iscale;
  for (int i = 0; i < n; ++i) L[i] = static_cast<uint8_t>(clamp_int(nearest_int(iscale * (x[i] - mn)), 0, nmax));
  float best_error = error_of(scale, mn, L);
  uint8_t trial[32];
  for (int step = 0; step <= nstep; ++step) {
    iscale = (rmin + rdelta * static_cast<float>(step) + static_cast<float>(nmax)) / (mx - mn);
    float sum_l = 0.0f, sum_l2 = 0.0f, sum_xl = 0.0f;
    for (int i = 0; i < n; ++i) {
      const int l = clamp_int(nearest_int(iscale * (x[i] - mn)), 0, nmax);
      trial[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      sum_l += w * static_cast<float>(l);
      sum_l2 += w * static_cast<float>(l) * static_cast<float>(l);
      sum_xl += w * static_cast<float>(l) * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det <= 0.0f) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (this_min > 0.0f) {  // the model has no positive offset: refit the scale alone
      this_min = 0.0f;
      this_scale = sum_xl / sum_l2;
    }
    const float err = error_of(this_scale, this_min, trial);
    if (err < best_error) {
      std::copy(trial, trial + n, L);
      best_error = err;
      scale = this_scale;
      mn = this_min;
    }
  }
  *neg_min = -mn;
  return scale;
}

// Q4_K / Q5_K share the scale layout: 8 six-bit scales and mins against fp16 d and dmin.
template <typename Block>
void pack_scales_min_k4(Block& blk, const float* scales, const float* mins) {
  float max_scale = 0.0f, max_min = 0.0f;
  for (int j = 0; j < 8; ++j) {
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
  std::memset(blk.scales, 0, sizeof blk.scales);
  for (int j = 0; j < 8; ++j) {
    const auto ls = static_cast<uint8_t>(std::min(63, nearest_int(inv_scale * scales[j])));
    const auto lm = static_cast<uint8_t>(std::min(63, nearest_int(inv_min * mins[j])));
    if (j < 4) {
      blk.scales[j] = ls;
      blk.scales[j + 4] = lm;
    } else {
      blk.scales[j + 4] = static_cast<uint8_t>((ls & 0x0F) | ((lm & 0x0F) << 4));
      blk.scales[j - 4] = static_cast<uint8_t>(blk.scales[j - 4] | ((ls >> 4) << 6));
      blk.scales[j] = static_cast<uint8_t>(blk.scales[j] | ((lm >> 4) << 6));
    }
  }
  blk.d = f32_to_fp16(max_scale / 63.0f);
  blk.dmin = f32_to_fp16(max_min / 63.0f);
}

// Levels for Q4_K/Q5_K (nmax 15 or 31) from the packed scales: every value re-rounded against
// the scale and min the decoder will use.
template <typename Block>
void levels_k4(const Block& blk, const float* x, int nmax, uint8_t* L) {
  uint8_t sc[8], mn[8];
  unpack_scales_min_k4(blk.scales, sc, mn);
  for (int j = 0; j < 8; ++j) {
    const float d = fp16_to_f32(blk.d) * static_cast<float>(sc[j]);
    if (d == 0.0f) continue;  // keep the fitted levels: every value decodes to -dm anyway
    const float dm = fp16_to_f32(blk.dmin) * static_cast<float>(mn[j]);
    for (int i = 0; i < 32; ++i) L[32 * j + i] = static_cast<uint8_t>(clamp_int(nearest_int((x[32 * j + i] + dm) / d), 0, nmax));
  }
}

// Per-sub-block fits for Q4_K/Q5_K: weights favour large values but keep every value in play.
void fit_k4_subblocks(const float* x, int nmax, float rmin, int nstep, uint8_t* L, float* scales, float* mins) {
  float weights[32];
  for (int j = 0; j < 8; ++j) {
    const float* xs = x + 32 * j;
    float sum_x2 = 0.0f;
    for (int i = 0; i < 32; ++i) sum_x2 += xs[i] * xs[i];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int i = 0; i < 32; ++i) weights[i] = av_x + std::fabs(xs[i]);
    scales[j] = fit_affine(32, nmax, xs, weights, L + 32 * j, &mins[j], rmin, 0.1f, nstep, false);
  }
}

// Q2_K and Q3_K store 2 low bits of value h·128 + 32·s + l in qs[32h + l] at bits 2s.
void pack_2bit(const uint8_t* L, uint8_t* qs) {
  for (int h = 0; h < 2; ++h) {
    for (int l = 0; l < 32; ++l) {
      const uint8_t* v = L + 128 * h + l;
      qs[32 * h + l] = static_cast<uint8_t>(v[0] | (v[32] << 2) | (v[64] << 4) | (v[96] << 6));
    }
  }
}

}  // namespace

void quantize_q2_k(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ2_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i, src += QK_K) {
    uint8_t L[QK_K];
    float scales[16], mins[16], weights[16];
    float max_scale = 0.0f, max_min = 0.0f;
    for (int j = 0; j < 16; ++j) {
      for (int l = 0; l < 16; ++l) weights[l] = std::fabs(src[16 * j + l]);
      scales[j] = fit_affine(16, 3, src + 16 * j, weights, L + 16 * j, &mins[j], -0.5f, 0.1f, 15, true);
      max_scale = std::max(max_scale, scales[j]);
      max_min = std::max(max_min, mins[j]);
    }
    std::memset(b[i].scales, 0, sizeof b[i].scales);
    b[i].d = f32_to_fp16(0.0f);
    b[i].dmin = f32_to_fp16(0.0f);
    if (max_scale > 0.0f) {
      const float iscale = 15.0f / max_scale;
      for (int j = 0; j < 16; ++j) b[i].scales[j] = static_cast<uint8_t>(nearest_int(iscale * scales[j]));
      b[i].d = f32_to_fp16(max_scale / 15.0f);
    }
    if (max_min > 0.0f) {
      const float iscale = 15.0f / max_min;
      for (int j = 0; j < 16; ++j) b[i].scales[j] = static_cast<uint8_t>(b[i].scales[j] | (nearest_int(iscale * mins[j]) << 4));
      b[i].dmin = f32_to_fp16(max_min / 15.0f);
    }
    for (int j = 0; j < 16; ++j) {
      const float d = fp16_to_f32(b[i].d) * static_cast<float>(b[i].scales[j] & 0x0F);
      if (d == 0.0f) continue;
      const float dm = fp16_to_f32(b[i].dmin) * static_cast<float>(b[i].scales[j] >> 4);
      for (int l = 0; l < 16; ++l) L[16 * j + l] = static_cast<uint8_t>(clamp_int(nearest_int((src[16 * j + l] + dm) / d), 0, 3));
    }
    pack_2bit(L, b[i].qs);
  }
}

void quantize_q3_k(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ3_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i, src += QK_K) {
    int8_t Ls[QK_K];
    float scales[16];
    float max_scale = 0.0f, amax = 0.0f;
    for (int j = 0; j < 16; ++j) {
      scales[j] = fit_symmetric_iterative(16, 4, src + 16 * j, Ls + 16 * j);
      if (std::fabs(scales[j]) > amax) {
        amax = std::fabs(scales[j]);
        max_scale = scales[j];
      }
    }
    std::memset(b[i].scales, 0, sizeof b[i].scales);
    b[i].d = f32_to_fp16(0.0f);
    if (max_scale != 0.0f) {
      const float iscale = -32.0f / max_scale;
      for (int j = 0; j < 16; ++j) {
        const int l = clamp_int(nearest_int(iscale * scales[j]), -32, 31) + 32;
        if (j < 8) {
          b[i].scales[j] = static_cast<uint8_t>(l & 0x0F);
        } else {
          b[i].scales[j - 8] = static_cast<uint8_t>(b[i].scales[j - 8] | ((l & 0x0F) << 4));
        }
        b[i].scales[8 + j % 4] = static_cast<uint8_t>(b[i].scales[8 + j % 4] | ((l >> 4) << (2 * (j / 4))));
      }
      b[i].d = f32_to_fp16(1.0f / iscale);
    }
    int8_t sc[16];
    unpack_scales_q3_k(b[i].scales, sc);
    for (int j = 0; j < 16; ++j) {
      const float d = fp16_to_f32(b[i].d) * static_cast<float>(sc[j]);
      if (d == 0.0f) continue;
      for (int l = 0; l < 16; ++l) Ls[16 * j + l] = static_cast<int8_t>(clamp_int(nearest_int(src[16 * j + l] / d), -4, 3) + 4);
    }
    // Levels 0..7: the high bit goes to hmask (bit k of hmask[l] for value 32k + l).
    uint8_t L[QK_K];
    std::memset(b[i].hmask, 0, sizeof b[i].hmask);
    for (int v = 0; v < QK_K; ++v) {
      int l = Ls[v];
      if (l > 3) {
        b[i].hmask[v % 32] = static_cast<uint8_t>(b[i].hmask[v % 32] | (1 << (v / 32)));
        l -= 4;
      }
      L[v] = static_cast<uint8_t>(l);
    }
    pack_2bit(L, b[i].qs);
  }
}

void quantize_q4_k(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ4_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i, src += QK_K) {
    uint8_t L[QK_K];
    float scales[8], mins[8];
    fit_k4_subblocks(src, 15, -1.0f, 20, L, scales, mins);
    pack_scales_min_k4(b[i], scales, mins);
    levels_k4(b[i], src, 15, L);
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) b[i].qs[32 * c + l] = static_cast<uint8_t>(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
    }
  }
}

void quantize_q5_k(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ5_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i, src += QK_K) {
    uint8_t L[QK_K];
    float scales[8], mins[8];
    fit_k4_subblocks(src, 31, -0.5f, 15, L, scales, mins);
    pack_scales_min_k4(b[i], scales, mins);
    levels_k4(b[i], src, 31, L);
    std::memset(b[i].qh, 0, sizeof b[i].qh);
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        const int lo = L[64 * c + l], hi = L[64 * c + 32 + l];
        b[i].qs[32 * c + l] = static_cast<uint8_t>((lo & 0x0F) | ((hi & 0x0F) << 4));
        b[i].qh[l] = static_cast<uint8_t>(b[i].qh[l] | ((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
      }
    }
  }
}

void quantize_q6_k(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ6_K*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i, src += QK_K) {
    int8_t L[QK_K];
    float scales[16];
    float max_scale = 0.0f, amax = 0.0f;
    for (int j = 0; j < 16; ++j) {
      scales[j] = fit_symmetric(16, 32, src + 16 * j, L + 16 * j);
      if (std::fabs(scales[j]) > amax) {
        amax = std::fabs(scales[j]);
        max_scale = scales[j];
      }
    }
    if (amax < kTinyGroup) {
      std::memset(&b[i], 0, sizeof b[i]);
      continue;
    }
    const float iscale = -128.0f / max_scale;
    b[i].d = f32_to_fp16(1.0f / iscale);
    for (int j = 0; j < 16; ++j) b[i].scales[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[j])));
    for (int j = 0; j < 16; ++j) {
      const float d = fp16_to_f32(b[i].d) * static_cast<float>(b[i].scales[j]);
      if (d == 0.0f) continue;
      for (int l = 0; l < 16; ++l) L[16 * j + l] = static_cast<int8_t>(clamp_int(nearest_int(src[16 * j + l] / d), -32, 31) + 32);
    }
    // ql/qh arrangement as in to_float_q6_k.
    for (int h = 0; h < 2; ++h) {
      const int8_t* v = L + 128 * h;
      for (int l = 0; l < 32; ++l) {
        b[i].ql[64 * h + l] = static_cast<uint8_t>((v[l] & 0x0F) | ((v[l + 64] & 0x0F) << 4));
        b[i].ql[64 * h + l + 32] = static_cast<uint8_t>((v[l + 32] & 0x0F) | ((v[l + 96] & 0x0F) << 4));
        b[i].qh[32 * h + l] = static_cast<uint8_t>((v[l] >> 4) | ((v[l + 32] >> 4) << 2) |
                                                   ((v[l + 64] >> 4) << 4) | ((v[l + 96] >> 4) << 6));
      }
    }
  }
}

}  // namespace kindred::kernels
