// The checkpoint files are assembled into read-only data with .incbin (no generated sources).
#include "cli/embedded_model.h"

#include "util/incbin.h"

KINDRED_INCBIN(kindred_stories260k_bin, KINDRED_MODELS_DIR "/stories260K/stories260K.bin");
KINDRED_INCBIN(kindred_stories260k_tok, KINDRED_MODELS_DIR "/stories260K/tok512.bin");

extern "C" const uint8_t kindred_stories260k_bin[], kindred_stories260k_bin_end[];
extern "C" const uint8_t kindred_stories260k_tok[], kindred_stories260k_tok_end[];

namespace kindred::cli {

std::span<const uint8_t> embedded_llama2c_checkpoint() {
  return {kindred_stories260k_bin, kindred_stories260k_bin_end};
}

std::span<const uint8_t> embedded_llama2c_tokenizer() {
  return {kindred_stories260k_tok, kindred_stories260k_tok_end};
}

}  // namespace kindred::cli
