// SqliteStore: opening (pragmas, refusal of foreign files, migrations), transactions, and
// the character / persona / session records. Turns and memories are in sqlite_turns.cpp.
#include "store/sqlite_store.h"

#include <sqlite3.h>

#include "store/migrations.h"
#include "store/sqlite_db.h"
#include "store/validate.h"

namespace kindred::store {

using sqlite::Db;
using sqlite::Stmt;

namespace {

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }
std::string id_str(std::string_view kind, Id id) { return std::string(kind) + " " + std::to_string(id); }

constexpr const char* kCharacterCols = "id, tenant, name, card, created_at, updated_at";

Character read_character(const Stmt& st) {
  return Character{.id = st.int64(0),
                   .tenant = st.text(1),
                   .name = st.text(2),
                   .card_json = st.text(3),
                   .created_at = st.int64(4),
                   .updated_at = st.int64(5)};
}

Persona read_persona(const Stmt& st) {
  return Persona{.id = st.int64(0), .name = st.text(1), .description = st.text(2)};
}

constexpr const char* kSessionCols =
    "id, tenant, name, character_id, persona_id, settings, kv_state_path, created_at, updated_at";

Session read_session(const Stmt& st) {
  return Session{.id = st.int64(0),
                 .tenant = st.text(1),
                 .name = st.text(2),
                 .character_id = st.int64(3),
                 .persona_id = st.opt_int64(4),
                 .settings_json = st.text(5),
                 .kv_state_path = st.opt_text(6),
                 .created_at = st.int64(7),
                 .updated_at = st.int64(8)};
}

}  // namespace

SqliteStore::SqliteStore(const std::string& path, const SqliteOptions& options) : path_(path), clock_(options.clock) {
  const std::string where = "open " + quoted(path);
  db_ = std::make_unique<Db>(path);
  try {
    // Connection-local settings first: they never write to the file.
    db_->exec("PRAGMA busy_timeout = " + std::to_string(options.busy_timeout_ms));
    db_->exec("PRAGMA foreign_keys = ON");
    // Reading the schema is the first access to the file: a foreign or corrupt file fails
    // here (SQLITE_NOTADB / malformed schema) before anything could be written to it.
    int version = 0;
    std::int64_t objects = 0;
    try {
      version = sqlite::read_schema_version(*db_);
      auto count = db_->prepare("SELECT count(*) FROM sqlite_schema");
      count.step();
      objects = count.int64(0);
    } catch (const StoreError& e) {
      throw StoreError(std::string("not a usable SQLite database (") + e.what() + ")");
    }
    // Version 0 with tables is some other program's database: never add our tables to it.
    // (Migration steps set the version in the same transaction, so ours never look like this.)
    if (version == 0 && objects > 0) throw StoreError("not a Kindred database (it has tables but no schema version)");
    if (version > sqlite::latest_schema_version()) {
      throw StoreError("database schema version " + std::to_string(version) +
                       " is newer than this build supports (" + std::to_string(sqlite::latest_schema_version()) +
                       "); use a newer Kindred");
    }
    auto mode = db_->prepare("PRAGMA journal_mode = WAL");
    mode.step();
    const std::string journal = mode.text(0);
    mode.reset();
    if (journal != "wal" && journal != "memory") {
      throw StoreError("cannot enable WAL (journal_mode is " + journal + ")");
    }
    db_->exec(options.durability == Durability::Full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
    sqlite::migrate(*db_);
  } catch (const StoreError& e) {
    db_.reset();
    throw StoreError(where + ": " + e.what());
  }
}

SqliteStore::~SqliteStore() = default;

int SqliteStore::schema_version() { return sqlite::read_schema_version(*db_); }

std::string SqliteStore::integrity_check() {
  std::string out;
  read("integrity_check", [&] {
    auto st = db_->prepare("PRAGMA integrity_check");
    while (st.step()) out += (out.empty() ? "" : "\n") + st.text(0);
  });
  return out;
}

// ---- transactions ----

void SqliteStore::begin_level() {
  db_->exec(depth_ == 0 ? std::string("BEGIN IMMEDIATE") : "SAVEPOINT s" + std::to_string(depth_));
  ++depth_;
}

void SqliteStore::commit_level() {
  db_->exec(depth_ == 1 ? std::string("COMMIT") : "RELEASE s" + std::to_string(depth_ - 1));
  --depth_;
}

void SqliteStore::undo_level() noexcept {
  --depth_;
  if (depth_ == 0) {
    db_->rollback_quietly();
    return;
  }
  const std::string sp = "s" + std::to_string(depth_);
  // ROLLBACK TO keeps the savepoint open; RELEASE closes it, leaving the outer level intact.
  sqlite3_exec(db_->handle(), ("ROLLBACK TO " + sp + "; RELEASE " + sp).c_str(), nullptr, nullptr, nullptr);
}

void SqliteStore::mutate(const std::string& what, const std::function<void()>& f) {
  try {
    begin_level();
  } catch (const StoreError& e) {
    throw StoreError(what + ": " + e.what());
  }
  try {
    f();
    commit_level();
  } catch (const std::exception& e) {
    undo_level();
    throw StoreError(what + ": " + e.what());
  } catch (...) {
    undo_level();
    throw;
  }
}

void SqliteStore::read(const std::string& what, const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    throw StoreError(what + ": " + e.what());
  }
}

