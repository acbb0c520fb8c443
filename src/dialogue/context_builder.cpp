#include "dialogue/context_builder.h"

#include <algorithm>
#include <stdexcept>

#include "dialogue/lorebook.h"

namespace kindred::dialogue {
namespace {

using Json = nlohmann::ordered_json;

void append_section(std::string& out, const std::string& text) {
  if (text.empty()) return;
  if (!out.empty()) out += "\n\n";
  out += text;
}

// mes_example is a series of blocks each opened by <START>; in the prompt they read as one
// "Example dialogue" section with the blocks separated.
std::string example_dialogue(const std::string& raw) {
  std::string text;
  size_t pos = 0;
  const std::string marker = "<START>";
  while (pos <= raw.size()) {
    const size_t next = raw.find(marker, pos);
    std::string block = raw.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    const auto first = block.find_first_not_of(" \t\r\n");
    const auto last = block.find_last_not_of(" \t\r\n");
    if (first != std::string::npos) {
      if (!text.empty()) text += "\n---\n";
      text += block.substr(first, last - first + 1);
    }
    if (next == std::string::npos) break;
    pos = next + marker.size();
  }
  return text.empty() ? "" : "Example dialogue:\n" + text;
}

bool is_constant(const LoreActivation& a) { return a.reason == "constant"; }

}  // namespace

std::vector<int32_t> ContextBuilder::tokenize(const std::string& prompt) const {
  // Templates that write the BOS text themselves get no second one.
  const int32_t bos = tokenizer_.bos();
  const std::string bos_text = bos >= 0 ? tokenizer_.token_to_piece(bos, true) : "";
  const bool has_bos = !bos_text.empty() && prompt.compare(0, bos_text.size(), bos_text) == 0;
  return tokenizer_.encode(prompt, !has_bos, true);
}

std::string ContextBuilder::render(const Json& messages) const {
  ChatTemplateInputs inputs;
  inputs.messages = messages;
  inputs.add_generation_prompt = true;
  if (tokenizer_.bos() >= 0) inputs.bos_token = tokenizer_.token_to_piece(tokenizer_.bos(), true);
  if (tokenizer_.eos() >= 0) inputs.eos_token = tokenizer_.token_to_piece(tokenizer_.eos(), true);
  return template_.render(inputs);
}

size_t ContextBuilder::message_overhead() const {
  if (overhead_ != 0) return overhead_;
  // Measured, not guessed: role markers are one token in a real vocabulary and a dozen bytes in
  // one without them. Two messages' difference between two renders, per message.
  size_t overhead = 8;
  try {
    Json one = Json::array({{{"role", "user"}, {"content", "a"}}});
    Json three = one;
    three.push_back({{"role", "assistant"}, {"content", "b"}});
    three.push_back({{"role", "user"}, {"content", "a"}});
    const size_t a = tokenize(render(one)).size(), b = tokenize(render(three)).size();
    if (b > a) overhead = (b - a + 1) / 2;
  } catch (const TemplateError&) {
    // a template that needs a system message first: keep the default
  }
  overhead_ = overhead;
  return overhead_;
}

BuiltContext ContextBuilder::build(const ContextInputs& in) const {
  if (in.history.empty()) throw std::runtime_error("context builder: the conversation has no messages");
  const CharacterCard* card = in.card;
  const MacroContext macros{.char_name = card ? card->display_name() : "Assistant",
                            .user_name = in.user_name,
                            .seed = in.seed,
                            .nonce = in.nonce};
  auto expand = [&](const std::string& s) { return expand_macros(s, macros); };
  auto count = [&](std::string_view s) { return tokenizer_.encode(s, false, false).size(); };
  BuiltContext out;
  ContextReport& report = out.report;

  // Lore: constant entries belong to the fixed part, triggered ones to the per-turn note.
  std::vector<LoreActivation> lore;
  if (card) {
    if (const std::optional<Lorebook> book = card->book()) {
      LoreScan scan;
      for (const ChatMessage& m : in.history) {
        scan.messages.push_back(m.content);
        if (m.role == "assistant") ++scan.assistant_messages;
      }
      scan.count_tokens = count;
      scan.greeting_index = in.greeting_index;
      lore = activate(*book, scan);
    }
  }
  auto fixed_lore = [&](std::initializer_list<LorePosition> where) {
    std::string text;
    for (const LoreActivation& a : lore) {
      if (is_constant(a) && std::find(where.begin(), where.end(), a.position) != where.end()) append_section(text, a.content);
    }
    return text;
  };

  std::string system = resolve_override(card ? card->system_prompt() : "", in.default_system_prompt);
  if (card) {
    append_section(system, fixed_lore({LorePosition::BeforeChar, LorePosition::BeforeDesc}));
    if (!card->description().empty()) append_section(system, card->description());
    append_section(system, fixed_lore({LorePosition::AfterDesc}));
    if (!card->personality().empty()) append_section(system, "{{char}}'s personality: " + card->personality());
    append_section(system, fixed_lore({LorePosition::Personality}));
    if (!card->scenario().empty()) append_section(system, "Scenario: " + card->scenario());
    append_section(system, fixed_lore({LorePosition::Scenario, LorePosition::AfterChar}));
  }
  if (!in.persona.empty()) append_section(system, "About {{user}}: " + in.persona);
  if (card) append_section(system, example_dialogue(card->mes_example()));
  if (!in.summaries.empty()) {
    std::string s = "Earlier in this conversation:";
    for (const std::string& summary : in.summaries) s += "\n- " + summary;
    append_section(system, s);
    report.summaries = in.summaries;
  }
  system = expand(system);

  std::string note;
  for (const LoreActivation& a : lore) {
    if (is_constant(a)) continue;
    append_section(note, a.content);
    report.lore.push_back(a.name + ": " + a.reason);
  }
  for (const LoreActivation& a : lore) {
    if (is_constant(a)) report.lore.push_back(a.name + ": constant");
  }
  if (!in.recalled.empty()) {
    std::string s = "Things {{char}} remembers:";
    for (const RecalledMemory& m : in.recalled) {
      s += "\n- " + m.text;
      report.memories.push_back(m.text + " — " + m.why);
    }
    append_section(note, s);
  }
  const std::string directive = expand(in.affect_directive);
  if (in.affect_depth < 0) throw std::runtime_error("context builder: the affect directive's depth must be 0 or more");
  const bool directive_at_depth = in.affect_depth > 0 && !directive.empty();
  if (!directive_at_depth) append_section(note, directive);
  report.affect_directive = directive;
  note = expand(note);
  const std::string post = card ? expand(resolve_override(card->post_history_instructions(), "")) : "";

  // The window: keep the previous start while everything fits; when it does not, move the start
  // on by enough turns to free the overflow plus a third of the history budget.
  const int n = static_cast<int>(in.history.size());
  std::vector<size_t> cost(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) cost[i] = count(in.history[i].content) + message_overhead();
  const size_t fixed = count(system) + count(note) + count(post) +
                       (directive_at_depth ? count(directive) + message_overhead() : 0) + 3 * message_overhead() + 8;
  if (fixed + cost[n - 1] > static_cast<size_t>(in.budget_tokens)) {
    throw std::runtime_error("the prompt needs about " + std::to_string(fixed + cost[n - 1]) +
                             " tokens before any history but the budget is " + std::to_string(in.budget_tokens) +
                             ": shorten the card or raise the context size");
  }
  const size_t available = static_cast<size_t>(in.budget_tokens) - fixed;
  int start = std::clamp(in.window_start, 0, n - 1);
  auto window_cost = [&](int s) {
    size_t total = 0;
    for (int i = s; i < n; ++i) total += cost[i];
    return total;
  };
  if (window_cost(start) > available) {
    size_t to_free = window_cost(start) - available + available / 3;
    while (start < n - 1 && to_free > 0) {
      to_free -= std::min(to_free, cost[start]);
      ++start;
    }
  }

  for (;;) {
    Json messages = Json::array();
    messages.push_back({{"role", "system"}, {"content", system}});
    for (int i = start; i < n; ++i) {
      messages.push_back({{"role", in.history[i].role}, {"content", expand(in.history[i].content)}});
    }
    if (directive_at_depth) {
      // Before the last `depth` messages, never above the window's first message.
      const int at = std::max(1, static_cast<int>(messages.size()) - in.affect_depth);
      messages.insert(messages.begin() + at, Json{{"role", "system"}, {"content", directive}});
    }
    int last_user = -1;
    for (int i = 1; i < static_cast<int>(messages.size()); ++i) {
      if (messages[i]["role"] == "user") last_user = i;
    }
    // After the newest user message, so that next turn (when this note is gone) the history
    // up to and including that message is still a cached prefix.
    if (!note.empty() && last_user > 0) {
      const Json note_message = {{"role", "system"}, {"content", note}};
      messages.insert(messages.begin() + last_user + 1, note_message);
    }
    if (!post.empty()) {
      const Json post_message = {{"role", "system"}, {"content", post}};
      messages.push_back(post_message);
    }
    std::string prompt;
    try {
      prompt = render(messages);
    } catch (const TemplateError&) {
      // Templates that allow one leading system message and strict user/assistant alternation
      // (Gemma, Mistral, Llama 2): fold the system text into the first user message and the note
      // and instructions into the last one.
      Json strict = Json::array();
      std::string lead = system;
      bool first_user = true;
      for (int i = start; i < n; ++i) {
        std::string content = expand(in.history[i].content);
        const std::string& role = in.history[i].role;
        if (role == "system" || (strict.empty() && role == "assistant")) {  // before any user turn
          append_section(lead, role == "assistant" ? macros.char_name + ": " + content : content);
          continue;
        }
        if (role == "user" && first_user) {
          content = lead + "\n\n" + content;
          first_user = false;
        }
        if (role == "user" && i == n - 1 && !note.empty()) content += "\n\n" + note;
        if (role == "user" && i == n - 1 && directive_at_depth) content += "\n\n" + directive;
        if (role == "user" && i == n - 1 && !post.empty()) content += "\n\n" + post;
        strict.push_back({{"role", role}, {"content", content}});
      }
      if (strict.empty()) strict.push_back({{"role", "user"}, {"content", lead}});
      prompt = render(strict);  // a second failure propagates: the template cannot hold a chat
      messages = std::move(strict);
      report.note_merged_into_user = true;
    }
    std::vector<int32_t> tokens = tokenize(prompt);
    if (tokens.size() <= static_cast<size_t>(in.budget_tokens) || start >= n - 1) {
      if (tokens.size() > static_cast<size_t>(in.budget_tokens)) {
        throw std::runtime_error("the newest message alone does not fit the context budget of " +
                                 std::to_string(in.budget_tokens) + " tokens");
      }
      report.window_start = start;
      report.turns_in_window = n - start;
      report.prompt_tokens = static_cast<int>(tokens.size());
      out.messages = std::move(messages);
      out.prompt = std::move(prompt);
      out.tokens = std::move(tokens);
      return out;
    }
    ++start;  // the estimate was short: drop one more turn and render again
  }
}

}  // namespace kindred::dialogue
