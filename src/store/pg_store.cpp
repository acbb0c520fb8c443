// PgStore: opening (connection, migrations), transactions, shared checks, and the character /
// persona / session records. Turns and memories are in pg_turns.cpp, API keys in
// pg_api_keys.cpp.
#include "store/pg_store.h"

#include "store/pg_connection.h"
#include "store/pg_migrations.h"
#include "store/validate.h"

namespace kindred::store {

using pg::int64;
using pg::opt_int64;
using pg::opt_text;
using pg::text;

namespace {

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }
std::string id_str(std::string_view kind, Id id) { return std::string(kind) + " " + std::to_string(id); }

constexpr const char* kCharacterCols = "id, tenant, name, card, created_at, updated_at";

Character read_character(const pqxx::row& r) {
  return Character{.id = int64(r[0]),
                   .tenant = text(r[1]),
                   .name = text(r[2]),
                   .card_json = text(r[3]),
                   .created_at = int64(r[4]),
                   .updated_at = int64(r[5])};
}

Persona read_persona(const pqxx::row& r) {
  return Persona{.id = int64(r[0]), .name = text(r[1]), .description = text(r[2])};
}

constexpr const char* kSessionCols =
    "id, tenant, name, character_id, persona_id, settings, kv_state_path, created_at, updated_at";

Session read_session(const pqxx::row& r) {
  return Session{.id = int64(r[0]),
                 .tenant = text(r[1]),
                 .name = text(r[2]),
                 .character_id = int64(r[3]),
                 .persona_id = opt_int64(r[4]),
                 .settings_json = text(r[5]),
                 .kv_state_path = opt_text(r[6]),
                 .created_at = int64(r[7]),
                 .updated_at = int64(r[8])};
}

std::string select(const char* cols, const std::string& rest) { return std::string("SELECT ") + cols + " " + rest; }

}  // namespace

PgStore::PgStore(const std::string& url, const PgOptions& options)
    : clock_(options.clock), location_(pg::describe_location(url)) {
  try {
    conn_ = std::make_unique<pg::Connection>(url);
    // Notices ("relation already exists, skipping") would go to stderr otherwise.
    pqxx::nontransaction(conn_->conn).exec("SET client_min_messages = warning");
  } catch (const std::exception& e) {
    throw StoreError("open " + location_ + ": cannot connect (" + pg::error_text(e) + ")");
  }
  try {
    pg::migrate(*conn_);
  } catch (const StoreError& e) {
    conn_.reset();
    throw StoreError("open " + location_ + ": " + e.what());
  }
}

PgStore::~PgStore() = default;

int PgStore::schema_version() {
  int version = 0;
  read("schema_version", [&](pqxx::transaction_base& tx) { version = pg::read_schema_version(tx); });
  return version;
}

// ---- transactions ----

void PgStore::begin_level(bool snapshot) {
  auto& c = *conn_;
  if (c.depth > 0) {
    c.transaction->exec("SAVEPOINT s" + std::to_string(c.depth));
  } else if (snapshot) {
    c.transaction = std::make_unique<pqxx::transaction<pqxx::repeatable_read>>(c.conn);
  } else {
    c.transaction = std::make_unique<pqxx::work>(c.conn);
  }
  ++c.depth;
}

void PgStore::commit_level() {
  auto& c = *conn_;
  if (c.depth == 1) {
    c.transaction->commit();
    c.transaction.reset();
  } else {
    c.transaction->exec("RELEASE SAVEPOINT s" + std::to_string(c.depth - 1));
  }
  --c.depth;
}

void PgStore::undo_level() noexcept {
  auto& c = *conn_;
  --c.depth;
  if (c.depth == 0) {
    c.transaction.reset();  // the destructor rolls back (and never throws)
    return;
  }
  // ROLLBACK TO also works in a failed transaction and makes it usable again; RELEASE then
  // closes the savepoint, leaving the outer level as it was.
  const std::string sp = "s" + std::to_string(c.depth);
  try {
    c.transaction->exec("ROLLBACK TO SAVEPOINT " + sp + "; RELEASE SAVEPOINT " + sp);
  } catch (...) {
    // Only a broken connection gets here; the outer level's own statements will report it.
  }
}

