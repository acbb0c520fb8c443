// Persistence for Kindred: the records (characters, personas, sessions, turns, memories, API
// keys) and the abstract Store that keeps them. Backends: SqliteStore (sqlite_store.h, one
// file) and PgStore (pg_store.h, PostgreSQL, shared by several server processes);
// open_store() (open_store.h) picks one from a location string.
//
// Contract shared by every backend:
// - Ids are assigned by the store (positive, never reused within one database).
// - Timestamps are milliseconds since the Unix epoch; a create_* call keeps a non-zero
//   created_at/updated_at it is given (import uses this) and stamps "now" otherwise.
// - JSON fields (card, settings, metadata) are JSON text; invalid JSON is rejected.
// - Every public mutation is atomic: it either applies completely or throws StoreError and
//   leaves the store unchanged. Inside with_transaction() it joins the outer transaction but
//   still undoes its own partial work when it throws.
// - A Store object is not thread-safe: use one per thread (several may open one database).
// - Tenants: characters and sessions belong to a tenant (a name; "" is the default/local
//   tenant). It is fixed at creation: an update_* naming another tenant is refused. A session
//   and its character share a tenant; session names are unique within a tenant. Personas and
//   global memories are not tenant-scoped; list_* return every tenant's records (callers filter).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kindred::store {

using Id = std::int64_t;
using Timestamp = std::int64_t;  // milliseconds since the Unix epoch

// Every failure of a store operation; the message names the operation and the record.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Character {
  Id id = 0;
  std::string tenant;  // "" = the default (local) tenant
  std::string name;
  std::string card_json = "{}";  // the character card (e.g. a V2 card's data), JSON text
  Timestamp created_at = 0;
  Timestamp updated_at = 0;
};

struct Persona {
  Id id = 0;
  std::string name;
  std::string description;
};

struct Session {
  Id id = 0;
  std::string tenant;  // "" = the default (local) tenant; the character's tenant
  std::string name;    // unique within its tenant
  Id character_id = 0;
  std::optional<Id> persona_id;  // becomes empty when the persona is deleted
  std::string settings_json = "{}";
  std::optional<std::string> kv_state_path;  // a saved KV cache, if any
  Timestamp created_at = 0;
  Timestamp updated_at = 0;
};

enum class Role { System, User, Assistant };

struct Turn {
  Id id = 0;
  Id session_id = 0;
  int position = 0;  // 0-based order within the session, assigned by append_turn
  Role role = Role::User;
  std::vector<std::string> swipes;  // alternative texts; never empty once stored
  int active_swipe = 0;
  Timestamp created_at = 0;
  std::string metadata_json = "{}";  // e.g. affect / intent annotations

  const std::string& text() const { return swipes.at(static_cast<std::size_t>(active_swipe)); }
};

enum class MemoryKind { Fact, Summary, Note };

struct Memory {
  Id id = 0;
  std::optional<Id> session_id;  // empty: a global memory
  MemoryKind kind = MemoryKind::Fact;
  int level = 0;  // summaries of summaries have level > 0
  std::string text;
  std::optional<int> first_turn;  // positions of the turns covered, if any
  std::optional<int> last_turn;
  std::vector<float> embedding;  // may be empty
  Timestamp created_at = 0;
  std::string metadata_json = "{}";
};

// A server API key. The key itself is never stored: key_hash is its SHA-256 as 64 lowercase
// hex digits, computed by the caller. Revoked keys stay (listed, findable) with revoked_at set.
struct ApiKey {
  Id id = 0;
  std::string tenant;
  std::string name;      // what the key is for, e.g. "prod"
  std::string key_hash;  // unique
  bool admin = false;
  int rate_limit_per_minute = 0;  // 0 = unlimited
  Timestamp created_at = 0;
  std::optional<Timestamp> revoked_at;
};

// Which memories list_memories() returns, ordered by id.
struct MemoryFilter {
  std::optional<Id> session_id;  // empty: global memories only
  bool include_global = false;   // with session_id: the global memories as well
  std::optional<MemoryKind> kind;
};

