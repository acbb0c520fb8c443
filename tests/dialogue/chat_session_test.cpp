// Chat sessions on a tiny model and a SQLite store: turns persist, the next turn reuses the
// cached prompt, regenerate/swipe/edit/undo, resume from a saved KV state, and the needle test
// (planted facts recalled from a 10,000-turn conversation into the built context).
#include "dialogue/chat_session.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "model/tiny_model.h"
#include "store/sqlite_store.h"

namespace kindred::dialogue {
namespace {

struct World {
  std::filesystem::path dir;
  std::shared_ptr<const gguf::File> file;
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  ChatTemplate chatml = known_chat_template("chatml");
  std::unique_ptr<store::SqliteStore> db;

  World() {
    char tmpl[] = "/tmp/kindred-chat-XXXXXX";
    dir = ::mkdtemp(tmpl);
    test::TinyModelSpec spec;
    spec.arch = "qwen3";
    spec.weight_type = DType::Q8_0;
    file = std::make_shared<const gguf::File>(gguf::File::from_bytes(test::make_tiny_model(spec)));
    model = Model::load(file);
    tokenizer = Tokenizer::from_gguf(*file);
    db = std::make_unique<store::SqliteStore>((dir / "chat.db").string());
  }
  ~World() { std::filesystem::remove_all(dir); }
  ChatModel chat_model() { return {*model, *tokenizer, chatml}; }
  SessionOptions options() {
    SessionOptions o;
    o.n_ctx = 1024;
    o.n_threads = 2;
    o.max_reply_tokens = 12;
    o.sampling.temperature = 0.0f;
    o.state_dir = dir / "states";
    o.extract_facts = false;
    o.summarize = false;
    return o;
  }
};

CharacterCard card() {
  return CharacterCard::from_json(nlohmann::json{
      {"spec", "chara_card_v2"},
      {"spec_version", "2.0"},
      {"data", {{"name", "Mira"}, {"description", "A lighthouse keeper."}, {"first_mes", "Evening, {{user}}."},
                {"alternate_greetings", {"Storm's coming."}}}}});
}

TEST(ChatSession, TurnsPersistAndTheNextTurnReusesThePrompt) {
  World w;
  ChatSession chat(*w.db, w.chat_model(), "lighthouse", card(), w.options());
  ASSERT_EQ(chat.turns().size(), 1u);  // the greeting, with the alternate one as a swipe
  EXPECT_EQ(chat.turns()[0].swipes.size(), 2u);
  chat.reply("Hello Mira, any ships tonight?");
  const int first_prompt = chat.last_prompt_tokens();
  EXPECT_EQ(chat.last_reused_tokens(), 0);
  ASSERT_EQ(chat.turns().size(), 3u);
  chat.reply("Tell me more.");
  // The new prompt starts with the old one: only the reply and the new message are computed.
  EXPECT_GE(chat.last_reused_tokens(), first_prompt);
  const int computed = chat.last_prompt_tokens() - chat.last_reused_tokens();
  EXPECT_LE(computed, chat.last_prompt_tokens() - first_prompt);  // the reply and the new message only
  EXPECT_EQ(chat.turns().size(), 5u);
}

TEST(ChatSession, RegenerateSwipeEditUndo) {
  World w;
  SessionOptions o = w.options();
  o.sampling.temperature = 1.0f;
  ChatSession chat(*w.db, w.chat_model(), "edits", card(), o);
  chat.reply("Hi!");
  chat.regenerate();
  std::vector<store::Turn> turns = chat.turns();
  ASSERT_EQ(turns.back().swipes.size(), 2u);
  EXPECT_EQ(turns.back().active_swipe, 1);
  EXPECT_TRUE(chat.swipe(-1));
  EXPECT_FALSE(chat.swipe(-1));
  EXPECT_EQ(chat.turns().back().active_swipe, 0);
  chat.edit(1, "Hi there!");
  EXPECT_EQ(chat.turns()[1].text(), "Hi there!");
  EXPECT_THROW(chat.edit(42, "x"), std::runtime_error);
  EXPECT_TRUE(chat.undo());
  EXPECT_EQ(chat.turns().size(), 1u);
  EXPECT_FALSE(chat.undo());
}

TEST(ChatSession, ResumesFromSavedStateWithoutReprocessing) {
  World w;
  int prompt_before = 0;
  {
    ChatSession chat(*w.db, w.chat_model(), "resume", card(), w.options());
    chat.reply("Remember the red boat.");
    chat.reply("And the blue one.");
    prompt_before = chat.last_prompt_tokens();
    chat.save();
  }
  ChatSession again(*w.db, w.chat_model(), "resume", std::nullopt, w.options());
  EXPECT_TRUE(again.resumed_from_state());
  ASSERT_EQ(again.turns().size(), 5u);
  again.reply("Which boats?");
  EXPECT_GE(again.last_reused_tokens(), prompt_before);
  // Opening a session that does not exist needs a card.
  EXPECT_THROW(ChatSession(*w.db, w.chat_model(), "nobody", std::nullopt, w.options()), std::runtime_error);
}

// 10,000 turns with 20 planted facts: each fact, asked for at the end, is in the built context.
TEST(ChatSession, NeedleFactsFromTenThousandTurnsReachTheContext) {
  World w;
  ChatSession(*w.db, w.chat_model(), "long", card(), w.options());  // creates the session
  const store::Id sid = w.db->find_session_by_name("long")->id;
  const std::vector<std::pair<std::string, std::string>> facts = {
      {"My sister's name is Ayesha.", "What is my sister's name?"},
      {"I am allergic to peanuts.", "What am I allergic to?"},
      {"My flight to Lisbon leaves on the 14th.", "When does my flight to Lisbon leave?"},
      {"Our dog Biscuit is a beagle.", "What breed is Biscuit?"},
      {"I work as a marine biologist in Oban.", "Where do I work as a biologist?"},
      {"My favourite book is Moby Dick.", "Which book is my favourite?"},
      {"I was born in Nairobi.", "Where was I born?"},
      {"My locker code is 4471.", "What is my locker code?"},
  };
  const char* small_talk[] = {"The weather is grey again.", "I had tea this morning.", "Work was long today.",
                              "The sea looks calm.", "I watched a film last night.", "The bus was late.",
                              "My neighbour painted the fence.", "I might go for a walk."};
  w.db->with_transaction([&](store::Store& s) {
    for (int i = 0; i < 10000; ++i) {
      std::string text = small_talk[(i * 7) % 8];
      if (i % 1200 == 600 && i / 1200 < static_cast<int>(facts.size())) text = facts[static_cast<size_t>(i / 1200)].first;
      s.append_turn({.session_id = sid, .role = i % 2 ? store::Role::Assistant : store::Role::User, .swipes = {text}});
    }
  });
  ChatSession chat(*w.db, w.chat_model(), "long", std::nullopt, w.options());
  int found = 0;
  for (const auto& [fact, question] : facts) {
    const BuiltContext built = chat.preview(question);
    EXPECT_GT(built.report.window_start, 9000) << "the history window should hold only recent turns";
    if (built.prompt.find(fact) != std::string::npos) {
      ++found;
    } else {
      std::string used;
      for (const std::string& m : built.report.memories) used += "\n  " + m;
      ADD_FAILURE() << "not recalled: " << fact << "; recalled:" << used;
    }
  }
  EXPECT_EQ(found, static_cast<int>(facts.size()));
}

}  // namespace
}  // namespace kindred::dialogue
