// Building blocks for the hand-written regex scanners of the pre-tokenizers. Each scanner is
// the backtracking regex it replaces worked out by hand: at a position it returns the length
// of the match the regex engine (Oniguruma, leftmost alternative first) would find there.
#pragma once
#include <algorithm>
#include <cstddef>
#include <vector>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/unicode.h"

namespace kindred::tok {

using MatchFn = size_t (*)(const UnitText& t, size_t pos, size_t end);

// [^\s\p{L}\p{N}]
inline bool is_other(uint16_t flags) { return !(flags & (kLetter | kNumber | kWhitespace)); }

// End of the run starting at pos of units whose flags intersect mask.
inline size_t run_of(const UnitText& t, size_t pos, size_t end, uint16_t mask) {
  while (pos < end && (t.flags[pos] & mask)) ++pos;
  return pos;
}

inline size_t run_of_other(const UnitText& t, size_t pos, size_t end) {
  while (pos < end && is_other(t.flags[pos])) ++pos;
  return pos;
}

template <typename Pred>
size_t run_while(const UnitText& t, size_t pos, size_t end, Pred pred) {
  while (pos < end && pred(t.chars[pos], t.flags[pos])) ++pos;
  return pos;
}

// 's|'t|'re|'ve|'m|'ll|'d, optionally case-insensitive the way Oniguruma folds case (which
// also lets U+017F LONG S stand for s).
inline size_t match_contraction(const UnitText& t, size_t pos, size_t end, bool ignore_case) {
  if (pos + 1 >= end || t.chars[pos] != '\'') return 0;
  const auto fold = [ignore_case](char32_t c) -> char32_t {
    if (!ignore_case) return c;
    if (c >= 'A' && c <= 'Z') return c + ('a' - 'A');
    if (c == 0x17F) return 's';
    return c;
  };
  const char32_t a = fold(t.chars[pos + 1]);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (pos + 2 < end) {
    const char32_t b = fold(t.chars[pos + 2]);
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  }
  return 0;
}

// At a whitespace unit: `\s*[\r\n]+` (when newline_rule), then `\s+(?!\S)`, then `\s+`.
// \s*[\r\n]+ ends at the last newline of the run; \s+(?!\S) gives back the run's last unit
// when a non-space follows, unless that would leave nothing.
inline size_t match_whitespace(const UnitText& t, size_t pos, size_t end, bool newline_rule) {
  const size_t run_end = run_of(t, pos, end, kWhitespace);
  if (newline_rule) {
    for (size_t m = run_end; m-- > pos;) {
      if (t.flags[m] & kNewline) return m + 1 - pos;
    }
  }
  if (run_end == end || run_end - pos == 1) return run_end - pos;
  return run_end - 1 - pos;
}

// HF Split with behaviour "Isolated": every match and every gap between matches is a piece.
template <MatchFn Match>
void isolate_matches(const UnitText& t, UnitRange piece, std::vector<UnitRange>& out) {
  size_t gap = piece.begin;
  size_t pos = piece.begin;
  while (pos < piece.end) {
    const size_t n = Match(t, pos, piece.end);
    if (n == 0) {
      ++pos;
      continue;
    }
    if (gap < pos) out.push_back({static_cast<uint32_t>(gap), static_cast<uint32_t>(pos)});
    out.push_back({static_cast<uint32_t>(pos), static_cast<uint32_t>(pos + n)});
    pos += n;
    gap = pos;
  }
  if (gap < piece.end) out.push_back({static_cast<uint32_t>(gap), piece.end});
}

// A character class given as inclusive code point ranges.
struct CodepointRange {
  char32_t first;
  char32_t last;
};

template <size_t N>
constexpr bool sorted_and_disjoint(const CodepointRange (&ranges)[N]) {
  for (size_t i = 1; i < N; ++i) {
    if (ranges[i].first <= ranges[i - 1].last) return false;
  }
  return true;
}

// Membership by a linear scan (any order).
template <size_t N>
bool in_ranges(const CodepointRange (&ranges)[N], char32_t c) {
  return std::any_of(std::begin(ranges), std::end(ranges),
                     [c](const CodepointRange& r) { return c >= r.first && c <= r.last; });
}

// Membership by binary search; the ranges must be sorted_and_disjoint.
template <size_t N>
bool in_sorted_ranges(const CodepointRange (&ranges)[N], char32_t c) {
  const auto* it = std::upper_bound(std::begin(ranges), std::end(ranges), c,
                                    [](char32_t v, const CodepointRange& r) { return v < r.first; });
  return it != std::begin(ranges) && c <= (it - 1)->last;
}

}  // namespace kindred::tok
