// SentencePiece BPE (tokenizer.ggml.model = "llama"), as llama.cpp runs it: spaces become "▁"
// (with a leading one at the start and after special tokens when add_space_prefix), then
// adjacent pieces merge highest score first (leftmost among equals) while the merged text is a
// token; what is left unknown falls back to <0xXX> byte tokens, else <unk>.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/model.h"
#include "tokenizer/vocab.h"

namespace kindred::tok {

class SentencePieceModel final : public TokenModel {
 public:
  SentencePieceModel(const Vocab& vocab, const VocabSettings& settings);

  void encode(std::string_view text, bool follows_special, WordCache& cache,
              std::vector<int32_t>& out) const override;

 private:
  // The id of a piece the merges may produce, or -1.
  int32_t piece_id(std::string_view text) const;

  const Vocab& vocab_;
  const VocabSettings& settings_;
  std::array<int32_t, 256> byte_tokens_{};  // <0xXX> (else the byte itself, else <unk>)
};

}  // namespace kindred::tok
