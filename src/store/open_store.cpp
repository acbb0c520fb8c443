// open_store: a location string to a Store backend (open_store.h).
#include "store/open_store.h"

#include "store/pg_store.h"
#include "store/sqlite_store.h"

namespace kindred::store {

bool is_postgres_url(const std::string& location) {
  return location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0;
}

std::unique_ptr<Store> open_store(const std::string& location) {
  if (is_postgres_url(location)) return std::make_unique<PgStore>(location);
  return std::make_unique<SqliteStore>(location);
}

}  // namespace kindred::store
