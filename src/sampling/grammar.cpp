// Grammar matcher (pushdown, a set of stacks) and logit masking.
#include "sampling/grammar.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

namespace kindred {
namespace {

// Bound on the work of one step (expansion moves plus frames copied when stacks fork), so
// that an exponentially ambiguous or very deep grammar fails in milliseconds instead of
// hanging. A step of an ordinary grammar such as JSON costs a few hundred.
constexpr size_t kMaxExpandSteps = 1 << 18;

using Frame = GrammarMatcher::Frame;
using Stack = GrammarMatcher::Stack;

Frame pack(uint32_t rule, uint32_t alt, uint32_t elem) {
  return (static_cast<uint64_t>(rule) << 32) | (static_cast<uint64_t>(alt) << 16) | elem;
}
uint32_t frame_rule(Frame f) { return static_cast<uint32_t>(f >> 32); }
uint32_t frame_alt(Frame f) { return static_cast<uint32_t>((f >> 16) & 0xFFFF); }
uint32_t frame_elem(Frame f) { return static_cast<uint32_t>(f & 0xFFFF); }

// UTF-8 lead byte -> sequence length, 0 if it cannot start a character.
int utf8_length(unsigned char b) {
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return 2;
  if (b >= 0xE0 && b <= 0xEF) return 3;
  if (b >= 0xF0 && b <= 0xF4) return 4;
  return 0;
}

// The code points an incomplete (or complete) UTF-8 prefix can still become, or false if
// it is not valid UTF-8 (bad continuation, overlong, above U+10FFFF).
bool utf8_prefix_range(std::string_view bytes, char32_t& lo, char32_t& hi) {
  const int len = utf8_length(static_cast<unsigned char>(bytes[0]));
  if (len == 0 || bytes.size() > static_cast<size_t>(len)) return false;
  char32_t v = len == 1 ? static_cast<unsigned char>(bytes[0]) : static_cast<unsigned char>(bytes[0]) & (0x7F >> len);
  for (size_t i = 1; i < bytes.size(); ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if ((c & 0xC0) != 0x80) return false;
    v = (v << 6) | (c & 0x3F);
  }
  const int missing = (len - static_cast<int>(bytes.size())) * 6;
  lo = v << missing;
  hi = (v << missing) | ((char32_t{1} << missing) - 1);
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  lo = std::max(lo, kMin[len]);
  hi = std::min(hi, char32_t{0x10FFFF});
  if (lo > hi) return false;
  if (len == 3 && lo >= 0xD800 && hi <= 0xDFFF) return false;  // surrogates only
  return true;
}

}  // namespace

bool Grammar::Element::matches(char32_t c) const {
  bool in = false;
  for (const auto& [lo, hi] : ranges) {
    if (c >= lo && c <= hi) {
      in = true;
      break;
    }
  }
  return in != negated;
}

bool Grammar::Element::matches_any(char32_t lo, char32_t hi) const {
  if (!negated) {
    return std::any_of(ranges.begin(), ranges.end(), [&](const auto& r) { return r.first <= hi && r.second >= lo; });
  }
  // Negated: look for a code point in [lo, hi] that no range covers, skipping past ranges.
  char32_t c = lo;
  for (size_t guard = 0; guard <= ranges.size(); ++guard) {
    auto it = std::find_if(ranges.begin(), ranges.end(), [&](const auto& r) { return c >= r.first && c <= r.second; });
    if (it == ranges.end()) return true;
    if (it->second >= hi) return false;
    c = it->second + 1;
  }
  return false;
}

GrammarMatcher::GrammarMatcher(std::shared_ptr<const Grammar> grammar) : grammar_(std::move(grammar)) {
  if (!grammar_) throw GrammarError("no grammar");
  size_t budget = kMaxExpandSteps;
  const uint32_t root = grammar_->root();
  std::vector<Stack> start, work;
  for (size_t a = 0; a < grammar_->rules()[root].alternatives.size(); ++a) {
    expand(Stack{pack(root, static_cast<uint32_t>(a), 0)}, start, work, budget);
  }
  finish(start);
  stacks_ = std::move(start);
}

void GrammarMatcher::expand(Stack s, std::vector<Stack>& out, std::vector<Stack>& work, size_t& budget) const {
  const auto& rules = grammar_->rules();
  // An explicit work list rather than recursion: alternatives fork a stack. The caller
  // lends it (empty) so that one step allocates it once.
  work.push_back(std::move(s));
  while (!work.empty()) {
    Stack cur = std::move(work.back());
    work.pop_back();
    for (;;) {
      if (budget-- == 0) throw GrammarLimitError("grammar too ambiguous: step limit exceeded");
      if (cur.empty()) {  // root complete
        out.push_back(std::move(cur));
        break;
      }
      const Frame top = cur.back();
      const Grammar::Sequence& seq = rules[frame_rule(top)].alternatives[frame_alt(top)];
      const uint32_t e = frame_elem(top);
      if (e == seq.size()) {
        cur.pop_back();
        continue;
      }
      const Grammar::Element& elem = seq[e];
      if (!elem.is_ref) {
        out.push_back(std::move(cur));
        break;
      }
      // Advance the caller past the reference first; a caller with nothing left is dropped
      // (a tail call), which keeps right recursion at constant depth.
      cur.pop_back();
      if (e + 1 < seq.size()) cur.push_back(top + 1);
      if (cur.size() >= kMaxDepth) throw GrammarLimitError("grammar nesting exceeds the matcher's depth limit");
      const size_t n = rules[elem.rule].alternatives.size();
      for (size_t a = 1; a < n; ++a) {
        if (budget <= cur.size()) throw GrammarLimitError("grammar too ambiguous: step limit exceeded");
        budget -= cur.size();
        Stack fork = cur;
        fork.push_back(pack(elem.rule, static_cast<uint32_t>(a), 0));
        work.push_back(std::move(fork));
      }
      if (n == 0) break;  // a rule with no alternatives matches nothing
      cur.push_back(pack(elem.rule, 0, 0));
    }
  }
}

void GrammarMatcher::finish(std::vector<Stack>& stacks) const {
  std::sort(stacks.begin(), stacks.end());
  stacks.erase(std::unique(stacks.begin(), stacks.end()), stacks.end());
  if (stacks.size() > kMaxStacks) {
    throw GrammarLimitError("grammar too ambiguous: more than " + std::to_string(kMaxStacks) + " live stacks");
  }
}

bool GrammarMatcher::step(char32_t c) {
  const auto& rules = grammar_->rules();
  std::vector<Stack> next, work;
  next.reserve(stacks_.size() + 4);
  size_t budget = kMaxExpandSteps;
  for (const Stack& s : stacks_) {
    if (s.empty()) continue;
    const Frame top = s.back();
    const Grammar::Sequence& seq = rules[frame_rule(top)].alternatives[frame_alt(top)];
    if (!seq[frame_elem(top)].matches(c)) continue;
    if (budget <= s.size()) throw GrammarLimitError("grammar too ambiguous: step limit exceeded");
    budget -= s.size();
    Stack t(s.begin(), s.end() - 1);
    if (frame_elem(top) + 1 < seq.size()) t.push_back(top + 1);
    expand(std::move(t), next, work, budget);
  }
  if (next.empty()) return false;
  finish(next);
  stacks_ = std::move(next);
  return true;
}

bool GrammarMatcher::allows_any(char32_t lo, char32_t hi) const {
  const auto& rules = grammar_->rules();
  for (const Stack& s : stacks_) {
    if (s.empty()) continue;
    const Frame top = s.back();
    if (rules[frame_rule(top)].alternatives[frame_alt(top)][frame_elem(top)].matches_any(lo, hi)) return true;
  }
  return false;
}

bool GrammarMatcher::accept(char32_t c) {
  if (!partial_.empty() || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return false;
  return step(c);
}

bool GrammarMatcher::accept_bytes(std::string_view utf8) {
  if (utf8.empty()) return true;
  GrammarMatcher m = *this;  // work on a copy so that a failure leaves *this unchanged
  if (!m.advance_bytes(utf8)) return false;
  *this = std::move(m);
  return true;
}

bool GrammarMatcher::accepts_text(std::string_view utf8) const {
  GrammarMatcher m = *this;
  return m.advance_bytes(utf8);
}

bool GrammarMatcher::advance_bytes(std::string_view utf8) {
  for (const char byte : utf8) {
    partial_.push_back(byte);
    char32_t lo = 0, hi = 0;
    if (!utf8_prefix_range(partial_, lo, hi)) return false;
    if (partial_.size() < static_cast<size_t>(utf8_length(static_cast<unsigned char>(partial_[0])))) continue;
    if (lo >= 0xD800 && lo <= 0xDFFF) return false;
    partial_.clear();
    if (!step(lo)) return false;
  }
  if (!partial_.empty()) {
    char32_t lo = 0, hi = 0;
    utf8_prefix_range(partial_, lo, hi);
    if (!allows_any(lo, hi)) return false;
  }
  return true;
}

bool GrammarMatcher::can_end() const {
  return partial_.empty() && std::any_of(stacks_.begin(), stacks_.end(), [](const Stack& s) { return s.empty(); });
}

namespace {

// A byte-level automaton built lazily during one apply_grammar() call. Its states are the
// distinct matcher states reached (stacks plus held partial UTF-8), so a byte from a state
// already seen costs one table lookup instead of a matcher step. Pieces share most states
// (inside a JSON string every ordinary byte leads back to the same one), which is what
// makes masking a large vocabulary cheap.
class MaskAutomaton {
 public:
  static constexpr int32_t kUnknown = -2, kReject = -1;
  static constexpr size_t kMaxStates = 4096;  // beyond this, pieces are walked directly

  explicit MaskAutomaton(const GrammarMatcher& start) { intern(GrammarMatcher(start)); }

  bool accepts(std::string_view piece) {
    int32_t cur = 0;
    for (size_t i = 0; i < piece.size(); ++i) {
      const auto b = static_cast<unsigned char>(piece[i]);
      int32_t& next = states_[static_cast<size_t>(cur)]->next[b];
      if (next == kUnknown) {
        GrammarMatcher m = states_[static_cast<size_t>(cur)]->matcher;
        bool ok = false;
        try {
          ok = m.accept_bytes(piece.substr(i, 1));
        } catch (const GrammarLimitError&) {
          ok = false;  // a byte that would exceed the limits cannot be followed safely
        }
        if (!ok) {
          next = kReject;
        } else {
          const int32_t id = intern(std::move(m));
          if (id < 0) return walk_directly(cur, piece.substr(i));  // automaton full
          next = id;
        }
      }
      if (next == kReject) return false;
      cur = next;
    }
    return true;
  }

 private:
  struct State {
    GrammarMatcher matcher;
    std::array<int32_t, 256> next;
  };

  // The id of m's state, adding it if new; -1 if the automaton is full.
  int32_t intern(GrammarMatcher&& m) {
    auto key = m.state_key();
    auto it = index_.find(key);
    if (it != index_.end()) return it->second;
    if (states_.size() >= kMaxStates) return -1;
    const auto id = static_cast<int32_t>(states_.size());
    auto state = std::make_unique<State>(State{std::move(m), {}});
    state->next.fill(kUnknown);
    states_.push_back(std::move(state));
    index_.emplace(std::move(key), id);
    return id;
  }

  bool walk_directly(int32_t from, std::string_view rest) const {
    try {
      return states_[static_cast<size_t>(from)]->matcher.accepts_text(rest);
    } catch (const GrammarLimitError&) {
      return false;
    }
  }

  std::vector<std::unique_ptr<State>> states_;
  std::map<GrammarMatcher::StateKey, int32_t> index_;
};

}  // namespace

void apply_grammar(const GrammarMatcher& matcher, std::span<const std::string> token_pieces,
                   std::span<float> logits, int32_t eos_id) {
  const bool can_end = matcher.can_end();
  MaskAutomaton automaton(matcher);
  for (size_t i = 0; i < logits.size(); ++i) {
    if (eos_id >= 0 && i == static_cast<size_t>(eos_id)) {
      if (!can_end) logits[i] = -INFINITY;
      continue;
    }
    if (logits[i] == -INFINITY) continue;
    if (i >= token_pieces.size() || token_pieces[i].empty() || !automaton.accepts(token_pieces[i])) {
      logits[i] = -INFINITY;
    }
  }
}

}  // namespace kindred
