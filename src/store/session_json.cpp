// Store::export_session_json / import_session_json: one session as a portable JSON document.
// Written against the Store interface only, so every backend shares it.
//
// Document (version 1):
//   {
//     "format": "kindred-session", "version": 1,
//     "session":   {"name": str, "settings": json, "created_at": ms, "updated_at": ms},
//     "character": {"name": str, "card": json, "created_at": ms, "updated_at": ms},
//     "persona":   null | {"name": str, "description": str},
//     "turns":     [{"role": "system"|"user"|"assistant", "swipes": [str, ...],
//                    "active_swipe": int, "created_at": ms, "metadata": json}, ...],
//     "memories":  [{"kind": "fact"|"summary"|"note", "level": int, "text": str,
//                    "first_turn": int|null, "last_turn": int|null, "embedding": [number, ...],
//                    "created_at": ms, "metadata": json}, ...]
//   }
// Turns are in position order (their positions are the array indices). Ids are not exported;
// import creates new ones. Timestamps are optional on import (missing: now), and the session's
// updated_at becomes the import time because appending its turns touches it. JSON-valued
// fields are embedded as JSON, not as strings. kv_state_path is machine-local: not exported.
// Neither is the tenant: a document moves between tenants, and import is told which one.
#include <cstdint>
#include <nlohmann/json.hpp>

#include "store/store.h"

namespace kindred::store {

using nlohmann::json;

namespace {

constexpr std::string_view kFormat = "kindred-session";
constexpr int kVersion = 1;

json parse_or_null(const std::string& text) { return json::parse(text, nullptr, /*allow_exceptions=*/false); }

// ---- import-side field readers: each failure names the field's path ----

[[noreturn]] void bad(const std::string& path, const std::string& why) {
  throw StoreError("import_session_json: " + path + ": " + why);
}

const json& need(const json& obj, const std::string& path, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) bad(path + "." + key, "missing");
  return *it;
}

const json& need_object(const json& obj, const std::string& path, const char* key) {
  const json& v = need(obj, path, key);
  if (!v.is_object()) bad(path + "." + key, "expected an object");
  return v;
}

std::string need_string(const json& obj, const std::string& path, const char* key) {
  const json& v = need(obj, path, key);
  if (!v.is_string()) bad(path + "." + key, "expected a string");
  return v.get<std::string>();
}

std::int64_t opt_int(const json& obj, const std::string& path, const char* key, std::int64_t fallback) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) bad(path + "." + key, "expected an integer");
  return it->get<std::int64_t>();
}

std::optional<int> opt_position(const json& obj, const std::string& path, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer() || it->get<std::int64_t>() < 0 || it->get<std::int64_t>() > INT32_MAX) {
    bad(path + "." + key, "expected a turn position or null");
  }
  return static_cast<int>(it->get<std::int64_t>());
}

// A JSON-valued field: missing means "{}".
std::string json_text(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() ? std::string("{}") : it->dump();
}

Turn parse_turn(const json& j, const std::string& path) {
  if (!j.is_object()) bad(path, "expected an object");
  Turn t;
  const std::string role = need_string(j, path, "role");
  const auto parsed = parse_role(role);
  if (!parsed) bad(path + ".role", "unknown role '" + role + "'");
  t.role = *parsed;
  const json& swipes = need(j, path, "swipes");
  if (!swipes.is_array() || swipes.empty()) bad(path + ".swipes", "expected a non-empty array of strings");
  for (std::size_t i = 0; i < swipes.size(); ++i) {
    if (!swipes[i].is_string()) bad(path + ".swipes[" + std::to_string(i) + "]", "expected a string");
    t.swipes.push_back(swipes[i].get<std::string>());
  }
  const std::int64_t active = opt_int(j, path, "active_swipe", 0);
  if (active < 0 || static_cast<std::size_t>(active) >= t.swipes.size()) bad(path + ".active_swipe", "out of range");
  t.active_swipe = static_cast<int>(active);
  t.created_at = opt_int(j, path, "created_at", 0);
  t.metadata_json = json_text(j, "metadata");
  return t;
}

Memory parse_memory(const json& j, const std::string& path) {
  if (!j.is_object()) bad(path, "expected an object");
  Memory m;
  const std::string kind = need_string(j, path, "kind");
  const auto parsed = parse_memory_kind(kind);
  if (!parsed) bad(path + ".kind", "unknown kind '" + kind + "'");
  m.kind = *parsed;
  const std::int64_t level = opt_int(j, path, "level", 0);
  if (level < 0 || level > INT32_MAX) bad(path + ".level", "expected a level >= 0");
  m.level = static_cast<int>(level);
  m.text = need_string(j, path, "text");
  m.first_turn = opt_position(j, path, "first_turn");
  m.last_turn = opt_position(j, path, "last_turn");
  if (auto it = j.find("embedding"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) bad(path + ".embedding", "expected an array of numbers");
    for (std::size_t i = 0; i < it->size(); ++i) {
      if (!(*it)[i].is_number()) bad(path + ".embedding[" + std::to_string(i) + "]", "expected a number");
      m.embedding.push_back((*it)[i].get<float>());
    }
  }
  m.created_at = opt_int(j, path, "created_at", 0);
  m.metadata_json = json_text(j, "metadata");
  return m;
}