void SqliteStore::with_transaction(const std::function<void(Store&)>& fn) {
  try {
    begin_level();
  } catch (const StoreError& e) {
    throw StoreError(std::string("with_transaction: ") + e.what());
  }
  try {
    fn(*this);
  } catch (...) {
    undo_level();
    throw;  // the caller's own exception, unchanged
  }
  try {
    commit_level();
  } catch (const StoreError& e) {
    undo_level();
    throw StoreError(std::string("with_transaction: commit: ") + e.what());
  }
}

void SqliteStore::require_character(Id id, std::string_view tenant) {
  auto st = db_->prepare("SELECT tenant FROM characters WHERE id = ?");
  if (!st.bind(1, id).step()) throw StoreError(id_str("character", id) + " does not exist");
  if (const std::string owner = st.text(0); owner != tenant) {
    throw StoreError(id_str("character", id) + " belongs to tenant " + quoted(owner) + ", not " + quoted(tenant));
  }
}

void SqliteStore::require_persona(Id id) {
  auto st = db_->prepare("SELECT 1 FROM personas WHERE id = ?");
  if (!st.bind(1, id).step()) throw StoreError(id_str("persona", id) + " does not exist");
}

void SqliteStore::require_session(Id id) {
  auto st = db_->prepare("SELECT 1 FROM sessions WHERE id = ?");
  if (!st.bind(1, id).step()) throw StoreError(id_str("session", id) + " does not exist");
}

void SqliteStore::require_tenant_unchanged(std::string_view table, Id id, std::string_view tenant) {
  auto st = db_->prepare("SELECT tenant FROM " + std::string(table) + " WHERE id = ?");
  if (!st.bind(1, id).step()) return;  // the caller reports the missing record
  if (const std::string owner = st.text(0); owner != tenant) {
    throw StoreError("tenant cannot change (" + quoted(owner) + " -> " + quoted(tenant) + ")");
  }
}

void SqliteStore::touch_session(Id id) {
  db_->prepare("UPDATE sessions SET updated_at = ? WHERE id = ?").bind(1, now()).bind(2, id).run();
}

// ---- characters ----

