#include "sampling/stop_strings.h"

#include <algorithm>
#include <utility>

namespace kindred {

StopMatcher::StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {
  std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
  for (const std::string& s : stops_) longest_ = std::max(longest_, s.size());
}

StopMatcher::Result StopMatcher::push(std::string_view text) {
  if (stopped_) return {.emit = {}, .stopped = true};
  const size_t old_size = held_.size();
  held_.append(text);

  // held_ had no complete match before this piece, so a match must end inside the new text;
  // start each search just early enough for that. The earliest start wins.
  size_t first = std::string::npos;
  for (const std::string& stop : stops_) {
    const size_t from = old_size >= stop.size() ? old_size - stop.size() + 1 : 0;
    const size_t at = held_.find(stop, from);
    first = std::min(first, at);
  }
  if (first != std::string::npos) {
    Result result{.emit = held_.substr(0, first), .stopped = true};
    held_.clear();
    stopped_ = true;
    return result;
  }

  const size_t keep = held_prefix_length();
  Result result{.emit = held_.substr(0, held_.size() - keep), .stopped = false};
  held_.erase(0, held_.size() - keep);
  return result;
}

size_t StopMatcher::held_prefix_length() const {
  // Stop strings are short, so trying every tail length from the longest down is cheap.
  const size_t max_len = std::min(held_.size(), longest_ == 0 ? 0 : longest_ - 1);
  for (size_t len = max_len; len > 0; --len) {
    const std::string_view tail = std::string_view(held_).substr(held_.size() - len);
    for (const std::string& stop : stops_) {
      if (stop.size() > len && std::string_view(stop).substr(0, len) == tail) return len;
    }
  }
  return 0;
}

std::string StopMatcher::flush() {
  std::string out;
  out.swap(held_);
  return out;
}

}  // namespace kindred
