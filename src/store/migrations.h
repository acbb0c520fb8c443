// Versioned schema migrations for the SQLite store.
//
// The schema version lives in PRAGMA user_version (0 = empty database). Migration steps are
// an ordered list; at open, every step newer than the database runs in its own transaction,
// which also sets user_version, so a crash mid-migration leaves the previous version intact.
// Steps are append-only: a shipped step is never edited, later changes add a new step.
// Steps run with foreign keys ON (the PRAGMA is a no-op inside a transaction), so a step that
// rebuilds a table must keep the references valid -- or be marked rebuilds_tables: it then
// runs with foreign keys OFF (switched outside its transaction, as SQLite requires; dropping a
// referenced table would otherwise cascade into its children) and must leave
// PRAGMA foreign_key_check clean, or it is rolled back.
#pragma once
#include <span>
#include <string_view>

#include "store/sqlite_db.h"

namespace kindred::store::sqlite {

struct Migration {
  int version;  // user_version after this step
  std::string_view description;
  std::string_view sql;
  bool rebuilds_tables = false;
};

std::span<const Migration> migrations();
int latest_schema_version();

int read_schema_version(Db& db);
// Applies the missing steps. Throws StoreError naming the step that failed; that step's
// changes are rolled back, earlier steps stay committed.
void migrate(Db& db);

}  // namespace kindred::store::sqlite
