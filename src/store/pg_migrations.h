// Versioned schema migrations for the PostgreSQL store (its own history, independent of the
// SQLite one in migrations.h).
//
// The applied steps are rows of a schema_version table in the connection's current schema
// (so one database can hold several Kindred stores, one per schema: search_path picks).
// At open, migrate() takes a transaction-scoped advisory lock, re-reads the version and applies
// every missing step in that one transaction: two processes opening a fresh database at once
// serialize on the lock, and the second finds nothing to do. A failing step rolls the whole
// open back. Steps are append-only: a shipped step is never edited.
#pragma once
#include <span>
#include <string_view>

#include "store/pg_connection.h"

namespace kindred::store::pg {

struct Migration {
  int version;  // schema version after this step
  std::string_view description;
  std::string_view sql;
};

std::span<const Migration> migrations();
int latest_schema_version();

// 0 when the current schema has no schema_version table.
int read_schema_version(pqxx::transaction_base& tx);
// Refuses a schema with tables but no schema_version (another program's), and a version newer
// than this build knows; applies the missing steps. Throws StoreError naming the step.
void migrate(Connection& connection);

}  // namespace kindred::store::pg
