// The affective stream inside a chat session (tiny model, the shipped LLM-free appraiser):
// every turn is appraised and annotated in the store, the chain's trajectory is stored per turn,
// the directive reaches the prompt, resume / undo / regenerate continue from the right state,
// and the consistency guard keeps one of its candidates.
#include <gtest/gtest.h>

#include <filesystem>

#include "affect/shipped_classifiers.h"
#include "dialogue/chat_session.h"
#include "model/tiny_model.h"
#include "store/sqlite_store.h"
#include "template/known_templates.h"

namespace kindred::dialogue {
namespace {

struct AffectWorld {
  std::filesystem::path dir;
  std::shared_ptr<const gguf::File> file;
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  ChatTemplate chatml = known_chat_template("chatml");
  std::unique_ptr<store::SqliteStore> db;

  AffectWorld() {
    char tmpl[] = "/tmp/kindred-affect-XXXXXX";
    dir = ::mkdtemp(tmpl);
    test::TinyModelSpec spec;
    spec.arch = "qwen3";
    spec.n_ctx = 1024;
    file = std::make_shared<const gguf::File>(gguf::File::from_bytes(test::make_tiny_model(spec)));
    model = Model::load(file);
    tokenizer = Tokenizer::from_gguf(*file);
    db = std::make_unique<store::SqliteStore>((dir / "chat.db").string());
  }
  ~AffectWorld() { std::filesystem::remove_all(dir); }
  ChatModel chat_model() { return {*model, *tokenizer, chatml}; }
  SessionOptions options() {
    SessionOptions o;
    o.n_ctx = 1024;
    o.n_threads = 1;
    o.max_reply_tokens = 8;
    o.sampling.temperature = 0.0f;
    o.state_dir = dir / "states";
    o.extract_facts = false;
    o.summarize = false;
    o.appraiser = affect::make_default_appraiser();
    return o;
  }
};

CharacterCard card(const nlohmann::json& kindred = nullptr) {
  nlohmann::json data = {{"name", "Mira"}, {"description", "A cheerful, warm lighthouse keeper."},
                         {"first_mes", "Evening, {{user}}."}};
  if (!kindred.is_null()) data["extensions"] = {{"kindred", kindred}};
  return CharacterCard::from_json(nlohmann::json{{"spec", "chara_card_v2"}, {"spec_version", "2.0"}, {"data", data}});
}

nlohmann::json meta(const store::Turn& t) { return nlohmann::json::parse(t.metadata_json); }

TEST(AffectSession, EveryTurnIsAppraisedAndTheTrajectoryStoredPerTurn) {
  AffectWorld w;
  ChatSession chat(*w.db, w.chat_model(), "moods", card(), w.options());
  ASSERT_NE(chat.affect(), nullptr);
  chat.reply("I am so happy and grateful, thank you so much!");
  chat.reply("This is terrible. I hate it and I am furious.");
  const std::vector<store::Turn> turns = chat.turns();
  ASSERT_EQ(turns.size(), 5u);
  for (size_t i = 1; i < turns.size(); ++i) {
    const nlohmann::json m = meta(turns[i]);
    ASSERT_TRUE(m.contains("affect")) << i;
    EXPECT_EQ(m["affect"]["speaker"], turns[i].role == store::Role::User ? "user" : "character");
    EXPECT_EQ(m["affect"]["appraisal"]["labels"].size(), 28u);
    EXPECT_EQ(m["affect"]["state"]["turn"], turns[i].position);
  }
  // The user's detected pleasure follows the messages: positive, then negative.
  const float p1 = meta(turns[1])["affect"]["appraisal"]["pad"][0];
  const float p3 = meta(turns[3])["affect"]["appraisal"]["pad"][0];
  EXPECT_GT(p1, 0.1f);
  EXPECT_LT(p3, -0.1f);
  // The user's filtered emotion moved the same way between the two turns.
  const float e1 = meta(turns[1])["affect"]["state"]["user"]["emotion"][0];
  const float e3 = meta(turns[3])["affect"]["state"]["user"]["emotion"][0];
  EXPECT_LT(e3, e1);
  // The directive for the reply reached the prompt.
  EXPECT_FALSE(chat.last_report().affect_directive.empty());
  EXPECT_NE(chat.last_report().affect_directive.find("Mira"), std::string::npos);
  EXPECT_GT(chat.affect()->last_turn().seconds, 0.0);
  EXPECT_LT(chat.affect()->last_turn().seconds, chat.last_turn_seconds());
}

TEST(AffectSession, ResumeUndoAndRegenerateContinueFromTheStoredState) {
  AffectWorld w;
  affect::AffectSnapshot after_two;
  {
    ChatSession chat(*w.db, w.chat_model(), "resume", card(), w.options());
    chat.reply("I am so happy today!");
    chat.reply("Now I am scared and worried.");
    after_two = chat.affect()->chain().snapshot(4);
  }
  ChatSession again(*w.db, w.chat_model(), "resume", std::nullopt, w.options());
  EXPECT_EQ(again.affect()->chain().snapshot(4), after_two);

  // Undo drops the last exchange: the state is the one stored with turn 2.
  ASSERT_TRUE(again.undo());
  const nlohmann::json turn2 = meta(again.turns()[2])["affect"]["state"];
  EXPECT_EQ(again.affect()->chain().snapshot(turn2["turn"]), affect::AffectSnapshot::from_json(turn2));

  // Regenerate starts from the state after the user's message, not after the old reply.
  const nlohmann::json user1 = meta(again.turns()[1])["affect"]["state"];
  again.regenerate();
  const std::vector<store::Turn> turns = again.turns();
  ASSERT_EQ(turns.size(), 3u);
  EXPECT_EQ(turns[2].swipes.size(), 2u);
  // The new reply's state is one character observation away from the user turn's state: the
  // user side is unchanged.
  const nlohmann::json regenerated = meta(turns[2])["affect"]["state"];
  EXPECT_EQ(regenerated["user"], user1["user"]);
}

TEST(AffectSession, CardPersonalitySetsTheBaselineMood) {
  AffectWorld w;
  const nlohmann::json gloomy = {{"personality", {{"extraversion", -1.0}, {"agreeableness", -1.0}, {"neuroticism", 1.0}}}};
  ChatSession chat(*w.db, w.chat_model(), "gloomy", card(gloomy), w.options());
  EXPECT_FALSE(chat.affect()->personality().estimated);
  EXPECT_LT(chat.affect()->chain().character().mood().p, -0.3f);
  ChatSession bright(*w.db, w.chat_model(), "bright", card(), w.options());
  EXPECT_TRUE(bright.affect()->personality().estimated);  // from the description
  EXPECT_GT(bright.affect()->chain().character().mood().p, chat.affect()->chain().character().mood().p);
}

TEST(AffectSession, ConsistencyGuardKeepsOneOfItsCandidates) {
  AffectWorld w;
  SessionOptions o = w.options();
  o.sampling.temperature = 1.0f;
  o.affect.guard_candidates = 3;
  ChatSession chat(*w.db, w.chat_model(), "guard", card(), o);
  std::string streamed;
  const std::string text = chat.reply("Hello!", [&](std::string_view piece) {
    streamed += piece;
    return true;
  });
  EXPECT_EQ(streamed, text);  // the kept candidate is shown whole
  EXPECT_EQ(chat.affect()->last_turn().guard_candidates, 3);
  EXPECT_EQ(meta(chat.turns().back())["affect"]["guard"]["candidates"], 3);
}

TEST(AffectSession, WithoutAnAppraiserThereIsNoStream) {
  AffectWorld w;
  SessionOptions o = w.options();
  o.appraiser = nullptr;
  ChatSession chat(*w.db, w.chat_model(), "plain", card(), o);
  EXPECT_EQ(chat.affect(), nullptr);
  chat.reply("hi");
  EXPECT_EQ(meta(chat.turns().back()), nlohmann::json::object());
  EXPECT_TRUE(chat.last_report().affect_directive.empty());
}

}  // namespace
}  // namespace kindred::dialogue
