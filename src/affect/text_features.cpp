// Feature extraction for the text classifier: tokens → hashed word n-grams, character n-grams
// inside words, CJK character n-grams and VADER-style cue features → a log-tf, L2-normalised
// sparse vector. Everything here runs per utterance on the appraise path, so it avoids
// allocation-heavy steps (one token vector, one hash vector, one reusable string buffer).
#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string>
#include <unordered_set>

#include "affect/text_classifier.h"
#include "affect/text_features_detail.h"

namespace kindred::affect {
namespace detail {
namespace {

// "name TAB value" lines; '#' starts a comment line. The files are ours (built into the binary),
// so a malformed line is a packaging bug and reported as such rather than skipped.
template <class F>
void for_each_tab_line(std::span<const uint8_t> bytes, const char* what, F&& f) {
  std::string_view all(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  size_t line_no = 0;
  while (!all.empty()) {
    const size_t nl = all.find('\n');
    std::string_view line = all.substr(0, nl);
    all = nl == std::string_view::npos ? std::string_view{} : all.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos || tab == 0) {
      throw std::runtime_error(std::string("embedded ") + what + " line " + std::to_string(line_no) + " has no TAB");
    }
    f(line.substr(0, tab), line.substr(tab + 1));
  }
}

const std::unordered_map<std::string, std::string>& emoji_table() {
  static const auto table = [] {
    std::unordered_map<std::string, std::string> t;
    for_each_tab_line(embedded_emoji_table(), "emoji table",
                      [&](std::string_view k, std::string_view v) { t.emplace(std::string(k), std::string(v)); });
    return t;
  }();
  return table;
}

const std::unordered_map<std::string, int>& emoticon_table() {
  static const auto table = [] {
    std::unordered_map<std::string, int> t;
    for_each_tab_line(embedded_emoticon_table(), "emoticon table", [&](std::string_view k, std::string_view v) {
      int score = 0;
      const auto r = std::from_chars(v.data(), v.data() + v.size(), score);
      if (r.ec != std::errc()) throw std::runtime_error("embedded emoticon table: bad score for " + std::string(k));
      t.emplace(std::string(k), score);
    });
    return t;
  }();
  return table;
}

bool is_cjk(int32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x3040 && cp <= 0x30FF) || (cp >= 0xAC00 && cp <= 0xD7AF) ||
         (cp >= 0x1100 && cp <= 0x11FF) || (cp >= 0x3130 && cp <= 0x318F);
}

// Punctuation kept as tokens (they end negation scope and carry "!"/"?" emphasis); other
// punctuation such as hyphens and slashes only separates words.
const char* punct_token(int32_t cp) {
  switch (cp) {
    case '!': case 0xFF01: return "!";
    case '?': case 0xFF1F: return "?";
    case '.': case 0x3002: case 0xFF0E: case 0x2026: return ".";
    case ',': case 0xFF0C: case 0x3001: return ",";
    case ';': case 0xFF1B: return ";";
    case ':': case 0xFF1A: return ":";
    case '(': case ')': case 0xFF08: case 0xFF09: return "(";
    case '"': case 0x201C: case 0x201D: return "\"";
    default: return nullptr;
  }
}

void append_utf8(std::string& out, int32_t cp) {
  uint8_t buf[4];
  const auto n = utf8proc_encode_char(cp, buf);
  out.append(reinterpret_cast<const char*>(buf), size_t(n));
}

class Scanner {
 public:
  Scanner(std::vector<Token>& out, bool cjk_runs) : out_(out), cjk_runs_(cjk_runs) {}

  void scan(std::string_view s) {
    const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
    size_t pos = 0;
    while (pos < s.size()) {
      utf8proc_int32_t cp = 0;
      const auto n = utf8proc_iterate(p + pos, utf8proc_ssize_t(s.size() - pos), &cp);
      if (n <= 0) {  // invalid byte: a separator
        flush();
        ++pos;
        continue;
      }
      const size_t here = pos;
      pos += size_t(n);
      if (cjk_runs_ && is_cjk(cp)) {
        flush_word();
        append_utf8(cjk_, cp);
        continue;
      }
      flush_cjk();
      const auto cat = utf8proc_category(cp);
      const bool letter = cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
      const bool mark_or_digit = (cat >= UTF8PROC_CATEGORY_MN && cat <= UTF8PROC_CATEGORY_NO);
      if (letter || (mark_or_digit && cp != 0xFE0F && cp != 0x20E3)) {
        if (cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LT) ++upper_;
        if (cat == UTF8PROC_CATEGORY_LL) ++lower_;
        word_.push_back(letter ? utf8proc_tolower(cp) : cp);
        continue;
      }
      if ((cp == '\'' || cp == 0x2019) && !word_.empty() && pos < s.size() && std::isalpha(uint8_t(s[pos]))) {
        word_.push_back('\'');
        continue;
      }
      flush_word();
      if (const char* pt = punct_token(cp)) {
        out_.push_back({TokenKind::Punct, pt});
        continue;
      }
      if (cp == 0xFE0F || cp == 0x200D || (cp >= 0x1F3FB && cp <= 0x1F3FF)) continue;  // emoji joiners/modifiers
      const auto& emoji = emoji_table();
      if (auto it = emoji.find(std::string(s.substr(here, size_t(n)))); it != emoji.end()) {
        out_.push_back({TokenKind::Emoji, it->second});
      }
    }
    flush();
  }

