// Streaming stop-string matching over generated text.
//
// Text arrives in pieces (one per token). push() emits text as soon as it can no longer be
// the start of a stop string and holds back the longest tail that is still a prefix of one.
// When a stop string completes, push() emits the text before its earliest occurrence and
// reports stopped; the stop string and anything after it are dropped, and every later
// push() emits nothing. At the end of generation, flush() hands back the held tail.
//
// Matching is on bytes. The held tail always starts where a stop string starts, so for
// UTF-8 input and UTF-8 stop strings the emitted pieces never split a character that the
// input did not already split.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kindred {

class StopMatcher {
 public:
  // Empty stop strings are ignored: one would match before any text and end every
  // generation at once. With no stop strings push() passes text straight through.
  explicit StopMatcher(std::vector<std::string> stops);

  struct Result {
    std::string emit;      // text that is now safe to show
    bool stopped = false;  // a stop string completed (now or earlier)
  };

  Result push(std::string_view text);

  // The held-back tail (empty once stopped); the matcher is empty afterwards.
  std::string flush();

  bool stopped() const { return stopped_; }

 private:
  // Length of the longest tail of held_ that is a proper prefix of some stop string.
  size_t held_prefix_length() const;

  std::vector<std::string> stops_;
  size_t longest_ = 0;  // length of the longest stop string
  std::string held_;
  bool stopped_ = false;
};

}  // namespace kindred
