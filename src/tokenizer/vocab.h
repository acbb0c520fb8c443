// The vocabulary shared by every tokenizer model: token texts, types and scores, a text -> id
// index, and the settings llama.cpp derives from tokenizer.ggml.* metadata.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "tokenizer/flat_hash.h"

namespace kindred::gguf {
class File;
}

namespace kindred::tok {

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum class TokenType : uint8_t {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
};

enum class ModelKind : uint8_t {
  SentencePiece,  // tokenizer.ggml.model = "llama"
  BytePairBytes,  // "gpt2": byte-level BPE
  WordPiece,      // "bert"
};

class Vocab {
 public:
  Vocab(std::vector<std::string> texts, std::vector<float> scores, std::vector<TokenType> types);
  Vocab(const Vocab&) = delete;
  Vocab& operator=(const Vocab&) = delete;

  int32_t size() const { return static_cast<int32_t>(texts_.size()); }
  bool contains(int32_t id) const { return id >= 0 && id < size(); }
  const std::string& text(int32_t id) const { return texts_[static_cast<size_t>(id)]; }
  float score(int32_t id) const { return scores_[static_cast<size_t>(id)]; }
  TokenType type(int32_t id) const { return types_[static_cast<size_t>(id)]; }
  // The first id spelled text, or -1.
  int32_t find(std::string_view text) const { return index_.find(text, texts_); }
  size_t max_token_bytes() const { return max_token_bytes_; }

 private:
  std::vector<std::string> texts_;
  std::vector<float> scores_;
  std::vector<TokenType> types_;
  TextIndex index_;
  size_t max_token_bytes_ = 0;
};

// Everything besides the token list that shapes encoding and decoding.
struct VocabSettings {
  ModelKind kind = ModelKind::SentencePiece;
  std::string model_name;  // tokenizer.ggml.model
  std::string pre_name;    // tokenizer.ggml.pre, "default" when absent

  int32_t bos = -1, eos = -1, eot = -1, eom = -1, unk = -1, sep = -1, pad = -1;
  bool add_bos = false;
  bool add_eos = false;
  bool add_sep = false;           // BERT: [SEP] after the text
  bool add_space_prefix = false;  // SentencePiece: " " before text at the start / after specials
  bool lowercase = true;          // BERT normaliser
  bool strip_accents = true;      // BERT normaliser

  std::unordered_set<int32_t> end_of_generation;
  // Special tokens that swallow whitespace beside them when matched in text (llama.cpp's
  // per-model LSTRIP/RSTRIP attributes, which GGUF does not store).
  std::unordered_set<int32_t> lstrip, rstrip;
};

// Reads tokenizer.ggml.tokens / token_type / scores; throws std::runtime_error naming the key.
std::unique_ptr<Vocab> read_vocab(const gguf::File& file);

// Reads the model kind, special ids and flags. default_add_bos is the pre-tokenizer family's
// default (BPE only); ids out of range and inconsistent flags throw, naming the key.
VocabSettings read_settings(const gguf::File& file, const Vocab& vocab, bool default_add_bos);

// The model kind for a tokenizer.ggml.model value; throws for an unknown one.
ModelKind model_kind_of(std::string_view model_name);

}  // namespace kindred::tok