void PgStore::mutate(const std::string& what, const Work& f) {
  try {
    begin_level(/*snapshot=*/false);
  } catch (const std::exception& e) {
    throw StoreError(what + ": " + pg::error_text(e));
  }
  try {
    f(*conn_->transaction);
    commit_level();
  } catch (const StoreError& e) {
    undo_level();
    throw StoreError(what + ": " + e.what());
  } catch (const std::exception& e) {
    undo_level();
    throw StoreError(what + ": " + pg::error_text(e));
  } catch (...) {
    undo_level();
    throw;
  }
}

void PgStore::read(const std::string& what, const Work& f) {
  try {
    if (conn_->depth > 0) {
      f(*conn_->transaction);
      return;
    }
    pqxx::nontransaction tx(conn_->conn);
    f(tx);
  } catch (const StoreError& e) {
    throw StoreError(what + ": " + e.what());
  } catch (const std::exception& e) {
    throw StoreError(what + ": " + pg::error_text(e));
  }
}

void PgStore::with_transaction(const std::function<void(Store&)>& fn) {
  try {
    begin_level(/*snapshot=*/true);
  } catch (const std::exception& e) {
    throw StoreError(std::string("with_transaction: ") + pg::error_text(e));
  }
  try {
    fn(*this);
  } catch (...) {
    undo_level();
    throw;  // the caller's own exception, unchanged
  }
  try {
    commit_level();
  } catch (const std::exception& e) {
    undo_level();
    throw StoreError(std::string("with_transaction: commit: ") + pg::error_text(e));
  }
}

// ---- shared checks ----

void PgStore::require_character(pqxx::transaction_base& tx, Id id, std::string_view tenant) {
  const auto r = tx.exec_params("SELECT tenant FROM characters WHERE id = $1", id);
  if (r.empty()) throw StoreError(id_str("character", id) + " does not exist");
  if (const std::string owner = text(r[0][0]); owner != tenant) {
    throw StoreError(id_str("character", id) + " belongs to tenant " + quoted(owner) + ", not " + quoted(tenant));
  }
}

void PgStore::require_persona(pqxx::transaction_base& tx, Id id) {
  if (tx.exec_params("SELECT 1 FROM personas WHERE id = $1", id).empty()) {
    throw StoreError(id_str("persona", id) + " does not exist");
  }
}

void PgStore::require_session(pqxx::transaction_base& tx, Id id, bool lock) {
  // The row lock serializes writers of one session (turn positions, swipe indices) across
  // connections. NO KEY UPDATE: inserts that merely reference the session (memories) go on.
  const char* sql =
      lock ? "SELECT 1 FROM sessions WHERE id = $1 FOR NO KEY UPDATE" : "SELECT 1 FROM sessions WHERE id = $1";
  if (tx.exec_params(sql, id).empty()) throw StoreError(id_str("session", id) + " does not exist");
}

void PgStore::require_tenant_unchanged(pqxx::transaction_base& tx, std::string_view table, Id id,
                                       std::string_view tenant) {
  const auto r = tx.exec_params("SELECT tenant FROM " + std::string(table) + " WHERE id = $1", id);
  if (r.empty()) return;  // the caller reports the missing record
  if (const std::string owner = text(r[0][0]); owner != tenant) {
    throw StoreError("tenant cannot change (" + quoted(owner) + " -> " + quoted(tenant) + ")");
  }
}

void PgStore::touch_session(pqxx::transaction_base& tx, Id id) {
  tx.exec_params("UPDATE sessions SET updated_at = $1 WHERE id = $2", now(), id);
}

// ---- characters ----

Character PgStore::create_character(const Character& c) {
  Character out = c;
  mutate("create_character " + quoted(c.name), [&](pqxx::transaction_base& tx) {
    require_non_empty(c.name, "name");
    pg::require_no_nul(c.tenant, "tenant");
    pg::require_no_nul(c.name, "name");
    require_json(c.card_json, "card_json");
    out.created_at = c.created_at != 0 ? c.created_at : now();
    out.updated_at = c.updated_at != 0 ? c.updated_at : out.created_at;
    out.id = int64(tx.exec_params1("INSERT INTO characters (tenant, name, card, created_at, updated_at) "
                                   "VALUES ($1, $2, $3, $4, $5) RETURNING id",
                                   c.tenant, c.name, c.card_json, out.created_at, out.updated_at)[0]);
  });
  return out;
}

