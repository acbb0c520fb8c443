// Kindred's own API (docs/SERVER_API.md, prefix /kindred/v1): characters (Character Card V2/V3
// as JSON or inside a PNG), the intent inventory and the appraiser; sessions are in
// session_routes.cpp. Every record is the caller's tenant's: another tenant's answers 404 exactly
// like a missing one.
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <span>

#include "affect/emotion.h"
#include "affect/intent.h"
#include "dialogue/character_card.h"
#include "dialogue/png_card.h"
#include "server/api_error.h"
#include "server/kindred_json.h"
#include "server/kindred_routes.h"

namespace kindred::server {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;
using dialogue::CharacterCard;

store::Character owned_character(store::Store& store, const Caller& caller, int64_t id) {
  std::optional<store::Character> c = store.get_character(id);
  if (!c || c->tenant != caller.tenant) throw not_found("no character " + std::to_string(id), "character_not_found");
  return *c;
}

store::Session owned_session(store::Store& store, const Caller& caller, int64_t id) {
  std::optional<store::Session> s = store.get_session(id);
  if (!s || s->tenant != caller.tenant) throw not_found("no session " + std::to_string(id), "session_not_found");
  return *s;
}

namespace {

// A card from a request body: a V2/V3 card ({"spec": ..., "data": {...}}), or a bare data object,
// which is taken as V2 data (a V1 card's flat fields are a subset of it, so nothing is lost).
CharacterCard card_from_json(const Json& body) {
  const Json card = body.contains("spec") ? body
                                          : Json{{"spec", "chara_card_v2"}, {"spec_version", "2.0"}, {"data", body}};
  try {
    return CharacterCard::from_json(card);
  } catch (const std::exception& e) {
    throw bad_request(e.what());
  }
}

CharacterCard card_from_png(const std::string& bytes) {
  try {
    return CharacterCard::from_png_bytes(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  } catch (const std::exception& e) {
    throw bad_request(e.what());
  }
}

bool is_png_upload(const httplib::Request& req) {
  static const std::string kSignature = "\x89PNG\r\n\x1a\n";
  const std::string type = req.get_header_value("Content-Type");
  return type.rfind("image/png", 0) == 0 || req.body.compare(0, kSignature.size(), kSignature) == 0;
}

store::Character record_of(const CharacterCard& card, const std::string& tenant) {
  if (card.name().empty()) throw bad_request("the character card has no name", "name");
  store::Character c{.name = card.name(), .card_json = card.to_json().dump()};
  c.tenant = tenant;
  return c;
}

CharacterCard stored_card(const store::Character& c) {
  return CharacterCard::from_json_text(c.card_json, "stored card of character " + std::to_string(c.id));
}

// The card as V2 JSON: a V3 card gets the V2 copy its PNG carries for older readers (dialogue/
// builds it, lorebook decorators stripped), so the two exports agree.
Json v2_card(const CharacterCard& card) {
  if (card.spec_version() < 3) return card.to_json();
  const std::map<std::string, std::string> chunks = dialogue::png::read_text_chunks(card.to_png());
  return Json::parse(dialogue::png::base64_decode(chunks.at("chara")));
}

// A file name for Content-Disposition: the character's name with anything unusual replaced.
std::string file_stem(const std::string& name) {
  std::string out;
  for (char c : name) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  return out.empty() ? "character" : out.substr(0, 64);
}

void create_character(ServerState& s, const CharacterCard& card, httplib::Response& res, const Caller& caller) {
  const store::Character created = s.store().create_character(record_of(card, caller.tenant));
  send_json(res, character_json(created, true), 201);
}

}  // namespace

void add_character_routes(Router& router, ServerState& state) {
  ServerState* s = &state;
  const std::string base = std::string(kKindredPrefix) + "/characters";
  const std::string one = base + R"(/(\d+))";

  router.get(base, base, Access::Tenant, [s](const httplib::Request&, httplib::Response& res, const Caller& caller) {
    OJson data = OJson::array();
    for (const store::Character& c : s->store().list_characters()) {
      if (c.tenant == caller.tenant) data.push_back(character_json(c, false));
    }
    send_json(res, OJson{{"data", data}});
  });
  router.post(base, base, Access::Tenant, [s](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
    create_character(*s, card_from_json(json_body(req)), res, caller);
  });
  router.post(base + "/import", base + "/import", Access::Tenant,
              [s](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
                if (req.body.empty()) throw bad_request("the request body is empty; send a PNG card or card JSON");
                create_character(*s, is_png_upload(req) ? card_from_png(req.body) : card_from_json(json_body(req)), res,
                                 caller);
              });
  router.get(one, base + "/{id}", Access::Tenant, [s](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
    send_json(res, character_json(owned_character(s->store(), caller, path_id(req)), true));
  });
  router.put(one, base + "/{id}", Access::Tenant, [s](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
    store::Store& store = s->store();
    store::Character c = owned_character(store, caller, path_id(req));
    const CharacterCard card = card_from_json(json_body(req));
    const store::Character fields = record_of(card, caller.tenant);
    c.name = fields.name;
    c.card_json = fields.card_json;
    store.update_character(c);
    send_json(res, character_json(owned_character(store, caller, c.id), true));
  });
  router.del(one, base + "/{id}", Access::Tenant, [s](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
    store::Store& store = s->store();
    const store::Character c = owned_character(store, caller, path_id(req));
    const std::vector<store::Session> sessions = store.list_sessions();
    const auto users = std::count_if(sessions.begin(), sessions.end(),
                                     [&](const store::Session& x) { return x.character_id == c.id; });
    if (users > 0) {
      throw ApiError(409, "character " + std::to_string(c.id) + " is used by " + std::to_string(users) +
                              " session(s); delete them first", std::nullopt, "character_in_use");
    }
    store.delete_character(c.id);
    res.status = 204;
  });
  router.get(one + "/export", base + "/{id}/export", Access::Tenant,
             [s](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
               const store::Character c = owned_character(s->store(), caller, path_id(req));
               const std::string format = req.has_param("format") ? req.get_param_value("format") : "json";
               const CharacterCard card = stored_card(c);
               if (format == "json") {
                 send_json(res, v2_card(card));
               } else if (format == "png") {
                 const std::vector<uint8_t> png = card.to_png();
                 res.set_header("Content-Disposition", "attachment; filename=\"" + file_stem(c.name) + ".png\"");
                 res.set_content(std::string(png.begin(), png.end()), "image/png");
               } else {
                 throw bad_request("'format' must be json or png, not '" + format + "'", "format");
               }
             });
}

void add_kindred_routes(Router& router, ServerState& state) {
  ServerState* s = &state;
  add_character_routes(router, state);
  add_session_routes(router, state);
  const std::string prefix = kKindredPrefix;

  router.get(prefix + "/intents", prefix + "/intents", Access::Tenant,
             [s](const httplib::Request&, httplib::Response& res, const Caller&) {
               OJson data = OJson::array();
               if (s->intents) {
                 for (const std::string& name : s->intents->intents()) data.push_back(name);
               }
               send_json(res, OJson{{"data", data}});
             });
  router.post(prefix + "/affect/appraise", prefix + "/affect/appraise", Access::Tenant,
              [s](const httplib::Request& req, httplib::Response& res, const Caller&) {
                const Json body = json_body(req);
                if (!body.contains("text") || !body["text"].is_string()) throw bad_request("'text' must be a string", "text");
                if (!s->appraiser) {
                  throw ApiError(503, "this server runs without the affective stream (started with --no-affect), so it "
                                      "has no appraiser", std::nullopt, "affect_disabled");
                }
                const affect::Appraisal a = s->appraiser->appraise(body["text"].get<std::string>());
                OJson out = affect::to_json(a);
                out["appraiser"] = s->appraiser->name();
                send_json(res, out);
              });
}

}  // namespace kindred::server