const json& need_array(const json& doc, const char* key) {
  const json& v = need(doc, "$", key);
  if (!v.is_array()) bad(std::string("$.") + key, "expected an array");
  return v;
}

}  // namespace

std::string Store::export_session_json(Id session_id) {
  json doc;
  with_transaction([&](Store& s) {  // one snapshot for the whole document
    const auto session = s.get_session(session_id);
    if (!session) throw StoreError("export_session_json: session " + std::to_string(session_id) + " does not exist");
    const auto character = s.get_character(session->character_id);
    if (!character) throw StoreError("export_session_json: the session's character is missing");
    doc["format"] = kFormat;
    doc["version"] = kVersion;
    doc["session"] = {{"name", session->name},
                      {"settings", parse_or_null(session->settings_json)},
                      {"created_at", session->created_at},
                      {"updated_at", session->updated_at}};
    doc["character"] = {{"name", character->name},
                        {"card", parse_or_null(character->card_json)},
                        {"created_at", character->created_at},
                        {"updated_at", character->updated_at}};
    doc["persona"] = nullptr;
    if (session->persona_id) {
      if (const auto persona = s.get_persona(*session->persona_id)) {
        doc["persona"] = {{"name", persona->name}, {"description", persona->description}};
      }
    }
    json turns = json::array();
    for (const Turn& t : s.turns(session_id)) {
      turns.push_back({{"role", to_string(t.role)},
                       {"swipes", t.swipes},
                       {"active_swipe", t.active_swipe},
                       {"created_at", t.created_at},
                       {"metadata", parse_or_null(t.metadata_json)}});
    }
    doc["turns"] = std::move(turns);
    json memories = json::array();
    for (const Memory& m : s.list_memories({.session_id = session_id})) {
      memories.push_back({{"kind", to_string(m.kind)},
                          {"level", m.level},
                          {"text", m.text},
                          {"first_turn", m.first_turn ? json(*m.first_turn) : json(nullptr)},
                          {"last_turn", m.last_turn ? json(*m.last_turn) : json(nullptr)},
                          {"embedding", m.embedding},
                          {"created_at", m.created_at},
                          {"metadata", parse_or_null(m.metadata_json)}});
    }
    doc["memories"] = std::move(memories);
  });
  return doc.dump(2);
}

Id Store::import_session_json(std::string_view text, std::string_view new_name, std::string_view tenant) {
  // Parse and validate everything first, so a malformed document writes nothing at all.
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) bad("$", "not valid JSON");
  if (!doc.is_object()) bad("$", "expected an object");
  if (need_string(doc, "$", "format") != kFormat) bad("$.format", "expected \"" + std::string(kFormat) + "\"");
  if (opt_int(doc, "$", "version", -1) != kVersion) {
    bad("$.version", "unsupported version (this build reads " + std::to_string(kVersion) + ")");
  }

  const json& cj = need_object(doc, "$", "character");
  Character character{.tenant = std::string(tenant),
                      .name = need_string(cj, "$.character", "name"),
                      .card_json = json_text(cj, "card"),
                      .created_at = opt_int(cj, "$.character", "created_at", 0),
                      .updated_at = opt_int(cj, "$.character", "updated_at", 0)};

  std::optional<Persona> persona;
  if (auto it = doc.find("persona"); it != doc.end() && !it->is_null()) {
    if (!it->is_object()) bad("$.persona", "expected an object or null");
    persona = Persona{.name = need_string(*it, "$.persona", "name"), .description = ""};
    if (auto d = it->find("description"); d != it->end()) {
      if (!d->is_string()) bad("$.persona.description", "expected a string");
      persona->description = d->get<std::string>();
    }
  }

  const json& sj = need_object(doc, "$", "session");
  // The name is required even when new_name replaces it: the document must be well-formed.
  const std::string doc_name = need_string(sj, "$.session", "name");
  Session session{.tenant = std::string(tenant),
                  .name = new_name.empty() ? doc_name : std::string(new_name),
                  .settings_json = json_text(sj, "settings"),
                  .created_at = opt_int(sj, "$.session", "created_at", 0),
                  .updated_at = opt_int(sj, "$.session", "updated_at", 0)};

  std::vector<Turn> turns;
  const json& tj = need_array(doc, "turns");
  for (std::size_t i = 0; i < tj.size(); ++i) turns.push_back(parse_turn(tj[i], "$.turns[" + std::to_string(i) + "]"));

  std::vector<Memory> memories;
  const json& mj = need_array(doc, "memories");
  for (std::size_t i = 0; i < mj.size(); ++i) {
    memories.push_back(parse_memory(mj[i], "$.memories[" + std::to_string(i) + "]"));
  }

  Id session_id = 0;
  try {
    with_transaction([&](Store& s) {
      session.character_id = s.create_character(character).id;
      if (persona) session.persona_id = s.create_persona(*persona).id;
      session_id = s.create_session(session).id;
      for (Turn& t : turns) {
        t.session_id = session_id;
        s.append_turn(t);
      }
      for (Memory& m : memories) {
        m.session_id = session_id;
        s.create_memory(m);
      }
    });
  } catch (const StoreError& e) {
    throw StoreError(std::string("import_session_json: ") + e.what());
  }
  return session_id;
}

}  // namespace kindred::store