Character SqliteStore::create_character(const Character& c) {
  Character out = c;
  mutate("create_character " + quoted(c.name), [&] {
    require_non_empty(c.name, "name");
    require_json(c.card_json, "card_json");
    out.created_at = c.created_at != 0 ? c.created_at : now();
    out.updated_at = c.updated_at != 0 ? c.updated_at : out.created_at;
    db_->prepare("INSERT INTO characters (tenant, name, card, created_at, updated_at) VALUES (?, ?, ?, ?, ?)")
        .bind(1, c.tenant)
        .bind(2, c.name)
        .bind(3, c.card_json)
        .bind(4, out.created_at)
        .bind(5, out.updated_at)
        .run();
    out.id = db_->last_insert_id();
  });
  return out;
}

std::optional<Character> SqliteStore::get_character(Id id) {
  std::optional<Character> out;
  read("get_character " + std::to_string(id), [&] {
    auto st = db_->prepare(std::string("SELECT ") + kCharacterCols + " FROM characters WHERE id = ?");
    if (st.bind(1, id).step()) out = read_character(st);
  });
  return out;
}

std::vector<Character> SqliteStore::list_characters() {
  std::vector<Character> out;
  read("list_characters", [&] {
    auto st = db_->prepare(std::string("SELECT ") + kCharacterCols + " FROM characters ORDER BY id");
    while (st.step()) out.push_back(read_character(st));
  });
  return out;
}

void SqliteStore::update_character(const Character& c) {
  mutate("update_character " + std::to_string(c.id), [&] {
    require_non_empty(c.name, "name");
    require_json(c.card_json, "card_json");
    require_tenant_unchanged("characters", c.id, c.tenant);
    db_->prepare("UPDATE characters SET name = ?, card = ?, updated_at = ? WHERE id = ?")
        .bind(1, c.name)
        .bind(2, c.card_json)
        .bind(3, now())
        .bind(4, c.id)
        .run();
    if (db_->changes() == 0) throw StoreError("no such character");
  });
}

void SqliteStore::delete_character(Id id) {
  mutate("delete_character " + std::to_string(id), [&] {
    auto users = db_->prepare("SELECT count(*) FROM sessions WHERE character_id = ?");
    users.bind(1, id).step();
    if (const auto n = users.int64(0); n > 0) throw StoreError(std::to_string(n) + " session(s) still use it");
    users.reset();
    db_->prepare("DELETE FROM characters WHERE id = ?").bind(1, id).run();
    if (db_->changes() == 0) throw StoreError("no such character");
  });
}

// ---- personas ----

Persona SqliteStore::create_persona(const Persona& p) {
  Persona out = p;
  mutate("create_persona " + quoted(p.name), [&] {
    require_non_empty(p.name, "name");
    db_->prepare("INSERT INTO personas (name, description) VALUES (?, ?)").bind(1, p.name).bind(2, p.description).run();
    out.id = db_->last_insert_id();
  });
  return out;
}

std::optional<Persona> SqliteStore::get_persona(Id id) {
  std::optional<Persona> out;
  read("get_persona " + std::to_string(id), [&] {
    auto st = db_->prepare("SELECT id, name, description FROM personas WHERE id = ?");
    if (st.bind(1, id).step()) out = read_persona(st);
  });
  return out;
}

std::vector<Persona> SqliteStore::list_personas() {
  std::vector<Persona> out;
  read("list_personas", [&] {
    auto st = db_->prepare("SELECT id, name, description FROM personas ORDER BY id");
    while (st.step()) out.push_back(read_persona(st));
  });
  return out;
}

void SqliteStore::update_persona(const Persona& p) {
  mutate("update_persona " + std::to_string(p.id), [&] {
    require_non_empty(p.name, "name");
    db_->prepare("UPDATE personas SET name = ?, description = ? WHERE id = ?")
        .bind(1, p.name)
        .bind(2, p.description)
        .bind(3, p.id)
        .run();
    if (db_->changes() == 0) throw StoreError("no such persona");
  });
}

void SqliteStore::delete_persona(Id id) {
  mutate("delete_persona " + std::to_string(id), [&] {
    db_->prepare("DELETE FROM personas WHERE id = ?").bind(1, id).run();
    if (db_->changes() == 0) throw StoreError("no such persona");
  });
}

