// The context builder: what goes where, the cache-friendly order (a new turn extends the previous
// prompt), the token budget and its stepped window, lore and memory reports, strict templates.
#include "dialogue/context_builder.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "model/tiny_model.h"

namespace kindred::dialogue {
namespace {

struct Fixture {
  gguf::File file = gguf::File::from_bytes(test::make_tiny_model({}));
  std::unique_ptr<Tokenizer> tokenizer = Tokenizer::from_gguf(file);
  ChatTemplate chatml = known_chat_template("chatml");
};

CharacterCard card_with_lore() {
  return CharacterCard::from_json(nlohmann::json::parse(R"({
    "spec": "chara_card_v2", "spec_version": "2.0",
    "data": {
      "name": "Mira", "description": "Mira is a lighthouse keeper.", "personality": "calm, dry humour",
      "scenario": "A storm night at the lighthouse.", "first_mes": "The lamp is lit, {{user}}.",
      "mes_example": "<START>\n{{user}}: Hi\n{{char}}: Evening.", "creator_notes": "SECRET-NOTES",
      "system_prompt": "", "post_history_instructions": "Reply in two sentences.",
      "alternate_greetings": [], "tags": [], "creator": "", "character_version": "1", "extensions": {},
      "character_book": {"extensions": {}, "entries": [
        {"keys": ["dragon"], "content": "Dragons nest on the northern cliffs.", "enabled": true,
         "insertion_order": 10, "extensions": {}, "name": "Dragons"},
        {"keys": [], "content": "The island is called Ness.", "enabled": true, "constant": true,
         "insertion_order": 5, "extensions": {}, "name": "Island"}]}
    }})"));
}

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  return static_cast<size_t>(std::mismatch(a.begin(), a.end(), b.begin(), b.end()).first - a.begin());
}

TEST(ContextBuilder, LaysOutCardPersonaLoreAndInstructions) {
  Fixture f;
  const CharacterCard card = card_with_lore();
  ContextBuilder builder(f.chatml, *f.tokenizer);
  ContextInputs in;
  in.card = &card;
  in.user_name = "Sam";
  in.persona = "Sam is a sailor.";
  in.history = {{"assistant", card.first_mes()}, {"user", "Have you seen a dragon?"}};
  in.recalled = {{"Sam said (turn 3): my boat is called Gull", "matched 'boat'"}};
  const BuiltContext b = builder.build(in);
  const std::string& p = b.prompt;
  for (const char* part : {"Mira is a lighthouse keeper.", "Mira's personality: calm", "Scenario: A storm night",
                           "About Sam: Sam is a sailor.", "Example dialogue:\nSam: Hi\nMira: Evening.",
                           "The island is called Ness.", "Dragons nest on the northern cliffs.",
                           "my boat is called Gull", "Reply in two sentences.", "The lamp is lit, Sam."}) {
    EXPECT_NE(p.find(part), std::string::npos) << part << "\n" << p;
  }
  EXPECT_EQ(p.find("SECRET-NOTES"), std::string::npos) << "creator_notes must never reach a prompt";
  // Constant lore is in the system message; triggered lore and memories after the newest message.
  EXPECT_LT(p.find("The island is called Ness."), p.find("The lamp is lit"));
  EXPECT_GT(p.find("Dragons nest"), p.find("Have you seen a dragon?"));
  EXPECT_GT(p.find("Reply in two sentences."), p.find("Dragons nest"));
  ASSERT_EQ(b.report.lore.size(), 2u);
  EXPECT_NE(b.report.lore[0].find("dragon"), std::string::npos) << b.report.lore[0];
  ASSERT_EQ(b.report.memories.size(), 1u);
  EXPECT_EQ(b.report.prompt_tokens, static_cast<int>(b.tokens.size()));
}

TEST(ContextBuilder, NextTurnExtendsThePreviousPromptUpToItsPerTurnTail) {
  Fixture f;
  ContextBuilder builder(f.chatml, *f.tokenizer);
  ContextInputs in;
  in.history = {{"assistant", "Evening."}, {"user", "Any ships tonight?"}};
  // No per-turn note or instructions: the whole old prompt (ending in the generation prompt) is
  // a prefix of the next one, so the next turn costs only its new tokens.
  const BuiltContext first = builder.build(in);
  in.history.push_back({"assistant", "One, far out."});
  in.history.push_back({"user", "Tell me about the dragon."});
  const BuiltContext second = builder.build(in);
  EXPECT_EQ(common_prefix(first.tokens, second.tokens), first.tokens.size());
  // With a card's lore note and post-history instructions, only they (after the newest user
  // message) differ.
  const CharacterCard card = card_with_lore();
  in.card = &card;
  const BuiltContext third = builder.build(in);
  in.history.push_back({"assistant", "They nest north."});
  in.history.push_back({"user", "And the lamp?"});
  const BuiltContext fourth = builder.build(in);
  const std::string tail_start = "<|im_start|>system\nDragons nest";
  ASSERT_NE(third.prompt.find(tail_start), std::string::npos) << third.prompt;
  const size_t before_tail = builder.tokenize(third.prompt.substr(0, third.prompt.find(tail_start))).size();
  EXPECT_GE(common_prefix(third.tokens, fourth.tokens) + 2, before_tail);
}

TEST(ContextBuilder, BudgetMovesTheWindowInStepsAndKeepsItBetweenTurns) {
  Fixture f;
  ContextBuilder builder(f.chatml, *f.tokenizer);
  ContextInputs in;
  in.budget_tokens = 600;
  for (int i = 0; i < 40; ++i) {
    in.history.push_back({i % 2 ? "assistant" : "user", "message number " + std::to_string(i) + " with some words"});
  }
  const BuiltContext b = builder.build(in);
  EXPECT_LE(b.tokens.size(), 600u);
  EXPECT_GT(b.report.window_start, 0);
  EXPECT_EQ(b.report.turns_in_window, 40 - b.report.window_start);
  EXPECT_NE(b.prompt.find("message number 39"), std::string::npos);
  // One more exchange: the window does not move yet (it moved a third of the budget ahead).
  in.window_start = b.report.window_start;
  in.history.push_back({"assistant", "a reply"});
  in.history.push_back({"user", "a question"});
  const BuiltContext next = builder.build(in);
  EXPECT_EQ(next.report.window_start, b.report.window_start);
  EXPECT_LE(next.tokens.size(), 600u);
  in.budget_tokens = 20;
  EXPECT_THROW(builder.build(in), std::runtime_error);
}

TEST(ContextBuilder, StrictTemplatesGetTheSystemTextAndNoteInsideUserMessages) {
  Fixture f;
  const ChatTemplate strict = ChatTemplate::parse(
      "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}"
      "{% endif %}<{{ m.role }}>{{ m.content }}</{{ m.role }}>{% endfor %}"
      "{% if add_generation_prompt %}<assistant>{% endif %}");
  const CharacterCard card = card_with_lore();
  ContextBuilder builder(strict, *f.tokenizer);
  ContextInputs in;
  in.card = &card;
  in.history = {{"assistant", "Evening."}, {"user", "A dragon!"}};
  const BuiltContext b = builder.build(in);
  EXPECT_TRUE(b.report.note_merged_into_user);
  EXPECT_NE(b.prompt.find("<user>"), std::string::npos);
  EXPECT_NE(b.prompt.find("Mira is a lighthouse keeper."), std::string::npos);
  EXPECT_NE(b.prompt.find("Dragons nest"), std::string::npos);
  EXPECT_EQ(b.prompt.find("<system>"), std::string::npos);
}

}  // namespace
}  // namespace kindred::dialogue

