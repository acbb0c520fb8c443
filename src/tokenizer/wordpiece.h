// WordPiece (tokenizer.ggml.model = "bert"), as BERT's Hugging Face tokenizer does it: clean
// up control characters, space out CJK ideographs, strip accents and lower-case, split on
// whitespace and around punctuation, then take the longest vocabulary prefix of each word
// repeatedly; a word that cannot be covered becomes [UNK].
//
// In GGUF the vocabulary is stored llama.cpp's way: word-initial pieces carry a "▁" prefix and
// continuation pieces drop BERT's "##".
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/model.h"
#include "tokenizer/vocab.h"

namespace kindred::tok {

class WordPieceModel final : public TokenModel {
 public:
  WordPieceModel(const Vocab& vocab, const VocabSettings& settings);

  void encode(std::string_view text, bool follows_special, WordCache& cache,
              std::vector<int32_t>& out) const override;

  // The normalised words of text (BertNormalizer + BertPreTokenizer).
  std::vector<std::string> words_of(std::string_view text) const;

 private:
  void encode_word(const std::string& word, std::vector<int32_t>& out) const;

  const Vocab& vocab_;
  const VocabSettings& settings_;
};

}  // namespace kindred::tok
