#include "server/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace kindred::server {
namespace {

// Floating-point refill can land a hair under a whole token after exactly the advertised
// retry delay; this much slack keeps "wait retry_after, then succeed" true.
constexpr double kTokenEpsilon = 1e-9;

// A full refill takes 60 s whatever the limit, so a sweep this often finds every bucket
// idle for a whole sweep interval full.
constexpr auto kSweepInterval = std::chrono::seconds(60);

// Below this many buckets a sweep is not worth its time outside the periodic one.
constexpr size_t kMinSweepSize = 1024;

double seconds_between(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

double refill_rate_per_second(int limit_per_minute) { return limit_per_minute / 60.0; }

}  // namespace

RateLimiter::RateLimiter(Clock clock) : clock_(std::move(clock)) {
  if (!clock_) throw std::invalid_argument("RateLimiter: the clock function is empty");
  last_sweep_ = clock_();
}

RateLimiter::Decision RateLimiter::take(int64_t key_id, int limit_per_minute) {
  if (limit_per_minute <= 0) return Decision{.allowed = true, .retry_after_seconds = 0, .remaining = -1};
  const auto now = clock_();
  const double capacity = limit_per_minute;
  const double rate = refill_rate_per_second(limit_per_minute);

  std::lock_guard lock(mutex_);
  // Sweep on a timer, and also when the map has doubled since the last sweep so a burst of
  // many keys cannot grow it without bound between timer sweeps.
  if (now - last_sweep_ >= kSweepInterval ||
      (buckets_.size() >= kMinSweepSize && buckets_.size() >= 2 * size_after_last_sweep_)) {
    forget_full_buckets(now);
  }

  auto [it, inserted] = buckets_.try_emplace(key_id);
  Bucket& bucket = it->second;
  if (inserted) {
    bucket.tokens = capacity;
  } else {
    // A clock that steps backwards (a test, or a misbehaving injected clock) refills nothing.
    const double elapsed = std::max(0.0, seconds_between(bucket.last_update, now));
    bucket.tokens = std::min(capacity, bucket.tokens + elapsed * rate);
  }
  bucket.limit_per_minute = limit_per_minute;
  bucket.last_update = now;

  if (bucket.tokens + kTokenEpsilon >= 1.0) {
    bucket.tokens = std::max(0.0, bucket.tokens - 1.0);
    const int remaining = static_cast<int>(std::floor(bucket.tokens + kTokenEpsilon));
    return Decision{.allowed = true, .retry_after_seconds = 0, .remaining = remaining};
  }
  return Decision{.allowed = false, .retry_after_seconds = (1.0 - bucket.tokens) / rate, .remaining = 0};
}

size_t RateLimiter::tracked_keys() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

void RateLimiter::forget_full_buckets(std::chrono::steady_clock::time_point now) {
  std::erase_if(buckets_, [&](const auto& entry) {
    const Bucket& b = entry.second;
    const double elapsed = std::max(0.0, seconds_between(b.last_update, now));
    return b.tokens + elapsed * refill_rate_per_second(b.limit_per_minute) + kTokenEpsilon >= b.limit_per_minute;
  });
  last_sweep_ = now;
  size_after_last_sweep_ = buckets_.size();
}

}  // namespace kindred::server