  void flush() {
    flush_word();
    flush_cjk();
  }

 private:
  void flush_word() {
    if (word_.empty()) return;
    Token t;
    t.kind = TokenKind::Word;
    t.all_caps = upper_ >= 2 && lower_ == 0;
    // A letter repeated three or more times is shortened to two ("soooo" → "soo", "goood" →
    // "good"): the spellings then share one feature and the elongation becomes a cue.
    for (size_t i = 0; i < word_.size(); ++i) {
      const int32_t cp = word_[i];
      if (i >= 2 && cp == word_[i - 1] && cp == word_[i - 2] && utf8proc_category(cp) <= UTF8PROC_CATEGORY_LO) {
        t.elongated = true;
        continue;
      }
      append_utf8(t.text, cp);
    }
    out_.push_back(std::move(t));
    word_.clear();
    upper_ = lower_ = 0;
  }

  void flush_cjk() {
    if (cjk_.empty()) return;
    out_.push_back({TokenKind::Cjk, std::move(cjk_)});
    cjk_.clear();
  }

  std::vector<Token>& out_;
  bool cjk_runs_;
  std::vector<int32_t> word_;
  int upper_ = 0, lower_ = 0;
  std::string cjk_;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Negators, boosters and dampeners as VADER lists them (Hutto & Gilbert 2014), apostrophes kept
// and dropped since Reddit text writes both.
const std::unordered_set<std::string_view> kNegators = {
    "not",     "no",      "never",   "none",     "nothing",  "nobody",  "nowhere", "neither", "nor",
    "cannot",  "without", "nope",    "rarely",   "seldom",   "despite", "aint",    "arent",   "cant",
    "couldnt", "didnt",   "doesnt",  "dont",     "hadnt",    "hasnt",   "havent",  "isnt",    "mightnt",
    "mustnt",  "neednt",  "oughtnt", "shant",    "shouldnt", "wasnt",   "werent",  "wont",    "wouldnt",
    "darent",  "uhuh",    "n't"};
const std::unordered_set<std::string_view> kBoosters = {
    "absolutely", "amazingly",    "awfully",   "completely", "considerably", "decidedly", "deeply",
    "effing",     "enormously",   "entirely",  "especially", "exceptionally", "extremely", "fabulously",
    "flipping",   "flippin",      "fricking",  "frickin",    "frigging",     "friggin",   "fully",
    "fucking",    "greatly",      "hella",     "highly",     "hugely",       "incredibly", "intensely",
    "majorly",    "more",         "most",      "particularly", "purely",     "quite",     "really",
    "remarkably", "so",           "substantially", "thoroughly", "totally",  "tremendously", "uber",
    "unbelievably", "unusually",  "utterly",   "very",       "super",        "too",       "freaking"};
const std::unordered_set<std::string_view> kDampeners = {
    "almost",   "barely",   "hardly", "kinda",  "kindof", "less",  "little", "marginally",
    "occasionally", "partly", "scarcely", "slightly", "somewhat", "sorta", "sortof", "bit"};
const std::unordered_set<std::string_view> kContrast = {"but", "however", "although", "though", "yet"};

}  // namespace

bool is_negator(std::string_view w) {
  if (kNegators.count(w)) return true;
  return w.size() > 3 && w.substr(w.size() - 3) == "n't";
}

std::vector<Token> tokenize(std::string_view text, bool cjk_runs) {
  std::vector<Token> out;
  Scanner scanner(out, cjk_runs);
  const auto& emoticons = emoticon_table();
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    size_t j = i;
    while (j < text.size() && !is_space(text[j])) ++j;
    if (j == i) break;
    std::string_view chunk = text.substr(i, j - i);
    i = j;
    // Emoticons are whole whitespace-separated chunks (":-)", "<3"), possibly with trailing
    // sentence punctuation; inside longer chunks the characters are ordinary punctuation.
    std::string_view core = chunk;
    while (core.size() > 1 && (core.back() == '.' || core.back() == ',' || core.back() == '!')) core.remove_suffix(1);
    auto it = emoticons.find(std::string(core));
    if (it == emoticons.end() && core.size() != chunk.size()) {
      it = emoticons.find(std::string(chunk));
      if (it != emoticons.end()) core = chunk;
    }
    if (it != emoticons.end()) {
      Token t;
      t.kind = TokenKind::Emoticon;
      t.text = std::string(core);
      t.valence = it->second;
      out.push_back(std::move(t));
      scanner.scan(chunk.substr(core.size()));
      continue;
    }
    scanner.scan(chunk);
  }
  return out;
}

uint64_t hash_bytes(std::string_view bytes, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ULL ^ (seed * 0x9E3779B97F4A7C15ULL);
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

const std::unordered_map<std::string, float>& vader_lexicon() {
  static const auto table = [] {
    std::unordered_map<std::string, float> t;
    for_each_tab_line(embedded_vader_lexicon(), "VADER lexicon", [&](std::string_view k, std::string_view v) {
      const std::string s(v);
      char* end = nullptr;
      const float f = std::strtof(s.c_str(), &end);
      if (end == s.c_str()) throw std::runtime_error("embedded VADER lexicon: bad valence for " + std::string(k));
      t.emplace(std::string(k), f);
    });
    return t;
  }();
  return table;
}

float lexicon_valence(std::string_view text) {
  const auto tokens = tokenize(text, false);
  const auto& lex = vader_lexicon();
  std::vector<const Token*> words;
  int exclaims = 0, caps_words = 0;
  for (const Token& t : tokens) {
    if (t.kind == TokenKind::Word || t.kind == TokenKind::Emoticon) words.push_back(&t);
    if (t.kind == TokenKind::Punct && t.text == "!") ++exclaims;
    if (t.kind == TokenKind::Word && t.all_caps) ++caps_words;
  }
  const bool caps_differ = caps_words > 0 && caps_words < int(words.size());
  int but_at = -1;
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i]->text == "but") but_at = int(i);
  }
  double sum = 0;
  bool any = false;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i]->text;
    if (kBoosters.count(w) || kDampeners.count(w)) continue;
    auto it = lex.find(w);
    if (it == lex.end()) continue;
    double v = it->second;
    if (caps_differ && words[i]->all_caps) v += v > 0 ? 0.733 : -0.733;
    for (int j = 1; j <= 3 && int(i) - j >= 0; ++j) {
      const std::string& prev = words[i - size_t(j)]->text;
      const double decay = j == 1 ? 1.0 : j == 2 ? 0.95 : 0.9;
      if (kBoosters.count(prev)) v += (v > 0 ? 0.293 : -0.293) * decay;
      if (kDampeners.count(prev)) v -= (v > 0 ? 0.293 : -0.293) * decay;
      if (is_negator(prev)) v *= -0.74;
    }
    if (but_at >= 0) v *= int(i) < but_at ? 0.5 : 1.5;
    sum += v;
    any = true;
  }
  if (!any) return 0.0f;
  const double emphasis = std::min(exclaims, 4) * 0.292;
  sum += sum > 0 ? emphasis : sum < 0 ? -emphasis : 0;
  return float(sum / std::sqrt(sum * sum + 15.0));
}

}  // namespace detail

