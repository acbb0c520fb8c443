// Text <-> token ids for every vocabulary stored in GGUF files (tokenizer.ggml.*), matching
// Hugging Face `tokenizers` / llama.cpp: SentencePiece ("llama"), byte-level BPE ("gpt2", with
// the pre-tokenizer named by tokenizer.ggml.pre) and WordPiece ("bert").
//
// A Tokenizer is immutable after from_gguf, so one instance may serve many threads.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf.h"

namespace kindred {

class Tokenizer {
 public:
  // Reads tokenizer.ggml.* metadata; throws std::runtime_error with a clear message naming the key on bad/missing data
  // (e.g. token_type array length != tokens length, unknown tokenizer.ggml.model, merge naming an unknown token).
  static std::unique_ptr<Tokenizer> from_gguf(const gguf::File& file);
  virtual ~Tokenizer();
  // add_special: add BOS/EOS as the vocab says (tokenizer.ggml.add_bos_token / add_eos_token, with the per-model defaults llama.cpp uses when absent);
  // parse_special: text of control/user-defined tokens (e.g. "<|im_end|>") becomes their id.
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;
  // The bytes a token stands for (byte-level BPE unmapped to raw bytes, SPM "▁" -> " ", "<0x0A>" -> "\n"); control tokens give "" unless render_special.
  // Throws std::out_of_range for an id outside the vocabulary.
  std::string token_to_piece(int32_t id, bool render_special = false) const;
  std::string decode(std::span<const int32_t> ids, bool render_special = false) const; // SPM: drops the leading space the way llama.cpp's detokenize does when the vocab adds a space prefix
  int32_t n_vocab() const; int32_t bos() const; int32_t eos() const; // -1 if none
  bool is_eog(int32_t id) const;   // end of generation: eos, eot, eom and any eog-typed token
  bool add_bos() const; bool add_eos() const;
  const std::string& token_text(int32_t id) const;   // raw vocab entry
  std::string_view model_name() const;  // "llama", "gpt2", "bert"
  std::string_view pre_name() const;    // tokenizer.ggml.pre, "default" if absent

 private:
  struct State;
  explicit Tokenizer(std::unique_ptr<State> state);
  void check_id(int32_t id) const;
  // Whether decoding drops one leading space from the first piece (SentencePiece's prefix).
  bool strips_leading_space() const;

  std::unique_ptr<State> state_;
};

// Streaming decode: feeds ids one at a time, returns only complete UTF-8 (holds back a partial multi-byte sequence split across tokens).
// Pieces are concatenated as they are: generated text continues a prompt, so no leading space is dropped.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tok, bool render_special = false);
  std::string push(int32_t id);
  std::string flush();  // whatever is held back (invalid bytes replaced by U+FFFD)

 private:
  const Tokenizer& tokenizer_;
  bool render_special_;
  std::string pending_;  // bytes not yet returned
};

}  // namespace kindred
