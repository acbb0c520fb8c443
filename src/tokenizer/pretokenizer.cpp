#include "tokenizer/pretokenizer.h"

#include "tokenizer/scanner.h"
#include "tokenizer/unicode.h"

namespace kindred::tok {

UnitText units_of(std::string_view text) {
  UnitText t;
  t.chars.reserve(text.size());
  t.flags.reserve(text.size());
  t.offsets.reserve(text.size() + 1);
  for (size_t pos = 0; pos < text.size();) {
    const size_t len = utf8_sequence_length(text, pos);
    const char32_t cp = len == 0 ? kReplacementChar : utf8_decode_at(text, pos, len);
    t.chars.push_back(cp);
    t.flags.push_back(char_flags(cp));
    t.offsets.push_back(static_cast<uint32_t>(pos));
    pos += len == 0 ? 1 : len;
  }
  t.offsets.push_back(static_cast<uint32_t>(text.size()));
  return t;
}

namespace {

// One unit per byte, each shown as its GPT-2 stand-in character.
UnitText byte_units_of(std::string_view text) {
  UnitText t;
  t.chars.reserve(text.size());
  t.flags.reserve(text.size());
  t.offsets.reserve(text.size() + 1);
  for (size_t pos = 0; pos < text.size(); ++pos) {
    const char32_t cp = byte_to_char(static_cast<uint8_t>(text[pos]));
    t.chars.push_back(cp);
    t.flags.push_back(char_flags(cp));
    t.offsets.push_back(static_cast<uint32_t>(pos));
  }
  t.offsets.push_back(static_cast<uint32_t>(text.size()));
  return t;
}

// Shared body of the cl100k-style regexes (Llama 3, Qwen2, DBRX):
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max_digits}
//   | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
size_t match_cl100k(const UnitText& t, size_t pos, size_t end, size_t max_digits) {
  if (const size_t n = match_contraction(t, pos, end, true)) return n;
  const uint16_t f = t.flags[pos];
  if (!(f & (kNewline | kLetter | kNumber)) && pos + 1 < end && (t.flags[pos + 1] & kLetter)) {
    return run_of(t, pos + 1, end, kLetter) - pos;
  }
  if (f & kLetter) return run_of(t, pos, end, kLetter) - pos;
  if (f & kNumber) return std::min(run_of(t, pos, end, kNumber) - pos, max_digits);
  const size_t q = pos + (t.chars[pos] == ' ' && pos + 1 < end ? 1 : 0);
  if (is_other(t.flags[q])) {
    return run_of(t, run_of_other(t, q, end), end, kNewline) - pos;
  }
  return match_whitespace(t, pos, end, true);
}

// [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+ from start, or npos. The greedy
// upper run gives back units (Lm, Lo and M belong to both sets) until the lower run can start.
constexpr size_t kNoMatch = static_cast<size_t>(-1);
size_t upper_then_lower(const UnitText& t, size_t start, size_t end) {
  const size_t upper_end = run_of(t, start, end, kUpperLike);
  if (upper_end < end && (t.flags[upper_end] & kLowerLike)) {
    return run_of(t, upper_end, end, kLowerLike);
  }
  for (size_t j = upper_end; j-- > start;) {
    if (t.flags[j] & kLowerLike) return run_of(t, j, end, kLowerLike);
  }
  return kNoMatch;
}

// Shared body of the o200k-style regexes (GPT-4o; tekken without the contractions):
//   [^\r\n\p{L}\p{N}]?UPPER*LOWER+C?|[^\r\n\p{L}\p{N}]?UPPER+LOWER*C?|\p{N}{1,max_digits}
//   | ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
// with C = (?i:'s|'t|'re|'ve|'m|'ll|'d) when contractions is set.
size_t match_o200k_like(const UnitText& t, size_t pos, size_t end, size_t max_digits, bool contractions) {
  const auto suffix = [&](size_t at) {
    return contractions ? match_contraction(t, at, end, true) : size_t{0};
  };
  const uint16_t f = t.flags[pos];
  const bool may_prefix = !(f & (kNewline | kLetter | kNumber));
  // The optional prefix is greedy: try with it first, then without.
  for (size_t skip = may_prefix ? 1 : 0;; --skip) {
    const size_t start = pos + skip;
    if (start < end) {
      const size_t m = upper_then_lower(t, start, end);
      if (m != kNoMatch) return m + suffix(m) - pos;
    }
    if (skip == 0) break;
  }
  for (size_t skip = may_prefix ? 1 : 0;; --skip) {
    const size_t start = pos + skip;
    if (start < end && (t.flags[start] & kUpperLike)) {
      const size_t m = run_of(t, run_of(t, start, end, kUpperLike), end, kLowerLike);
      return m + suffix(m) - pos;
    }
    if (skip == 0) break;
  }
  if (f & kNumber) return std::min(run_of(t, pos, end, kNumber) - pos, max_digits);
  const size_t q = pos + (t.chars[pos] == ' ' && pos + 1 < end ? 1 : 0);
  if (is_other(t.flags[q])) {
    const size_t r = run_of_other(t, q, end);
    return run_while(t, r, end, [](char32_t c, uint16_t fl) { return (fl & kNewline) || c == '/'; }) - pos;
  }
  return match_whitespace(t, pos, end, true);
}

}  // namespace

// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
size_t match_gpt2(const UnitText& t, size_t pos, size_t end) {
  if (const size_t n = match_contraction(t, pos, end, false)) return n;
  const size_t q = pos + (t.chars[pos] == ' ' && pos + 1 < end ? 1 : 0);
  const uint16_t f = t.flags[q];
  if (f & kLetter) return run_of(t, q, end, kLetter) - pos;
  if (f & kNumber) return run_of(t, q, end, kNumber) - pos;
  if (is_other(f)) return run_of_other(t, q, end) - pos;
  return match_whitespace(t, pos, end, false);
}

size_t match_llama3(const UnitText& t, size_t pos, size_t end) { return match_cl100k(t, pos, end, 3); }
size_t match_qwen2(const UnitText& t, size_t pos, size_t end) { return match_cl100k(t, pos, end, 1); }
size_t match_o200k(const UnitText& t, size_t pos, size_t end) {
  return match_o200k_like(t, pos, end, 3, true);
}
size_t match_tekken(const UnitText& t, size_t pos, size_t end) {
  return match_o200k_like(t, pos, end, 1, false);
}

std::vector<std::pair<uint32_t, uint32_t>> pre_tokenize(const PreTokenizerRecipe& recipe,
                                                        std::string_view text) {
  std::vector<std::pair<uint32_t, uint32_t>> words;
  if (text.empty()) return words;
  UnitText units = units_of(text);
  bool in_bytes = false;
  std::vector<UnitRange> pieces{{0, static_cast<uint32_t>(units.chars.size())}};
  std::vector<UnitRange> next;
  for (size_t i = 0; i < recipe.steps.size(); ++i) {
    const PreTokenizeStep& step = recipe.steps[i];
    if (step.split) {
      next.clear();
      for (const UnitRange& piece : pieces) step.split(units, piece, next);
      pieces.swap(next);
    }
    if (step.then_bytes && !in_bytes) {
      for (UnitRange& piece : pieces) piece = {units.offsets[piece.begin], units.offsets[piece.end]};
      in_bytes = true;
      // Later steps see one unit per byte; without later steps the byte view is not needed.
      if (i + 1 < recipe.steps.size()) units = byte_units_of(text);
    }
  }
  words.reserve(pieces.size());
  for (const UnitRange& piece : pieces) {
    if (piece.begin >= piece.end) continue;
    if (in_bytes) {
      words.emplace_back(piece.begin, piece.end);  // already byte offsets
    } else {
      words.emplace_back(units.offsets[piece.begin], units.offsets[piece.end]);
    }
  }
  return words;
}

}  // namespace kindred::tok
