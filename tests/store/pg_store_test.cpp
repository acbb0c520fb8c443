// What only PgStore has: concurrent writers in several connections, migrations under an
// advisory lock, refusals at open, connection errors without the password, rollback of a
// mutation that PostgreSQL itself rejects halfway. The shared contract runs in
// store_contract_test.cpp. Needs KINDRED_TEST_PG_URL (see store_backends.h).
#include "store/pg_store.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "store/open_store.h"
#include "store/pg_migrations.h"
#include "store_backends.h"

namespace kindred::store {
namespace {

using testing::expect_store_error;
using testing::PgTestSchema;

// Runs one query on its own connection and returns the first column of the first row.
std::string query_one(const PgTestSchema& schema, const std::string& sql) {
  pqxx::connection conn(schema.url());
  pqxx::nontransaction tx(conn);
  const auto r = tx.exec(sql);
  return r.empty() || r[0][0].is_null() ? std::string() : r[0][0].as<std::string>();
}

TEST(PgMigrations, AreOrderedAndEndAtTheLatestVersion) {
  const auto steps = pg::migrations();
  ASSERT_FALSE(steps.empty());
  for (std::size_t i = 0; i < steps.size(); ++i) EXPECT_EQ(steps[i].version, static_cast<int>(i) + 1);
  EXPECT_EQ(pg::latest_schema_version(), steps.back().version);
}

// Two connections (as two server processes would hold) append to one session at once: the
// session row lock hands out every position exactly once, with no gaps.
TEST(PgStore, TwoConnectionsAppendingToOneSessionGetConsecutivePositions) {
  KINDRED_PG_URL_OR_SKIP(url);
  PgTestSchema schema(url);
  PgStore a(schema.url());
  PgStore b(schema.url());
  const Character c = a.create_character({.name = "Alice"});
  const Session s = a.create_session({.name = "s", .character_id = c.id});

  constexpr int kEach = 100;
  struct Result {
    std::vector<int> positions;
    std::string error;
  };
  auto writer = [&](PgStore& store, const std::string& tag, Result& out) {
    try {
      for (int i = 0; i < kEach; ++i) {
        out.positions.push_back(store.append_turn({.session_id = s.id, .swipes = {tag + std::to_string(i)}}).position);
      }
    } catch (const std::exception& e) {
      out.error = e.what();
    }
  };
  Result ra, rb;
  std::thread ta(writer, std::ref(a), "a", std::ref(ra));
  std::thread tb(writer, std::ref(b), "b", std::ref(rb));
  ta.join();
  tb.join();
  EXPECT_EQ(ra.error, "");
  EXPECT_EQ(rb.error, "");
  std::set<int> returned(ra.positions.begin(), ra.positions.end());
  returned.insert(rb.positions.begin(), rb.positions.end());
  EXPECT_EQ(returned.size(), 2u * kEach);  // no position handed out twice

  const auto turns = a.turns(s.id);
  ASSERT_EQ(turns.size(), 2u * kEach);
  int from_a = 0;
  for (std::size_t i = 0; i < turns.size(); ++i) {
    EXPECT_EQ(turns[i].position, static_cast<int>(i));
    if (turns[i].text()[0] == 'a') ++from_a;
  }
  EXPECT_EQ(from_a, kEach);
}

// Swipes of one turn from two connections, while a third truncates and appends other turns of
// the same session: every swipe gets its own index, and nobody deadlocks.
TEST(PgStore, ConcurrentSwipesAndTruncationsOfOneSession) {
  KINDRED_PG_URL_OR_SKIP(url);
  PgTestSchema schema(url);
  PgStore a(schema.url());
  PgStore b(schema.url());
  PgStore c(schema.url());
  const Character ch = a.create_character({.name = "Alice"});
  const Session s = a.create_session({.name = "s", .character_id = ch.id});
  const Turn t = a.append_turn({.session_id = s.id, .role = Role::Assistant, .swipes = {"first"}});

  constexpr int kEach = 40;
  std::string error_a, error_b, error_c;
  auto swiper = [&](PgStore& store, const std::string& tag, std::string& error) {
    try {
      for (int i = 0; i < kEach; ++i) store.add_swipe(t.id, tag + std::to_string(i), /*make_active=*/i % 2 == 0);
    } catch (const std::exception& e) {
      error = e.what();
    }
  };
  std::thread ta(swiper, std::ref(a), "a", std::ref(error_a));
  std::thread tb(swiper, std::ref(b), "b", std::ref(error_b));
  std::thread tc([&] {
    try {
      for (int i = 0; i < kEach; ++i) {
        c.append_turn({.session_id = s.id, .swipes = {"extra"}});
        c.truncate_turns(s.id, 1);
      }
    } catch (const std::exception& e) {
      error_c = e.what();
    }
  });
  ta.join();
  tb.join();
  tc.join();
  EXPECT_EQ(error_a, "");
  EXPECT_EQ(error_b, "");
  EXPECT_EQ(error_c, "");
  const Turn got = *a.get_turn(t.id);
  ASSERT_EQ(got.swipes.size(), 1u + 2 * kEach);
  EXPECT_EQ(std::set<std::string>(got.swipes.begin(), got.swipes.end()).size(), got.swipes.size());
  EXPECT_EQ(a.turns(s.id).size(), 1u);
}

TEST(PgStore, OpeningAgainAppliesNoMigration) {
  KINDRED_PG_URL_OR_SKIP(url);
  PgTestSchema schema(url);
  Id session_id = 0;
  {
    PgStore first(schema.url());
    EXPECT_EQ(first.schema_version(), pg::latest_schema_version());
    const Character c = first.create_character({.name = "Alice"});
    session_id = first.create_session({.name = "kept", .character_id = c.id}).id;
    first.append_turn({.session_id = session_id, .swipes = {"still here"}});
  }
  const std::string applied = query_one(schema, "SELECT string_agg(version || '@' || applied_at, ',') FROM schema_version");
  PgStore second(schema.url());
  PgStore third(schema.url());
  EXPECT_EQ(third.schema_version(), pg::latest_schema_version());
  EXPECT_EQ(query_one(schema, "SELECT count(*) FROM schema_version"), std::to_string(pg::migrations().size()));
  EXPECT_EQ(query_one(schema, "SELECT string_agg(version || '@' || applied_at, ',') FROM schema_version"), applied);
  EXPECT_EQ(third.turns(session_id).at(0).text(), "still here");
}

// Several processes starting at once on an empty database: the advisory lock lets one migrate
// and the others find the work done.
TEST(PgStore, ConcurrentOpensOfAnEmptySchemaAllSucceed) {
  KINDRED_PG_URL_OR_SKIP(url);
  PgTestSchema schema(url);
  constexpr int kOpeners = 4;
  std::vector<std::string> errors(kOpeners);
  std::vector<std::thread> threads;
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&, i] {
      try {
        PgStore store(schema.url());
        store.create_character({.name = "opener " + std::to_string(i)});
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors) EXPECT_EQ(e, "");
  EXPECT_EQ(query_one(schema, "SELECT count(*) FROM schema_version"), std::to_string(pg::migrations().size()));
  EXPECT_EQ(query_one(schema, "SELECT count(*) FROM characters"), std::to_string(kOpeners));
}

// PostgreSQL rejects the second swipe (invalid UTF-8) after the turn row and the first swipe
// were written: the whole append is undone, alone or inside with_transaction.
TEST(PgStore, MutationRejectedByTheServerLeavesNothingBehind) {
  KINDRED_PG_URL_OR_SKIP(url);
  PgTestSchema schema(url);
  PgStore store(schema.url());
  const Character c = store.create_character({.name = "Alice"});
  const Session s = store.create_session({.name = "s", .character_id = c.id, .settings_json = "{}"});
  const Timestamp touched = store.get_session(s.id)->updated_at;
  expect_store_error([&] { store.append_turn({.session_id = s.id, .swipes = {"fine", "bad \xff byte"}}); },
                     {"append_turn (session " + std::to_string(s.id) + ")", "UTF8"});
  EXPECT_EQ(query_one(schema, "SELECT count(*) FROM turns"), "0");
  EXPECT_EQ(query_one(schema, "SELECT count(*) FROM swipes"), "0");
  EXPECT_EQ(store.get_session(s.id)->updated_at, touched);

  store.with_transaction([&](Store& tx) {
    tx.append_turn({.session_id = s.id, .swipes = {"first"}});
    EXPECT_THROW(tx.append_turn({.session_id = s.id, .swipes = {"x", "\xc3"}}), StoreError);
    // The savepoint rolled back: the transaction is usable and the next position is free.
    EXPECT_EQ(tx.append_turn({.session_id = s.id, .swipes = {"second"}}).position, 1);
  });
  const auto turns = store.turns(s.id);
  ASSERT_EQ(turns.size(), 2u);
  EXPECT_EQ(turns[1].text(), "second");
  EXPECT_EQ(query_one(schema, "SELECT count(*) FROM swipes"), "2");

  // A NUL byte would be cut off by libpq: refused before anything is sent.
  expect_store_error([&] { store.append_turn({.session_id = s.id, .swipes = {std::string("a\0b", 3)}}); },
                     {"swipes", "NUL"});
  EXPECT_EQ(store.turns(s.id).size(), 2u);
}

TEST(PgStore, WithTransactionReadsOneSnapshot) {
  KINDRED_PG_URL_OR_SKIP(url);
  PgTestSchema schema(url);
  PgStore reader(schema.url());
  PgStore writer(schema.url());
  const Character c = writer.create_character({.name = "Alice"});
  const Session s = writer.create_session({.name = "s", .character_id = c.id});
  writer.append_turn({.session_id = s.id, .swipes = {"one"}});
  reader.with_transaction([&](Store& tx) {
    EXPECT_EQ(tx.turns(s.id).size(), 1u);
    writer.append_turn({.session_id = s.id, .swipes = {"two"}});  // commits meanwhile
    EXPECT_EQ(tx.turns(s.id).size(), 1u);
  });
  EXPECT_EQ(reader.turns(s.id).size(), 2u);
}

TEST(PgStore, ForeignAndNewerSchemasAreRefusedUntouched) {
  KINDRED_PG_URL_OR_SKIP(url);
  {
    PgTestSchema schema(url);
    query_one(schema, "CREATE TABLE bookmarks (url TEXT); INSERT INTO bookmarks VALUES ('https://example.org')");
    expect_store_error([&] { PgStore store(schema.url()); }, {"not a Kindred database", "has tables but no schema_version"});
    EXPECT_EQ(query_one(schema, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"), "1");
  }
  {
    PgTestSchema schema(url);
    { PgStore store(schema.url()); }
    query_one(schema, "INSERT INTO schema_version (version, description) VALUES (99, 'from the future')");
    expect_store_error([&] { PgStore store(schema.url()); }, {"schema version 99 is newer"});
  }
}

TEST(PgStore, ConnectionFailureNamesHostAndDatabaseButNotThePassword) {
  // Port 1 on loopback refuses at once: no server is needed for this one.
  const std::string bad = "postgresql://someone:pw-S3cret-x@127.0.0.1:1/nowhere_db";
  try {
    const auto store = open_store(bad);
    FAIL() << "connected";
  } catch (const StoreError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("127.0.0.1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("nowhere_db"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("pw-S3cret-x"), std::string::npos) << msg;
  }
  try {
    PgStore store("postgresql://someone:pw-S3cret-x@[::1");
    FAIL() << "accepted a malformed URL";
  } catch (const StoreError& e) {
    EXPECT_EQ(std::string(e.what()).find("pw-S3cret-x"), std::string::npos) << e.what();
  }
}

TEST(PgStore, WrongPasswordIsRefusedWithoutEchoingIt) {
  KINDRED_PG_URL_OR_SKIP(url);
  const auto at = url.find('@');
  const auto colon = url.rfind(':', at);
  if (at == std::string::npos || colon == std::string::npos || colon < url.find("://") + 3) {
    GTEST_SKIP() << "KINDRED_TEST_PG_URL has no password to replace";
  }
  const std::string wrong = url.substr(0, colon + 1) + "not-the-Pa55word" + url.substr(at);
  expect_store_error([&] { PgStore store(wrong); }, {"open PostgreSQL database", "cannot connect"});
  try {
    PgStore store(wrong);
  } catch (const StoreError& e) {
    EXPECT_EQ(std::string(e.what()).find("not-the-Pa55word"), std::string::npos) << e.what();
  }
}

TEST(PgStore, TimestampsComeFromTheClock) {
  KINDRED_PG_URL_OR_SKIP(url);
  PgTestSchema schema(url);
  Timestamp fake = 1000;
  PgStore store(schema.url(), {.clock = [&] { return fake; }});
  const Character c = store.create_character({.name = "Alice"});
  EXPECT_EQ(c.created_at, 1000);
  const Session s = store.create_session({.name = "s", .character_id = c.id});
  fake = 3000;
  const Turn t = store.append_turn({.session_id = s.id, .swipes = {"hi"}});
  EXPECT_EQ(t.created_at, 3000);
  EXPECT_EQ(store.get_session(s.id)->updated_at, 3000);
  fake = 4000;
  store.add_swipe(t.id, "hello");
  EXPECT_EQ(store.get_session(s.id)->updated_at, 4000);
  EXPECT_EQ(store.get_session(s.id)->created_at, 1000);
}

TEST(OpenStore, PicksTheBackendFromTheLocation) {
  EXPECT_TRUE(is_postgres_url("postgresql://u@h/db"));
  EXPECT_TRUE(is_postgres_url("postgres://u@h/db"));
  EXPECT_FALSE(is_postgres_url("/var/lib/kindred/postgres.db"));
  EXPECT_FALSE(is_postgres_url("kindred.db"));
  testing::TempDir dir;
  const auto sqlite = open_store(dir.file("k.db"));
  EXPECT_NE(dynamic_cast<SqliteStore*>(sqlite.get()), nullptr);
  sqlite->create_character({.name = "Alice"});
  EXPECT_EQ(open_store(dir.file("k.db"))->list_characters().size(), 1u);

  KINDRED_PG_URL_OR_SKIP(url);
  PgTestSchema schema(url);
  const auto pg = open_store(schema.url());
  EXPECT_NE(dynamic_cast<PgStore*>(pg.get()), nullptr);
  EXPECT_EQ(pg->list_characters().size(), 0u);
}

// A session moves from a laptop's SQLite file to the server's PostgreSQL and back unchanged.
TEST(PgStore, SessionMovesBetweenBackends) {
  KINDRED_PG_URL_OR_SKIP(url);
  testing::TempDir dir;
  SqliteStore local(dir.file("local.db"), testing::fast());
  const Character c = local.create_character({.name = "Alice", .card_json = R"({"x":[1,2]})"});
  const Session s = local.create_session({.name = "trip", .character_id = c.id});
  local.append_turn({.session_id = s.id, .role = Role::Assistant, .swipes = {"h\xc3\xa9llo", "hi"}, .active_swipe = 1});
  local.create_memory({.session_id = s.id, .text = "m", .embedding = {1.5f, -0.25f, 7e-12f}});
  const std::string doc = local.export_session_json(s.id);

  PgTestSchema schema(url);
  PgStore server(schema.url());
  const Id moved = server.import_session_json(doc, {}, "acme");
  EXPECT_EQ(server.get_session(moved)->tenant, "acme");
  const Id back = local.import_session_json(server.export_session_json(moved), "trip (back)");
  const auto turns = local.turns(back);
  ASSERT_EQ(turns.size(), 1u);
  EXPECT_EQ(turns[0].swipes, (std::vector<std::string>{"h\xc3\xa9llo", "hi"}));
  EXPECT_EQ(turns[0].active_swipe, 1);
  EXPECT_EQ(local.list_memories({.session_id = back}).at(0).embedding, (std::vector<float>{1.5f, -0.25f, 7e-12f}));
}

}  // namespace
}  // namespace kindred::store
