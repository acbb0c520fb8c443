// PgStore: server API keys (hashes only; see ApiKey in store.h).
#include "store/pg_connection.h"
#include "store/pg_store.h"
#include "store/validate.h"

namespace kindred::store {

namespace {

constexpr const char* kApiKeyCols = "id, tenant, name, key_hash, admin, rate_limit_per_minute, created_at, revoked_at";

ApiKey read_api_key(const pqxx::row& r) {
  return ApiKey{.id = pg::int64(r[0]),
                .tenant = pg::text(r[1]),
                .name = pg::text(r[2]),
                .key_hash = pg::text(r[3]),
                .admin = r[4].as<bool>(),
                .rate_limit_per_minute = pg::int32(r[5]),
                .created_at = pg::int64(r[6]),
                .revoked_at = pg::opt_int64(r[7])};
}

}  // namespace

ApiKey PgStore::create_api_key(const ApiKey& key) {
  ApiKey out = key;
  mutate("create_api_key '" + key.name + "' (tenant '" + key.tenant + "')", [&](pqxx::transaction_base& tx) {
    check_api_key(key);
    pg::require_no_nul(key.tenant, "tenant");
    pg::require_no_nul(key.name, "name");
    if (!tx.exec_params("SELECT id FROM api_keys WHERE key_hash = $1", key.key_hash).empty()) {
      throw StoreError("an API key with this key_hash already exists");
    }
    out.created_at = key.created_at != 0 ? key.created_at : now();
    out.id = pg::int64(tx.exec_params1("INSERT INTO api_keys (tenant, name, key_hash, admin, rate_limit_per_minute, "
                                       "created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                                       key.tenant, key.name, key.key_hash, key.admin, key.rate_limit_per_minute,
                                       out.created_at, key.revoked_at)[0]);
  });
  return out;
}

std::optional<ApiKey> PgStore::find_api_key_by_hash(std::string_view key_hash) {
  std::optional<ApiKey> out;
  read("find_api_key_by_hash", [&](pqxx::transaction_base& tx) {
    const auto r = tx.exec_params(std::string("SELECT ") + kApiKeyCols + " FROM api_keys WHERE key_hash = $1",
                                  std::string(key_hash));
    if (!r.empty()) out = read_api_key(r[0]);
  });
  return out;
}

std::vector<ApiKey> PgStore::list_api_keys() {
  std::vector<ApiKey> out;
  read("list_api_keys", [&](pqxx::transaction_base& tx) {
    for (const auto& row : tx.exec(std::string("SELECT ") + kApiKeyCols + " FROM api_keys ORDER BY id")) {
      out.push_back(read_api_key(row));
    }
  });
  return out;
}

void PgStore::revoke_api_key(Id id) {
  mutate("revoke_api_key " + std::to_string(id), [&](pqxx::transaction_base& tx) {
    if (tx.exec_params("SELECT 1 FROM api_keys WHERE id = $1 FOR UPDATE", id).empty()) {
      throw StoreError("no such API key");
    }
    // Revoking again keeps the first revocation time.
    tx.exec_params("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", now(), id);
  });
}

}  // namespace kindred::store