std::optional<Character> PgStore::get_character(Id id) {
  std::optional<Character> out;
  read("get_character " + std::to_string(id), [&](pqxx::transaction_base& tx) {
    const auto r = tx.exec_params(select(kCharacterCols, "FROM characters WHERE id = $1"), id);
    if (!r.empty()) out = read_character(r[0]);
  });
  return out;
}

std::vector<Character> PgStore::list_characters() {
  std::vector<Character> out;
  read("list_characters", [&](pqxx::transaction_base& tx) {
    for (const auto& row : tx.exec(select(kCharacterCols, "FROM characters ORDER BY id"))) {
      out.push_back(read_character(row));
    }
  });
  return out;
}

void PgStore::update_character(const Character& c) {
  mutate("update_character " + std::to_string(c.id), [&](pqxx::transaction_base& tx) {
    require_non_empty(c.name, "name");
    pg::require_no_nul(c.name, "name");
    require_json(c.card_json, "card_json");
    require_tenant_unchanged(tx, "characters", c.id, c.tenant);
    const auto r = tx.exec_params("UPDATE characters SET name = $1, card = $2, updated_at = $3 WHERE id = $4", c.name,
                                  c.card_json, now(), c.id);
    if (r.affected_rows() == 0) throw StoreError("no such character");
  });
}

void PgStore::delete_character(Id id) {
  mutate("delete_character " + std::to_string(id), [&](pqxx::transaction_base& tx) {
    const auto n = int64(tx.exec_params1("SELECT count(*) FROM sessions WHERE character_id = $1", id)[0]);
    if (n > 0) throw StoreError(std::to_string(n) + " session(s) still use it");
    if (tx.exec_params("DELETE FROM characters WHERE id = $1", id).affected_rows() == 0) {
      throw StoreError("no such character");
    }
  });
}

// ---- personas ----

Persona PgStore::create_persona(const Persona& p) {
  Persona out = p;
  mutate("create_persona " + quoted(p.name), [&](pqxx::transaction_base& tx) {
    require_non_empty(p.name, "name");
    pg::require_no_nul(p.name, "name");
    pg::require_no_nul(p.description, "description");
    out.id = int64(tx.exec_params1("INSERT INTO personas (name, description) VALUES ($1, $2) RETURNING id", p.name,
                                   p.description)[0]);
  });
  return out;
}

std::optional<Persona> PgStore::get_persona(Id id) {
  std::optional<Persona> out;
  read("get_persona " + std::to_string(id), [&](pqxx::transaction_base& tx) {
    const auto r = tx.exec_params("SELECT id, name, description FROM personas WHERE id = $1", id);
    if (!r.empty()) out = read_persona(r[0]);
  });
  return out;
}

std::vector<Persona> PgStore::list_personas() {
  std::vector<Persona> out;
  read("list_personas", [&](pqxx::transaction_base& tx) {
    for (const auto& row : tx.exec("SELECT id, name, description FROM personas ORDER BY id")) {
      out.push_back(read_persona(row));
    }
  });
  return out;
}

void PgStore::update_persona(const Persona& p) {
  mutate("update_persona " + std::to_string(p.id), [&](pqxx::transaction_base& tx) {
    require_non_empty(p.name, "name");
    pg::require_no_nul(p.name, "name");
    pg::require_no_nul(p.description, "description");
    const auto r =
        tx.exec_params("UPDATE personas SET name = $1, description = $2 WHERE id = $3", p.name, p.description, p.id);
    if (r.affected_rows() == 0) throw StoreError("no such persona");
  });
}

void PgStore::delete_persona(Id id) {
  mutate("delete_persona " + std::to_string(id), [&](pqxx::transaction_base& tx) {
    // Sessions that used it keep going without one (ON DELETE SET NULL).
    if (tx.exec_params("DELETE FROM personas WHERE id = $1", id).affected_rows() == 0) {
      throw StoreError("no such persona");
    }
  });
}

