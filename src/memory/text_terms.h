// Text to BM25 terms for long-term memory retrieval.
//
// Pipeline, applied identically to memories and queries so that both sides agree:
//   1. Unicode normalisation: NFKC with full case folding (utf8proc), so "ÉCOLE", "école" and
//      the compatibility form "ﬁ" → "fi" compare equal. Accents are kept: stripping them would
//      damage scripts where marks are letters (Devanagari vowel signs).
//   2. Word splitting: a word is a run of letters, marks and digits. An apostrophe (' or ’)
//      between two letters stays inside the word ("sister's", "don't"); a '.' or ',' between
//      two digits stays inside a number ("3.5", "10,000" → "10000": commas are dropped).
//      Han, Hiragana and Katakana characters become one term each, as there is no word
//      segmentation here. Everything else (punctuation, symbols, spaces) separates words.
//   3. Stop words: a small English list (articles, pronouns, auxiliaries, question words,
//      common contractions) is dropped.
//   4. Light stemming, English letters only: possessive "'s" / trailing "'" removed, then the
//      Harman (1991) "S" stemmer on words of 4+ letters: -ies → -y (not -eies/-aies),
//      -es → -e (not -aes/-ees/-oes), -s → "" (not -us/-ss). No other suffixes are touched,
//      so "names"→"name", "peanuts"→"peanut", "flies"→"fly", but "called" stays "called".
//   Numbers are kept as terms ("14", "2024", "14th").
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace kindred::memory {

// Case-folded words of `text` (steps 1-2), in order, duplicates kept. Invalid UTF-8 throws
// std::invalid_argument.
std::vector<std::string> split_words(std::string_view text);

// True for a folded word on the English stop list (step 3).
bool is_stop_word(std::string_view folded_word);

// Step 4 on one folded word.
std::string light_stem(std::string_view folded_word);

// The whole pipeline: the BM25 terms of `text`, in order, duplicates kept.
std::vector<std::string> text_terms(std::string_view text);

}  // namespace kindred::memory
