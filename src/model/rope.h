// Rotary position embeddings (RoFormer), in both layouts, with linear and YaRN context scaling
// (Peng et al. 2023) and optional per-frequency factors (Llama 3.1's rope_freqs).
#pragma once
#include <span>
#include <vector>

#include "model/model.h"

namespace kindred {

// Angles at position pos. freq_factors (n_dims/2 values) divide the frequencies when given.
void rope_angles(const RopeConfig& rope, int pos, std::span<const float> freq_factors, RopeAngles& out);

// The pure rotation (no YaRN magnitude scale) that moves an already-rotated key from position p
// to p + delta, for the context shift; apply it with apply_rope.
void rope_delta_angles(const RopeConfig& rope, int delta, std::span<const float> freq_factors, RopeAngles& out);

// Rotates the first rope.n_dims values of each of n_heads heads of width head_dim in place.
void apply_rope(const RopeConfig& rope, const RopeAngles& angles, float* x, int n_heads, int head_dim);

}  // namespace kindred
