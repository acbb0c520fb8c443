// Internals of the text classifier's feature extraction that the appraiser shares: the tokenizer
// (words, CJK runs, punctuation, emoji and emoticons) and the small lexicons shipped under
// models/affect/ and built into the binary (emoji descriptions, emoticons, VADER valences).
// Not a public interface: only src/affect/*.cpp include it.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kindred::affect::detail {

enum class TokenKind : uint8_t {
  Word,      // letters/digits (lowercased, elongations shortened to two letters)
  Cjk,       // a run of Han/Kana/Hangul characters (only when the extractor reads them as runs)
  Punct,     // one punctuation character ("!" and "?" also when fullwidth)
  Emoji,     // text = the emoji's description ("face with tears of joy")
  Emoticon,  // text = the emoticon as written (":-)")
};

struct Token {
  TokenKind kind = TokenKind::Word;
  std::string text;
  bool all_caps = false;   // Word: two or more letters, all uppercase as written
  bool elongated = false;  // Word: had a letter repeated three or more times ("soooo")
  int valence = 0;         // Emoticon: its AFINN score (-5..5)
};

// Splits text into tokens. `cjk_runs`: Han/Kana/Hangul characters form Cjk tokens instead of
// being read as letters. Invalid UTF-8 bytes separate tokens; the function never throws on input.
std::vector<Token> tokenize(std::string_view text, bool cjk_runs);

// A VADER negator ("not", "never", "don't", any word ending in "n't").
bool is_negator(std::string_view word);

// The embedded lexicon files (models/affect/*), defined in shipped_classifiers.cpp.
std::span<const uint8_t> embedded_emoji_table();     // emoji TAB description
std::span<const uint8_t> embedded_emoticon_table();  // emoticon TAB score (AFINN-emoticon-8)
std::span<const uint8_t> embedded_vader_lexicon();   // token TAB mean valence (-4..4)

// Parsed once on first use (thread-safe statics).
const std::unordered_map<std::string, float>& vader_lexicon();

// VADER-style compound valence in [-1, 1] from the lexicon: negation flips and dampens (×-0.74),
// boosters/dampeners shift by ±0.293, words after "but" weigh 1.5× and before it 0.5×, "!"
// adds emphasis, and the sum s is normalised as s / sqrt(s² + 15). 0 when no word is in it.
float lexicon_valence(std::string_view text);

// 64-bit FNV-1a followed by a murmur3-style finaliser (fmix64) so low bits mix well.
uint64_t hash_bytes(std::string_view bytes, uint64_t seed);

}  // namespace kindred::affect::detail
