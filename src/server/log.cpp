#include "server/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <stdexcept>

namespace kindred::server {
namespace {

std::atomic<LogLevel> g_min_level{LogLevel::info};

std::mutex g_sink_mutex;
LogSink g_sink;  // empty: write to stderr

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// One write(2) per line so concurrent processes sharing stderr do not interleave either;
// retried for partial writes and EINTR.
void write_to_stderr(std::string_view line) {
  std::string buffer;
  buffer.reserve(line.size() + 1);
  buffer.append(line);
  buffer += '\n';
  const char* data = buffer.data();
  size_t left = buffer.size();
  while (left > 0) {
    const ssize_t written = ::write(STDERR_FILENO, data, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      return;  // stderr is gone; there is nowhere left to report that
    }
    data += written;
    left -= static_cast<size_t>(written);
  }
}

}  // namespace

LogLevel parse_log_level(std::string_view name) {
  std::string lower;
  for (char c : name) lower += ascii_lower(c);
  if (lower == "debug") return LogLevel::debug;
  if (lower == "info") return LogLevel::info;
  if (lower == "warn" || lower == "warning") return LogLevel::warn;
  if (lower == "error") return LogLevel::error;
  throw std::invalid_argument("unknown log level '" + std::string(name) + "' (expected debug, info, warn or error)");
}

std::string_view log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
  }
  throw std::invalid_argument("log_level_name: not a LogLevel value");
}

void set_log_level(LogLevel level) { g_min_level.store(level, std::memory_order_relaxed); }

LogLevel log_level() { return g_min_level.load(std::memory_order_relaxed); }

bool log_enabled(LogLevel level) { return static_cast<int>(level) >= static_cast<int>(log_level()); }

void set_log_sink(LogSink sink) {
  std::lock_guard lock(g_sink_mutex);
  g_sink = std::move(sink);
}

std::string format_log_timestamp(std::chrono::system_clock::time_point time) {
  const auto since_epoch = time.time_since_epoch();
  auto seconds = std::chrono::floor<std::chrono::seconds>(since_epoch);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
  const std::time_t t = static_cast<std::time_t>(seconds.count());
  std::tm utc{};
  if (gmtime_r(&t, &utc) == nullptr) throw std::runtime_error("format_log_timestamp: time out of range");
  char buf[96];  // sized for any int values, so the compiler can prove no truncation
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(millis));
  return buf;
}

std::string format_log_line(std::chrono::system_clock::time_point time, LogLevel level, std::string_view event,
                            const nlohmann::json& fields) {
  if (!fields.is_null() && !fields.is_object()) {
    throw std::invalid_argument("log_event '" + std::string(event) + "': fields must be a JSON object, got " +
                                fields.type_name());
  }
  // ordered_json keeps ts, level, event first, ahead of the caller's fields.
  nlohmann::ordered_json line;
  line["ts"] = format_log_timestamp(time);
  line["level"] = log_level_name(level);
  line["event"] = event;
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) {
      if (key == "ts" || key == "level" || key == "event") {
        throw std::invalid_argument("log_event '" + std::string(event) + "': field name '" + key + "' is reserved");
      }
      line[key] = value;
    }
  }
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void log_event(LogLevel level, std::string_view event, nlohmann::json fields) {
  if (!log_enabled(level)) return;
  const std::string line = format_log_line(std::chrono::system_clock::now(), level, event, fields);
  std::lock_guard lock(g_sink_mutex);
  if (g_sink) {
    g_sink(line);
  } else {
    write_to_stderr(line);
  }
}

}  // namespace kindred::server
