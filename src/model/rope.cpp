// RoPE angles follow ggml's rope_yarn so GGUF models see the positions they were trained with.
#include "model/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace kindred {
namespace {

// Dimension index at which a wavelength completes n_rot rotations over the original context.
float yarn_corr_dim(int n_dims, int n_ctx_orig, float n_rot, float base) {
  return static_cast<float>(n_dims) * std::log(static_cast<float>(n_ctx_orig) / (n_rot * 2.0f * std::numbers::pi_v<float>)) /
         (2.0f * std::log(base));
}

// 1 for dimensions below `low` (extrapolate), 0 above `high` (interpolate), linear between.
float yarn_ramp(float low, float high, int i0) {
  const float y = (static_cast<float>(i0 / 2) - low) / std::max(0.001f, high - low);
  return 1.0f - std::min(1.0f, std::max(0.0f, y));
}

// cos/sin of every pair's angle at pos; times YaRN's magnitude scale when `magnitude`.
void angles(const RopeConfig& rope, int pos, std::span<const float> freq_factors, bool magnitude, RopeAngles& out) {
  const int half = rope.n_dims / 2;
  out.cos.resize(half);
  out.sin.resize(half);
  const float theta_scale = std::pow(rope.freq_base, -2.0f / static_cast<float>(rope.n_dims));
  float corr_low = 0, corr_high = 0;
  if (rope.ext_factor != 0.0f) {
    const int n_ctx_orig = rope.n_ctx_orig > 0 ? rope.n_ctx_orig : 1;
    corr_low = std::max(0.0f, std::floor(yarn_corr_dim(rope.n_dims, n_ctx_orig, rope.beta_fast, rope.freq_base)));
    corr_high = std::min(static_cast<float>(rope.n_dims - 1),
                         std::ceil(yarn_corr_dim(rope.n_dims, n_ctx_orig, rope.beta_slow, rope.freq_base)));
  }
  float theta_base = static_cast<float>(pos);
  for (int i = 0; i < half; ++i) {
    const int i0 = 2 * i;
    const float factor = freq_factors.empty() ? 1.0f : freq_factors[i];
    const float theta_extrap = theta_base / factor;
    const float theta_interp = rope.freq_scale * theta_extrap;
    float theta = theta_interp;
    float mscale = magnitude ? rope.attn_factor : 1.0f;
    if (rope.ext_factor != 0.0f) {
      const float mix = yarn_ramp(corr_low, corr_high, i0) * rope.ext_factor;
      theta = theta_interp * (1 - mix) + theta_extrap * mix;
      // YaRN's attention temperature: scale magnitudes by 0.1 ln(s) + 1.
      if (magnitude) mscale *= 1.0f + 0.1f * std::log(1.0f / rope.freq_scale);
    }
    out.cos[i] = std::cos(theta) * mscale;
    out.sin[i] = std::sin(theta) * mscale;
    theta_base *= theta_scale;
  }
}

}  // namespace

void rope_angles(const RopeConfig& rope, int pos, std::span<const float> freq_factors, RopeAngles& out) {
  angles(rope, pos, freq_factors, true, out);
}

// Every scaling mode gives each pair an angle linear in the position, theta_i(p) = p * w_i (YaRN's
// ramp mixes two such frequencies by dimension, not by position), and R(a) R(b) = R(a + b). So a key
// stored as m R(theta(p)) k becomes m R(theta(p + delta)) k under R(theta(delta)): the magnitude m
// is already in the key and must not be applied again.
void rope_delta_angles(const RopeConfig& rope, int delta, std::span<const float> freq_factors, RopeAngles& out) {
  angles(rope, delta, freq_factors, false, out);
}

void apply_rope(const RopeConfig& rope, const RopeAngles& angles, float* x, int n_heads, int head_dim) {
  const int half = rope.n_dims / 2;
  for (int h = 0; h < n_heads; ++h) {
    float* v = x + static_cast<size_t>(h) * head_dim;
    for (int i = 0; i < half; ++i) {
      // Normal pairs neighbours; NeoX pairs the two halves of the rotated span.
      const int a = rope.layout == RopeLayout::Normal ? 2 * i : i;
      const int b = rope.layout == RopeLayout::Normal ? 2 * i + 1 : i + half;
      const float x0 = v[a], x1 = v[b];
      v[a] = x0 * angles.cos[i] - x1 * angles.sin[i];
      v[b] = x0 * angles.sin[i] + x1 * angles.cos[i];
    }
  }
}

}  // namespace kindred
