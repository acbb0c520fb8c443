// Opening databases of other schema versions, and files that are not databases at all.
#include "store/migrations.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "store/sqlite_store.h"
#include "store_test_util.h"

namespace kindred::store {
namespace {

using testing::TempDir;

// Runs SQL on a raw connection, as an older (or newer) Kindred would have.
void raw_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The version-1 schema exactly as the first release wrote it, with a little data.
constexpr const char* kVersion1Database = R"sql(
CREATE TABLE characters (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,
  card TEXT NOT NULL DEFAULT '{}', created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE personas (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '');
CREATE TABLE sessions (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,
  character_id INTEGER NOT NULL REFERENCES characters(id) ON DELETE RESTRICT,
  persona_id INTEGER REFERENCES personas(id) ON DELETE SET NULL, settings TEXT NOT NULL DEFAULT '{}',
  kv_state_path TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE INDEX sessions_character ON sessions(character_id);
CREATE INDEX sessions_persona ON sessions(persona_id);
CREATE TABLE turns (id INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  position INTEGER NOT NULL CHECK (position >= 0),
  role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
  active_swipe INTEGER NOT NULL DEFAULT 0 CHECK (active_swipe >= 0), created_at INTEGER NOT NULL,
  UNIQUE (session_id, position));
CREATE TABLE swipes (turn_id INTEGER NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
  idx INTEGER NOT NULL CHECK (idx >= 0), text TEXT NOT NULL, PRIMARY KEY (turn_id, idx)) WITHOUT ROWID;
INSERT INTO characters VALUES (1, 'Alice', '{"v":1}', 1000, 1000);
INSERT INTO sessions VALUES (1, 'old chat', 1, NULL, '{}', NULL, 1000, 2000);
INSERT INTO turns VALUES (1, 1, 0, 'user', 0, 1500);
INSERT INTO swipes VALUES (1, 0, 'hello from v1');
INSERT INTO turns VALUES (2, 1, 1, 'assistant', 1, 1600);
INSERT INTO swipes VALUES (2, 0, 'hi');
INSERT INTO swipes VALUES (2, 1, 'hey there');
PRAGMA user_version = 1;
)sql";

TEST(Migrations, AreOrderedAndEndAtTheLatestVersion) {
  const auto steps = sqlite::migrations();
  ASSERT_FALSE(steps.empty());
  for (std::size_t i = 0; i < steps.size(); ++i) EXPECT_EQ(steps[i].version, static_cast<int>(i) + 1);
  EXPECT_EQ(sqlite::latest_schema_version(), steps.back().version);
}

TEST(Migrations, Version1DatabaseIsMigratedWithItsData) {
  TempDir dir;
  const std::string path = dir.file("old.db");
  raw_exec(path, kVersion1Database);

  SqliteStore store(path);
  EXPECT_EQ(store.schema_version(), sqlite::latest_schema_version());
  EXPECT_EQ(store.integrity_check(), "ok");
  const auto session = store.find_session_by_name("old chat");
  ASSERT_TRUE(session);
  const auto turns = store.turns(session->id);
  ASSERT_EQ(turns.size(), 2u);
  EXPECT_EQ(turns[0].text(), "hello from v1");
  EXPECT_EQ(turns[0].metadata_json, "{}");  // the column version 2 added
  EXPECT_EQ(turns[1].text(), "hey there");
  // Version 2's memories work, and new ids follow the old ones.
  const Memory m = store.create_memory({.session_id = session->id, .text = "migrated"});
  EXPECT_EQ(store.list_memories({.session_id = session->id}).at(0).id, m.id);
  EXPECT_EQ(store.append_turn({.session_id = session->id, .swipes = {"new"}}).id, 3);
}

// Turns a version-1 database into version 2 as that release did, with a deleted session (so
// the id sequence is ahead of the highest id) and a memory.
constexpr const char* kVersion2Additions = R"sql(
ALTER TABLE turns ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
CREATE TABLE memories (id INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id INTEGER REFERENCES sessions(id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('fact', 'summary', 'note')), level INTEGER NOT NULL DEFAULT 0 CHECK (level >= 0),
  text TEXT NOT NULL, first_turn INTEGER, last_turn INTEGER, embedding BLOB NOT NULL DEFAULT x'',
  created_at INTEGER NOT NULL, metadata TEXT NOT NULL DEFAULT '{}');
CREATE INDEX memories_session_kind ON memories(session_id, kind);
CREATE INDEX sessions_updated ON sessions(updated_at);
INSERT INTO sessions VALUES (2, 'deleted later', 1, NULL, '{}', NULL, 1000, 2000);
DELETE FROM sessions WHERE id = 2;
INSERT INTO memories (session_id, kind, text, created_at) VALUES (1, 'fact', 'likes tea', 1700);
PRAGMA user_version = 2;
)sql";

// A version-2 database (before tenants): sessions are rebuilt for per-tenant names. Ids, the
// id sequence (a deleted highest id stays unused) and the turns' references must survive.
TEST(Migrations, Version2SessionsMoveToTheDefaultTenant) {
  TempDir dir;
  const std::string path = dir.file("v2.db");
  raw_exec(path, std::string(kVersion1Database) + kVersion2Additions);

  SqliteStore store(path);
  EXPECT_EQ(store.schema_version(), sqlite::latest_schema_version());
  EXPECT_EQ(store.integrity_check(), "ok");
  const auto old = store.find_session_by_name("old chat");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->id, 1);
  EXPECT_EQ(old->tenant, "");
  EXPECT_EQ(old->updated_at, 2000);
  EXPECT_EQ(store.get_character(1)->tenant, "");
  EXPECT_EQ(store.turns(1).size(), 2u);
  // The sequence came along: id 2 was used (and deleted) before the rebuild.
  const Session again = store.create_session({.name = "new", .character_id = 1});
  EXPECT_EQ(again.id, 3);
  // Per-tenant names now; foreign keys are back ON (the cascade below needs them) and the
  // references to the rebuilt table still hold.
  const Character acme = store.create_character({.tenant = "acme", .name = "Alice"});
  EXPECT_NO_THROW(store.create_session({.tenant = "acme", .name = "old chat", .character_id = acme.id}));
  store.delete_session(1);
  EXPECT_TRUE(store.turns(1).empty());
  EXPECT_TRUE(store.list_memories({.session_id = 1}).empty());
  EXPECT_THROW(store.delete_character(1), StoreError);  // session 3 still uses it
}

// The rebuild runs with foreign keys OFF; when it fails, nothing of it stays -- above all, the
// old sessions table and the turns that reference it.
TEST(Migrations, FailedRebuildLeavesVersion2Intact) {
  TempDir dir;
  const std::string path = dir.file("clash3.db");
  // A stray table makes step 3's CREATE TABLE sessions_v3 fail after its ALTER TABLE ran.
  raw_exec(path, std::string(kVersion1Database) + kVersion2Additions + "CREATE TABLE sessions_v3 (x);");
  try {
    SqliteStore store(path);
    FAIL() << "opened";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("migrate to schema version 3"), std::string::npos) << e.what();
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM turns), (SELECT count(*) FROM sessions), "
                                   "(SELECT count(*) FROM memories)", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 2);
  EXPECT_EQ(sqlite3_column_int(st, 1), 1);
  EXPECT_EQ(sqlite3_column_int(st, 2), 1);
  sqlite3_finalize(st);
  EXPECT_NE(sqlite3_prepare_v2(db, "SELECT tenant FROM characters", -1, &st, nullptr), SQLITE_OK);  // ALTER undone
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 2);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST(Migrations, FailedStepIsRolledBackAndNamed) {
  TempDir dir;
  const std::string path = dir.file("clash.db");
  // A stray table makes step 2's CREATE TABLE memories fail.
  raw_exec(path, std::string(kVersion1Database) + "CREATE TABLE memories (x);");
  try {
    SqliteStore store(path);
    FAIL() << "opened";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("migrate to schema version 2"), std::string::npos) << e.what();
  }
  // Step 2 left nothing behind: still version 1 with the turns table unchanged.
  raw_exec(path, "SELECT 1");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 1);
  sqlite3_finalize(st);
  EXPECT_NE(sqlite3_prepare_v2(db, "SELECT metadata FROM turns", -1, &st, nullptr), SQLITE_OK);
  sqlite3_close(db);
}

