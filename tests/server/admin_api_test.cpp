// API key management over HTTP: only admin keys may use it (401 without a key, 403 with a
// tenant's key); a new key is shown once and works at once; listings carry no key material;
// a revoked key stops working.
#include <gtest/gtest.h>

#include "server/api_keys.h"
#include "server/test_server.h"

namespace kindred::test {
namespace {

using nlohmann::json;

const std::string kKeys = "/kindred/v1/admin/keys";

void expect_status(const httplib::Result& r, int status) {
  ASSERT_TRUE(r) << "no response";
  EXPECT_EQ(r->status, status) << r->body;
  if (status >= 400) {
    const json j = json_of(r);
    ASSERT_TRUE(j.contains("error")) << r->body;
    EXPECT_TRUE(j["error"]["message"].is_string());
  }
}

TEST(AdminApi, RefusesCallersWithoutAnAdminKey) {
  TestServer server;
  const std::string tenant_key = server.create_key("acme");
  const json body = {{"tenant", "acme"}, {"name", "sneaky"}, {"admin", true}};

  auto anonymous = server.client();
  expect_status(anonymous->Get(kKeys), 401);
  expect_status(anonymous->Post(kKeys, body.dump(), "application/json"), 401);
  expect_status(server.client("kr-not-a-real-key")->Get(kKeys), 401);

  auto tenant = server.client(tenant_key);
  expect_status(tenant->Get(kKeys), 403);
  expect_status(tenant->Post(kKeys, body.dump(), "application/json"), 403);
  expect_status(tenant->Delete(kKeys + "/1"), 403);
  EXPECT_EQ(json_of(tenant->Get(kKeys))["error"]["type"], "permission_error");
  // The tenant key itself works on tenant routes.
  expect_status(tenant->Get("/kindred/v1/characters"), 200);
}

TEST(AdminApi, CreateListRevoke) {
  TestServer server;
  auto admin = server.client(TestServer::kAdminKey);
  const httplib::Result created =
      admin->Post(kKeys, json{{"tenant", "acme"}, {"name", "prod"}, {"rate_limit_per_minute", 600}}.dump(),
                  "application/json");
  expect_status(created, 201);
  const json k = json_of(created);
  EXPECT_EQ(k["tenant"], "acme");
  EXPECT_EQ(k["name"], "prod");
  EXPECT_EQ(k["admin"], false);
  EXPECT_EQ(k["rate_limit_per_minute"], 600);
  const std::string plaintext = k["key"];
  EXPECT_TRUE(server::looks_like_api_key(plaintext)) << plaintext;

  // Listed without the key or its hash.
  const httplib::Result listed = admin->Get(kKeys);
  expect_status(listed, 200);
  const json list = json_of(listed);
  ASSERT_EQ(list["data"].size(), 1u);
  EXPECT_EQ(list["data"][0]["id"], k["id"]);
  EXPECT_FALSE(list["data"][0].contains("key"));
  EXPECT_FALSE(list["data"][0].contains("key_hash"));
  EXPECT_EQ(listed->body.find(plaintext), std::string::npos);
  EXPECT_EQ(listed->body.find(server::hash_api_key(plaintext)), std::string::npos);
  EXPECT_TRUE(list["data"][0]["revoked_at"].is_null());

  // The store has the hash, not the key.
  const std::unique_ptr<store::Store> db = server.open_db();
  const std::optional<store::ApiKey> stored = db->find_api_key_by_hash(server::hash_api_key(plaintext));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->tenant, "acme");

  auto user = server.client(plaintext);
  expect_status(user->Get("/kindred/v1/sessions"), 200);
  const std::string one = kKeys + "/" + std::to_string(k["id"].get<int64_t>());
  expect_status(admin->Delete(one), 204);
  expect_status(user->Get("/kindred/v1/sessions"), 401);
  EXPECT_TRUE(json_of(admin->Get(kKeys))["data"][0]["revoked_at"].is_number());
  expect_status(admin->Delete(kKeys + "/9999"), 404);
}

TEST(AdminApi, AStoredAdminKeyMayManageKeysAndBadBodiesAre400) {
  TestServer server;
  const std::string admin_key = server.create_key("ops", /*admin=*/true);
  auto admin = server.client(admin_key);
  expect_status(admin->Post(kKeys, json{{"tenant", "acme"}, {"name", "ci"}}.dump(), "application/json"), 201);
  expect_status(admin->Post(kKeys, json{{"name", "no-tenant"}}.dump(), "application/json"), 400);
  expect_status(admin->Post(kKeys, json{{"tenant", "acme"}, {"name", "x"}, {"admin", "yes"}}.dump(), "application/json"),
                400);
  expect_status(admin->Post(kKeys, json{{"tenant", "acme"}, {"name", "x"}, {"rate_limit_per_minute", -1}}.dump(),
                            "application/json"),
                400);
  expect_status(admin->Post(kKeys, "{not json", "application/json"), 400);
  EXPECT_EQ(json_of(admin->Get(kKeys))["data"].size(), 2u);
}

}  // namespace
}  // namespace kindred::test
