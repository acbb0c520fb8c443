// Export -> import round trips and refusal of malformed documents, on every backend.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "store_backends.h"

namespace kindred::store {
namespace {

using nlohmann::json;
class SessionJsonTest : public testing::BackendTest {
 protected:
  Id session_id = 0;

  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    const Character c =
        store->create_character({.name = "Alice", .card_json = R"({"description":"a fox","tags":["x"]})"});
    const Persona p = store->create_persona({.name = "Sam", .description = "curious"});
    session_id = store
                     ->create_session({.name = "chat",
                                      .character_id = c.id,
                                      .persona_id = p.id,
                                      .settings_json = R"({"temperature":0.8})",
                                      .kv_state_path = "/tmp/kv.bin"})
                     .id;
    store->append_turn({.session_id = session_id, .role = Role::System, .swipes = {"You are Alice."}});
    store->append_turn({.session_id = session_id, .role = Role::User, .swipes = {"Hi \"fox\" \xc3\xa9\n"}});
    store->append_turn({.session_id = session_id,
                       .role = Role::Assistant,
                       .swipes = {"Hello!", "Hey!", "Yo."},
                       .active_swipe = 2,
                       .metadata_json = R"({"affect":{"valence":0.5}})"});
    store->create_memory({.session_id = session_id,
                         .kind = MemoryKind::Summary,
                         .level = 1,
                         .text = "greetings",
                         .first_turn = 0,
                         .last_turn = 2,
                         .embedding = {0.1f, -2.5f, 1e-30f, 123456.789f}});
    store->create_memory({.session_id = session_id, .kind = MemoryKind::Fact, .text = "Sam is curious"});
    store->create_memory({.kind = MemoryKind::Note, .text = "global, not exported"});
  }
};

void expect_same_turns(const std::vector<Turn>& a, const std::vector<Turn>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].position, b[i].position);
    EXPECT_EQ(a[i].role, b[i].role);
    EXPECT_EQ(a[i].swipes, b[i].swipes);
    EXPECT_EQ(a[i].active_swipe, b[i].active_swipe);
    EXPECT_EQ(a[i].created_at, b[i].created_at);
    EXPECT_EQ(a[i].metadata_json, b[i].metadata_json);
  }
}

void expect_same_memories(const std::vector<Memory>& a, const std::vector<Memory>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].kind, b[i].kind);
    EXPECT_EQ(a[i].level, b[i].level);
    EXPECT_EQ(a[i].text, b[i].text);
    EXPECT_EQ(a[i].first_turn, b[i].first_turn);
    EXPECT_EQ(a[i].last_turn, b[i].last_turn);
    EXPECT_EQ(a[i].embedding, b[i].embedding);  // bit-exact through JSON
    EXPECT_EQ(a[i].created_at, b[i].created_at);
    EXPECT_EQ(a[i].metadata_json, b[i].metadata_json);
  }
}

TEST_P(SessionJsonTest, RoundTripIntoAnotherStore) {
  const std::string doc = store->export_session_json(session_id);
  const auto other_backend = fresh_backend();
  Store& other = other_backend->store();
  const Id imported = other.import_session_json(doc);

  const Session a = *store->get_session(session_id);
  const Session b = *other.get_session(imported);
  EXPECT_EQ(b.name, a.name);
  EXPECT_EQ(b.settings_json, a.settings_json);
  EXPECT_EQ(b.created_at, a.created_at);
  EXPECT_FALSE(b.kv_state_path);  // machine-local, not exported
  const Character ca = *store->get_character(a.character_id);
  const Character cb = *other.get_character(b.character_id);
  EXPECT_EQ(cb.name, ca.name);
  EXPECT_EQ(cb.card_json, ca.card_json);
  EXPECT_EQ(cb.created_at, ca.created_at);
  EXPECT_EQ(cb.updated_at, ca.updated_at);
  ASSERT_TRUE(b.persona_id);
  EXPECT_EQ(other.get_persona(*b.persona_id)->description, "curious");
  expect_same_turns(store->turns(session_id), other.turns(imported));
  expect_same_memories(store->list_memories({.session_id = session_id}), other.list_memories({.session_id = imported}));
  EXPECT_TRUE(other.list_memories({}).empty());

  // Exporting the copy gives the same document, apart from the session's updated_at.
  json ja = json::parse(doc);
  json jb = json::parse(other.export_session_json(imported));
  ja["session"].erase("updated_at");
  jb["session"].erase("updated_at");
  EXPECT_EQ(ja, jb);
}