TEST(Migrations, NewerDatabaseIsRefusedAndUntouched) {
  TempDir dir;
  const std::string path = dir.file("future.db");
  raw_exec(path, "CREATE TABLE future_things (x); PRAGMA user_version = 99;");
  const std::string before = slurp(path);
  try {
    SqliteStore store(path);
    FAIL() << "opened";
  } catch (const StoreError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("schema version 99 is newer"), std::string::npos) << msg;
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
  }
  EXPECT_EQ(slurp(path), before);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
}

TEST(Migrations, NonDatabaseFileIsRefusedAndUntouched) {
  TempDir dir;
  const std::string path = dir.file("notes.db");
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 200; ++i) out << "these are my notes, not a database. ";
  }
  const std::string before = slurp(path);
  try {
    SqliteStore store(path);
    FAIL() << "opened";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("not a usable SQLite database"), std::string::npos) << e.what();
  }
  EXPECT_EQ(slurp(path), before);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
}

TEST(Migrations, OtherProgramsDatabaseIsRefusedAndUntouched) {
  TempDir dir;
  const std::string path = dir.file("bookmarks.sqlite");
  raw_exec(path, "CREATE TABLE bookmarks (url TEXT); INSERT INTO bookmarks VALUES ('https://example.org');");
  const std::string before = slurp(path);
  try {
    SqliteStore store(path);
    FAIL() << "opened";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("not a Kindred database"), std::string::npos) << e.what();
  }
  EXPECT_EQ(slurp(path), before);
}

TEST(Migrations, DatabaseWithDamagedHeaderIsRefused) {
  TempDir dir;
  const std::string path = dir.file("damaged.db");
  raw_exec(path, kVersion1Database);
  std::string bytes = slurp(path);
  ASSERT_GT(bytes.size(), 100u);
  bytes[0] = 'X';  // the "SQLite format 3" magic
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  EXPECT_THROW(SqliteStore store(path), StoreError);
  EXPECT_EQ(slurp(path), bytes);
}

}  // namespace
}  // namespace kindred::store
