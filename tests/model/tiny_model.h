// Tiny random-weight models of every architecture and weight type, written with Kindred's own
// GGUF writer, for tests that compare the engine with the reference forward pass.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "gguf/gguf.h"

namespace kindred::test {

struct TinyModelSpec {
  std::string arch = "llama";   // llama, qwen2, qwen3
  DType weight_type = DType::F32;
  int n_vocab = 320;            // 3 specials + 256 byte tokens + a few words
  int n_embd = 256;
  int n_layer = 2;
  int n_head = 4;
  int n_head_kv = 2;
  int head_dim = 64;
  int n_ff = 512;
  int n_ctx = 256;
  bool tied_embeddings = false;
  std::string rope_scaling = "none";  // none, linear, yarn
  float rope_factor = 1.0f;
  int rope_orig_ctx = 0;
  uint64_t seed = 42;
};

// A complete GGUF (with an SPM-style byte-fallback vocabulary) as bytes.
std::vector<uint8_t> make_tiny_model(const TinyModelSpec& spec);

}  // namespace kindred::test
