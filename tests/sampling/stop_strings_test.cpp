// Streaming stop-string matching.
#include "sampling/stop_strings.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace kindred {
namespace {

struct Streamed {
  std::string emitted;        // everything push() emitted, plus flush() if never stopped
  bool stopped = false;
  std::vector<std::string> per_push;  // what each push emitted
};

Streamed feed(StopMatcher& m, const std::vector<std::string>& pieces) {
  Streamed run;
  for (const std::string& piece : pieces) {
    StopMatcher::Result r = m.push(piece);
    run.per_push.push_back(r.emit);
    run.emitted += r.emit;
    run.stopped = r.stopped;
  }
  if (!run.stopped) run.emitted += m.flush();
  return run;
}

TEST(StopMatcher, NoStopsPassesTextStraightThrough) {
  StopMatcher m({});
  const auto r = m.push("hello");
  EXPECT_EQ(r.emit, "hello");
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, TextThatCannotStartAStopIsEmittedAtOnce) {
  StopMatcher m({"</s>"});
  EXPECT_EQ(m.push("Hello").emit, "Hello");
  EXPECT_EQ(m.push(" world").emit, " world");
  EXPECT_EQ(m.push("x<").emit, "x");  // '<' may start "</s>": held back
  EXPECT_EQ(m.flush(), "<");
}

TEST(StopMatcher, StopSplitAtEveryPosition) {
  const std::string stop = "<|end|>";
  const std::string text = "The answer is 42." + stop + " ignored";
  const size_t at = text.find(stop);
  // Cut the text into three pieces at every pair of positions inside and around the stop.
  for (size_t a = at - 1; a <= at + stop.size(); ++a) {
    for (size_t b = a; b <= at + stop.size() + 1; ++b) {
      StopMatcher m({stop});
      const Streamed run = feed(m, {text.substr(0, a), text.substr(a, b - a), text.substr(b)});
      EXPECT_TRUE(run.stopped) << a << "," << b;
      EXPECT_EQ(run.emitted, "The answer is 42.") << a << "," << b;
    }
  }
  // And one byte at a time: nothing of the stop string ever leaks out.
  StopMatcher m({stop});
  std::vector<std::string> bytes;
  for (char c : text) bytes.emplace_back(1, c);
  const Streamed run = feed(m, bytes);
  EXPECT_TRUE(run.stopped);
  EXPECT_EQ(run.emitted, "The answer is 42.");
  for (size_t i = at; i < bytes.size(); ++i) EXPECT_EQ(run.per_push[i], "") << "byte " << i;
  for (size_t i = 0; i < at; ++i) EXPECT_EQ(run.per_push[i], bytes[i]) << "byte " << i;  // no delay
}

TEST(StopMatcher, MultipleStopsTheEarliestWins) {
  StopMatcher m({"STOP", "\n\n", "###"});
  const Streamed run = feed(m, {"first line\n", "\n## not a stop ###", " rest"});
  EXPECT_TRUE(run.stopped);
  EXPECT_EQ(run.emitted, "first line");
  StopMatcher m2({"STOP", "\n\n", "###"});
  const Streamed run2 = feed(m2, {"a ## b #", "## STOP"});
  EXPECT_EQ(run2.emitted, "a ## b ");
}

TEST(StopMatcher, FalsePartialMatchIsEmittedLater) {
  StopMatcher m({"</s>"});
  auto r = m.push("a </");
  EXPECT_EQ(r.emit, "a ");
  r = m.push("b> c");  // "</b" is not "</s": the held text comes back out
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(r.emit, "</b> c");
  r = m.push("</s");
  EXPECT_EQ(r.emit, "");
  EXPECT_EQ(m.flush(), "</s");  // generation ended without completing the stop
}

TEST(StopMatcher, OverlappingCandidates) {
  // "abc" is held as a prefix of "abcd"; "x" completes "bcx", which starts one byte later.
  StopMatcher m({"abcd", "bcx"});
  EXPECT_EQ(m.push("zab").emit, "z");
  EXPECT_EQ(m.push("c").emit, "");
  const auto r = m.push("x!");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.emit, "a");
  // A self-overlapping stop: "aab" inside "aaab".
  StopMatcher m2({"aab"});
  EXPECT_EQ(m2.push("aa").emit, "");
  EXPECT_EQ(m2.push("a").emit, "a");  // only the last "aa" can still start "aab"
  const auto r2 = m2.push("b");
  EXPECT_TRUE(r2.stopped);
  EXPECT_EQ(r2.emit, "");
}

TEST(StopMatcher, StopSpanningManyPieces) {
  StopMatcher m({"<|im_end|>"});
  const Streamed run = feed(m, {"ok<", "|", "im", "_", "en", "d", "|>", "tail"});
  EXPECT_TRUE(run.stopped);
  EXPECT_EQ(run.emitted, "ok");
}

TEST(StopMatcher, AfterStoppingNothingMoreIsEmitted) {
  StopMatcher m({"END"});
  auto r = m.push("xENDyEN");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.emit, "x");
  EXPECT_TRUE(m.stopped());
  r = m.push("more");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.emit, "");
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, FlushEmptiesTheHeldText) {
  StopMatcher m({"STOP"});
  EXPECT_EQ(m.push("go ST").emit, "go ");
  EXPECT_EQ(m.flush(), "ST");
  EXPECT_EQ(m.flush(), "");
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcher, EmptyStopStringsAreIgnored) {
  StopMatcher m({"", "END", ""});
  auto r = m.push("abc");
  EXPECT_EQ(r.emit, "abc");
  EXPECT_FALSE(r.stopped);
  r = m.push("xENDy");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.emit, "x");
  StopMatcher only_empty({""});
  EXPECT_EQ(only_empty.push("text").emit, "text");
}

// Against a direct reference on random texts over a tiny alphabet (so partial matches are
// frequent) split at random places: the output must be the text before the earliest full
// match, and after every push exactly the longest possible stop prefix must be held back.
TEST(StopMatcher, AgreesWithAReferenceOnRandomSplits) {
  std::mt19937 gen(2024);
  const std::vector<std::string> stops = {"aba", "bb", "abab", "cab"};
  for (int trial = 0; trial < 2000; ++trial) {
    std::string text;
    const int len = static_cast<int>(gen() % 30);
    for (int i = 0; i < len; ++i) text += "abc"[gen() % 3];

    size_t end = std::string::npos;  // reference: earliest match start
    for (const auto& s : stops) end = std::min(end, text.find(s));

    StopMatcher m(stops);
    std::string emitted;
    bool stopped = false;
    size_t pos = 0;
    while (pos < text.size() && !stopped) {
      const size_t n = 1 + gen() % 4;
      const std::string piece = text.substr(pos, n);
      pos += piece.size();
      const auto r = m.push(piece);
      emitted += r.emit;
      stopped = r.stopped;
      if (!stopped) {
        // Held = longest suffix of text[0, pos) that is a proper prefix of a stop string.
        const std::string seen = text.substr(0, pos);
        size_t held = 0;
        for (const auto& s : stops) {
          for (size_t k = std::min(seen.size(), s.size() - 1); k > held; --k) {
            if (seen.compare(seen.size() - k, k, s, 0, k) == 0) {
              held = k;
              break;
            }
          }
        }
        ASSERT_EQ(emitted, seen.substr(0, seen.size() - held)) << "text " << text << " at " << pos;
      }
    }
    if (!stopped) emitted += m.flush();
    ASSERT_EQ(stopped, end != std::string::npos) << text;
    ASSERT_EQ(emitted, text.substr(0, end)) << text;
  }
}

}  // namespace
}  // namespace kindred
