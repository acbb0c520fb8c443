// Grammar-constrained decoding: GBNF grammars (llama.cpp's format) and a matcher that
// masks logits so that generated text stays inside the grammar.
//
// Grammar::parse() turns GBNF text into rules over Unicode code points. Groups and
// repetitions are lowered into generated rules, strings into sequences of one-character
// sets, so the matcher sees only two kinds of element: a character set and a rule reference.
//
// GrammarMatcher is a pushdown recogniser. Its state is a set of stacks; each stack is a
// path through the rules whose top frame points at the character set that must match next
// (an empty stack means root is complete). accept() advances every stack that allows the
// character and drops the rest. Right recursion (and so `x*`, `x+`) runs in constant stack
// depth because a frame that has matched its last element is popped before its callee runs.
//
// Limits, so that no grammar or input can crash or hang the process:
//  - parse: nesting of groups <= kMaxNesting, repetition counts <= kMaxRepeat, grammar text
//    <= kMaxGrammarBytes; left recursion (also through rules that can match nothing) is an
//    error.
//  - match: at most kMaxStacks live stacks, kMaxDepth frames per stack, and a bound on the
//    work of one step (2^18 expansion moves and copied frames); a step that would exceed
//    any of them throws GrammarLimitError and leaves the matcher unchanged. No pruning is
//    done: pruning could silently reject text the grammar allows. apply_grammar() masks
//    tokens whose step would throw.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kindred {

// A problem in the grammar text; what() names it and its line:column (1-based, columns
// count code points).
class GrammarError : public std::runtime_error {
 public:
  GrammarError(const std::string& message, int line, int column);
  explicit GrammarError(const std::string& message);  // not tied to a position
  int line() const { return line_; }
  int column() const { return column_; }

 private:
  int line_ = 0;
  int column_ = 0;
};

// The grammar is too ambiguous or too deep for the matcher's limits.
class GrammarLimitError : public GrammarError {
 public:
  using GrammarError::GrammarError;
};

class Grammar {
 public:
  static constexpr size_t kMaxGrammarBytes = 1 << 20;
  static constexpr int kMaxNesting = 64;     // groups within groups
  static constexpr int kMaxRepeat = 1000;    // m and n in {m,n}
  static constexpr size_t kMaxElements = 1 << 18;  // rules and elements after lowering repetitions

  // Parses GBNF; the start rule is `root`. Throws GrammarError.
  static std::shared_ptr<const Grammar> parse(std::string_view gbnf);

  // One element of a sequence: a set of code points, or a reference to a rule.
  struct Element {
    bool is_ref = false;
    uint32_t rule = 0;                                // is_ref: the rule
    bool negated = false;                             // !is_ref: matches what is outside ranges
    std::vector<std::pair<char32_t, char32_t>> ranges;  // !is_ref: inclusive ranges

    bool matches(char32_t c) const;
    // Whether some code point in [lo, hi] matches (for a partly received UTF-8 character).
    bool matches_any(char32_t lo, char32_t hi) const;
  };
  using Sequence = std::vector<Element>;
  struct Rule {
    std::string name;  // generated rules are named after their parent, e.g. "value_3"
    std::vector<Sequence> alternatives;
  };

  const std::vector<Rule>& rules() const { return rules_; }
  uint32_t root() const { return root_; }

 private:
  friend class GrammarParser;
  std::vector<Rule> rules_;
  uint32_t root_ = 0;
};

class GrammarMatcher {
 public:
  static constexpr size_t kMaxStacks = 4096;
  static constexpr size_t kMaxDepth = 1024;

  explicit GrammarMatcher(std::shared_ptr<const Grammar> grammar);

  // Advances by one code point; false (state unchanged) if the grammar does not allow it,
  // or if a partial UTF-8 character from accept_bytes() is held.
  // Throws GrammarLimitError (state unchanged) if the step would exceed the limits.
  bool accept(char32_t c);

  // Advances by UTF-8 bytes, e.g. a token's piece. A trailing incomplete character is held
  // and completed by the next call; it is accepted only if some character it could become
  // is allowed. False (state unchanged) if any byte is not allowed or not valid UTF-8.
  bool accept_bytes(std::string_view utf8);

  // Whether accept_bytes(utf8) would succeed; the state is not changed.
  bool accepts_text(std::string_view utf8) const;

  // Root is complete here and no partial UTF-8 character is held.
  bool can_end() const;

  // Identifies the state (stacks and held partial UTF-8): equal keys, equal futures.
  using StateKey = std::pair<std::vector<std::vector<uint64_t>>, std::string>;
  StateKey state_key() const { return {stacks_, partial_}; }

  // Number of live stacks (for tests and diagnostics).
  size_t stack_count() const { return stacks_.size(); }

  // A frame: rule, alternative, index of the next element; packed so stacks compare fast.
  using Frame = uint64_t;
  using Stack = std::vector<Frame>;

 private:
  // Whether the first character of some live stack allows a code point in [lo, hi].
  bool allows_any(char32_t lo, char32_t hi) const;
  // accept_bytes() without the copy: on false the state is partly advanced.
  bool advance_bytes(std::string_view utf8);
  // Replaces stacks_ by the stacks reached after c; false (unchanged) if none.
  bool step(char32_t c);
  // Pushes onto out every normalised stack reachable from s (top at a character set).
  void expand(Stack s, std::vector<Stack>& out, std::vector<Stack>& work, size_t& budget) const;
  void finish(std::vector<Stack>& stacks) const;  // sort, dedupe, check limits

  std::shared_ptr<const Grammar> grammar_;
  std::vector<Stack> stacks_;
  std::string partial_;  // bytes of an incomplete UTF-8 character
};

// Sets logits[i] = -INFINITY for every token whose piece (UTF-8 bytes, possibly split inside
// a character) cannot continue the grammar from the matcher's state. The token eos_id (if
// in range) is allowed only when matcher.can_end(); other tokens with empty pieces (control
// tokens) are masked, since they cannot advance the grammar.
//
// Cost: pieces are walked byte by byte through an automaton built lazily for this call,
// whose states are the distinct matcher states reached; a byte from a known state is a
// table lookup, a new (state, byte) pair costs one matcher step and a copy. So the cost is
// O(total piece bytes) lookups plus O(distinct transitions) steps; a piece stops at its
// first rejected byte. Measured: about 3 ms for a 128k-token synthetic vocabulary with the
// JSON grammar (g++ -O2, one core). Past 4096 states, pieces are walked directly (slower,
// same result). Tokens already at -INFINITY are skipped.
void apply_grammar(const GrammarMatcher& matcher, std::span<const std::string> token_pieces,
                   std::span<float> logits, int32_t eos_id);

}  // namespace kindred
