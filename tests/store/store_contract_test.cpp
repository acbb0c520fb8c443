// The Store contract (store.h) -- CRUD, swipes, truncation, validation, transactions -- run
// against every backend (store_backends.h: SQLite always, PostgreSQL with KINDRED_TEST_PG_URL).
#include <gtest/gtest.h>

#include "store_backends.h"

namespace kindred::store {
namespace {

using testing::expect_store_error;

class StoreContract : public testing::BackendTest {
 protected:
  Session make_session(const std::string& name = "chat") {
    const Character c = store->create_character({.name = "Alice", .card_json = R"({"description":"a fox"})"});
    return store->create_session({.name = name, .character_id = c.id});
  }
};

TEST_P(StoreContract, CharacterCrud) {
  const Character c = store->create_character({.name = "Alice", .card_json = R"({"a":1})"});
  EXPECT_GT(c.id, 0);
  EXPECT_GT(c.created_at, 0);
  EXPECT_EQ(c.updated_at, c.created_at);
  auto got = store->get_character(c.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->name, "Alice");
  EXPECT_EQ(got->card_json, R"({"a":1})");

  Character changed = *got;
  changed.name = "Alicia";
  changed.card_json = R"({"a":2})";
  store->update_character(changed);
  got = store->get_character(c.id);
  EXPECT_EQ(got->name, "Alicia");
  EXPECT_EQ(got->card_json, R"({"a":2})");
  EXPECT_GE(got->updated_at, c.updated_at);

  store->create_character({.name = "Bob"});
  ASSERT_EQ(store->list_characters().size(), 2u);
  store->delete_character(c.id);
  EXPECT_FALSE(store->get_character(c.id));
  ASSERT_EQ(store->list_characters().size(), 1u);
  EXPECT_EQ(store->list_characters()[0].name, "Bob");
}

TEST_P(StoreContract, CharacterValidation) {
  expect_store_error([&] { store->create_character({.name = ""}); }, {"create_character", "name"});
  expect_store_error([&] { store->create_character({.name = "X", .card_json = "{oops"}); },
                     {"create_character 'X'", "card_json", "invalid JSON"});
  expect_store_error([&] { store->update_character({.id = 99, .name = "X"}); }, {"update_character 99", "no such"});
  expect_store_error([&] { store->delete_character(99); }, {"delete_character 99"});
  EXPECT_TRUE(store->list_characters().empty());
  // A character still used by a session cannot go.
  const Session s = make_session();
  expect_store_error([&] { store->delete_character(s.character_id); }, {"still use it"});
  EXPECT_TRUE(store->get_character(s.character_id));
}

TEST_P(StoreContract, PersonaCrudAndDeleteClearsSessions) {
  const Persona p = store->create_persona({.name = "Sam", .description = "a student"});
  EXPECT_EQ(store->get_persona(p.id)->description, "a student");
  store->update_persona({.id = p.id, .name = "Sam", .description = "a teacher"});
  EXPECT_EQ(store->get_persona(p.id)->description, "a teacher");
  EXPECT_EQ(store->list_personas().size(), 1u);

  const Character c = store->create_character({.name = "Alice"});
  const Session s = store->create_session({.name = "s", .character_id = c.id, .persona_id = p.id});
  EXPECT_EQ(store->get_session(s.id)->persona_id, p.id);
  store->delete_persona(p.id);
  EXPECT_FALSE(store->get_persona(p.id));
  EXPECT_FALSE(store->get_session(s.id)->persona_id);
  expect_store_error([&] { store->delete_persona(p.id); }, {"delete_persona", "no such persona"});
  expect_store_error([&] { store->create_persona({.name = ""}); }, {"create_persona", "name"});
}

TEST_P(StoreContract, SessionCrud) {
  const Character c = store->create_character({.name = "Alice"});
  const Session s = store->create_session(
      {.name = "chat", .character_id = c.id, .settings_json = R"({"temperature":0.7})", .kv_state_path = "/k/1.bin"});
  auto got = store->get_session(s.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->name, "chat");
  EXPECT_EQ(got->character_id, c.id);
  EXPECT_FALSE(got->persona_id);
  EXPECT_EQ(got->settings_json, R"({"temperature":0.7})");
  EXPECT_EQ(got->kv_state_path, "/k/1.bin");
  EXPECT_EQ(store->find_session_by_name("chat")->id, s.id);
  EXPECT_FALSE(store->find_session_by_name("nope"));

  got->name = "renamed";
  got->kv_state_path.reset();
  store->update_session(*got);
  EXPECT_FALSE(store->find_session_by_name("chat"));
  EXPECT_FALSE(store->find_session_by_name("renamed")->kv_state_path);

  const Session s2 = store->create_session({.name = "second", .character_id = c.id});
  const auto all = store->list_sessions();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, s2.id);  // most recently updated first

