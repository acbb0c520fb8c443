// The PostgreSQL backend of Store, for servers whose processes share one database.
//
// Location: a libpq connection URL, postgresql://user:password@host:port/db (a search_path can
// ride along as ?options=-csearch_path%3Dmyschema; the store lives in the current schema).
// Opening connects, then migrates under an advisory lock (pg_migrations.h); a connection
// failure, a foreign schema or a newer schema version is refused with a StoreError naming the
// host and database, never the password.
//
// Same contract as store.h, with PostgreSQL's means:
// - A lone mutation is one READ COMMITTED transaction; inside with_transaction it is a
//   SAVEPOINT that undoes itself when it throws.
// - with_transaction at the outermost level is REPEATABLE READ, so its reads are one snapshot
//   (export_session_json relies on that). If it then updates a row another connection changed
//   after the snapshot, PostgreSQL refuses ("could not serialize access"): a StoreError the
//   caller may retry.
// - append_turn, truncate_turns and the swipe edits lock the session row (SELECT ... FOR NO
//   KEY UPDATE) before touching its turns, so connections appending to one session concurrently
//   get consecutive, unique positions, and one lock order rules out deadlocks between them.
// - Text may not contain NUL bytes and must be valid UTF-8 (PostgreSQL TEXT); SQLite is laxer.
//
// One PgStore is one connection and is not thread-safe; open one per thread.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "store/store.h"
#include "store/validate.h"

namespace pqxx {
class transaction_base;
}

namespace kindred::store {

namespace pg {
struct Connection;
}

struct PgOptions {
  std::function<Timestamp()> clock;  // empty: the system clock (tests inject a fake one)
};

class PgStore final : public Store {
 public:
  explicit PgStore(const std::string& url, const PgOptions& options = {});
  ~PgStore() override;
  PgStore(const PgStore&) = delete;
  PgStore& operator=(const PgStore&) = delete;

  // "PostgreSQL database 'db' on host:port as user 'u'" (no password).
  const std::string& location() const { return location_; }
  int schema_version();

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
  using Work = std::function<void(pqxx::transaction_base&)>;
  // Runs f atomically: a transaction at depth 0, a savepoint inside with_transaction. On
  // failure the work is undone and a StoreError "<what>: <reason>" is thrown.
  void mutate(const std::string& what, const Work& f);
  // Runs a read (in the open transaction, if any), prefixing errors with what.
  void read(const std::string& what, const Work& f);

  // snapshot: the outermost level is REPEATABLE READ rather than READ COMMITTED.
  void begin_level(bool snapshot);
  void commit_level();
  void undo_level() noexcept;

  // Checks shared by the record groups; each throws StoreError naming the record.
  static void require_session(pqxx::transaction_base& tx, Id session_id, bool lock);
  static void require_character(pqxx::transaction_base& tx, Id character_id, std::string_view tenant);
  static void require_persona(pqxx::transaction_base& tx, Id persona_id);
  static void require_tenant_unchanged(pqxx::transaction_base& tx, std::string_view table, Id id,
                                       std::string_view tenant);
  static Turn load_turn(pqxx::transaction_base& tx, Id turn_id, bool lock);  // throws when missing
  void touch_session(pqxx::transaction_base& tx, Id session_id);

  Timestamp now() const { return clock_ ? clock_() : now_ms(); }

  std::function<Timestamp()> clock_;
  std::string location_;
  std::unique_ptr<pg::Connection> conn_;
};

}  // namespace kindred::store
