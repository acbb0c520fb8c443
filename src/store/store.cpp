// Record helpers shared by every Store backend: enum names, the clock, input checks.
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "store/store.h"
#include "store/validate.h"

namespace kindred::store {

std::string_view to_string(Role role) {
  switch (role) {
    case Role::System: return "system";
    case Role::User: return "user";
    case Role::Assistant: return "assistant";
  }
  return "?";
}

std::string_view to_string(MemoryKind kind) {
  switch (kind) {
    case MemoryKind::Fact: return "fact";
    case MemoryKind::Summary: return "summary";
    case MemoryKind::Note: return "note";
  }
  return "?";
}

std::optional<Role> parse_role(std::string_view text) {
  for (Role r : {Role::System, Role::User, Role::Assistant}) {
    if (to_string(r) == text) return r;
  }
  return std::nullopt;
}

std::optional<MemoryKind> parse_memory_kind(std::string_view text) {
  for (MemoryKind k : {MemoryKind::Fact, MemoryKind::Summary, MemoryKind::Note}) {
    if (to_string(k) == text) return k;
  }
  return std::nullopt;
}

Timestamp now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void require_json(std::string_view text, std::string_view field) {
  try {
    const auto parsed = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw StoreError(std::string(field) + ": invalid JSON (" + e.what() + ")");
  }
}

void require_non_empty(std::string_view text, std::string_view field) {
  if (text.empty()) throw StoreError(std::string(field) + ": must not be empty");
}

void check_memory(const Memory& m) {
  require_non_empty(m.text, "text");
  if (m.level < 0) throw StoreError("level: must be >= 0");
  if (m.first_turn && *m.first_turn < 0) throw StoreError("first_turn: must be >= 0");
  if (m.last_turn && *m.last_turn < 0) throw StoreError("last_turn: must be >= 0");
  if (m.first_turn && m.last_turn && *m.first_turn > *m.last_turn) {
    throw StoreError("first_turn: must not be after last_turn");
  }
  require_json(m.metadata_json, "metadata_json");
}

void check_api_key(const ApiKey& key) {
  require_non_empty(key.name, "name");
  const bool hex = key.key_hash.size() == 64 && key.key_hash.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (!hex) throw StoreError("key_hash: expected a SHA-256 as 64 lowercase hex digits");
  if (key.rate_limit_per_minute < 0) throw StoreError("rate_limit_per_minute: must be >= 0 (0 = unlimited)");
}

}  // namespace kindred::store
