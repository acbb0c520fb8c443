// API key management (docs/SERVER_API.md, /kindred/v1/admin/keys), for admin keys only: the
// operator's --admin-key, or a stored key minted with "admin": true. An admin manages every
// tenant's keys. A new key is shown once, in the 201 answer; the store keeps its SHA-256.
#include <httplib.h>

#include "server/api_error.h"
#include "server/api_keys.h"
#include "server/kindred_routes.h"

namespace kindred::server {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;

namespace {

std::string required_name(const Json& body, const char* key) {
  const auto it = body.find(key);
  if (it == body.end() || !it->is_string() || it->get<std::string>().empty()) {
    throw bad_request(std::string("'") + key + "' must be a non-empty string", key);
  }
  return it->get<std::string>();
}

OJson key_json(const store::ApiKey& k) {
  return {{"id", k.id},
          {"tenant", k.tenant},
          {"name", k.name},
          {"admin", k.admin},
          {"rate_limit_per_minute", k.rate_limit_per_minute},
          {"created_at", k.created_at},
          {"revoked_at", k.revoked_at ? OJson(*k.revoked_at) : OJson(nullptr)}};
}

}  // namespace

void add_admin_routes(Router& router, ServerState& state) {
  ServerState* s = &state;
  const std::string base = std::string(kKindredPrefix) + "/admin/keys";

  router.post(base, base, Access::Admin, [s](const httplib::Request& req, httplib::Response& res, const Caller&) {
    const Json body = json_body(req);
    store::ApiKey key;
    key.tenant = required_name(body, "tenant");
    key.name = required_name(body, "name");
    if (auto it = body.find("admin"); it != body.end() && !it->is_null()) {
      if (!it->is_boolean()) throw bad_request("'admin' must be true or false", "admin");
      key.admin = it->get<bool>();
    }
    if (auto it = body.find("rate_limit_per_minute"); it != body.end() && !it->is_null()) {
      if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 1'000'000'000) {
        throw bad_request("'rate_limit_per_minute' must be an integer >= 0 (0: unlimited)", "rate_limit_per_minute");
      }
      key.rate_limit_per_minute = static_cast<int>(it->get<int64_t>());
    }
    const std::string plaintext = generate_api_key();
    key.key_hash = hash_api_key(plaintext);
    const store::ApiKey created = s->store().create_api_key(key);
    const OJson fields = key_json(created);
    OJson out = {{"id", created.id}, {"key", plaintext}};
    for (const auto& [field, value] : fields.items()) {
      if (field != "id") out[field] = value;
    }
    send_json(res, out, 201);
  });
  router.get(base, base, Access::Admin, [s](const httplib::Request&, httplib::Response& res, const Caller&) {
    OJson data = OJson::array();
    for (const store::ApiKey& k : s->store().list_api_keys()) data.push_back(key_json(k));
    send_json(res, OJson{{"data", data}});
  });
  router.del(base + R"(/(\d+))", base + "/{id}", Access::Admin,
             [s](const httplib::Request& req, httplib::Response& res, const Caller&) {
               const int64_t id = path_id(req);
               store::Store& store = s->store();
               bool exists = false;
               for (const store::ApiKey& k : store.list_api_keys()) exists = exists || k.id == id;
               if (!exists) throw not_found("no API key " + std::to_string(id), "api_key_not_found");
               store.revoke_api_key(id);
               res.status = 204;
             });
}

}  // namespace kindred::server
