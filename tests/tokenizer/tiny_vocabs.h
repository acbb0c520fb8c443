// Small in-memory GGUF vocabularies for the tokenizer unit tests (no fixture files needed).
#pragma once
#include <string>
#include <vector>

#include "gguf/gguf.h"

namespace kindred::test {

// The tokenizer.ggml.* keys of a vocabulary, editable before building the file.
struct VocabSpec {
  std::string model;
  std::string pre;  // empty: key absent
  std::vector<std::string> tokens;
  std::vector<int32_t> types;  // empty: key absent
  std::vector<float> scores;   // empty: key absent
  std::vector<std::string> merges;
  std::vector<std::pair<std::string, uint32_t>> ids;  // e.g. {"tokenizer.ggml.eos_token_id", 2}
  std::vector<std::pair<std::string, bool>> flags;    // e.g. {"tokenizer.ggml.add_bos_token", true}

  int32_t id_of(const std::string& text) const;
};

gguf::File build_gguf(const VocabSpec& spec);

// Byte-level BPE ("gpt2", pre "gpt-2"): the 256 byte stand-ins are ids 0..255 (id = byte), then
// merges spelling "hello" and " world", then "<|end|>" (control, EOS) and "<tool>" (user-defined).
VocabSpec tiny_bpe_spec();

// SentencePiece ("llama"): <unk> <s> </s>, the 256 <0xXX> byte tokens (ids 3..258), then a few
// pieces: "▁", "h", "i", "▁h", "▁hi", "▁the".
VocabSpec tiny_spm_spec();

}  // namespace kindred::test
