// Tiny random-weight models of every architecture and weight type, written with Kindred's own
// GGUF writer, for tests that compare the engine with the reference forward pass.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "gguf/gguf.h"

namespace kindred::test {

struct TinyModelSpec {
  std::string arch = "llama";   // llama, qwen2, qwen3; qwen2moe, qwen3moe, olmoe, minimax-m2
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
  // Mixture of experts: the MoE archs always have experts (4 when 0 here); llama gets Mixtral-style
  // experts of width n_ff when n_expert > 0. Routers and biases stay F32, as llama.cpp quantizes them.
  int n_expert = 0;
  int n_expert_used = 2;
  int n_ff_exp = 256;           // expert width (not llama, whose experts are n_ff wide)
  int n_ff_shexp = 256;         // qwen2moe's shared expert
  int rope_dims = 0;            // rope.dimension_count; 0 leaves it out (whole head; minimax-m2: half)
  float expert_weights_scale = 0.0f;  // written when non-zero
};

bool is_moe_arch(const std::string& arch);

// A complete GGUF (with an SPM-style byte-fallback vocabulary) as bytes.
std::vector<uint8_t> make_tiny_model(const TinyModelSpec& spec);

}  // namespace kindred::test
