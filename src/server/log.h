// Structured logging: one JSON object per line on stderr.
//
//   {"ts":"2026-11-26T18:19:00.123Z","level":"info","event":"request","route":"/v1/models",...}
//
// `ts` (RFC 3339, UTC, milliseconds), `level` and `event` come first, then the caller's
// fields (sorted by name, as nlohmann::json keeps them). Lines below the global minimum level are dropped before any
// formatting. Each line reaches the sink in one call under a lock, so lines from different
// threads never interleave. Tests (or a server embedding Kindred) swap the sink.
#pragma once
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace kindred::server {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

// "debug", "info", "warn" (or "warning"), "error", in any case. Anything else throws
// std::invalid_argument naming the accepted values.
LogLevel parse_log_level(std::string_view name);
std::string_view log_level_name(LogLevel level);

// The minimum level written (default info).
void set_log_level(LogLevel level);
LogLevel log_level();
bool log_enabled(LogLevel level);

// Where lines go; each call gets one complete line without its trailing newline. An empty
// function restores the default, which writes the line and a newline to stderr in one write.
using LogSink = std::function<void(std::string_view line)>;
void set_log_sink(LogSink sink);

// Writes one line if `level` is enabled. `fields` must be an object or null; its keys may not
// be "ts", "level" or "event" (std::invalid_argument otherwise: a field must never silently
// replace the line's header). Text that is not valid UTF-8 is written with U+FFFD in place of
// the bad bytes rather than dropping the line.
void log_event(LogLevel level, std::string_view event, nlohmann::json fields = {});

// The line log_event would write at `time` (exposed for tests).
std::string format_log_line(std::chrono::system_clock::time_point time, LogLevel level, std::string_view event,
                            const nlohmann::json& fields);

// RFC 3339 UTC with milliseconds: "2026-11-26T18:19:00.123Z".
std::string format_log_timestamp(std::chrono::system_clock::time_point time);

}  // namespace kindred::server
