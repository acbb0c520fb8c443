// Lorebooks (world info): entries whose content enters the prompt when their keys appear in the
// recent chat. Follows Character Card V2/V3 `character_book` (also standalone
// `{"spec":"lorebook_v3","data":{...}}`) plus SillyTavern's selective logic, and the V3 `@@`
// decorators at the top of an entry's content. The original JSON is kept so export loses nothing;
// LoreEntry is a typed, read-only view parsed from it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace kindred::dialogue {

// How secondary keys combine with a primary match (SillyTavern's `selectiveLogic` numbering).
enum class SelectiveLogic { AndAny = 0, NotAll = 1, NotAny = 2, AndAll = 3 };

// Where activated content goes. AtDepth: inside the chat, `depth` messages from the end.
enum class LorePosition { BeforeChar, AfterChar, BeforeDesc, AfterDesc, Personality, Scenario, AtDepth };

// The V3 decorators this engine honours (parsed from, and stripped off, the content).
struct LoreDecorators {
  std::optional<int> activate_only_after;  // needs at least N assistant messages
  std::optional<int> activate_only_every;  // only when assistant messages % N == 0
  bool keep_activate_after_match = false;  // once matched, always matches
  bool dont_activate_after_match = false;  // once matched, never again
  bool activate = false;                   // always matches (beats dont_activate)
  bool dont_activate = false;
  bool ignore_on_max_context = false;      // kept for the context builder
  std::optional<int> depth;                // → LorePosition::AtDepth
  std::optional<std::string> position;     // after_desc | before_desc | personality | scenario
  std::optional<std::string> role;         // assistant | system | user
  std::optional<int> scan_depth;           // overrides the book's scan depth for this entry
  std::optional<int> is_greeting;          // only with this greeting index (0 = first_mes)
  std::optional<std::string> is_user_icon; // only with this user icon name
  std::vector<std::string> additional_keys;  // one of these must also match
  std::vector<std::string> exclude_keys;     // none of these may match
  std::vector<std::string> disable_ui_prompt;
};

struct LoreEntry {
  size_t index = 0;                  // position in the book's `entries`
  std::string name;                  // `name`, else `comment`, else "#index"
  std::vector<std::string> keys, secondary_keys;
  std::string content;               // decorators removed, macros not expanded
  bool enabled = true, constant = false, selective = false, use_regex = false;
  std::optional<bool> case_sensitive;
  SelectiveLogic logic = SelectiveLogic::AndAny;
  double insertion_order = 100;      // lower goes earlier in the prompt
  std::optional<double> priority;    // higher survives the token budget
  LorePosition position = LorePosition::BeforeChar;
  std::optional<int> depth;          // for AtDepth
  std::string role = "system";
  bool prevent_recursion = false;    // SillyTavern: its content does not trigger others
  bool exclude_recursion = false;    // SillyTavern: cannot be triggered by other entries
  LoreDecorators decorators;
};

// Splits leading `@@name value` lines (with `@@@` fallbacks) off `content`. Exposed for tests.
LoreDecorators parse_decorators(std::string& content);

class Lorebook {
 public:
  // Accepts a bare Lorebook object or {"spec":"lorebook_v3","data":{...}}. Throws
  // std::runtime_error naming the field when a known field has the wrong type.
  static Lorebook from_json(const nlohmann::json& j);
  const nlohmann::json& to_json() const { return json_; }  // exactly as read

  const std::vector<LoreEntry>& entries() const { return entries_; }
  std::string name() const;
  std::optional<int> scan_depth() const;
  std::optional<int> token_budget() const;
  std::optional<bool> recursive_scanning() const;

 private:
  nlohmann::json json_;
  std::vector<LoreEntry> entries_;
};

// One scan of the chat. Messages are oldest first; the last is the newest.
struct LoreScan {
  std::vector<std::string> messages;
  std::function<size_t(std::string_view)> count_tokens;  // for token_budget; none: no budget
  int assistant_messages = 0;             // for @@activate_only_after / @@activate_only_every
  int greeting_index = -1;                // active greeting for @@is_greeting; -1 unknown
  std::string user_icon;                  // for @@is_user_icon; empty: unknown
  std::set<size_t> matched_before;        // entry indices activated in earlier turns
  int default_scan_depth = 2;             // when the book has no scan_depth (SillyTavern's default)
  bool default_case_sensitive = false;
  bool default_recursive = true;          // when the book leaves recursive_scanning unset
  int max_recursion_depth = 3;            // passes over activated content
};

struct LoreActivation {
  size_t entry = 0;  // index into Lorebook::entries()
  std::string name, content, role;
  LorePosition position = LorePosition::BeforeChar;
  std::optional<int> depth;
  double order = 0;     // insertion_order
  size_t tokens = 0;    // 0 without a counter
  std::string reason;   // "key 'dragon' matched in message 3", "constant", ...
};

// Matching: plain keys are substrings (ASCII case-folded unless case_sensitive); a key written
// `/pattern/flags` (flag i honoured) or any key of a use_regex entry is an ECMAScript regex,
// searched in 2 KiB windows overlapping by 256 bytes (std::regex recurses per character) and
// never matching when invalid. `constant` entries activate even with use_regex (V3 says to
// ignore it there; SillyTavern does not). Recursion only scans content of the current call.
// Activated entries in prompt order (insertion_order ascending, then book order), trimmed to the
// book's token_budget by dropping the lowest priority (else lowest insertion_order) first.
std::vector<LoreActivation> activate(const Lorebook& book, const LoreScan& scan);

const char* position_name(LorePosition p);

}  // namespace kindred::dialogue