TEST_P(SessionJsonTest, ImportIntoSameStoreNeedsNewName) {
  const std::string doc = store->export_session_json(session_id);
  try {
    store->import_session_json(doc);
    FAIL() << "imported a duplicate name";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("already exists"), std::string::npos) << e.what();
  }
  EXPECT_EQ(store->list_characters().size(), 1u);  // the character created first was rolled back
  EXPECT_EQ(store->list_personas().size(), 1u);
  const Id copy = store->import_session_json(doc, "chat (copy)");
  EXPECT_NE(copy, session_id);
  EXPECT_EQ(store->get_session(copy)->name, "chat (copy)");
  expect_same_turns(store->turns(session_id), store->turns(copy));
  EXPECT_EQ(store->list_characters().size(), 2u);  // new ids, new records
}

TEST_P(SessionJsonTest, ExportOfUnknownSessionFails) {
  EXPECT_THROW(store->export_session_json(999), StoreError);
}

// Each malformed document is refused with a message naming the field, and writes nothing.
TEST_P(SessionJsonTest, MalformedDocumentsAreRejectedWithoutPartialWrites) {
  const json good = json::parse(store->export_session_json(session_id));
  struct Case {
    const char* field;  // expected in the message
    std::function<void(json&)> damage;
  };
  const std::vector<Case> cases = {
      {"$.format", [](json& j) { j["format"] = "other"; }},
      {"$.version", [](json& j) { j["version"] = 7; }},
      {"$.character", [](json& j) { j.erase("character"); }},
      {"$.character.name", [](json& j) { j["character"]["name"] = 5; }},
      {"$.session.name", [](json& j) { j["session"].erase("name"); }},
      {"$.persona", [](json& j) { j["persona"] = "Sam"; }},
      {"$.turns", [](json& j) { j["turns"] = json::object(); }},
      {"$.turns[2].swipes", [](json& j) { j["turns"][2]["swipes"] = json::array(); }},
      {"$.turns[1].swipes[0]", [](json& j) { j["turns"][1]["swipes"][0] = nullptr; }},
      {"$.turns[0].role", [](json& j) { j["turns"][0]["role"] = "narrator"; }},
      {"$.turns[2].active_swipe", [](json& j) { j["turns"][2]["active_swipe"] = 3; }},
      {"$.memories[0].kind", [](json& j) { j["memories"][0]["kind"] = "dream"; }},
      {"$.memories[0].embedding[1]", [](json& j) { j["memories"][0]["embedding"][1] = "x"; }},
      {"$.memories[1].first_turn", [](json& j) { j["memories"][1]["first_turn"] = -4; }},
      {"$.memories[1].text", [](json& j) { j["memories"][1].erase("text"); }},
  };
  for (const Case& c : cases) {
    json bad = good;
    c.damage(bad);
    try {
      store->import_session_json(bad.dump(), "imported");
      ADD_FAILURE() << c.field << ": accepted";
    } catch (const StoreError& e) {
      EXPECT_NE(std::string(e.what()).find(c.field), std::string::npos) << c.field << " -> " << e.what();
    }
  }
  EXPECT_THROW(store->import_session_json("{not json", "x"), StoreError);
  EXPECT_THROW(store->import_session_json("[]", "x"), StoreError);
  // A document that parses but fails in the store (empty memory text) is rolled back whole.
  json late = good;
  late["memories"][1]["text"] = "";
  EXPECT_THROW(store->import_session_json(late.dump(), "late"), StoreError);

  EXPECT_EQ(store->list_sessions().size(), 1u);
  EXPECT_EQ(store->list_characters().size(), 1u);
  EXPECT_EQ(store->list_personas().size(), 1u);
  EXPECT_FALSE(store->find_session_by_name("late"));
  EXPECT_EQ(store->list_memories({.session_id = session_id, .include_global = true}).size(), 3u);
}

KINDRED_ALL_BACKENDS(SessionJsonTest);

}  // namespace
}  // namespace kindred::store
