#include "tokenizer/wordpiece.h"

#include <algorithm>

#include "tokenizer/unicode.h"

namespace kindred::tok {

namespace {
constexpr std::string_view kWordStart = "\xE2\x96\x81";  // "▁"
// BERT's limit: longer words are [UNK] without trying.
constexpr size_t kMaxCharsPerWord = 100;

// The CJK blocks BERT spaces out (its own list, including its 0x2B920 quirk).
bool is_cjk_ideograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// ASCII punctuation (which includes symbols such as $ + < = > ^ ` | ~) or \p{P}.
bool is_bert_punctuation(char32_t c) {
  if (c < 0x80)
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
           (c >= 0x7B && c <= 0x7E);
  return char_flags(c) & kPunctuation;
}

std::vector<char32_t> code_points(std::string_view text) {
  std::vector<char32_t> cps;
  cps.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const size_t len = utf8_sequence_length(text, pos);
    cps.push_back(len == 0 ? kReplacementChar : utf8_decode_at(text, pos, len));
    pos += len == 0 ? 1 : len;
  }
  return cps;
}
}  // namespace

WordPieceModel::WordPieceModel(const Vocab& vocab, const VocabSettings& settings)
    : vocab_(vocab), settings_(settings) {}

std::vector<std::string> WordPieceModel::words_of(std::string_view text) const {
  // BertNormalizer: clean text, space out CJK, strip accents, lower-case.
  std::string cleaned;
  cleaned.reserve(text.size() + 8);
  for (char32_t c : code_points(text)) {
    const uint16_t f = char_flags(c);
    if (c == 0 || c == kReplacementChar || (f & kControl)) continue;
    if (f & kWhitespace) {
      cleaned += ' ';
    } else if (is_cjk_ideograph(c)) {
      cleaned += ' ';
      append_utf8(cleaned, c);
      cleaned += ' ';
    } else {
      append_utf8(cleaned, c);
    }
  }
  if (settings_.strip_accents) cleaned = nfd(cleaned);

  // BertPreTokenizer: whitespace separates words, each punctuation character is a word.
  std::vector<std::string> words(1);
  for (char32_t c : code_points(cleaned)) {
    if (settings_.strip_accents && (char_flags(c) & kNonspacingMark)) continue;
    if (settings_.lowercase) c = to_lower(c);
    if (is_whitespace(c)) {
      if (!words.back().empty()) words.emplace_back();
    } else if (is_bert_punctuation(c)) {
      if (!words.back().empty()) words.emplace_back();
      append_utf8(words.back(), c);
      words.emplace_back();
    } else {
      append_utf8(words.back(), c);
    }
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

void WordPieceModel::encode(std::string_view text, bool, WordCache& cache, std::vector<int32_t>& out) const {
  for (const std::string& word : words_of(text)) {
    if (cache.replay(word, out)) continue;
    const size_t offset = out.size();
    encode_word(word, out);
    cache.remember(word, out, offset);
  }
}

void WordPieceModel::encode_word(const std::string& word, std::vector<int32_t>& out) const {
  const size_t chars = static_cast<size_t>(std::count_if(
      word.begin(), word.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
  if (chars > kMaxCharsPerWord) {
    if (settings_.unk >= 0) out.push_back(settings_.unk);
    return;
  }
  const std::string marked = std::string(kWordStart) + word;
  const size_t first_piece_min = kWordStart.size() + 1;  // the first piece holds a character
  const size_t start_size = out.size();
  for (size_t begin = 0; begin < marked.size();) {
    size_t end = std::min(marked.size(), begin + vocab_.max_token_bytes());
    int32_t id = -1;
    for (; end > begin && (begin > 0 || end >= first_piece_min); --end) {
      id = vocab_.find(std::string_view(marked).substr(begin, end - begin));
      if (id >= 0 && vocab_.type(id) == TokenType::Normal) break;
      id = -1;
    }
    if (id < 0) {  // the whole word is unknown
      out.resize(start_size);
      if (settings_.unk >= 0) out.push_back(settings_.unk);
      return;
    }
    out.push_back(id);
    begin = end;
  }
}

}  // namespace kindred::tok
