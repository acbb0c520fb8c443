// Opens the store a location names: a PostgreSQL URL or an SQLite file.
#pragma once
#include <memory>
#include <string>

#include "store/store.h"

namespace kindred::store {

// "postgresql://..." or "postgres://..." opens a PgStore (pg_store.h); anything else is the
// path of an SQLite file, opened with SqliteStore's default options (created if missing).
// Failures are StoreErrors naming the file, or the host and database (never the password).
std::unique_ptr<Store> open_store(const std::string& location);

// Whether open_store would treat location as a PostgreSQL URL.
bool is_postgres_url(const std::string& location);

}  // namespace kindred::store
