#include "tokenizer/special_tokens.h"

namespace kindred::tok {

namespace {
bool is_matchable_type(TokenType t) {
  return t == TokenType::Control || t == TokenType::UserDefined || t == TokenType::Unknown;
}

// llama.cpp strips with C isspace() around lstrip/rstrip tokens.
bool is_ascii_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
}  // namespace

SpecialTokenMatcher::SpecialTokenMatcher(const Vocab& vocab, const VocabSettings& settings)
    : vocab_(vocab), settings_(settings) {
  node_token_.push_back(-1);
  for (int32_t id = 0; id < vocab.size(); ++id) {
    const std::string& text = vocab.text(id);
    if (!is_matchable_type(vocab.type(id)) || text.empty()) continue;
    starts_token_[static_cast<unsigned char>(text[0])] = true;
    uint32_t node = 0;
    for (unsigned char byte : text) {
      const uint64_t key = (static_cast<uint64_t>(node) << 8) | byte;
      const auto [it, inserted] = edges_.try_emplace(key, static_cast<uint32_t>(node_token_.size()));
      if (inserted) node_token_.push_back(-1);
      node = it->second;
    }
    if (node_token_[node] < 0) node_token_[node] = id;  // a duplicate spelling keeps the first id
  }
}

SpecialTokenMatcher::Match SpecialTokenMatcher::longest_at(std::string_view text, size_t pos,
                                                           bool parse_special) const {
  Match best;
  if (!starts_token_[static_cast<unsigned char>(text[pos])]) return best;
  uint32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const uint64_t key = (static_cast<uint64_t>(node) << 8) | static_cast<unsigned char>(text[i]);
    const auto it = edges_.find(key);
    if (it == edges_.end()) break;
    node = it->second;
    const int32_t id = node_token_[node];
    if (id >= 0 && (parse_special || vocab_.type(id) == TokenType::UserDefined)) {
      best = {id, i + 1 - pos};
    }
  }
  return best;
}

std::vector<Fragment> SpecialTokenMatcher::split(std::string_view text, bool parse_special) const {
  std::vector<Fragment> fragments;
  size_t text_start = 0;
  size_t pos = 0;
  const auto flush_text = [&](size_t end) {
    if (end > text_start) fragments.push_back({-1, text.substr(text_start, end - text_start)});
  };
  while (pos < text.size()) {
    const Match m = longest_at(text, pos, parse_special);
    if (m.token < 0) {
      ++pos;
      continue;
    }
    size_t text_end = pos;
    if (settings_.lstrip.contains(m.token)) {
      while (text_end > text_start && is_ascii_space(text[text_end - 1])) --text_end;
    }
    flush_text(text_end);
    fragments.push_back({m.token, {}});
    pos += m.length;
    if (settings_.rstrip.contains(m.token)) {
      while (pos < text.size() && is_ascii_space(text[pos])) ++pos;
    }
    text_start = pos;
  }
  flush_text(text.size());
  return fragments;
}

}  // namespace kindred::tok
