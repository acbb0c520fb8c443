// WAL: a reader on another connection is not blocked by a writer and sees only committed,
// complete turns.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "store/sqlite_store.h"
#include "store_test_util.h"

namespace kindred::store {
namespace {

using testing::TempDir;

TEST(Concurrency, ReaderSeesCommittedSnapshotDuringWriteTransaction) {
  TempDir dir;
  const std::string path = dir.file("wal.db");
  SqliteStore writer(path, testing::fast());
  SqliteStore reader(path, testing::fast());
  const Character c = writer.create_character({.name = "Alice"});
  const Session s = writer.create_session({.name = "s", .character_id = c.id});
  writer.append_turn({.session_id = s.id, .swipes = {"one"}});

  writer.with_transaction([&](Store& tx) {
    tx.append_turn({.session_id = s.id, .swipes = {"two"}});
    // The writer holds the write lock; the reader neither blocks nor sees the uncommitted turn.
    EXPECT_EQ(reader.turns(s.id).size(), 1u);
  });
  const auto turns = reader.turns(s.id);
  ASSERT_EQ(turns.size(), 2u);
  EXPECT_EQ(turns[1].text(), "two");
}

TEST(Concurrency, ReaderThreadWhileWriterAppends) {
  TempDir dir;
  const std::string path = dir.file("wal.db");
  SqliteStore writer(path, testing::fast());
  SqliteStore reader(path, testing::fast());
  const Character c = writer.create_character({.name = "Alice"});
  const Session s = writer.create_session({.name = "s", .character_id = c.id});

  constexpr int kTurns = 300;
  std::atomic<bool> done{false};
  std::string reader_error;
  int reads = 0;
  std::thread read_loop([&] {
    std::size_t last = 0;
    try {
      while (!done.load()) {
        const auto turns = reader.turns(s.id);
        ++reads;
        if (turns.size() < last) reader_error = "turn count went backwards";
        last = turns.size();
        for (std::size_t i = 0; i < turns.size(); ++i) {
          const std::vector<std::string> want = {"turn " + std::to_string(i), "alt"};
          if (turns[i].position != static_cast<int>(i) || turns[i].swipes != want) {
            reader_error = "turn " + std::to_string(i) + " incomplete or out of order";
          }
        }
      }
    } catch (const std::exception& e) {
      reader_error = e.what();
    }
  });
  for (int i = 0; i < kTurns; ++i) {
    writer.append_turn({.session_id = s.id, .swipes = {"turn " + std::to_string(i), "alt"}});
  }
  done = true;
  read_loop.join();
  EXPECT_EQ(reader_error, "");
  EXPECT_GT(reads, 0);
  EXPECT_EQ(reader.turns(s.id).size(), static_cast<std::size_t>(kTurns));
}

// Two connections appending to one session serialize on the write lock (BEGIN IMMEDIATE +
// busy_timeout): no position is given out twice and none is skipped.
TEST(Concurrency, TwoWritersNeverShareAPosition) {
  TempDir dir;
  const std::string path = dir.file("wal.db");
  SqliteStore a(path, testing::fast());
  SqliteStore b(path, testing::fast());
  const Character c = a.create_character({.name = "Alice"});
  const Session s = a.create_session({.name = "s", .character_id = c.id});

  constexpr int kEach = 150;
  auto writer = [&](SqliteStore& store, const std::string& tag, std::string& error) {
    try {
      for (int i = 0; i < kEach; ++i) store.append_turn({.session_id = s.id, .swipes = {tag + std::to_string(i)}});
    } catch (const std::exception& e) {
      error = e.what();
    }
  };
  std::string error_a, error_b;
  std::thread ta(writer, std::ref(a), "a", std::ref(error_a));
  std::thread tb(writer, std::ref(b), "b", std::ref(error_b));
  ta.join();
  tb.join();
  EXPECT_EQ(error_a, "");
  EXPECT_EQ(error_b, "");
  const auto turns = a.turns(s.id);
  ASSERT_EQ(turns.size(), 2u * kEach);
  for (std::size_t i = 0; i < turns.size(); ++i) EXPECT_EQ(turns[i].position, static_cast<int>(i));
  EXPECT_EQ(a.integrity_check(), "ok");
}

}  // namespace
}  // namespace kindred::store
