// Pre-tokenizers of the byte-level BPE families: split text into the words BPE merges within.
//
// Each family (tokenizer.ggml.pre) is a recipe: an optional NFC normaliser, then a sequence of
// split steps, each applied to every piece the previous steps produced, exactly as Hugging Face
// `tokenizers` chains its Split / Digits / Punctuation / ByteLevel pre-tokenizers. A split step
// is a hand-written scanner equivalent to one regex, "Isolated" behaviour: matches and the gaps
// between them both become pieces. A ByteLevel step re-expresses the pieces as bytes, shown as
// GPT-2 stand-in characters; later steps classify those stand-ins, as HF does (this is why
// Falcon splits "½" into "Â" and "½").
#pragma once
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace kindred::tok {

// The text the scanners walk: one unit per code point (or per byte after a ByteLevel step).
struct UnitText {
  std::vector<char32_t> chars;
  std::vector<uint16_t> flags;    // CharFlag bits of each unit
  std::vector<uint32_t> offsets;  // byte offset of each unit in the source, plus the end
};

struct UnitRange {
  uint32_t begin;
  uint32_t end;
};

// Splits one piece, appending the resulting pieces (in order, covering it exactly) to out.
using SplitFn = void (*)(const UnitText& text, UnitRange piece, std::vector<UnitRange>& out);

struct PreTokenizeStep {
  SplitFn split;    // null: no split in this step
  bool then_bytes;  // afterwards re-express the pieces as bytes (HF ByteLevel)
};

struct PreTokenizerRecipe {
  std::span<const PreTokenizeStep> steps;
  bool nfc = false;            // the HF normaliser is NFC (Qwen2)
  bool ignore_merges = false;  // a word that is itself a token is not merged (HF BPE option)
  bool add_bos = false;        // llama.cpp's default when tokenizer.ggml.add_bos_token is absent
};

// The recipe for a tokenizer.ggml.pre value ("default" when the key is absent), or nullptr.
const PreTokenizerRecipe* find_pre_tokenizer(std::string_view pre_name);

// The words of text as byte ranges [first, second) of text (after recipe.nfc, the caller
// passes normalised text).
std::vector<std::pair<uint32_t, uint32_t>> pre_tokenize(const PreTokenizerRecipe& recipe,
                                                        std::string_view text);

// Builds the unit view of UTF-8 text; a malformed byte is one unit classified as U+FFFD.
UnitText units_of(std::string_view text);

// The scanners, for the family table and for tests. Each returns the length in units of the
// match starting at pos within [pos, end), or 0 when there is none at pos.
size_t match_gpt2(const UnitText& t, size_t pos, size_t end);    // GPT-2 regex
size_t match_llama3(const UnitText& t, size_t pos, size_t end);  // cl100k, \p{N}{1,3}
size_t match_qwen2(const UnitText& t, size_t pos, size_t end);   // cl100k, \p{N}
size_t match_o200k(const UnitText& t, size_t pos, size_t end);   // GPT-4o
size_t match_tekken(const UnitText& t, size_t pos, size_t end);  // Mistral tekken

}  // namespace kindred::tok
