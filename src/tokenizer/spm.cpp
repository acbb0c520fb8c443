#include "tokenizer/spm.h"

#include <cstdio>
#include <queue>
#include <string>

#include "tokenizer/unicode.h"

namespace kindred::tok {

namespace {
constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK "▁"
}

SentencePieceModel::SentencePieceModel(const Vocab& vocab, const VocabSettings& settings)
    : vocab_(vocab), settings_(settings) {
  for (int b = 0; b < 256; ++b) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "<0x%02X>", b);
    int32_t id = vocab.find(hex);
    if (id < 0) id = vocab.find(std::string(1, static_cast<char>(b)));
    byte_tokens_[static_cast<size_t>(b)] = id >= 0 ? id : settings.unk;
  }
}

int32_t SentencePieceModel::piece_id(std::string_view text) const {
  const int32_t id = vocab_.find(text);
  if (id < 0) return -1;
  switch (vocab_.type(id)) {
    case TokenType::Control:
    case TokenType::Unknown:
    case TokenType::Byte:
      return -1;  // never produced by merging text
    default:
      return id;
  }
}

void SentencePieceModel::encode(std::string_view text, bool follows_special, WordCache&,
                                std::vector<int32_t>& out) const {
  std::string escaped;
  escaped.reserve(text.size() + 8);
  if (settings_.add_space_prefix && follows_special) escaped += kSpaceMark;
  for (char c : text) {
    if (c == ' ') {
      escaped += kSpaceMark;
    } else {
      escaped += c;
    }
  }
  if (escaped.empty()) return;

  // One symbol per character (a malformed byte is a symbol of its own), linked left to right.
  struct Symbol {
    uint32_t begin;
    uint32_t length;  // 0 once merged into its left neighbour
    int32_t prev;
    int32_t next;
  };
  std::vector<Symbol> symbols;
  for (size_t pos = 0; pos < escaped.size();) {
    const size_t len = std::max<size_t>(1, utf8_sequence_length(escaped, pos));
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({static_cast<uint32_t>(pos), static_cast<uint32_t>(len), index - 1, -1});
    if (index > 0) symbols[static_cast<size_t>(index - 1)].next = index;
    pos += len;
  }

  struct Candidate {
    float score;
    int32_t left;
    int32_t right;
    uint32_t length;
    bool operator<(const Candidate& o) const {  // max-heap: best score, then leftmost
      return score != o.score ? score < o.score : left > o.left;
    }
  };
  std::priority_queue<Candidate> queue;
  const std::string_view all(escaped);
  const auto consider = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols[static_cast<size_t>(left)];
    const Symbol& r = symbols[static_cast<size_t>(right)];
    const uint32_t length = l.length + r.length;
    const int32_t id = piece_id(all.substr(l.begin, length));
    if (id >= 0) queue.push({vocab_.score(id), left, right, length});
  };
  for (size_t i = 1; i < symbols.size(); ++i) consider(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));

  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& left = symbols[static_cast<size_t>(c.left)];
    Symbol& right = symbols[static_cast<size_t>(c.right)];
    // Stale if either side has merged with something else meanwhile.
    if (left.length == 0 || right.length == 0 || left.length + right.length != c.length) continue;
    left.length += right.length;
    right.length = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[static_cast<size_t>(right.next)].prev = c.left;
    consider(left.prev, c.left);
    consider(c.left, left.next);
  }

  for (int32_t i = 0; i >= 0; i = symbols[static_cast<size_t>(i)].next) {
    const Symbol& s = symbols[static_cast<size_t>(i)];
    const std::string_view piece = all.substr(s.begin, s.length);
    if (const int32_t id = piece_id(piece); id >= 0) {
      out.push_back(id);
      continue;
    }
    for (unsigned char byte : piece) {
      if (const int32_t id = byte_tokens_[byte]; id >= 0) out.push_back(id);
    }
  }
}

}  // namespace kindred::tok
