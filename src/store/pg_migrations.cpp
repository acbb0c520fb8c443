// The schema history of the PostgreSQL store (see pg_migrations.h).
#include "store/pg_migrations.h"

#include <array>
#include <string>

#include "store/store.h"

namespace kindred::store::pg {
namespace {

// The SQLite schema at its version 4, in PostgreSQL types: BIGSERIAL ids (never reused),
// BIGINT millisecond timestamps, BYTEA embeddings (little-endian float32, as in SQLite).
constexpr std::string_view kV1 = R"sql(
CREATE TABLE characters (
  id BIGSERIAL PRIMARY KEY,
  tenant TEXT NOT NULL DEFAULT '',
  name TEXT NOT NULL,
  card TEXT NOT NULL DEFAULT '{}',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX characters_tenant ON characters(tenant);
CREATE TABLE personas (
  id BIGSERIAL PRIMARY KEY,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT ''
);
CREATE TABLE sessions (
  id BIGSERIAL PRIMARY KEY,
  tenant TEXT NOT NULL DEFAULT '',
  name TEXT NOT NULL,
  character_id BIGINT NOT NULL REFERENCES characters(id) ON DELETE RESTRICT,
  persona_id BIGINT REFERENCES personas(id) ON DELETE SET NULL,
  settings TEXT NOT NULL DEFAULT '{}',
  kv_state_path TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (tenant, name)
);
CREATE INDEX sessions_character ON sessions(character_id);
CREATE INDEX sessions_persona ON sessions(persona_id);
CREATE INDEX sessions_updated ON sessions(updated_at);
CREATE TABLE turns (
  id BIGSERIAL PRIMARY KEY,
  session_id BIGINT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  position INTEGER NOT NULL CHECK (position >= 0),
  role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
  active_swipe INTEGER NOT NULL DEFAULT 0 CHECK (active_swipe >= 0),
  created_at BIGINT NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}',
  UNIQUE (session_id, position)
);
CREATE TABLE swipes (
  turn_id BIGINT NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
  idx INTEGER NOT NULL CHECK (idx >= 0),
  text TEXT NOT NULL,
  PRIMARY KEY (turn_id, idx)
);
CREATE TABLE memories (
  id BIGSERIAL PRIMARY KEY,
  session_id BIGINT REFERENCES sessions(id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('fact', 'summary', 'note')),
  level INTEGER NOT NULL DEFAULT 0 CHECK (level >= 0),
  text TEXT NOT NULL,
  first_turn INTEGER,
  last_turn INTEGER,
  embedding BYTEA NOT NULL DEFAULT '\x',
  created_at BIGINT NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX memories_session_kind ON memories(session_id, kind);
CREATE TABLE api_keys (
  id BIGSERIAL PRIMARY KEY,
  tenant TEXT NOT NULL,
  name TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  admin BOOLEAN NOT NULL DEFAULT FALSE,
  rate_limit_per_minute INTEGER NOT NULL DEFAULT 0 CHECK (rate_limit_per_minute >= 0),
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);
)sql";

constexpr std::array kMigrations = {
    Migration{1, "characters, personas, sessions, turns, memories, API keys (tenants throughout)", kV1},
};

std::int64_t count(pqxx::transaction_base& tx, const std::string& sql) {
  return tx.exec(sql)[0][0].as<std::int64_t>();
}

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

int latest_schema_version() { return kMigrations.back().version; }

int read_schema_version(pqxx::transaction_base& tx) {
  if (count(tx,
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'schema_version'") ==
      0) {
    return 0;
  }
  return tx.exec("SELECT coalesce(max(version), 0) FROM schema_version")[0][0].as<int>();
}

void migrate(Connection& connection) {
  const Migration* step = nullptr;  // the step being applied, for the error message
  try {
    pqxx::work tx(connection.conn);
    // One lock per schema: stores in other schemas of the database do not wait for us.
    tx.exec("SELECT pg_advisory_xact_lock(hashtext('kindred-store-migrate:' || coalesce(current_schema(), '')))");
    if (tx.exec("SELECT current_schema()")[0][0].is_null()) {
      throw StoreError("no schema to create tables in (check search_path)");
    }
    const int version = read_schema_version(tx);
    if (version == 0 && count(tx, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()") > 0) {
      throw StoreError("not a Kindred database (schema " + tx.exec("SELECT current_schema()")[0][0].as<std::string>() +
                       " has tables but no schema_version)");
    }
    if (version > latest_schema_version()) {
      throw StoreError("database schema version " + std::to_string(version) +
                       " is newer than this build supports (" + std::to_string(latest_schema_version()) +
                       "); use a newer Kindred");
    }
    if (version == latest_schema_version()) {
      tx.commit();  // nothing written; ends the transaction and releases the lock
      return;
    }
    tx.exec(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
        "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
    for (const Migration& m : kMigrations) {
      if (m.version <= version) continue;
      step = &m;
      tx.exec(std::string(m.sql));
      tx.exec_params("INSERT INTO schema_version (version, description) VALUES ($1, $2)", m.version,
                     std::string(m.description));
    }
    step = nullptr;
    tx.commit();
  } catch (const StoreError&) {
    throw;
  } catch (const std::exception& e) {
    if (step != nullptr) {
      throw StoreError("migrate to schema version " + std::to_string(step->version) + " (" +
                       std::string(step->description) + "): " + error_text(e));
    }
    throw StoreError("migrate: " + error_text(e));
  }
}

}  // namespace kindred::store::pg