// ---- sessions ----

namespace {

void check_session_fields(const Session& s) {
  require_non_empty(s.name, "name");
  require_json(s.settings_json, "settings_json");
}

void require_unique_name(Db& db, const Session& s) {
  auto st = db.prepare("SELECT id FROM sessions WHERE tenant = ? AND name = ? AND id != ?");
  if (st.bind(1, s.tenant).bind(2, s.name).bind(3, s.id).step()) {
    throw StoreError("a session named " + quoted(s.name) + " already exists");
  }
}

}  // namespace

Session SqliteStore::create_session(const Session& s) {
  Session out = s;
  mutate("create_session " + quoted(s.name), [&] {
    check_session_fields(s);
    require_character(s.character_id, s.tenant);
    if (s.persona_id) require_persona(*s.persona_id);
    out.id = 0;
    require_unique_name(*db_, out);
    out.created_at = s.created_at != 0 ? s.created_at : now();
    out.updated_at = s.updated_at != 0 ? s.updated_at : out.created_at;
    db_->prepare(
           "INSERT INTO sessions (tenant, name, character_id, persona_id, settings, kv_state_path, created_at, "
           "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(1, s.tenant)
        .bind(2, s.name)
        .bind(3, s.character_id)
        .bind(4, s.persona_id)
        .bind(5, s.settings_json)
        .bind(6, s.kv_state_path)
        .bind(7, out.created_at)
        .bind(8, out.updated_at)
        .run();
    out.id = db_->last_insert_id();
  });
  return out;
}

std::optional<Session> SqliteStore::get_session(Id id) {
  std::optional<Session> out;
  read("get_session " + std::to_string(id), [&] {
    auto st = db_->prepare(std::string("SELECT ") + kSessionCols + " FROM sessions WHERE id = ?");
    if (st.bind(1, id).step()) out = read_session(st);
  });
  return out;
}

std::optional<Session> SqliteStore::find_session_by_name(std::string_view name, std::string_view tenant) {
  std::optional<Session> out;
  read("find_session_by_name " + quoted(name) + " (tenant " + quoted(tenant) + ")", [&] {
    auto st = db_->prepare(std::string("SELECT ") + kSessionCols + " FROM sessions WHERE tenant = ? AND name = ?");
    if (st.bind(1, tenant).bind(2, name).step()) out = read_session(st);
  });
  return out;
}

std::vector<Session> SqliteStore::list_sessions() {
  std::vector<Session> out;
  read("list_sessions", [&] {
    auto st = db_->prepare(std::string("SELECT ") + kSessionCols + " FROM sessions ORDER BY updated_at DESC, id DESC");
    while (st.step()) out.push_back(read_session(st));
  });
  return out;
}

void SqliteStore::update_session(const Session& s) {
  mutate("update_session " + std::to_string(s.id), [&] {
    require_session(s.id);
    check_session_fields(s);
    require_tenant_unchanged("sessions", s.id, s.tenant);
    require_character(s.character_id, s.tenant);
    if (s.persona_id) require_persona(*s.persona_id);
    require_unique_name(*db_, s);
    db_->prepare(
           "UPDATE sessions SET name = ?, character_id = ?, persona_id = ?, settings = ?, kv_state_path = ?, "
           "updated_at = ? WHERE id = ?")
        .bind(1, s.name)
        .bind(2, s.character_id)
        .bind(3, s.persona_id)
        .bind(4, s.settings_json)
        .bind(5, s.kv_state_path)
        .bind(6, now())
        .bind(7, s.id)
        .run();
  });
}

void SqliteStore::delete_session(Id id) {
  mutate("delete_session " + std::to_string(id), [&] {
    // Turns, swipes and the session's memories go with it (ON DELETE CASCADE).
    db_->prepare("DELETE FROM sessions WHERE id = ?").bind(1, id).run();
    if (db_->changes() == 0) throw StoreError("no such session");
  });
}

}  // namespace kindred::store
