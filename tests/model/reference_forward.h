// A plain fp32 forward pass written for clarity, not speed: every weight dequantized to float,
// no KV cache (each position recomputed from the whole prefix), RoPE angles in double.
// The engine must match it within named tolerances.
#pragma once
#include <cstdint>
#include <vector>

#include "gguf/gguf.h"

namespace kindred::test {

// Logits (n_vocab per position) for every position of tokens. For a mixture of experts,
// routing_margin (when given) receives the smallest gap, over all tokens and layers, between the
// selection scores of the last expert chosen and the best one left out (infinity when dense).
std::vector<std::vector<float>> reference_logits(const gguf::File& file, const std::vector<int32_t>& tokens,
                                                 double* routing_margin = nullptr);

// Tolerances on the relative L2 error of the engine's logits against reference_logits, by what
// the engine rounds that the reference does not: F32 only sums in another order; F16/BF16 round
// activations to 11/8 mantissa bits before the dot product; quantized weights meet activations
// quantized to 8 bits per block (Q8_0 / Q8_K), about 0.4% noise per element, over 2 layers.
// (The values of forward_test.cpp's tolerance(), shared so every forward test names the same ones.)
double reference_tolerance(DType weight_type);

// Relative L2 error ||a - b|| / ||b||.
double relative_error(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace kindred::test
