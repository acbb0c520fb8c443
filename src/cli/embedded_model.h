// The model built into the binary so `kindred run` works offline on a fresh machine:
// Karpathy's stories260K (MIT), a llama2.c checkpoint converted to GGUF in memory at start.
#pragma once
#include <cstdint>
#include <span>

namespace kindred::cli {

std::span<const uint8_t> embedded_llama2c_checkpoint();
std::span<const uint8_t> embedded_llama2c_tokenizer();

}  // namespace kindred::cli
