// The durability promise: a turn whose append_turn() returned survives the process being
// SIGKILLed at any moment, and a killed write never leaves a half-written turn behind.
//
// A forked child appends turns in a loop and reports each committed position through a pipe
// after append_turn returns; the parent kills it at a random moment, reopens the database,
// and checks integrity and every reported turn's exact text. Twenty kills, each at a
// different time (during open and WAL recovery, or amid appends).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <set>

#include "store/sqlite_store.h"
#include "store_test_util.h"

namespace kindred::store {
namespace {

using testing::TempDir;

// The swipes the turn at this position must hold. Every fifth turn is several pages long so a
// kill can land while overflow pages are being written.
std::vector<std::string> expected_swipes(int position) {
  std::string text = "turn " + std::to_string(position) + ":";
  const int len = position % 5 == 0 ? (position * 7919) % 6000 : (position * 31) % 200;
  text.append(static_cast<std::size_t>(len), static_cast<char>('a' + position % 26));
  return {text, "alt " + std::to_string(position)};
}

[[noreturn]] void child_appends_forever(const std::string& path, Durability durability, Id session_id,
                                       int report_fd) {
  try {
    SqliteStore store(path, {.durability = durability});
    int next = static_cast<int>(store.turns(session_id).size());
    for (;;) {
      const Turn t = store.append_turn({.session_id = session_id, .role = Role::User, .swipes = expected_swipes(next)});
      if (t.position != next) _exit(3);
      // A 4-byte write to a pipe is atomic (< PIPE_BUF): the parent never sees half a number.
      const std::int32_t committed = t.position;
      if (write(report_fd, &committed, sizeof committed) != sizeof committed) _exit(4);
      ++next;
    }
  } catch (...) {
    _exit(2);
  }
}

std::vector<std::int32_t> read_reports(int fd) {
  std::vector<std::int32_t> out;
  std::string bytes;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      bytes.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  for (std::size_t i = 0; i + sizeof(std::int32_t) <= bytes.size(); i += sizeof(std::int32_t)) {
    std::int32_t v = 0;
    std::memcpy(&v, bytes.data() + i, sizeof v);
    out.push_back(v);
  }
  return out;
}

// Both levels keep committed turns across a process kill; Full adds power-loss safety, which
// a test cannot simulate here.
class CrashTest : public ::testing::TestWithParam<Durability> {};

TEST_P(CrashTest, CommittedTurnsSurviveSigkill) {
  TempDir dir;
  const std::string path = dir.file("crash.db");
  Id session_id = 0;
  {
    SqliteStore store(path);
    const Character c = store.create_character({.name = "Alice"});
    session_id = store.create_session({.name = "crash", .character_id = c.id}).id;
  }  // closed before forking: the child must not inherit an open connection

  std::mt19937 rng(20261126);
  std::set<int> reported;
  std::size_t known_turns = 0;
  constexpr int kKills = 20;
  for (int kill_no = 0; kill_no < kKills; ++kill_no) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      child_appends_forever(path, GetParam(), session_id, fds[1]);
    }
    close(fds[1]);
    // Spread the kills from "during open" to "after many appends", with random jitter.
    const int delay_us = kill_no * 2000 + std::uniform_int_distribution<int>(0, 8000)(rng);
    usleep(static_cast<useconds_t>(delay_us));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "child failed on its own, exit code " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    const auto now_reported = read_reports(fds[0]);
    close(fds[0]);
    int max_now = -1;
    for (int p : now_reported) {
      reported.insert(p);
      max_now = std::max(max_now, p);
    }

    SqliteStore store(path, testing::fast());
    ASSERT_EQ(store.integrity_check(), "ok") << "after kill " << kill_no;
    const auto turns = store.turns(session_id);
    // Every reported position is there...
    for (int p : reported) ASSERT_LT(static_cast<std::size_t>(p), turns.size()) << "lost committed turn " << p;
    // ...and every turn present is complete and exact, in order, with nothing half-written.
    for (std::size_t i = 0; i < turns.size(); ++i) {
      ASSERT_EQ(turns[i].position, static_cast<int>(i));
      ASSERT_EQ(turns[i].swipes, expected_swipes(static_cast<int>(i))) << "turn " << i << " after kill " << kill_no;
    }
    // At most one turn can be committed but not yet reported when the kill lands.
    const std::size_t bound = std::max(known_turns, static_cast<std::size_t>(max_now + 1)) + 1;
    EXPECT_LE(turns.size(), bound) << "after kill " << kill_no;
    known_turns = turns.size();
  }
  EXPECT_GT(reported.size(), 0u) << "the child never committed a turn before being killed";
  std::printf("crash test (%s): %d kills, %zu turns committed, %zu reported before the kills\n",
              GetParam() == Durability::Full ? "FULL" : "NORMAL", kKills, known_turns,
              reported.size());
}

INSTANTIATE_TEST_SUITE_P(Durability, CrashTest, ::testing::Values(Durability::Full, Durability::Normal),
                         [](const auto& info) { return info.param == Durability::Full ? "Full" : "Normal"; });

}  // namespace
}  // namespace kindred::store
