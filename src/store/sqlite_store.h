// The SQLite backend of Store.
//
// Durability: WAL journal with synchronous=FULL by default. WAL + NORMAL already keeps every
// committed transaction when the *process* dies (the WAL is in the OS page cache); FULL also
// fsyncs the WAL on each commit so a committed turn survives power loss / OS crash. A chat
// commits a few times per minute, so one fsync per commit is cheap next to generation.
// SqliteOptions::durability = Normal trades that for speed (bulk imports, tests).
//
// Opening: a missing file is created; a file that is not an SQLite database, another
// program's database, or one whose schema version is newer than this build knows, is refused
// with a StoreError and left untouched; an older schema is migrated (migrations.h). Foreign keys are on; a busy_timeout lets
// several processes share the database (WAL: readers never block the writer).
//
// One SqliteStore is one connection and is not thread-safe; open one per thread.
#pragma once
#include <memory>
#include <string>

#include "store/store.h"
#include "store/validate.h"

namespace kindred::store {

namespace sqlite {
class Db;
}

enum class Durability { Normal, Full };

struct SqliteOptions {
  Durability durability = Durability::Full;
  int busy_timeout_ms = 5000;
  std::function<Timestamp()> clock;  // empty: the system clock (tests inject a fake one)
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const std::string& path, const SqliteOptions& options = {});
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  const std::string& path() const { return path_; }
  int schema_version();
  // PRAGMA integrity_check: "ok" or SQLite's list of problems.
  std::string integrity_check();

  void with_transaction(const std::function<void(Store&)>& fn) override;

  Character create_character(const Character& character) override;
  std::optional<Character> get_character(Id id) override;
  std::vector<Character> list_characters() override;
  void update_character(const Character& character) override;
  void delete_character(Id id) override;

  Persona create_persona(const Persona& persona) override;
  std::optional<Persona> get_persona(Id id) override;
  std::vector<Persona> list_personas() override;
  void update_persona(const Persona& persona) override;
  void delete_persona(Id id) override;

  Session create_session(const Session& session) override;
  std::optional<Session> get_session(Id id) override;
  std::optional<Session> find_session_by_name(std::string_view name, std::string_view tenant = {}) override;
  std::vector<Session> list_sessions() override;
  void update_session(const Session& session) override;
  void delete_session(Id id) override;

  Turn append_turn(const Turn& turn) override;
  std::optional<Turn> get_turn(Id turn_id) override;
  std::vector<Turn> turns(Id session_id) override;
  int add_swipe(Id turn_id, std::string_view text, bool make_active = true) override;
  void set_active_swipe(Id turn_id, int index) override;
  void edit_turn_text(Id turn_id, std::string_view text) override;
  void set_turn_metadata(Id turn_id, std::string_view metadata_json) override;
  int truncate_turns(Id session_id, int from_position) override;

  Memory create_memory(const Memory& memory) override;
  std::optional<Memory> get_memory(Id id) override;
  std::vector<Memory> list_memories(const MemoryFilter& filter) override;
  void update_memory(const Memory& memory) override;
  void delete_memory(Id id) override;

  ApiKey create_api_key(const ApiKey& key) override;
  std::optional<ApiKey> find_api_key_by_hash(std::string_view key_hash) override;
  std::vector<ApiKey> list_api_keys() override;
  void revoke_api_key(Id id) override;

 private:
  // Runs f atomically: a transaction at depth 0, a savepoint inside with_transaction. On
  // failure the work is undone and a StoreError "<what>: <reason>" is thrown.
  void mutate(const std::string& what, const std::function<void()>& f);
  // Runs a read, prefixing errors with what.
  void read(const std::string& what, const std::function<void()>& f);

  // Transaction levels: BEGIN IMMEDIATE at depth 0, a savepoint deeper.
  void begin_level();
  void commit_level();
  void undo_level() noexcept;

  Turn load_turn(Id turn_id);  // throws when missing
  void touch_session(Id session_id);
  void require_session(Id session_id);
  void require_character(Id character_id, std::string_view tenant);  // exists, of this tenant
  // Refuses a tenant other than the stored one (table: "characters" or "sessions").
  void require_tenant_unchanged(std::string_view table, Id id, std::string_view tenant);
  void require_persona(Id persona_id);

  Timestamp now() const { return clock_ ? clock_() : now_ms(); }

  std::string path_;
  std::function<Timestamp()> clock_;
  std::unique_ptr<sqlite::Db> db_;
  int depth_ = 0;  // open transaction / savepoint levels
};

}  // namespace kindred::store
