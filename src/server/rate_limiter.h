// Per-API-key request rate limiting: one token bucket per key.
//
// A key allowed `limit` requests a minute gets a bucket of `limit` tokens (so a burst of one
// minute's worth is fine) that refills continuously at limit/60 tokens a second; each request
// takes one token. A bucket left alone until it would be full again is indistinguishable from a
// new one, so such buckets are forgotten: memory is bounded by the keys active in the last
// minute or so, not by every key ever seen.
//
// Thread-safe; the clock is injectable so tests can step time exactly.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>

namespace kindred::server {

class RateLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  explicit RateLimiter(Clock clock = &std::chrono::steady_clock::now);

  struct Decision {
    bool allowed = true;
    double retry_after_seconds = 0;  // when denied: wait this long and one token is there
    int remaining = -1;              // whole tokens left after this request; -1 when unlimited
  };

  // Takes one token from `key_id`'s bucket. `limit_per_minute` <= 0 means unlimited (always
  // allowed, nothing tracked). The limit is passed on every call so an admin's change applies
  // at once; a lowered limit caps the tokens already held.
  Decision take(int64_t key_id, int limit_per_minute);

  // Buckets currently held (for tests and /metrics).
  size_t tracked_keys() const;

 private:
  struct Bucket {
    double tokens = 0;
    int limit_per_minute = 0;
    std::chrono::steady_clock::time_point last_update;
  };

  // Drops buckets that have refilled completely by `now`. Caller holds mutex_.
  void forget_full_buckets(std::chrono::steady_clock::time_point now);

  Clock clock_;
  mutable std::mutex mutex_;
  std::unordered_map<int64_t, Bucket> buckets_;
  std::chrono::steady_clock::time_point last_sweep_;
  size_t size_after_last_sweep_ = 0;
};

}  // namespace kindred::server