namespace {

using detail::kBoosters;
using detail::kContrast;
using detail::kDampeners;
using detail::Token;
using detail::TokenKind;

// Namespaces keep features of different kinds apart before hashing ("w1:good" ≠ "n:good").
enum Ns : uint64_t { kWord = 1, kChar = 10, kCjk = 11, kEmoji = 12, kEmoticon = 13, kNeg = 20, kBoost = 21,
                     kDamp = 22, kAfterContrast = 23, kCaps = 24, kElong = 25, kFlag = 26, kLex = 27 };

}  // namespace

FeatureExtractor::FeatureExtractor(FeatureOptions options) : options_(options) {
  if (options_.hash_bits < 8 || options_.hash_bits > 26) {
    throw std::invalid_argument("hash_bits " + std::to_string(options_.hash_bits) + " is outside [8, 26]");
  }
  if (options_.word_ngrams < 1 || options_.word_ngrams > 4) {
    throw std::invalid_argument("word_ngrams " + std::to_string(options_.word_ngrams) + " is outside [1, 4]");
  }
  if (options_.char_min < 0 || options_.char_max > 8 || (options_.char_min > 0 && options_.char_min > options_.char_max)) {
    throw std::invalid_argument("character n-gram range [" + std::to_string(options_.char_min) + ", " +
                                std::to_string(options_.char_max) + "] is invalid (0 disables; max ≤ 8)");
  }
}

