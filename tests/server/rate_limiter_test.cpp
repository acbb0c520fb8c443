// Token-bucket rate limiting with a stepped fake clock.
#include "server/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>
#include <vector>

namespace kindred::server {
namespace {

using namespace std::chrono_literals;

// A clock the test moves by hand; atomic so threads may read it while the test runs.
class FakeClock {
 public:
  std::chrono::steady_clock::time_point now() const {
    return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(ns_.load()));
  }
  void advance(std::chrono::nanoseconds d) { ns_ += d.count(); }
  RateLimiter::Clock function() {
    return [this] { return now(); };
  }

 private:
  std::atomic<int64_t> ns_{1'000'000'000'000};
};

std::chrono::nanoseconds ceil_ns(double seconds) {
  return std::chrono::nanoseconds(static_cast<int64_t>(std::ceil(seconds * 1e9)));
}

TEST(RateLimiter, BurstOfOneMinuteThenDenied) {
  FakeClock clock;
  RateLimiter limiter(clock.function());
  for (int i = 0; i < 10; ++i) {
    const auto d = limiter.take(1, 10);
    ASSERT_TRUE(d.allowed) << "request " << i;
    EXPECT_EQ(d.remaining, 9 - i);
  }
  const auto denied = limiter.take(1, 10);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.remaining, 0);
  EXPECT_DOUBLE_EQ(denied.retry_after_seconds, 6.0);  // one token per 6 s at 10/min
}

TEST(RateLimiter, RefillsAtLimitPerSixtySeconds) {
  FakeClock clock;
  RateLimiter limiter(clock.function());
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(limiter.take(7, 60).allowed);
  EXPECT_FALSE(limiter.take(7, 60).allowed);
  clock.advance(1s);  // 60/min = 1 token a second
  EXPECT_TRUE(limiter.take(7, 60).allowed);
  EXPECT_FALSE(limiter.take(7, 60).allowed);
  clock.advance(5s);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.take(7, 60).allowed) << i;
  EXPECT_FALSE(limiter.take(7, 60).allowed);
  // Refill stops at capacity: a long pause buys one minute's worth, not more.
  clock.advance(1h);
  int allowed = 0;
  while (limiter.take(7, 60).allowed) ++allowed;
  EXPECT_EQ(allowed, 60);
}

TEST(RateLimiter, RetryAfterIsExact) {
  FakeClock clock;
  RateLimiter limiter(clock.function());
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(limiter.take(3, 7).allowed);
  clock.advance(2s);
  const auto denied = limiter.take(3, 7);
  ASSERT_FALSE(denied.allowed);
  EXPECT_NEAR(denied.retry_after_seconds, 60.0 / 7 - 2.0, 1e-9);
  // A millisecond early is still too early; on time succeeds.
  clock.advance(ceil_ns(denied.retry_after_seconds) - 1ms);
  const auto early = limiter.take(3, 7);
  EXPECT_FALSE(early.allowed);
  EXPECT_NEAR(early.retry_after_seconds, 0.001, 1e-6);
  clock.advance(ceil_ns(early.retry_after_seconds));
  EXPECT_TRUE(limiter.take(3, 7).allowed);
}

TEST(RateLimiter, ZeroLimitIsUnlimitedAndUntracked) {
  FakeClock clock;
  RateLimiter limiter(clock.function());
  for (int i = 0; i < 10000; ++i) {
    const auto d = limiter.take(5, 0);
    ASSERT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, -1);
  }
  EXPECT_EQ(limiter.tracked_keys(), 0u);
}

TEST(RateLimiter, KeysHaveSeparateBuckets) {
  FakeClock clock;
  RateLimiter limiter(clock.function());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limiter.take(1, 3).allowed);
  EXPECT_FALSE(limiter.take(1, 3).allowed);
  for (int64_t key = 2; key < 500; ++key) {
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(limiter.take(key, 3).allowed) << key;
    EXPECT_FALSE(limiter.take(key, 3).allowed) << key;
  }
  EXPECT_EQ(limiter.tracked_keys(), 499u);
}

TEST(RateLimiter, LoweredLimitCapsHeldTokens) {
  FakeClock clock;
  RateLimiter limiter(clock.function());
  ASSERT_TRUE(limiter.take(1, 100).allowed);  // 99 left
  const auto d = limiter.take(1, 5);           // capped to 5, takes one
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 4);
}

TEST(RateLimiter, ForgetsBucketsThatRefilled) {
  FakeClock clock;
  RateLimiter limiter(clock.function());
  for (int64_t key = 0; key < 100; ++key) limiter.take(key, 60);
  EXPECT_EQ(limiter.tracked_keys(), 100u);
  clock.advance(61s);
  limiter.take(1000, 60);  // triggers the periodic sweep
  EXPECT_EQ(limiter.tracked_keys(), 1u);
  // A forgotten key starts over with a full bucket, exactly as if it had been kept.
  const auto d = limiter.take(3, 60);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 59);
}

TEST(RateLimiter, KeepsBucketsStillRefilling) {
  FakeClock clock;
  RateLimiter limiter(clock.function());
  limiter.take(2, 60);  // one token short: full again after 1 s
  clock.advance(59s);
  for (int i = 0; i < 60; ++i) limiter.take(1, 60);  // drained: full again after 60 s
  clock.advance(2s);
  limiter.take(3, 60);  // 61 s after construction: the periodic sweep runs
  EXPECT_EQ(limiter.tracked_keys(), 2u);  // key 2 forgotten; key 1 (2 tokens) and key 3 kept
  int allowed = 0;
  while (limiter.take(1, 60).allowed) ++allowed;
  EXPECT_EQ(allowed, 2);
}

TEST(RateLimiter, ManyDistinctKeysInABurstAreSweptWhenFull) {
  FakeClock clock;
  RateLimiter limiter(clock.function());
  // Each key takes one token at 6000/min (100/s): full again after 10 ms.
  for (int64_t key = 0; key < 5000; ++key) {
    limiter.take(key, 6000);
    clock.advance(1ms);
  }
  // A sweep runs whenever 1024 buckets are held and finds all but the last ~10 keys full, so the
  // map never holds much more than 1024 of the 5000 keys; the newest (still refilling) stay.
  EXPECT_LE(limiter.tracked_keys(), 1024u);
  EXPECT_GE(limiter.tracked_keys(), 10u);
  const auto d = limiter.take(4999, 6000);  // touched 1 ms ago: still one token short of full
  EXPECT_EQ(d.remaining, 5998);  // 5999 + 0.1 refilled - 1
}

TEST(RateLimiter, ConcurrentTakesNeverExceedTheLimit) {
  FakeClock clock;  // frozen: no refill while the threads run
  RateLimiter limiter(clock.function());
  constexpr int kThreads = 8;
  constexpr int kTakesPerThread = 2000;
  constexpr int kLimit = 1000;
  std::atomic<int> allowed{0};
  std::atomic<int> allowed_other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kTakesPerThread; ++i) {
        if (limiter.take(42, kLimit).allowed) ++allowed;
        if (limiter.take(43, 10).allowed) ++allowed_other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), kLimit);
  EXPECT_EQ(allowed_other.load(), 10);
}

TEST(RateLimiter, RejectsEmptyClock) {
  EXPECT_THROW(RateLimiter(RateLimiter::Clock{}), std::invalid_argument);
}

}  // namespace
}  // namespace kindred::server
