// GBNF parser: text -> Grammar (rules of character sets and rule references).
#include <algorithm>
#include <functional>
#include <map>
#include <string>

#include "sampling/grammar.h"

namespace kindred {

GrammarError::GrammarError(const std::string& message, int line, int column)
    : std::runtime_error("grammar: " + message + " at " + std::to_string(line) + ":" +
                         std::to_string(column)),
      line_(line),
      column_(column) {}

GrammarError::GrammarError(const std::string& message) : std::runtime_error("grammar: " + message) {}

class GrammarParser {
 public:
  explicit GrammarParser(std::string_view text) : text_(text) {}

  std::shared_ptr<const Grammar> run() {
    if (text_.size() > Grammar::kMaxGrammarBytes) throw GrammarError("grammar text is too long");
    skip_space();
    while (pos_ < text_.size()) {
      parse_rule();
      skip_space();
    }
    // Every referenced rule must be defined.
    for (const auto& [name, where] : first_use_) {
      if (!defined_[index_.at(name)]) fail_at("undefined rule '" + name + "'", where);
    }
    auto it = index_.find("root");
    if (it == index_.end() || !defined_[it->second]) throw GrammarError("missing rule 'root'");
    g_->root_ = it->second;
    // The matcher packs alternative and element indices into 16 bits each.
    for (const Grammar::Rule& rule : g_->rules_) {
      bool too_big = rule.alternatives.size() > 0xFFFF;
      for (const Sequence& seq : rule.alternatives) too_big |= seq.size() >= 0xFFFF;
      if (too_big) fail_at("rule '" + rule.name + "' is too large", def_pos_[index_.at(rule.name)]);
    }
    check_left_recursion();
    return g_;
  }

 private:
  using Element = Grammar::Element;
  using Sequence = Grammar::Sequence;

  [[noreturn]] void fail_at(const std::string& message, size_t at) const {
    int line = 1, column = 1;
    for (size_t i = 0; i < at && i < text_.size(); ++i) {
      const auto b = static_cast<unsigned char>(text_[i]);
      if (b == '\n') {
        ++line;
        column = 1;
      } else if ((b & 0xC0) != 0x80) {
        ++column;
      }
    }
    throw GrammarError(message, line, column);
  }
  [[noreturn]] void fail(const std::string& message) const { fail_at(message, pos_); }