  store->delete_session(s.id);
  EXPECT_FALSE(store->get_session(s.id));
  EXPECT_EQ(store->list_sessions().size(), 1u);
}

TEST_P(StoreContract, SessionValidation) {
  const Session s = make_session("chat");
  expect_store_error([&] { store->create_session({.name = "chat", .character_id = s.character_id}); },
                     {"create_session 'chat'", "already exists"});
  expect_store_error([&] { store->create_session({.name = "x", .character_id = 42}); }, {"character 42 does not exist"});
  expect_store_error([&] { store->create_session({.name = "x", .character_id = s.character_id, .persona_id = 7}); },
                     {"persona 7 does not exist"});
  expect_store_error([&] { store->create_session({.name = "x", .character_id = s.character_id, .settings_json = "["}); },
                     {"settings_json", "invalid JSON"});
  expect_store_error([&] { store->update_session({.id = 77, .name = "y", .character_id = s.character_id}); },
                     {"update_session 77", "session 77 does not exist"});
  EXPECT_EQ(store->list_sessions().size(), 1u);
}

TEST_P(StoreContract, TurnsAppendInOrder) {
  const Session s = make_session();
  const Turn t0 = store->append_turn({.session_id = s.id, .role = Role::System, .swipes = {"be kind"}});
  const Turn t1 = store->append_turn({.session_id = s.id, .role = Role::User, .swipes = {"hi"}});
  const Turn t2 = store->append_turn({.session_id = s.id,
                                     .role = Role::Assistant,
                                     .swipes = {"hello", "hey"},
                                     .active_swipe = 1,
                                     .metadata_json = R"({"affect":"warm"})"});
  EXPECT_EQ(t0.position, 0);
  EXPECT_EQ(t1.position, 1);
  EXPECT_EQ(t2.position, 2);
  const auto turns = store->turns(s.id);
  ASSERT_EQ(turns.size(), 3u);
  EXPECT_EQ(turns[0].role, Role::System);
  EXPECT_EQ(turns[1].text(), "hi");
  EXPECT_EQ(turns[2].swipes, (std::vector<std::string>{"hello", "hey"}));
  EXPECT_EQ(turns[2].text(), "hey");
  EXPECT_EQ(turns[2].metadata_json, R"({"affect":"warm"})");
  EXPECT_EQ(turns[2].id, t2.id);
  EXPECT_EQ(store->get_turn(t1.id)->text(), "hi");
  EXPECT_FALSE(store->get_turn(9999));
  store->set_turn_metadata(t1.id, R"({"intent":"greet"})");
  EXPECT_EQ(store->get_turn(t1.id)->metadata_json, R"({"intent":"greet"})");
}

TEST_P(StoreContract, BadTurnsAreRejectedAndChangeNothing) {
  const Session s = make_session();
  store->append_turn({.session_id = s.id, .swipes = {"hi"}});
  expect_store_error([&] { store->append_turn({.session_id = 404, .swipes = {"x"}}); },
                     {"append_turn (session 404)", "session 404 does not exist"});
  expect_store_error([&] { store->append_turn({.session_id = s.id, .swipes = {}}); }, {"swipes"});
  expect_store_error([&] { store->append_turn({.session_id = s.id, .swipes = {"a"}, .active_swipe = 1}); },
                     {"active_swipe"});
  expect_store_error([&] { store->append_turn({.session_id = s.id, .swipes = {"a"}, .metadata_json = "{x"}); },
                     {"metadata_json", "invalid JSON"});
  const Turn t = store->turns(s.id)[0];
  expect_store_error([&] { store->set_turn_metadata(t.id, "nope"); }, {"set_turn_metadata", "invalid JSON"});
  expect_store_error([&] { store->set_active_swipe(t.id, 3); }, {"set_active_swipe", "out of range"});
  expect_store_error([&] { store->add_swipe(555, "x"); }, {"add_swipe (turn 555)", "does not exist"});
  expect_store_error([&] { store->truncate_turns(s.id, -1); }, {"truncate_turns"});
  const auto turns = store->turns(s.id);
  ASSERT_EQ(turns.size(), 1u);
  EXPECT_EQ(turns[0].swipes, std::vector<std::string>{"hi"});
  EXPECT_EQ(turns[0].metadata_json, "{}");
}

TEST_P(StoreContract, Swipes) {
  const Session s = make_session();
  const Turn t = store->append_turn({.session_id = s.id, .role = Role::Assistant, .swipes = {"first"}});
  EXPECT_EQ(store->add_swipe(t.id, "second"), 1);
  EXPECT_EQ(store->get_turn(t.id)->text(), "second");
  EXPECT_EQ(store->add_swipe(t.id, "third", /*make_active=*/false), 2);
  EXPECT_EQ(store->get_turn(t.id)->active_swipe, 1);
  store->set_active_swipe(t.id, 0);
  EXPECT_EQ(store->get_turn(t.id)->text(), "first");
  store->edit_turn_text(t.id, "first, edited");
  const Turn got = *store->get_turn(t.id);
  EXPECT_EQ(got.swipes, (std::vector<std::string>{"first, edited", "second", "third"}));
  EXPECT_EQ(got.active_swipe, 0);
}

TEST_P(StoreContract, TruncateForUndoAndRegenerate) {
  const Session s = make_session();
  for (int i = 0; i < 5; ++i) store->append_turn({.session_id = s.id, .swipes = {"t" + std::to_string(i)}});
  EXPECT_EQ(store->truncate_turns(s.id, 3), 2);
  auto turns = store->turns(s.id);
  ASSERT_EQ(turns.size(), 3u);
  EXPECT_EQ(turns.back().text(), "t2");
  // The next turn takes the freed position.
  EXPECT_EQ(store->append_turn({.session_id = s.id, .swipes = {"again"}}).position, 3);
  EXPECT_EQ(store->truncate_turns(s.id, 10), 0);
  EXPECT_EQ(store->truncate_turns(s.id, 0), 4);
  EXPECT_TRUE(store->turns(s.id).empty());
}

TEST_P(StoreContract, MemoriesCrudAndFilters) {
  const Session s = make_session("a");
  const Session other = make_session("b");
  const Memory fact = store->create_memory({.session_id = s.id, .kind = MemoryKind::Fact, .text = "likes tea"});
  const Memory summary = store->create_memory({.session_id = s.id,
                                              .kind = MemoryKind::Summary,
                                              .level = 1,
                                              .text = "they met",
                                              .first_turn = 0,
                                              .last_turn = 9,
                                              .embedding = {0.5f, -1.25f, 3e-8f},
                                              .metadata_json = R"({"model":"x"})"});
  const Memory global = store->create_memory({.kind = MemoryKind::Note, .text = "user is vegan"});
  store->create_memory({.session_id = other.id, .kind = MemoryKind::Fact, .text = "other"});

  const auto got = store->get_memory(summary.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->level, 1);
  EXPECT_EQ(got->first_turn, 0);
  EXPECT_EQ(got->last_turn, 9);
  EXPECT_EQ(got->embedding, (std::vector<float>{0.5f, -1.25f, 3e-8f}));
  EXPECT_EQ(got->metadata_json, R"({"model":"x"})");
  EXPECT_TRUE(store->get_memory(fact.id)->embedding.empty());
  EXPECT_FALSE(store->get_memory(fact.id)->first_turn);

  EXPECT_EQ(store->list_memories({.session_id = s.id}).size(), 2u);
  EXPECT_EQ(store->list_memories({.session_id = s.id, .include_global = true}).size(), 3u);
  const auto summaries = store->list_memories({.session_id = s.id, .kind = MemoryKind::Summary});
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0].id, summary.id);
  const auto globals = store->list_memories({});
  ASSERT_EQ(globals.size(), 1u);
  EXPECT_EQ(globals[0].id, global.id);

  Memory edited = *got;
  edited.text = "they met in Paris";
  edited.embedding.clear();
  store->update_memory(edited);
  EXPECT_EQ(store->get_memory(summary.id)->text, "they met in Paris");
  EXPECT_TRUE(store->get_memory(summary.id)->embedding.empty());
  store->delete_memory(fact.id);
  EXPECT_FALSE(store->get_memory(fact.id));

  // Deleting a session takes its memories (not the global ones) along.
  store->delete_session(s.id);
  EXPECT_FALSE(store->get_memory(summary.id));
  EXPECT_TRUE(store->get_memory(global.id));
}