// ---- sessions ----

namespace {

void check_session_fields(const Session& s) {
  require_non_empty(s.name, "name");
  require_json(s.settings_json, "settings_json");
  pg::require_no_nul(s.tenant, "tenant");
  pg::require_no_nul(s.name, "name");
  if (s.kv_state_path) pg::require_no_nul(*s.kv_state_path, "kv_state_path");
}

void require_unique_name(pqxx::transaction_base& tx, const Session& s) {
  if (!tx.exec_params("SELECT id FROM sessions WHERE tenant = $1 AND name = $2 AND id != $3", s.tenant, s.name, s.id)
           .empty()) {
    throw StoreError("a session named " + quoted(s.name) + " already exists");
  }
}

}  // namespace

Session PgStore::create_session(const Session& s) {
  Session out = s;
  mutate("create_session " + quoted(s.name), [&](pqxx::transaction_base& tx) {
    check_session_fields(s);
    require_character(tx, s.character_id, s.tenant);
    if (s.persona_id) require_persona(tx, *s.persona_id);
    out.id = 0;
    require_unique_name(tx, out);
    out.created_at = s.created_at != 0 ? s.created_at : now();
    out.updated_at = s.updated_at != 0 ? s.updated_at : out.created_at;
    out.id = int64(tx.exec_params1("INSERT INTO sessions (tenant, name, character_id, persona_id, settings, "
                                   "kv_state_path, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                                   "RETURNING id",
                                   s.tenant, s.name, s.character_id, s.persona_id, s.settings_json, s.kv_state_path,
                                   out.created_at, out.updated_at)[0]);
  });
  return out;
}

std::optional<Session> PgStore::get_session(Id id) {
  std::optional<Session> out;
  read("get_session " + std::to_string(id), [&](pqxx::transaction_base& tx) {
    const auto r = tx.exec_params(select(kSessionCols, "FROM sessions WHERE id = $1"), id);
    if (!r.empty()) out = read_session(r[0]);
  });
  return out;
}

std::optional<Session> PgStore::find_session_by_name(std::string_view name, std::string_view tenant) {
  std::optional<Session> out;
  read("find_session_by_name " + quoted(name) + " (tenant " + quoted(tenant) + ")", [&](pqxx::transaction_base& tx) {
    const auto r = tx.exec_params(select(kSessionCols, "FROM sessions WHERE tenant = $1 AND name = $2"),
                                  std::string(tenant), std::string(name));
    if (!r.empty()) out = read_session(r[0]);
  });
  return out;
}

std::vector<Session> PgStore::list_sessions() {
  std::vector<Session> out;
  read("list_sessions", [&](pqxx::transaction_base& tx) {
    for (const auto& row : tx.exec(select(kSessionCols, "FROM sessions ORDER BY updated_at DESC, id DESC"))) {
      out.push_back(read_session(row));
    }
  });
  return out;
}

void PgStore::update_session(const Session& s) {
  mutate("update_session " + std::to_string(s.id), [&](pqxx::transaction_base& tx) {
    require_session(tx, s.id, /*lock=*/true);
    check_session_fields(s);
    require_tenant_unchanged(tx, "sessions", s.id, s.tenant);
    require_character(tx, s.character_id, s.tenant);
    if (s.persona_id) require_persona(tx, *s.persona_id);
    require_unique_name(tx, s);
    tx.exec_params(
        "UPDATE sessions SET name = $1, character_id = $2, persona_id = $3, settings = $4, kv_state_path = $5, "
        "updated_at = $6 WHERE id = $7",
        s.name, s.character_id, s.persona_id, s.settings_json, s.kv_state_path, now(), s.id);
  });
}

void PgStore::delete_session(Id id) {
  mutate("delete_session " + std::to_string(id), [&](pqxx::transaction_base& tx) {
    // Turns, swipes and the session's memories go with it (ON DELETE CASCADE).
    if (tx.exec_params("DELETE FROM sessions WHERE id = $1", id).affected_rows() == 0) {
      throw StoreError("no such session");
    }
  });
}

}  // namespace kindred::store
