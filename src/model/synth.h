// Random-weight models of any supported architecture and shape, written as GGUF with exactly the
// tensor names and metadata keys llama.cpp uses (src/llama-arch.cpp), so that Kindred and
// llama.cpp can be benchmarked side by side on the same file without downloading real weights.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tensor/dtype.h"

namespace kindred {

class ThreadPool;

struct SynthSpec {
  std::string arch = "llama";  // llama (Mixtral when n_expert > 0), qwen2, qwen3, qwen2moe, qwen3moe, olmoe, minimax-m2
  int n_vocab = 50257;
  int n_embd = 256;
  int n_layer = 2;
  int n_head = 4;
  int n_head_kv = 4;
  int head_dim = 0;       // 0: n_embd / n_head
  int n_ff = 0;           // dense FFN width; 0: 4 × n_embd (dense archs), else unused by pure-MoE archs
  int n_ctx = 4096;
  int n_expert = 0;       // > 0 makes every layer's FFN a mixture of experts
  int n_expert_used = 0;  // 0: min(2, n_expert)
  int n_ff_exp = 0;       // each expert's FFN width; 0: n_ff
  int n_ff_shexp = 0;     // shared expert width (qwen2moe); 0: n_ff_exp
  int rope_dims = 0;      // rotated dimensions per head; 0: head_dim (minimax-m2: head_dim / 2)
  float rope_base = 10000.0f;
  bool tied = false;      // no output.weight: the head reuses token_embd
  DType type = DType::Q8_0;         // matrices
  DType output_type = DType::Q8_0;  // output.weight (and token_embd when tied)
  std::string vocab = "gpt2";       // gpt2 (byte-level BPE) or spm
  uint64_t seed = 1;
};

// Architectures synth knows how to lay out.
const std::vector<std::string>& synth_architectures();

// Applies "k=v,k=v" (keys: vocab, embd, layers, heads, kv_heads, head_dim, ff, ctx, experts,
// experts_used, ff_exp, ff_shexp, rope_dims, rope_base, tied) to spec; throws
// std::invalid_argument naming the bad key or value.
void apply_synth_shape(SynthSpec& spec, std::string_view shape);

// Fills defaults and checks the shape (block sizes of the chosen types, head counts, expert
// counts); throws std::invalid_argument with a one-line reason.
SynthSpec resolve_synth_spec(SynthSpec spec);

// One tensor as it will be written.
struct SynthTensor {
  std::string name;
  DType type;
  std::vector<int64_t> ne;  // innermost first
  float stddev;             // of the random values; 0 with mean 1 for norm weights
  float mean;
};

// The tensors of the model in file order (for tests and for sizing).
std::vector<SynthTensor> synth_tensors(const SynthSpec& resolved);

// Writes the model to path (through a temporary file and a rename), generating and quantizing
// one slab of rows at a time on pool, so memory stays small whatever the model size.
// Returns the file's size in bytes.
uint64_t write_synth_model(const SynthSpec& spec, const std::filesystem::path& path, ThreadPool& pool);

}  // namespace kindred
