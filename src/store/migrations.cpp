// The schema history of the SQLite store (see migrations.h).
#include "store/migrations.h"

#include <array>
#include <string>

namespace kindred::store::sqlite {
namespace {

// AUTOINCREMENT so ids are never reused: other subsystems may keep ids (e.g. in an index).
constexpr std::string_view kV1 = R"sql(
CREATE TABLE characters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  card TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE personas (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT ''
);
CREATE TABLE sessions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  character_id INTEGER NOT NULL REFERENCES characters(id) ON DELETE RESTRICT,
  persona_id INTEGER REFERENCES personas(id) ON DELETE SET NULL,
  settings TEXT NOT NULL DEFAULT '{}',
  kv_state_path TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX sessions_character ON sessions(character_id);
CREATE INDEX sessions_persona ON sessions(persona_id);
CREATE TABLE turns (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  position INTEGER NOT NULL CHECK (position >= 0),
  role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
  active_swipe INTEGER NOT NULL DEFAULT 0 CHECK (active_swipe >= 0),
  created_at INTEGER NOT NULL,
  UNIQUE (session_id, position)
);
CREATE TABLE swipes (
  turn_id INTEGER NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
  idx INTEGER NOT NULL CHECK (idx >= 0),
  text TEXT NOT NULL,
  PRIMARY KEY (turn_id, idx)
) WITHOUT ROWID;
)sql";

// Memories and per-turn metadata (affect / intent) arrived together.
constexpr std::string_view kV2 = R"sql(
ALTER TABLE turns ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
CREATE TABLE memories (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id INTEGER REFERENCES sessions(id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('fact', 'summary', 'note')),
  level INTEGER NOT NULL DEFAULT 0 CHECK (level >= 0),
  text TEXT NOT NULL,
  first_turn INTEGER,
  last_turn INTEGER,
  embedding BLOB NOT NULL DEFAULT x'',
  created_at INTEGER NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX memories_session_kind ON memories(session_id, kind);
CREATE INDEX sessions_updated ON sessions(updated_at);
)sql";

// Tenants: characters and sessions get one; session names become unique per tenant, which
// needs a rebuild of sessions (an inline UNIQUE cannot be dropped). Existing rows join the
// default tenant ''. sqlite_sequence is carried over so no session id is ever reused.
constexpr std::string_view kV3 = R"sql(
ALTER TABLE characters ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
CREATE INDEX characters_tenant ON characters(tenant);
CREATE TABLE sessions_v3 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant TEXT NOT NULL DEFAULT '',
  name TEXT NOT NULL,
  character_id INTEGER NOT NULL REFERENCES characters(id) ON DELETE RESTRICT,
  persona_id INTEGER REFERENCES personas(id) ON DELETE SET NULL,
  settings TEXT NOT NULL DEFAULT '{}',
  kv_state_path TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (tenant, name)
);
INSERT INTO sessions_v3 (id, tenant, name, character_id, persona_id, settings, kv_state_path, created_at, updated_at)
  SELECT id, '', name, character_id, persona_id, settings, kv_state_path, created_at, updated_at FROM sessions;
DELETE FROM sqlite_sequence WHERE name = 'sessions_v3';
INSERT INTO sqlite_sequence (name, seq) SELECT 'sessions_v3', seq FROM sqlite_sequence WHERE name = 'sessions';
DROP TABLE sessions;
ALTER TABLE sessions_v3 RENAME TO sessions;
CREATE INDEX sessions_character ON sessions(character_id);
CREATE INDEX sessions_persona ON sessions(persona_id);
CREATE INDEX sessions_updated ON sessions(updated_at);
)sql";

// Server API keys (only their SHA-256 is kept).
constexpr std::string_view kV4 = R"sql(
CREATE TABLE api_keys (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant TEXT NOT NULL,
  name TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  admin INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
  rate_limit_per_minute INTEGER NOT NULL DEFAULT 0 CHECK (rate_limit_per_minute >= 0),
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
)sql";

constexpr std::array kMigrations = {
    Migration{1, "characters, personas, sessions, turns with swipes", kV1},
    Migration{2, "memories and turn metadata", kV2},
    Migration{3, "tenants; session names unique per tenant", kV3, /*rebuilds_tables=*/true},
    Migration{4, "API keys", kV4},
};

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

int latest_schema_version() { return kMigrations.back().version; }

int read_schema_version(Db& db) {
  auto st = db.prepare("PRAGMA user_version");
  st.step();
  return st.int32(0);
}

namespace {

// Throws unless PRAGMA foreign_key_check finds nothing (after a rebuild with foreign keys OFF).
void require_foreign_keys_intact(Db& db) {
  auto check = db.prepare("PRAGMA foreign_key_check");
  if (check.step()) {
    const std::string table = check.text(0);
    throw StoreError("a row of " + table + " references a missing " + check.text(2) + " row");
  }
}

}  // namespace

void migrate(Db& db) {
  for (const Migration& m : kMigrations) {
    if (read_schema_version(db) >= m.version) continue;  // cheap pre-check; re-read under the lock
    if (m.rebuilds_tables) db.exec("PRAGMA foreign_keys = OFF");
    // IMMEDIATE takes the write lock first, so two processes opening a fresh database
    // cannot both apply the same step; the re-read below sees the winner's work.
    try {
      db.exec("BEGIN IMMEDIATE");
      try {
        if (read_schema_version(db) < m.version) {
          db.exec(m.sql);
          if (m.rebuilds_tables) require_foreign_keys_intact(db);
          db.exec("PRAGMA user_version = " + std::to_string(m.version));
        }
        db.exec("COMMIT");
      } catch (const StoreError&) {
        db.rollback_quietly();
        throw;
      }
    } catch (const StoreError& e) {
      if (m.rebuilds_tables) db.exec("PRAGMA foreign_keys = ON");
      throw StoreError("migrate to schema version " + std::to_string(m.version) + " (" +
                       std::string(m.description) + "): " + e.what());
    }
    if (m.rebuilds_tables) db.exec("PRAGMA foreign_keys = ON");
  }
}

}  // namespace kindred::store::sqlite
