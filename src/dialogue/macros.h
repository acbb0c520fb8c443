// Prompt macros ("curly braced syntax") for character cards and lorebooks.
//
// Supported (names case-insensitive): {{char}}, {{user}} and the legacy <BOT>, <CHAR>, <USER>;
// {{random:a,b,c}} / {{random::a::b}} (a fresh choice per nonce), {{pick:a,b}} / {{pick::a::b}}
// (stable for a seed and its place in the text), {{roll:20}}, {{roll:d6}}, {{roll:2d6+1}},
// {{newline}}, {{trim}} (removes the whitespace around it), {{noop}}, {{// note}},
// {{comment: note}}, {{hidden_key: k}} (all three vanish from prompts), {{reverse:text}}.
// `\,` escapes a comma in a list. Macros nest ({{random:{{char}},{{user}}}}); anything else in
// braces is left exactly as written. Pure and deterministic given the context.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace kindred::dialogue {

struct MacroContext {
  std::string char_name;  // the card's nickname when it has one, else its name
  std::string user_name;
  uint64_t seed = 0;      // e.g. a hash of the chat id: {{pick}} depends only on this
  uint64_t nonce = 0;     // e.g. the generation number: {{random}}/{{roll}} also depend on this
};

std::string expand_macros(std::string_view text, const MacroContext& ctx);

}  // namespace kindred::dialogue
