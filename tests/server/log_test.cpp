// Structured JSON-line logging through a capturing sink.
#include "server/log.h"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kindred::server {
namespace {

// "dddd-dd-ddTdd:dd:dd.dddZ", the RFC 3339 form log lines use.
bool has_timestamp_shape(const std::string& ts) {
  constexpr std::string_view kShape = "0000-00-00T00:00:00.000Z";
  if (ts.size() != kShape.size()) return false;
  for (size_t i = 0; i < ts.size(); ++i) {
    const bool ok = kShape[i] == '0' ? (ts[i] >= '0' && ts[i] <= '9') : ts[i] == kShape[i];
    if (!ok) return false;
  }
  return true;
}

// Captures lines for one test and restores the default sink and level afterwards.
class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    set_log_level(LogLevel::info);
    set_log_sink([this](std::string_view line) {
      std::lock_guard lock(mutex_);
      lines_.emplace_back(line);
    });
  }
  void TearDown() override {
    set_log_sink({});
    set_log_level(LogLevel::info);
  }
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

TEST_F(LogTest, WritesOneJsonObjectWithHeaderFirst) {
  log_event(LogLevel::info, "request", {{"route", "/v1/models"}, {"status", 200}, {"seconds", 0.25}});
  const auto captured = lines();
  ASSERT_EQ(captured.size(), 1u);
  const std::string& line = captured[0];
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_TRUE(line.starts_with("{\"ts\":\"")) << line;
  const auto parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["level"], "info");
  EXPECT_EQ(parsed["event"], "request");
  EXPECT_EQ(parsed["route"], "/v1/models");
  EXPECT_EQ(parsed["status"], 200);
  EXPECT_EQ(parsed["seconds"], 0.25);
  EXPECT_TRUE(has_timestamp_shape(parsed["ts"].get<std::string>())) << parsed["ts"];
}

TEST_F(LogTest, FieldsDefaultToNone) {
  log_event(LogLevel::warn, "slow");
  const auto parsed = nlohmann::json::parse(lines().at(0));
  EXPECT_EQ(parsed.size(), 3u);
  EXPECT_EQ(parsed["level"], "warn");
}

TEST_F(LogTest, DropsLinesBelowTheMinimumLevel) {
  log_event(LogLevel::debug, "hidden");
  set_log_level(parse_log_level("error"));
  log_event(LogLevel::info, "hidden too");
  log_event(LogLevel::warn, "hidden three");
  log_event(LogLevel::error, "shown");
  set_log_level(LogLevel::debug);
  log_event(LogLevel::debug, "shown too");
  const auto captured = lines();
  ASSERT_EQ(captured.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(captured[0])["event"], "shown");
  EXPECT_EQ(nlohmann::json::parse(captured[1])["event"], "shown too");
  EXPECT_TRUE(log_enabled(LogLevel::debug));
  set_log_level(LogLevel::info);
  EXPECT_FALSE(log_enabled(LogLevel::debug));
  EXPECT_TRUE(log_enabled(LogLevel::warn));
}

TEST(LogLevels, ParseNamesAndRejectUnknown) {
  EXPECT_EQ(parse_log_level("debug"), LogLevel::debug);
  EXPECT_EQ(parse_log_level("INFO"), LogLevel::info);
  EXPECT_EQ(parse_log_level("warn"), LogLevel::warn);
  EXPECT_EQ(parse_log_level("Warning"), LogLevel::warn);
  EXPECT_EQ(parse_log_level("error"), LogLevel::error);
  EXPECT_THROW(parse_log_level("verbose"), std::invalid_argument);
  EXPECT_THROW(parse_log_level(""), std::invalid_argument);
  for (auto level : {LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error}) {
    EXPECT_EQ(parse_log_level(log_level_name(level)), level);
  }
}

TEST(LogFormat, TimestampIsUtcWithMilliseconds) {
  using namespace std::chrono;
  // 2026-11-26T18:19:00.123Z = 1795717140 s since the epoch.
  const system_clock::time_point t{seconds(1795717140) + milliseconds(123) + microseconds(999)};
  EXPECT_EQ(format_log_timestamp(t), "2026-11-26T18:19:00.123Z");
  EXPECT_EQ(format_log_timestamp(system_clock::time_point{}), "1970-01-01T00:00:00.000Z");
}

TEST(LogFormat, ExactLineHasHeaderThenFieldsByName) {
  using namespace std::chrono;
  const system_clock::time_point t{seconds(0) + milliseconds(5)};
  EXPECT_EQ(format_log_line(t, LogLevel::error, "boom", {{"zeta", 1}, {"alpha", "x\"y"}}),
            R"({"ts":"1970-01-01T00:00:00.005Z","level":"error","event":"boom","alpha":"x\"y","zeta":1})");
}

TEST(LogFormat, RejectsBadFieldsAndReplacesInvalidUtf8) {
  const auto t = std::chrono::system_clock::now();
  EXPECT_THROW(format_log_line(t, LogLevel::info, "e", nlohmann::json::array({1})), std::invalid_argument);
  EXPECT_THROW(format_log_line(t, LogLevel::info, "e", {{"level", "x"}}), std::invalid_argument);
  const std::string line = format_log_line(t, LogLevel::info, "e", {{"text", std::string("ok\xff")}});
  EXPECT_EQ(nlohmann::json::parse(line)["text"], "ok\xEF\xBF\xBD");
}

TEST_F(LogTest, ConcurrentLinesArriveWholeAndAllCounted) {
  constexpr int kThreads = 8;
  constexpr int kLines = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kLines; ++i) log_event(LogLevel::info, "tick", {{"thread", t}, {"i", i}});
    });
  }
  for (auto& th : threads) th.join();
  const auto captured = lines();
  ASSERT_EQ(captured.size(), static_cast<size_t>(kThreads * kLines));
  std::vector<int> per_thread(kThreads, 0);
  for (const auto& line : captured) ++per_thread.at(nlohmann::json::parse(line)["thread"].get<size_t>());
  for (int count : per_thread) EXPECT_EQ(count, kLines);
}

TEST(LogSink, DefaultWritesLinesToStderr) {
  set_log_sink({});
  set_log_level(LogLevel::info);
  ::testing::internal::CaptureStderr();
  log_event(LogLevel::info, "to_stderr", {{"n", 1}});
  log_event(LogLevel::error, "second");
  const std::string err = ::testing::internal::GetCapturedStderr();
  const auto newline = err.find('\n');
  ASSERT_NE(newline, std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(err.substr(0, newline))["event"], "to_stderr");
  EXPECT_EQ(nlohmann::json::parse(err.substr(newline + 1))["event"], "second");
  EXPECT_TRUE(err.ends_with("}\n"));
}

}  // namespace
}  // namespace kindred::server
