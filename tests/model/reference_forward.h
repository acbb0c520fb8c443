// A plain fp32 forward pass written for clarity, not speed: every weight dequantized to float,
// no KV cache (each position recomputed from the whole prefix), RoPE angles in double.
// The engine must match it within named tolerances.
#pragma once
#include <cstdint>
#include <vector>

#include "gguf/gguf.h"

namespace kindred::test {

// Logits (n_vocab per position) for every position of tokens.
std::vector<std::vector<float>> reference_logits(const gguf::File& file, const std::vector<int32_t>& tokens);

// Relative L2 error ||a - b|| / ||b||.
double relative_error(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace kindred::test
