// Tenants (records scoped to a tenant, per-tenant session names) and API keys, on every backend.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "store_backends.h"

namespace kindred::store {
namespace {

using testing::expect_store_error;

// A well-formed SHA-256 hex digest, different for each digit.
std::string hash_of(char hex_digit) { return std::string(64, hex_digit); }

class Tenants : public testing::BackendTest {};

TEST_P(Tenants, TenantIsKeptOnCharactersAndSessions) {
  const Character mine = store->create_character({.name = "Alice"});
  const Character theirs = store->create_character({.tenant = "acme", .name = "Bob"});
  EXPECT_EQ(store->get_character(mine.id)->tenant, "");
  EXPECT_EQ(store->get_character(theirs.id)->tenant, "acme");
  const Session s = store->create_session({.tenant = "acme", .name = "support", .character_id = theirs.id});
  EXPECT_EQ(store->get_session(s.id)->tenant, "acme");
  const auto sessions = store->list_sessions();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].tenant, "acme");
  const auto characters = store->list_characters();
  ASSERT_EQ(characters.size(), 2u);
  EXPECT_EQ(characters[1].tenant, "acme");
}

TEST_P(Tenants, SessionNamesAreUniquePerTenant) {
  const Character local = store->create_character({.name = "Alice"});
  const Character acme = store->create_character({.tenant = "acme", .name = "Alice"});
  const Session a = store->create_session({.name = "chat", .character_id = local.id});
  const Session b = store->create_session({.tenant = "acme", .name = "chat", .character_id = acme.id});
  EXPECT_NE(a.id, b.id);
  expect_store_error([&] { store->create_session({.tenant = "acme", .name = "chat", .character_id = acme.id}); },
                     {"create_session 'chat'", "already exists"});
  EXPECT_EQ(store->find_session_by_name("chat")->id, a.id);
  EXPECT_EQ(store->find_session_by_name("chat", "acme")->id, b.id);
  EXPECT_FALSE(store->find_session_by_name("chat", "globex"));
  // Renaming into a name another tenant uses is fine; into one of its own tenant is not.
  const Session c = store->create_session({.tenant = "acme", .name = "other", .character_id = acme.id});
  Session renamed = c;
  renamed.name = "chat";
  expect_store_error([&] { store->update_session(renamed); }, {"update_session", "already exists"});
  EXPECT_EQ(store->get_session(c.id)->name, "other");
}

TEST_P(Tenants, SessionAndCharacterShareATenant) {
  const Character local = store->create_character({.name = "Alice"});
  expect_store_error([&] { store->create_session({.tenant = "acme", .name = "x", .character_id = local.id}); },
                     {"create_session 'x'", "belongs to tenant ''", "not 'acme'"});
  const Character acme = store->create_character({.tenant = "acme", .name = "Bob"});
  const Session s = store->create_session({.tenant = "acme", .name = "x", .character_id = acme.id});
  Session moved = s;
  moved.character_id = local.id;
  expect_store_error([&] { store->update_session(moved); }, {"belongs to tenant ''"});
  EXPECT_EQ(store->get_session(s.id)->character_id, acme.id);
}

TEST_P(Tenants, TenantCannotChange) {
  const Character c = store->create_character({.tenant = "acme", .name = "Bob"});
  Character edited = *store->get_character(c.id);
  edited.name = "Robert";
  edited.tenant = "globex";
  expect_store_error([&] { store->update_character(edited); }, {"update_character", "tenant cannot change"});
  EXPECT_EQ(store->get_character(c.id)->name, "Bob");
  edited.tenant = "acme";
  store->update_character(edited);
  EXPECT_EQ(store->get_character(c.id)->name, "Robert");

  const Session s = store->create_session({.tenant = "acme", .name = "s", .character_id = c.id});
  Session moved = *store->get_session(s.id);
  moved.tenant = "";
  expect_store_error([&] { store->update_session(moved); }, {"update_session", "tenant cannot change"});
  EXPECT_EQ(store->get_session(s.id)->tenant, "acme");
}

