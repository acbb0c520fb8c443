// Conversion of a llama2.c checkpoint (Karpathy's "legacy version 0" .bin) and its tokenizer.bin
// into a GGUF file that llama.cpp and Kindred load as a "llama" model. The result matches what
// llama.cpp's convert-llama2c-to-ggml writes for the same input, tensor for tensor and key for key,
// except where Llama2cOptions or the comments in llama2c.cpp say otherwise.
//
// checkpoint.bin (little-endian, no padding):
//   7 × int32   dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
//               (vocab_size < 0: the classifier is not shared with the embedding; wcls follows)
//   fp32        token_embedding_table (vocab, dim)
//               rms_att_weight (layer, dim)
//               wq (layer, n_heads·head_size, dim)      rows = outputs, as in nn.Linear
//               wk (layer, n_kv_heads·head_size, dim)
//               wv (layer, n_kv_heads·head_size, dim)
//               wo (layer, dim, n_heads·head_size)
//               rms_ffn_weight (layer, dim)
//               w1 (layer, hidden_dim, dim)
//               w2 (layer, dim, hidden_dim)
//               w3 (layer, hidden_dim, dim)
//               rms_final_weight (dim)
//               freq_cis_real, freq_cis_imag (seq_len, head_size/2) each: optional, ignored
//               wcls (vocab, dim): only when vocab_size < 0
// tokenizer.bin:
//   int32 max_token_length, then vocab_size × { float32 score, int32 len, len bytes of text }
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace kindred::model {

struct Llama2cOptions {
  // llama.context_length; 0 means the checkpoint's seq_len (what the model was trained with).
  uint32_t context_length = 0;
  // general.name; llama.cpp's converter always writes "llama".
  std::string name = "llama";
};

// The checkpoint's header, validated.
struct Llama2cConfig {
  int32_t dim = 0;
  int32_t hidden_dim = 0;
  int32_t n_layers = 0;
  int32_t n_heads = 0;
  int32_t n_kv_heads = 0;
  int32_t vocab_size = 0;  // always positive here; see shared_classifier
  int32_t seq_len = 0;
  bool shared_classifier = true;  // false when a separate wcls follows the weights
  bool has_freq_cis = true;       // whether the file carries the (ignored) RoPE tables

  int32_t head_size() const { return dim / n_heads; }
};

// Parses and checks the header against the size of the whole checkpoint. Throws
// std::runtime_error naming the offending field or the size mismatch.
Llama2cConfig parse_llama2c_header(std::span<const uint8_t> checkpoint);

// Returns the bytes of the GGUF file. Throws std::runtime_error on any malformed input.
std::vector<uint8_t> convert_llama2c_to_gguf(std::span<const uint8_t> checkpoint,
                                             std::span<const uint8_t> tokenizer_bin,
                                             const Llama2cOptions& opts = {});

// Reads both files and writes the GGUF to `out` atomically (a temporary file renamed into place).
void convert_llama2c_to_gguf(const std::filesystem::path& checkpoint,
                             const std::filesystem::path& tokenizer_bin,
                             const std::filesystem::path& out, const Llama2cOptions& opts = {});

}  // namespace kindred::model
