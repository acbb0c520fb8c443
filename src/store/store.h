// Persistence for Kindred: the records (characters, personas, sessions, turns, memories)
// and the abstract Store that keeps them. SqliteStore (sqlite_store.h) is the one backend
// today; the interface is backend-neutral so a PostgreSQL store can be added later.
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
  std::string name;  // unique within the store
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
  virtual std::optional<Session> find_session_by_name(std::string_view name) = 0;
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

  // A session with its character, persona, turns and session memories as one JSON document
  // (format in session_json.cpp), read in one transaction so it is a consistent snapshot.
  // The KV state path is machine-local and not exported.
  std::string export_session_json(Id session_id);
  // Creates new records (new ids) from such a document and returns the new session's id.
  // new_name, if not empty, replaces the session's name (names are unique). A malformed
  // document is refused with a message naming the field, and nothing is written.
  Id import_session_json(std::string_view json, std::string_view new_name = {});
};

}  // namespace kindred::store