namespace {

// Every feature of `text` as (namespace, string) handed to `add`: extract() hashes them,
// describe() spells them out.
template <class Add>
void for_each_feature(const FeatureOptions& opt, std::string_view text, Add&& add) {
  const auto tokens = detail::tokenize(text, opt.cjk_chars);
  std::string buf;

  // The word stream for n-grams: words, kept punctuation, emoji descriptions' words and the
  // emoticons' polarity, so "love it ❤" and "love it <3" share n-grams.
  std::vector<std::string_view> stream;
  stream.reserve(tokens.size() * 2);
  std::vector<std::string_view> cps;  // code points of one word/run
  for (const Token& t : tokens) {
    switch (t.kind) {
      case TokenKind::Word: {
        stream.push_back(t.text);
        if (opt.char_min <= 0) break;
        buf = "<" + t.text + ">";
        cps.clear();
        for (size_t i = 0; i < buf.size();) {
          size_t n = 1;
          while (i + n < buf.size() && (uint8_t(buf[i + n]) & 0xC0) == 0x80) ++n;
          cps.emplace_back(buf.data() + i, n);
          i += n;
        }
        for (size_t s = 0; s < cps.size(); ++s) {
          for (int len = opt.char_min; len <= opt.char_max && s + size_t(len) <= cps.size(); ++len) {
            const char* b = cps[s].data();
            const char* e = cps[s + size_t(len) - 1].data() + cps[s + size_t(len) - 1].size();
            if (len == 1 && (*b == '<' || *b == '>')) continue;
            add(kChar, std::string_view(b, size_t(e - b)));
          }
        }
        break;
      }
      case TokenKind::Cjk: {
        cps.clear();
        for (size_t i = 0; i < t.text.size();) {
          size_t n = 1;
          while (i + n < t.text.size() && (uint8_t(t.text[i + n]) & 0xC0) == 0x80) ++n;
          cps.emplace_back(t.text.data() + i, n);
          i += n;
        }
        for (size_t s = 0; s < cps.size(); ++s) {
          for (size_t len = 1; len <= 3 && s + len <= cps.size(); ++len) {
            const char* b = cps[s].data();
            const char* e = cps[s + len - 1].data() + cps[s + len - 1].size();
            add(kCjk, std::string_view(b, size_t(e - b)));
          }
          // Chinese negation (不/没/别/无/未) marks the next one and two characters.
          if (opt.cues && s + 1 < cps.size() &&
              (cps[s] == "不" || cps[s] == "没" || cps[s] == "別" || cps[s] == "别" || cps[s] == "无" || cps[s] == "未")) {
            add(kNeg, cps[s + 1]);
            if (s + 2 < cps.size()) add(kNeg, std::string_view(cps[s + 1].data(), cps[s + 2].data() + cps[s + 2].size() - cps[s + 1].data()));
          }
        }
        stream.push_back("<cjk>");
        break;
      }
      case TokenKind::Punct:
        stream.push_back(t.text);
        break;
      case TokenKind::Emoji: {
        add(kEmoji, t.text);
        std::string_view d = t.text;
        while (!d.empty()) {
          const size_t sp = d.find(' ');
          if (sp != 0) stream.push_back(d.substr(0, sp));
          if (sp == std::string_view::npos) break;
          d.remove_prefix(sp + 1);
        }
        break;
      }
      case TokenKind::Emoticon:
        add(kEmoticon, t.text);
        stream.push_back(t.valence > 0 ? "<smiley+>" : t.valence < 0 ? "<smiley->" : "<smiley0>");
        break;
    }
  }
  for (size_t i = 0; i < stream.size(); ++i) {
    add(kWord + 0, stream[i]);
    buf.assign(stream[i]);
    for (int n = 2; n <= opt.word_ngrams && i + size_t(n) <= stream.size(); ++n) {
      buf += ' ';
      buf += stream[i + size_t(n) - 1];
      add(kWord + uint64_t(n) - 1, buf);
    }
  }

  if (opt.cues) {
    const auto& lex = detail::vader_lexicon();
    int words = 0, caps = 0, exclaims = 0, questions = 0;
    int neg_left = 0;        // words still inside a negation scope
    bool after_contrast = false;
    for (size_t i = 0; i < tokens.size(); ++i) {
      const Token& t = tokens[i];
      if (t.kind == TokenKind::Punct) {
        neg_left = 0;  // punctuation ends a negation scope
        if (t.text == "!") ++exclaims;
        if (t.text == "?") ++questions;
        continue;
      }
      if (t.kind != TokenKind::Word) continue;
      ++words;
      const std::string& w = t.text;
      const bool negated = neg_left > 0;
      if (negated) {
        add(kNeg, w);
        --neg_left;
      }
      if (after_contrast) add(kAfterContrast, w);
      if (t.all_caps) {
        ++caps;
        add(kCaps, w);
      }
      if (t.elongated) {
        add(kElong, w);
        add(kFlag, "<elong>");
      }
      if (auto it = lex.find(w); it != lex.end()) {
        // The lexicon's valence, rounded and flipped under negation: a prior for words the
        // training data saw rarely.
        const int v = int(std::lround(negated ? -it->second : it->second));
        if (v != 0) add(kLex, std::to_string(v));
      }
      const Token* next = i + 1 < tokens.size() && tokens[i + 1].kind == TokenKind::Word ? &tokens[i + 1] : nullptr;
      if (detail::is_negator(w)) {
        add(kFlag, "<neg>");
        neg_left = 3;
      } else if (kBoosters.count(w) && next) {
        add(kFlag, "<boost>");
        add(kBoost, next->text);
      } else if (next && (kDampeners.count(w) || ((w == "kind" || w == "sort") && next->text == "of"))) {
        const Token* target = next->text == "of" ? (i + 2 < tokens.size() && tokens[i + 2].kind == TokenKind::Word ? &tokens[i + 2] : nullptr) : next;
        add(kFlag, "<damp>");
        if (target) add(kDamp, target->text);
      }
      if (kContrast.count(w)) {
        after_contrast = true;
        add(kFlag, "<contrast>");
      }
    }
    if (caps > 0) add(kFlag, caps == words && words >= 2 ? "<allcaps>" : "<caps>");
    if (exclaims > 0) add(kFlag, exclaims == 1 ? "<!1>" : exclaims == 2 ? "<!2>" : "<!3+>");
    if (questions > 0) add(kFlag, questions == 1 ? "<?1>" : "<?2+>");
  }
}

const char* ns_name(uint64_t ns) {
  switch (ns) {
    case kWord: return "w1";
    case kWord + 1: return "w2";
    case kWord + 2: return "w3";
    case kWord + 3: return "w4";
    case kChar: return "c";
    case kCjk: return "h";
    case kEmoji: return "emoji";
    case kEmoticon: return "emoticon";
    case kNeg: return "neg";
    case kBoost: return "boost";
    case kDamp: return "damp";
    case kAfterContrast: return "contrast";
    case kCaps: return "caps";
    case kElong: return "elong";
    case kFlag: return "flag";
    case kLex: return "lex";
    default: return "?";
  }
}

}  // namespace