namespace kindred::dialogue {
namespace {

TEST(ContextBuilder, AffectDirectiveGoesInTheNoteAtDepthZeroAndBeforeTheLastMessagesAtDepthN) {
  Fixture f;
  const CharacterCard card = card_with_lore();
  ContextBuilder builder(f.chatml, *f.tokenizer);
  ContextInputs in;
  in.card = &card;
  in.history = {{"assistant", "Hello."}, {"user", "one"}, {"assistant", "two"}, {"user", "three"}};
  in.affect_directive = "[{{char}} feels: joy.]";
  BuiltContext b = builder.build(in);
  EXPECT_EQ(b.report.affect_directive, "[Mira feels: joy.]");
  // Depth 0: in the per-turn note right after the newest user message.
  ASSERT_GE(b.messages.size(), 2u);
  int user3 = -1, directive_at = -1;
  for (int i = 0; i < int(b.messages.size()); ++i) {
    const std::string c = b.messages[i]["content"];
    if (c == "three") user3 = i;
    if (c.find("[Mira feels: joy.]") != std::string::npos) directive_at = i;
  }
  EXPECT_EQ(directive_at, user3 + 1);

  in.affect_depth = 2;  // before "two" and "three"
  b = builder.build(in);
  ASSERT_GE(b.messages.size(), 5u);
  int two = -1;
  directive_at = -1;
  for (int i = 0; i < int(b.messages.size()); ++i) {
    const std::string c = b.messages[i]["content"];
    if (c == "two") two = i;
    if (c == "[Mira feels: joy.]") directive_at = i;
  }
  EXPECT_EQ(directive_at, two - 1);
  EXPECT_EQ(b.messages[directive_at]["role"], "system");

  in.affect_depth = 50;  // deeper than the chat: just after the system prompt
  b = builder.build(in);
  EXPECT_EQ(b.messages[1]["content"], "[Mira feels: joy.]");

  in.affect_depth = -1;
  EXPECT_THROW(builder.build(in), std::runtime_error);
}

}  // namespace
}  // namespace kindred::dialogue