TEST_P(StoreContract, BadMemoriesAreRejected) {
  const Session s = make_session();
  expect_store_error([&] { store->create_memory({.session_id = 31, .text = "x"}); }, {"session 31 does not exist"});
  expect_store_error([&] { store->create_memory({.text = ""}); }, {"create_memory", "text"});
  expect_store_error([&] { store->create_memory({.level = -1, .text = "x"}); }, {"level"});
  expect_store_error([&] { store->create_memory({.text = "x", .first_turn = 5, .last_turn = 2}); }, {"first_turn"});
  expect_store_error([&] { store->create_memory({.text = "x", .metadata_json = "]"}); }, {"metadata_json"});
  expect_store_error([&] { store->update_memory({.id = 8, .text = "x"}); }, {"update_memory 8", "no such memory"});
  EXPECT_TRUE(store->list_memories({.session_id = s.id, .include_global = true}).empty());
}

TEST_P(StoreContract, WithTransactionCommitsTogetherOrNotAtAll) {
  const Session s = make_session();
  store->with_transaction([&](Store& tx) {
    tx.append_turn({.session_id = s.id, .swipes = {"a"}});
    tx.append_turn({.session_id = s.id, .swipes = {"b"}});
  });
  EXPECT_EQ(store->turns(s.id).size(), 2u);

  EXPECT_THROW(store->with_transaction([&](Store& tx) {
    tx.append_turn({.session_id = s.id, .swipes = {"c"}});
    throw std::runtime_error("caller gives up");
  }),
               std::runtime_error);
  EXPECT_EQ(store->turns(s.id).size(), 2u);

  // A failed mutation inside a transaction undoes only itself; the rest still commits.
  store->with_transaction([&](Store& tx) {
    tx.append_turn({.session_id = s.id, .swipes = {"d"}});
    EXPECT_THROW(tx.append_turn({.session_id = s.id, .swipes = {}}), StoreError);
    tx.with_transaction([&](Store& inner) { inner.append_turn({.session_id = s.id, .swipes = {"e"}}); });
  });
  const auto turns = store->turns(s.id);
  ASSERT_EQ(turns.size(), 4u);
  EXPECT_EQ(turns[2].text(), "d");
  EXPECT_EQ(turns[3].text(), "e");
  EXPECT_EQ(turns[3].position, 3);
}

KINDRED_ALL_BACKENDS(StoreContract);

}  // namespace
}  // namespace kindred::store