std::vector<std::string> FeatureExtractor::describe(std::string_view text) const {
  std::vector<std::string> out;
  for_each_feature(options_, text, [&](uint64_t ns, std::string_view s) { out.push_back(std::string(ns_name(ns)) + ":" + std::string(s)); });
  return out;
}

SparseFeatures FeatureExtractor::extract(std::string_view text) const {
  std::vector<uint64_t> hashes;
  hashes.reserve(64 + text.size() * 4);
  for_each_feature(options_, text, [&](uint64_t ns, std::string_view s) { hashes.push_back(detail::hash_bytes(s, ns)); });

  // Hash → row, then log-scaled term frequency, L2-normalised.
  const int shift = 64 - options_.hash_bits;
  std::vector<uint32_t> rows(hashes.size());
  for (size_t i = 0; i < hashes.size(); ++i) rows[i] = uint32_t(hashes[i] >> shift);
  std::sort(rows.begin(), rows.end());
  SparseFeatures out;
  out.index.reserve(rows.size());
  out.value.reserve(rows.size());
  double norm = 0;
  for (size_t i = 0; i < rows.size();) {
    size_t j = i;
    while (j < rows.size() && rows[j] == rows[i]) ++j;
    const float v = 1.0f + std::log(float(j - i));
    out.index.push_back(rows[i]);
    out.value.push_back(v);
    norm += double(v) * v;
    i = j;
  }
  if (norm > 0) {
    const float inv = float(1.0 / std::sqrt(norm));
    for (float& v : out.value) v *= inv;
  }
  return out;
}

}  // namespace kindred::affect
