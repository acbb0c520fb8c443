// Byte-level BPE (tokenizer.ggml.model = "gpt2"): pre-tokenize, then merge each word's bytes by
// merge rank, lowest rank first and leftmost among equals, as Hugging Face and llama.cpp do.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/flat_hash.h"
#include "tokenizer/model.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/vocab.h"

namespace kindred::gguf {
class File;
}

namespace kindred::tok {

class BytePairModel final : public TokenModel {
 public:
  // Reads tokenizer.ggml.merges; throws std::runtime_error naming the key for a malformed merge
  // or one whose parts or result are not tokens.
  BytePairModel(const gguf::File& file, const Vocab& vocab, const PreTokenizerRecipe& recipe,
                int32_t unknown_token);

  void encode(std::string_view text, bool follows_special, WordCache& cache,
              std::vector<int32_t>& out) const override;

  // Merges one pre-tokenized word (raw bytes).
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

 private:
  struct Merge {
    uint32_t rank;
    int32_t result;
  };
  void emit_byte(uint8_t byte, std::vector<int32_t>& out) const;

  const Vocab& vocab_;
  const PreTokenizerRecipe& recipe_;
  int32_t unknown_token_;
  std::array<int32_t, 256> byte_tokens_{};       // the token of each byte's stand-in character
  std::array<std::string, 256> byte_spellings_;  // UTF-8 of each byte's stand-in character
  TokenPairMap<Merge> merges_;                   // (left id, right id) -> rank and result
};

}  // namespace kindred::tok