std::string_view to_string(Role role);
std::string_view to_string(MemoryKind kind);
std::optional<Role> parse_role(std::string_view text);
std::optional<MemoryKind> parse_memory_kind(std::string_view text);

class Store {
 public:
  virtual ~Store() = default;

  // Runs fn as one transaction: everything it does commits together, or nothing does when it
  // throws (the exception propagates). Nested calls join the outer transaction.
  virtual void with_transaction(const std::function<void(Store&)>& fn) = 0;

  // Characters. Deleting a character that sessions still use is refused.
  virtual Character create_character(const Character& character) = 0;
  virtual std::optional<Character> get_character(Id id) = 0;
  virtual std::vector<Character> list_characters() = 0;
  virtual void update_character(const Character& character) = 0;  // by id; stamps updated_at
  virtual void delete_character(Id id) = 0;

  // Personas. Deleting one clears persona_id in the sessions that used it.
  virtual Persona create_persona(const Persona& persona) = 0;
  virtual std::optional<Persona> get_persona(Id id) = 0;
  virtual std::vector<Persona> list_personas() = 0;
  virtual void update_persona(const Persona& persona) = 0;
  virtual void delete_persona(Id id) = 0;

  // Sessions. Deleting one deletes its turns and its memories.
  virtual Session create_session(const Session& session) = 0;
  virtual std::optional<Session> get_session(Id id) = 0;
  // Looks the name up within one tenant (default: the default tenant).
  virtual std::optional<Session> find_session_by_name(std::string_view name, std::string_view tenant = {}) = 0;
  virtual std::vector<Session> list_sessions() = 0;  // most recently updated first
  virtual void update_session(const Session& session) = 0;  // by id; stamps updated_at
  virtual void delete_session(Id id) = 0;

  // Turns. append_turn assigns the next position; the others address a turn by id.
  virtual Turn append_turn(const Turn& turn) = 0;
  virtual std::optional<Turn> get_turn(Id turn_id) = 0;
  virtual std::vector<Turn> turns(Id session_id) = 0;  // ordered by position
  virtual int add_swipe(Id turn_id, std::string_view text, bool make_active = true) = 0;
  virtual void set_active_swipe(Id turn_id, int index) = 0;
  virtual void edit_turn_text(Id turn_id, std::string_view text) = 0;  // the active swipe
  virtual void set_turn_metadata(Id turn_id, std::string_view metadata_json) = 0;
  // Deletes the turns at positions >= from_position (undo, edit-and-regenerate) and returns
  // how many went. Memories are left alone: their first/last_turn may then point past the end.
  virtual int truncate_turns(Id session_id, int from_position) = 0;

  // Memories.
  virtual Memory create_memory(const Memory& memory) = 0;
  virtual std::optional<Memory> get_memory(Id id) = 0;
  virtual std::vector<Memory> list_memories(const MemoryFilter& filter) = 0;
  virtual void update_memory(const Memory& memory) = 0;  // by id
  virtual void delete_memory(Id id) = 0;

  // API keys. create_api_key refuses a malformed or duplicate key_hash; find_api_key_by_hash
  // also returns revoked keys (the caller checks revoked_at); revoking twice keeps the first
  // revoked_at; an unknown id is refused.
  virtual ApiKey create_api_key(const ApiKey& key) = 0;
  virtual std::optional<ApiKey> find_api_key_by_hash(std::string_view key_hash) = 0;
  virtual std::vector<ApiKey> list_api_keys() = 0;  // ordered by id
  virtual void revoke_api_key(Id id) = 0;

  // A session with its character, persona, turns and session memories as one JSON document
  // (format in session_json.cpp), read in one transaction so it is a consistent snapshot.
  // The KV state path and the tenant are not exported.
  std::string export_session_json(Id session_id);
  // Creates new records (new ids) from such a document and returns the new session's id.
  // new_name, if not empty, replaces the session's name (names are unique). A malformed
  // document is refused with a message naming the field, and nothing is written. The new
  // character and session belong to tenant (the document carries none).
  Id import_session_json(std::string_view json, std::string_view new_name = {}, std::string_view tenant = {});
};

}  // namespace kindred::store
