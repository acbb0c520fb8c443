// Text to BM25 terms: NFKC case folding (utf8proc), word splitting, stop words, S-stemming.
#include "memory/text_terms.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace kindred::memory {
namespace {

constexpr char32_t kApostrophe = U'\'';
constexpr char32_t kRightQuote = U'\u2019';  // typographic apostrophe, as phones type it

// NFKC + case fold + decode to code points, validating the UTF-8 on the way.
std::u32string fold(std::string_view text) {
  utf8proc_uint8_t* out = nullptr;
  const auto options = static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                                      UTF8PROC_COMPAT | UTF8PROC_CASEFOLD);
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                          static_cast<utf8proc_ssize_t>(text.size()), &out, options);
  if (n < 0) {
    throw std::invalid_argument(std::string("memory text: ") + utf8proc_errmsg(n));
  }
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(out, &std::free);
  std::u32string cps;
  cps.reserve(static_cast<size_t>(n));
  for (utf8proc_ssize_t i = 0; i < n;) {
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t len = utf8proc_iterate(out + i, n - i, &cp);
    if (len <= 0) throw std::invalid_argument("memory text: invalid UTF-8 after normalisation");
    cps.push_back(static_cast<char32_t>(cp));
    i += len;
  }
  return cps;
}

enum class Kind { kSeparator, kLetter, kDigit, kIdeograph };

Kind kind_of(char32_t cp) {
  // Scripts written without spaces: one character per term.
  if ((cp >= 0x3040 && cp <= 0x30FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
      (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
      (cp >= 0x20000 && cp <= 0x2FFFF)) {
    return Kind::kIdeograph;
  }
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_ND:
      return Kind::kDigit;
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
      return Kind::kLetter;
    default:
      return Kind::kSeparator;
  }
}

void append_utf8(std::string& out, char32_t cp) {
  utf8proc_uint8_t buf[4];
  const utf8proc_ssize_t n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), buf);
  out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Folded forms; contractions use the ASCII apostrophe that split_words produces.
constexpr std::array kStopWords = {
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at",
    "be", "because", "been", "before", "being", "both", "but", "by", "can", "can't", "could",
    "did", "didn't", "do", "does", "doesn't", "doing", "don't", "each", "few", "for", "from",
    "had", "has", "have", "having", "he", "he's", "her", "here", "hers", "herself", "him",
    "himself", "his", "how", "i", "i'd", "i'll", "i'm", "i've", "if", "in", "into", "is",
    "isn't", "it", "it's", "its", "itself", "just", "let's", "me", "more", "most", "my",
    "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other",
    "our", "ours", "ourselves", "out", "over", "own", "same", "she", "she's", "should", "so",
    "some", "such", "than", "that", "that's", "the", "their", "theirs", "them", "themselves",
    "then", "there", "there's", "these", "they", "they're", "this", "those", "through", "to",
    "too", "under", "until", "up", "us", "very", "was", "wasn't", "we", "we're", "were", "what",
    "what's", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "won't",
    "would", "you", "you're", "your", "yours", "yourself",
};

}  // namespace

std::vector<std::string> split_words(std::string_view text) {
  const std::u32string cps = fold(text);
  std::vector<std::string> words;
  std::string word;
  Kind last = Kind::kSeparator;  // kind of the last character put in `word`
  auto flush = [&] {
    if (!word.empty()) words.push_back(std::move(word));
    word.clear();
    last = Kind::kSeparator;
  };
  for (size_t i = 0; i < cps.size(); ++i) {
    const char32_t cp = cps[i];
    const Kind kind = kind_of(cp);
    const Kind next = i + 1 < cps.size() ? kind_of(cps[i + 1]) : Kind::kSeparator;
    if (kind == Kind::kLetter || kind == Kind::kDigit) {
      append_utf8(word, cp);
      last = kind;
    } else if (kind == Kind::kIdeograph) {
      flush();
      append_utf8(word, cp);
      flush();
    } else if ((cp == kApostrophe || cp == kRightQuote) && last == Kind::kLetter) {
      // Inside a word ("don't") or a trailing plural possessive ("parents'"), which the
      // stemmer strips.
      word.push_back('\'');
      if (next != Kind::kLetter) flush();
    } else if ((cp == U'.' || cp == U',') && last == Kind::kDigit && next == Kind::kDigit) {
      if (cp == U'.') word.push_back('.');  // a thousands comma is dropped: 10,000 == 10000
    } else {
      flush();
    }
  }
  flush();
  return words;
}

bool is_stop_word(std::string_view folded_word) {
  static const std::vector<std::string_view> sorted = [] {
    std::vector<std::string_view> v(kStopWords.begin(), kStopWords.end());
    std::sort(v.begin(), v.end());
    return v;
  }();
  return std::binary_search(sorted.begin(), sorted.end(), folded_word);
}

std::string light_stem(std::string_view w) {
  const bool english = !w.empty() && std::all_of(w.begin(), w.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || c == '\'';
  });
  if (!english) return std::string(w);
  if (ends_with(w, "'s")) {
    w.remove_suffix(2);
  } else if (ends_with(w, "'")) {
    w.remove_suffix(1);
  }
  // Contractions ("don't") and short words ("gas", "bus") are left as they are.
  if (w.size() < 4 || w.find('\'') != std::string_view::npos) return std::string(w);
  std::string s(w);
  if (ends_with(s, "ies") && !ends_with(s, "eies") && !ends_with(s, "aies")) {
    s.replace(s.size() - 3, 3, "y");
  } else if (ends_with(s, "es") && !ends_with(s, "aes") && !ends_with(s, "ees") &&
             !ends_with(s, "oes")) {
    s.pop_back();
  } else if (ends_with(s, "s") && !ends_with(s, "us") && !ends_with(s, "ss")) {
    s.pop_back();
  }
  return s;
}

std::vector<std::string> text_terms(std::string_view text) {
  std::vector<std::string> terms;
  for (const std::string& word : split_words(text)) {
    if (is_stop_word(word)) continue;
    std::string term = light_stem(word);
    // "it's" → "it" and the like become stop words only once the possessive is gone.
    if (term.empty() || is_stop_word(term)) continue;
    terms.push_back(std::move(term));
  }
  return terms;
}

}  // namespace kindred::memory
