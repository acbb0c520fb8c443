// What only SqliteStore has: schema version, integrity check, reopening a file, the injected
// clock. The shared contract runs against both backends in store_contract_test.cpp.
#include "store/sqlite_store.h"

#include <gtest/gtest.h>

#include "store_test_util.h"

namespace kindred::store {
namespace {

using testing::TempDir;

class SqliteStoreTest : public ::testing::Test {
 protected:
  TempDir dir;
  SqliteStore store{dir.file("kindred.db"), testing::fast()};

  Session make_session(const std::string& name = "chat") {
    const Character c = store.create_character({.name = "Alice", .card_json = R"({"description":"a fox"})"});
    return store.create_session({.name = name, .character_id = c.id});
  }
};

TEST_F(SqliteStoreTest, FreshDatabaseIsAtLatestVersionAndHealthy) {
  EXPECT_EQ(store.schema_version(), 4);
  EXPECT_EQ(store.integrity_check(), "ok");
}

TEST(SqliteStoreClock, TimestampsComeFromTheClock) {
  TempDir dir;
  Timestamp fake = 1000;
  SqliteOptions options = testing::fast();
  options.clock = [&] { return fake; };
  SqliteStore store(dir.file("clock.db"), options);
  const Character c = store.create_character({.name = "Alice"});
  EXPECT_EQ(c.created_at, 1000);
  const Session s = store.create_session({.name = "s", .character_id = c.id});
  fake = 2000;
  store.update_character({.id = c.id, .name = "Alicia"});
  EXPECT_EQ(store.get_character(c.id)->created_at, 1000);
  EXPECT_EQ(store.get_character(c.id)->updated_at, 2000);
  fake = 3000;
  const Turn t = store.append_turn({.session_id = s.id, .swipes = {"hi"}});
  EXPECT_EQ(t.created_at, 3000);
  EXPECT_EQ(store.get_session(s.id)->updated_at, 3000);  // a new turn touches its session
  EXPECT_EQ(store.get_session(s.id)->created_at, 1000);
  fake = 4000;
  store.add_swipe(t.id, "hello");
  EXPECT_EQ(store.get_session(s.id)->updated_at, 4000);
  // Given timestamps are kept (import relies on this).
  EXPECT_EQ(store.create_memory({.text = "x", .created_at = 5}).created_at, 5);
}

TEST_F(SqliteStoreTest, DataSurvivesReopen) {
  const Session s = make_session();
  store.append_turn({.session_id = s.id, .swipes = {"persisted"}});
  SqliteStore again(dir.file("kindred.db"));
  EXPECT_EQ(again.turns(s.id).at(0).text(), "persisted");
}

TEST_F(SqliteStoreTest, TruncateKeepsTheFileHealthy) {
  const Session s = make_session();
  for (int i = 0; i < 5; ++i) store.append_turn({.session_id = s.id, .swipes = {"t" + std::to_string(i), "alt"}});
  EXPECT_EQ(store.truncate_turns(s.id, 2), 3);
  EXPECT_EQ(store.integrity_check(), "ok");
}

}  // namespace
}  // namespace kindred::store