TEST_P(Tenants, ImportGoesToTheGivenTenantAndExportCarriesNone) {
  const Character c = store->create_character({.name = "Alice"});
  const Session s = store->create_session({.name = "chat", .character_id = c.id});
  store->append_turn({.session_id = s.id, .swipes = {"hello"}});
  const std::string doc = store->export_session_json(s.id);
  EXPECT_EQ(doc.find("tenant"), std::string::npos);
  // Same name, other tenant: no clash, so no new name is needed.
  const Id copy = store->import_session_json(doc, {}, "acme");
  const Session imported = *store->get_session(copy);
  EXPECT_EQ(imported.tenant, "acme");
  EXPECT_EQ(imported.name, "chat");
  EXPECT_EQ(store->get_character(imported.character_id)->tenant, "acme");
  EXPECT_EQ(store->turns(copy).at(0).text(), "hello");
  EXPECT_EQ(store->find_session_by_name("chat", "acme")->id, copy);
}

KINDRED_ALL_BACKENDS(Tenants);

class ApiKeys : public testing::BackendTest {};

TEST_P(ApiKeys, CreateFindListRevoke) {
  const ApiKey admin = store->create_api_key(
      {.tenant = "local", .name = "ops", .key_hash = hash_of('a'), .admin = true, .rate_limit_per_minute = 0});
  const ApiKey prod = store->create_api_key(
      {.tenant = "acme", .name = "prod", .key_hash = hash_of('b'), .rate_limit_per_minute = 600});
  EXPECT_GT(admin.id, 0);
  EXPECT_GT(prod.id, admin.id);
  EXPECT_GT(prod.created_at, 0);

  const auto found = store->find_api_key_by_hash(hash_of('b'));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, prod.id);
  EXPECT_EQ(found->tenant, "acme");
  EXPECT_EQ(found->name, "prod");
  EXPECT_FALSE(found->admin);
  EXPECT_EQ(found->rate_limit_per_minute, 600);
  EXPECT_EQ(found->created_at, prod.created_at);
  EXPECT_FALSE(found->revoked_at);
  EXPECT_TRUE(store->find_api_key_by_hash(hash_of('a'))->admin);
  EXPECT_FALSE(store->find_api_key_by_hash(hash_of('c')));

  store->revoke_api_key(prod.id);
  const auto revoked = store->find_api_key_by_hash(hash_of('b'));
  ASSERT_TRUE(revoked);  // still found: the caller tells "revoked" from "unknown"
  ASSERT_TRUE(revoked->revoked_at);
  EXPECT_GE(*revoked->revoked_at, prod.created_at);
  const auto listed = store->list_api_keys();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].id, admin.id);
  EXPECT_FALSE(listed[0].revoked_at);
  EXPECT_EQ(listed[1].revoked_at, revoked->revoked_at);
  expect_store_error([&] { store->revoke_api_key(999); }, {"revoke_api_key 999", "no such API key"});
}

TEST_P(ApiKeys, RevokingTwiceKeepsTheFirstTime) {
  const ApiKey k = store->create_api_key({.name = "old", .key_hash = hash_of('d'), .revoked_at = 5});
  store->revoke_api_key(k.id);
  EXPECT_EQ(store->find_api_key_by_hash(hash_of('d'))->revoked_at, 5);
}

TEST_P(ApiKeys, BadKeysAreRejectedAndWriteNothing) {
  store->create_api_key({.tenant = "acme", .name = "prod", .key_hash = hash_of('e')});
  expect_store_error([&] { store->create_api_key({.tenant = "globex", .name = "x", .key_hash = hash_of('e')}); },
                     {"create_api_key 'x'", "already exists"});
  expect_store_error([&] { store->create_api_key({.name = "x", .key_hash = std::string(64, 'E')}); }, {"key_hash"});
  expect_store_error([&] { store->create_api_key({.name = "x", .key_hash = "abc123"}); }, {"key_hash"});
  expect_store_error([&] { store->create_api_key({.name = "", .key_hash = hash_of('f')}); }, {"name"});
  expect_store_error([&] { store->create_api_key({.name = "x", .key_hash = hash_of('f'), .rate_limit_per_minute = -1}); },
                     {"rate_limit_per_minute"});
  const auto keys = store->list_api_keys();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].tenant, "acme");
}

// Server processes share keys: one created on one connection is found on another.
TEST_P(ApiKeys, VisibleToOtherConnections) {
  const ApiKey k = store->create_api_key({.tenant = "acme", .name = "prod", .key_hash = hash_of('1')});
  const auto other = backend_->open_again();
  const auto found = other->find_api_key_by_hash(hash_of('1'));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, k.id);
  other->revoke_api_key(k.id);
  EXPECT_TRUE(store->find_api_key_by_hash(hash_of('1'))->revoked_at);
}

KINDRED_ALL_BACKENDS(ApiKeys);

}  // namespace
}  // namespace kindred::store