  // A character for an error message; bytes outside printable ASCII as hex.
  static std::string show(char c) {
    if (c > ' ' && c < 0x7F) return "'" + std::string(1, c) + "'";
    static const char* hex = "0123456789abcdef";
    const auto b = static_cast<unsigned char>(c);
    return std::string("byte 0x") + hex[b >> 4] + hex[b & 15];
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek(size_t ahead = 0) const { return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0'; }

  // Spaces, newlines and # comments.
  void skip_space() {
    while (!at_end()) {
      const char c = peek();
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++pos_;
      } else if (c == '#') {
        while (!at_end() && peek() != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  static bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  }

  std::string parse_name() {
    const size_t start = pos_;
    while (!at_end() && is_name_char(peek())) ++pos_;
    if (pos_ == start) fail("expected a rule name");
    return std::string(text_.substr(start, pos_ - start));
  }

  // Whether a rule definition `name ::=` starts here: a newline-free way to end a rule.
  bool at_rule_start() const {
    size_t p = pos_;
    while (p < text_.size() && is_name_char(text_[p])) ++p;
    if (p == pos_) return false;
    while (p < text_.size() && (text_[p] == ' ' || text_[p] == '\t' || text_[p] == '\r' || text_[p] == '\n')) ++p;
    return text_.substr(p, 3) == "::=";
  }

  uint32_t rule_index(const std::string& name) {
    auto [it, inserted] = index_.try_emplace(name, static_cast<uint32_t>(g_->rules_.size()));
    if (inserted) {
      g_->rules_.push_back({.name = name, .alternatives = {}});
      defined_.push_back(false);
      def_pos_.push_back(0);
    }
    return it->second;
  }

  // Counts rules and elements made, so that repetitions cannot blow up memory.
  void grow(size_t n) {
    size_ += n;
    if (size_ > Grammar::kMaxElements) fail("grammar is too large after expanding repetitions");
  }

  uint32_t new_rule(const std::string& base) {
    grow(1);
    std::string name;
    do name = base + "_" + std::to_string(++generated_); while (index_.count(name));
    const uint32_t id = rule_index(name);
    defined_[id] = true;
    def_pos_[id] = pos_;
    return id;
  }

  void parse_rule() {
    const size_t start = pos_;
    const std::string name = parse_name();
    skip_space();
    if (text_.substr(pos_, 3) != "::=") fail("expected '::=' after rule name '" + name + "'");
    pos_ += 3;
    const uint32_t id = rule_index(name);
    if (defined_[id]) fail_at("rule '" + name + "' is defined twice", start);
    defined_[id] = true;
    def_pos_[id] = start;
    current_ = name;
    auto alts = parse_alternatives(0);
    skip_space();
    if (!at_end() && !at_rule_start()) fail("unexpected character " + show(peek()));
    g_->rules_[id].alternatives = std::move(alts);
  }

  std::vector<Sequence> parse_alternatives(int depth) {
    std::vector<Sequence> alts;
    alts.push_back(parse_sequence(depth));
    while (peek() == '|') {
      ++pos_;
      alts.push_back(parse_sequence(depth));
    }
    return alts;
  }

  Sequence parse_sequence(int depth) {
    Sequence seq;
    for (;;) {
      skip_space();
      if (at_end() || peek() == '|' || peek() == ')') break;
      if (depth == 0 && at_rule_start()) break;
      parse_item(seq, depth);
      grow(1);
    }
    return seq;
  }

  // One element (a string adds one per character) with its repetition suffixes.
  void parse_item(Sequence& seq, int depth) {
    const size_t start = seq.size();
    const char c = peek();
    if (c == '"') {
      const size_t open = pos_++;
      for (;;) {
        if (at_end() || peek() == '\n') fail_at("unterminated string", open);
        if (peek() == '"') break;
        const char32_t cp = parse_char();
        seq.push_back(Element{.ranges = {{cp, cp}}});
      }
      ++pos_;
    } else if (c == '[') {
      seq.push_back(parse_class());
    } else if (c == '.') {
      ++pos_;
      seq.push_back(Element{.negated = true});
    } else if (c == '(') {
      if (depth + 1 > Grammar::kMaxNesting) fail("groups nested too deeply");
      const size_t open = pos_++;
      auto alts = parse_alternatives(depth + 1);
      if (peek() != ')') fail_at("unclosed '('", open);
      ++pos_;
      const uint32_t id = new_rule(current_);
      g_->rules_[id].alternatives = std::move(alts);
      seq.push_back(Element{.is_ref = true, .rule = id});
    } else if (is_name_char(c)) {
      const size_t at = pos_;
      const std::string name = parse_name();
      first_use_.try_emplace(name, at);
      seq.push_back(Element{.is_ref = true, .rule = rule_index(name)});
    } else {
      fail("unexpected character " + show(c));
    }
    // Suffixes apply to the last element; for a multi-character string, wrap it first.
    for (;;) {
      const char s = peek();
      if (s != '*' && s != '+' && s != '?' && s != '{') break;
      if (seq.size() == start) fail("repetition of nothing");
      if (seq.size() - start > 1) {
        const uint32_t id = new_rule(current_);
        g_->rules_[id].alternatives = {Sequence(seq.begin() + static_cast<ptrdiff_t>(start), seq.end())};
        seq.resize(start);
        seq.push_back(Element{.is_ref = true, .rule = id});
      }
      int min = 0, max = -1;  // -1: unbounded
      if (s == '*') {
        ++pos_;
      } else if (s == '+') {
        ++pos_;
        min = 1;
      } else if (s == '?') {
        ++pos_;
        max = 1;
      } else {
        ++pos_;
        skip_space();
        min = parse_count();
        skip_space();
        if (peek() == ',') {
          ++pos_;
          skip_space();
          if (peek() != '}') max = parse_count();
        } else {
          max = min;
        }
        skip_space();
        if (peek() != '}') fail("expected '}'");
        ++pos_;
        if (max >= 0 && max < min) fail("repetition maximum is below minimum");
      }
      Element item = seq.back();
      seq.pop_back();
      lower_repeat(seq, item, min, max);
    }
  }

  int parse_count() {
    const size_t start = pos_;
    long value = 0;
    while (peek() >= '0' && peek() <= '9') {
      value = value * 10 + (peek() - '0');
      if (value > Grammar::kMaxRepeat) fail_at("repetition count above " + std::to_string(Grammar::kMaxRepeat), start);
      ++pos_;
    }
    if (pos_ == start) fail("expected a number");
    return static_cast<int>(value);
  }

  // x{min,max} -> x ... x (min times) followed by x* (max < 0) or nested optionals
  // (x (x (x)?)?)?, so that each extra repetition costs one rule and no ambiguity.
  void lower_repeat(Sequence& seq, const Element& item, int min, int max) {
    grow(static_cast<size_t>(min) + static_cast<size_t>(std::max(max - min, 1)) * 2);
    for (int i = 0; i < min; ++i) seq.push_back(item);
    if (max < 0) {
      const uint32_t id = new_rule(current_);  // id ::= item id | ε   (right recursion)
      g_->rules_[id].alternatives = {Sequence{item, Element{.is_ref = true, .rule = id}}, Sequence{}};
      seq.push_back(Element{.is_ref = true, .rule = id});
    } else if (max > min) {
      uint32_t inner = 0;
      for (int i = 0; i < max - min; ++i) {  // built inside out
        const uint32_t id = new_rule(current_);
        Sequence body{item};
        if (i > 0) body.push_back(Element{.is_ref = true, .rule = inner});
        g_->rules_[id].alternatives = {std::move(body), Sequence{}};
        inner = id;
      }
      seq.push_back(Element{.is_ref = true, .rule = inner});
    }
  }

  Element parse_class() {
    const size_t open = pos_++;
    Element e;
    if (peek() == '^') {
      e.negated = true;
      ++pos_;
    }
    for (;;) {
      if (at_end() || peek() == '\n') fail_at("unterminated character class", open);
      if (peek() == ']') break;
      const char32_t lo = parse_char();
      char32_t hi = lo;
      if (peek() == '-' && peek(1) != ']' && pos_ + 1 < text_.size()) {
        ++pos_;
        if (at_end()) fail_at("unterminated character class", open);
        hi = parse_char();
        if (hi < lo) fail("character range is reversed");
      }
      e.ranges.emplace_back(lo, hi);
    }
    ++pos_;
    return e;
  }

  // One character of a string or class: an escape or a UTF-8 encoded code point.
  char32_t parse_char() {
    const size_t start = pos_;
    const auto b = static_cast<unsigned char>(text_[pos_]);
    if (b == '\\') {
      ++pos_;
      if (at_end()) fail_at("unterminated escape", start);
      const char e = text_[pos_++];
      switch (e) {
        case 'n': return '\n';
        case 't': return '\t';
        case 'r': return '\r';
        case '0': return 0;
        case '\\': case '"': case '\'': case '[': case ']': case '-': case '^': case '/': return static_cast<char32_t>(e);
        case 'x': return parse_hex(2, start);
        case 'u': return parse_hex(4, start);
        case 'U': return parse_hex(8, start);
        default: fail_at("bad escape '\\" + std::string(1, e) + "'", start);
      }
    }
    int len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (len == 0 || pos_ + static_cast<size_t>(len) > text_.size()) fail("invalid UTF-8 in grammar");
    char32_t cp = len == 1 ? b : b & (0x7F >> len);
    for (int i = 1; i < len; ++i) {
      const auto c = static_cast<unsigned char>(text_[pos_ + static_cast<size_t>(i)]);
      if ((c & 0xC0) != 0x80) fail("invalid UTF-8 in grammar");
      cp = (cp << 6) | (c & 0x3F);
    }
    pos_ += static_cast<size_t>(len);
    return cp;
  }

  char32_t parse_hex(int digits, size_t start) {
    char32_t v = 0;
    for (int i = 0; i < digits; ++i) {
      const char c = peek();
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) fail_at("bad escape: expected " + std::to_string(digits) + " hex digits", start);
      v = v * 16 + static_cast<char32_t>(d);
      ++pos_;
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) fail_at("escape is not a Unicode scalar value", start);
    return v;
  }

  // A rule is left recursive if it can reach itself without matching a character: through
  // the first element of an alternative, or one after elements that can all match nothing.
  // The matcher would loop forever expanding it, so it is an error here.
  void check_left_recursion() {
    const auto& rules = g_->rules_;
    std::vector<char> nullable(rules.size(), 0);
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t r = 0; r < rules.size(); ++r) {
        if (nullable[r]) continue;
        for (const Sequence& seq : rules[r].alternatives) {
          if (std::all_of(seq.begin(), seq.end(), [&](const Element& e) { return e.is_ref && nullable[e.rule]; })) {
            nullable[r] = changed = true;
            break;
          }
        }
      }
    }
    std::vector<std::vector<uint32_t>> first(rules.size());
    for (size_t r = 0; r < rules.size(); ++r) {
      for (const Sequence& seq : rules[r].alternatives) {
        for (const Element& e : seq) {
          if (!e.is_ref) break;
          first[r].push_back(e.rule);
          if (!nullable[e.rule]) break;
        }
      }
    }
    // Iterative DFS (no recursion: grammars can be large). 0 new, 1 on path, 2 done.
    std::vector<char> state(rules.size(), 0);
    for (uint32_t s = 0; s < rules.size(); ++s) {
      if (state[s]) continue;
      std::vector<std::pair<uint32_t, size_t>> path{{s, 0}};
      state[s] = 1;
      while (!path.empty()) {
        auto& [r, next] = path.back();
        if (next == first[r].size()) {
          state[r] = 2;
          path.pop_back();
          continue;
        }
        const uint32_t t = first[r][next++];
        if (state[t] == 1) {
          std::string cycle;
          bool on = false;
          for (const auto& [p, unused] : path) {
            if (p == t) on = true;
            if (on) cycle += rules[p].name + " -> ";
          }
          fail_at("left recursion: " + cycle + rules[t].name, def_pos_[t]);
        }
        if (state[t] == 0) {
          state[t] = 1;
          path.emplace_back(t, 0);
        }
      }
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::vector<size_t> def_pos_;  // where each rule is defined, for errors
  std::shared_ptr<Grammar> g_ = std::make_shared<Grammar>();
  std::map<std::string, uint32_t> index_;
  std::map<std::string, size_t> first_use_;  // where each name is first referenced
  std::vector<bool> defined_;
  std::string current_;  // the rule being parsed, to name generated rules
  int generated_ = 0;
  size_t size_ = 0;  // rules and elements made so far
};

std::shared_ptr<const Grammar> Grammar::parse(std::string_view gbnf) { return GrammarParser(gbnf).run(); }

}  // namespace kindred
