// Builds the prompt of one chat turn: system prompt, character card, persona, examples, lore,
// memories and history, under a token budget, through the model's chat template.
//
// Order is chosen for the prefix cache (engine: eval_sequence): what never changes comes first
// (system prompt, card fields, persona, constant lore, example dialogue), then the summaries of
// turns that left the window (these change only when the window moves), then the history, and
// only then what changes every turn — lore triggered by the recent messages and memories
// recalled for the newest one — as a note just after the newest user message, followed by the
// card's post-history instructions. So a new turn re-computes only its own tokens and that
// note. The history window moves in steps (a third of the budget at a time), not one turn at a
// time, so the cached prefix survives many turns after the context first fills.
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "dialogue/character_card.h"
#include "dialogue/macros.h"
#include "template/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace kindred::dialogue {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

// A memory chosen for this turn and why (shown by /memory and the API).
struct RecalledMemory {
  std::string text;
  std::string why;
};

struct ContextInputs {
  const CharacterCard* card = nullptr;  // none: a plain assistant
  std::string user_name = "User";
  std::string persona;                  // the user's persona description
  std::string default_system_prompt =
      "You are {{char}}. Write {{char}}'s next reply in this conversation with {{user}}. Stay in character.";
  std::vector<ChatMessage> history;     // every turn, oldest first, the newest last
  int window_start = 0;                 // first history turn still in the window (from the last build)
  std::vector<std::string> summaries;   // notes about turns before the window, oldest first
  std::vector<RecalledMemory> recalled; // long-term memories for this turn
  int budget_tokens = 4096;             // the whole prompt must fit in this
  int greeting_index = 0;
  uint64_t seed = 0;                    // macro seed (a hash of the session)
  uint64_t nonce = 0;                   // changes per generation ({{random}})
  // The affective stream's directive (how {{char}} feels now). Depth 0 puts it in the per-turn
  // note after the newest user message (cache-friendly); depth d > 0 inserts it as a system
  // message before the last d messages, like SillyTavern's author's note "in-chat @ depth"
  // (stronger, but the tokens after it are recomputed every turn).
  std::string affect_directive;
  int affect_depth = 0;
};

struct ContextReport {
  int window_start = 0;       // first history turn in the prompt
  int turns_in_window = 0;
  int prompt_tokens = 0;
  std::vector<std::string> lore;      // "name: reason"
  std::vector<std::string> memories;  // "text — why"
  std::vector<std::string> summaries;
  bool note_merged_into_user = false; // the template refused a system message mid-chat
  std::string affect_directive;       // as it went into the prompt (macros expanded)
};

struct BuiltContext {
  nlohmann::ordered_json messages;
  std::string prompt;
  std::vector<int32_t> tokens;
  ContextReport report;
};

class ContextBuilder {
 public:
  ContextBuilder(const ChatTemplate& chat_template, const Tokenizer& tokenizer)
      : template_(chat_template), tokenizer_(tokenizer) {}

  // Throws std::runtime_error when even the fixed part and the newest message exceed the budget.
  BuiltContext build(const ContextInputs& in) const;

  // The rendered prompt's tokens (BOS added unless the template already wrote it).
  std::vector<int32_t> tokenize(const std::string& prompt) const;

 private:
  std::string render(const nlohmann::ordered_json& messages) const;
  size_t message_overhead() const;  // tokens a message costs beyond its content
  const ChatTemplate& template_;
  const Tokenizer& tokenizer_;
  mutable size_t overhead_ = 0;  // measured on first use
};

}  // namespace kindred::dialogue
