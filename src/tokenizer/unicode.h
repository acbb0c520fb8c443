// Unicode helpers for the tokenizers: UTF-8 decoding that never fails, character classes
// (through utf8proc's tables), NFC/NFD normalisation, and the GPT-2 byte-level alphabet.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kindred::tok {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Length in bytes of the well-formed UTF-8 sequence starting at s[pos], or 0 when the bytes
// there are not one (overlong forms, surrogates and values past U+10FFFF are rejected).
size_t utf8_sequence_length(std::string_view s, size_t pos);

// The code point of a well-formed sequence of `length` bytes at s[pos].
char32_t utf8_decode_at(std::string_view s, size_t pos, size_t length);

void append_utf8(std::string& out, char32_t cp);
std::string utf8_of(char32_t cp);

// Number of bytes at the end of s that form the start of a sequence that more bytes could
// still complete (0..3). Used to hold back a character split across tokens.
size_t incomplete_utf8_tail(std::string_view s);

// Replaces every malformed byte with U+FFFD.
std::string sanitize_utf8(std::string_view s);

// Character classes as bit flags, computed once per character by the pre-tokenizers.
enum CharFlag : uint16_t {
  kLetter = 1 << 0,           // \p{L}
  kNumber = 1 << 1,           // \p{N}
  kWhitespace = 1 << 2,       // \s: the Unicode White_Space property, as Oniguruma uses
  kPunctuation = 1 << 3,      // \p{P}
  kSymbol = 1 << 4,           // \p{S}
  kMark = 1 << 5,             // \p{M}
  kNewline = 1 << 6,          // \r or \n
  kUpperLike = 1 << 7,        // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] (o200k / tekken "upper" run)
  kLowerLike = 1 << 8,        // [\p{Ll}\p{Lm}\p{Lo}\p{M}]       (o200k / tekken "lower" run)
  kControl = 1 << 9,          // Cc, Cf, Co, Cn (what BERT's clean-up deletes, tab/CR/LF excepted)
  kNonspacingMark = 1 << 10,  // Mn (what BERT's accent stripping deletes)
};
uint16_t char_flags(char32_t cp);

inline bool is_letter(char32_t cp) { return char_flags(cp) & kLetter; }
inline bool is_number(char32_t cp) { return char_flags(cp) & kNumber; }
inline bool is_whitespace(char32_t cp) { return char_flags(cp) & kWhitespace; }

// Simple (one code point) lower-case mapping.
char32_t to_lower(char32_t cp);

// Canonical composition / decomposition. Malformed bytes are kept as they are and split the
// text into separately normalised runs.
std::string nfc(std::string_view text);
std::string nfd(std::string_view text);

// GPT-2's reversible byte <-> printable character alphabet used by byte-level BPE.
char32_t byte_to_char(uint8_t byte);
// The byte a stand-in character represents, or -1 if it is not part of the alphabet.
int char_to_byte(char32_t cp);

}  // namespace kindred::tok
