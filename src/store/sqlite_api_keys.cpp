// SqliteStore: server API keys (hashes only; see ApiKey in store.h).
#include "store/sqlite_db.h"
#include "store/sqlite_store.h"
#include "store/validate.h"

namespace kindred::store {

using sqlite::Stmt;

namespace {

constexpr const char* kApiKeyCols = "id, tenant, name, key_hash, admin, rate_limit_per_minute, created_at, revoked_at";

ApiKey read_api_key(const Stmt& st) {
  return ApiKey{.id = st.int64(0),
                .tenant = st.text(1),
                .name = st.text(2),
                .key_hash = st.text(3),
                .admin = st.int64(4) != 0,
                .rate_limit_per_minute = st.int32(5),
                .created_at = st.int64(6),
                .revoked_at = st.opt_int64(7)};
}

}  // namespace

ApiKey SqliteStore::create_api_key(const ApiKey& key) {
  ApiKey out = key;
  mutate("create_api_key '" + key.name + "' (tenant '" + key.tenant + "')", [&] {
    check_api_key(key);
    auto dup = db_->prepare("SELECT id FROM api_keys WHERE key_hash = ?");
    if (dup.bind(1, key.key_hash).step()) throw StoreError("an API key with this key_hash already exists");
    dup.reset();
    out.created_at = key.created_at != 0 ? key.created_at : now();
    db_->prepare(
           "INSERT INTO api_keys (tenant, name, key_hash, admin, rate_limit_per_minute, created_at, revoked_at) "
           "VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(1, key.tenant)
        .bind(2, key.name)
        .bind(3, key.key_hash)
        .bind(4, key.admin ? 1 : 0)
        .bind(5, key.rate_limit_per_minute)
        .bind(6, out.created_at)
        .bind(7, key.revoked_at)
        .run();
    out.id = db_->last_insert_id();
  });
  return out;
}

std::optional<ApiKey> SqliteStore::find_api_key_by_hash(std::string_view key_hash) {
  std::optional<ApiKey> out;
  // The hash is not secret, but it is long: name the operation without it.
  read("find_api_key_by_hash", [&] {
    auto st = db_->prepare(std::string("SELECT ") + kApiKeyCols + " FROM api_keys WHERE key_hash = ?");
    if (st.bind(1, key_hash).step()) out = read_api_key(st);
  });
  return out;
}

std::vector<ApiKey> SqliteStore::list_api_keys() {
  std::vector<ApiKey> out;
  read("list_api_keys", [&] {
    auto st = db_->prepare(std::string("SELECT ") + kApiKeyCols + " FROM api_keys ORDER BY id");
    while (st.step()) out.push_back(read_api_key(st));
  });
  return out;
}

void SqliteStore::revoke_api_key(Id id) {
  mutate("revoke_api_key " + std::to_string(id), [&] {
    auto st = db_->prepare("SELECT 1 FROM api_keys WHERE id = ?");
    if (!st.bind(1, id).step()) throw StoreError("no such API key");
    st.reset();
    // Revoking again keeps the first revocation time.
    db_->prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL").bind(1, now()).bind(2, id).run();
  });
}

}  // namespace kindred::store
