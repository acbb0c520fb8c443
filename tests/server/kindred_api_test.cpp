// Kindred's own API over HTTP against a real in-process server (tiny model, shipped appraiser):
// characters (JSON, PNG import and export), sessions and their conversation (plain and streamed
// messages, regenerate, swipe, undo), the affect views, tenant isolation and error bodies.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <span>
#include <thread>

#include "dialogue/character_card.h"
#include "server/test_server.h"

namespace kindred::test {
namespace {

using nlohmann::json;

const std::string kApi = "/kindred/v1";

json card(const std::string& name) {
  return {{"spec", "chara_card_v2"},
          {"spec_version", "2.0"},
          {"data",
           {{"name", name},
            {"description", "A cheerful, warm lighthouse keeper."},
            {"first_mes", "Evening, {{user}}. Lovely night for it."},
            {"alternate_greetings", {"Ahoy there!"}},
            {"extensions", {{"depth_prompt", {{"depth", 4}, {"prompt", "stay kind"}}}}}}}};
}

// Checks OpenAI's error shape and the status (and the code, when given).
void expect_error(const httplib::Result& r, int status, const std::string& code = "") {
  ASSERT_TRUE(r) << "no response";
  EXPECT_EQ(r->status, status) << r->body;
  const json j = json_of(r);
  ASSERT_TRUE(j.is_object() && j.contains("error")) << r->body;
  const json& e = j["error"];
  EXPECT_TRUE(e["message"].is_string() && !e["message"].get<std::string>().empty()) << r->body;
  EXPECT_TRUE(e["type"].is_string()) << r->body;
  EXPECT_TRUE(e.contains("param")) << r->body;
  EXPECT_TRUE(e.contains("code")) << r->body;
  if (!code.empty()) {
    EXPECT_EQ(e["code"], code) << r->body;
  }
}

class KindredApi : public ::testing::Test {
 protected:
  TestServer server;
  std::string key = server.create_key("acme");
  std::unique_ptr<httplib::Client> http = server.client(key);

  json post(const std::string& path, const json& body, int expected = 200) {
    const httplib::Result r = http->Post(kApi + path, body.dump(), "application/json");
    EXPECT_TRUE(r) << path;
    if (!r) return nullptr;
    EXPECT_EQ(r->status, expected) << path << ": " << r->body;
    return json_of(r);
  }
  json get(const std::string& path, int expected = 200) {
    const httplib::Result r = http->Get(kApi + path);
    EXPECT_TRUE(r) << path;
    if (!r) return nullptr;
    EXPECT_EQ(r->status, expected) << path << ": " << r->body;
    return json_of(r);
  }
  int64_t new_character(const std::string& name = "Mira") { return post("/characters", card(name), 201)["id"]; }
  json new_session(int64_t character_id) { return post("/sessions", {{"character_id", character_id}}, 201); }
};

TEST_F(KindredApi, CharacterCrudRoundTrip) {
  const json created = post("/characters", card("Mira"), 201);
  ASSERT_TRUE(created["id"].is_number_integer());
  EXPECT_EQ(created["name"], "Mira");
  EXPECT_EQ(created["description"], "A cheerful, warm lighthouse keeper.");
  EXPECT_EQ(created["card"]["alternate_greetings"], json::array({"Ahoy there!"}));
  EXPECT_EQ(created["card"]["extensions"]["depth_prompt"]["depth"], 4);  // unknown fields survive
  const std::string one = "/characters/" + std::to_string(created["id"].get<int64_t>());

  const json list = get("/characters");
  ASSERT_EQ(list["data"].size(), 1u);
  EXPECT_EQ(list["data"][0]["id"], created["id"]);
  EXPECT_FALSE(list["data"][0].contains("card"));

  EXPECT_EQ(get(one)["card"], created["card"]);

  // PUT with a bare data object replaces the card.
  const httplib::Result put = http->Put(kApi + one, json{{"name", "Mira II"}, {"description", "Older now."}}.dump(),
                                        "application/json");
  ASSERT_TRUE(put);
  ASSERT_EQ(put->status, 200) << put->body;
  EXPECT_EQ(json_of(put)["name"], "Mira II");
  EXPECT_EQ(get(one)["description"], "Older now.");

  const json exported = get(one + "/export?format=json");
  EXPECT_EQ(exported["spec"], "chara_card_v2");
  EXPECT_EQ(exported["data"]["name"], "Mira II");

  const httplib::Result png = http->Get(kApi + one + "/export?format=png");
  ASSERT_TRUE(png);
  ASSERT_EQ(png->status, 200);
  EXPECT_EQ(png->get_header_value("Content-Type"), "image/png");
  const dialogue::CharacterCard back = dialogue::CharacterCard::from_png_bytes(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(png->body.data()), png->body.size()));
  EXPECT_EQ(back.name(), "Mira II");
  expect_error(http->Get(kApi + one + "/export?format=gif"), 400);

  const httplib::Result del = http->Delete(kApi + one);
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 204);
  expect_error(http->Get(kApi + one), 404, "character_not_found");
  EXPECT_TRUE(get("/characters")["data"].empty());
}

TEST_F(KindredApi, ImportsPngAndJsonCards) {
  // A V3 card inside a PNG, as dialogue/ writes it.
  json v3 = card("Orrin");
  v3["spec"] = "chara_card_v3";
  v3["spec_version"] = "3.0";
  v3["data"]["nickname"] = "Rin";
  const std::vector<uint8_t> png = dialogue::CharacterCard::from_json(v3).to_png();
  const httplib::Result r = http->Post(kApi + "/characters/import", std::string(png.begin(), png.end()), "image/png");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  const json imported = json_of(r);
  EXPECT_EQ(imported["name"], "Orrin");
  EXPECT_EQ(imported["card"]["nickname"], "Rin");
  // Its JSON export is the V2 card.
  const json v2 = get("/characters/" + std::to_string(imported["id"].get<int64_t>()) + "/export");
  EXPECT_EQ(v2["spec"], "chara_card_v2");
  EXPECT_EQ(v2["data"]["name"], "Orrin");

  const json from_json = post("/characters/import", card("Juno"), 201);
  EXPECT_EQ(from_json["name"], "Juno");
  EXPECT_EQ(get("/characters")["data"].size(), 2u);

  // A PNG without a card, and a card with a field of the wrong type: the parser's message.
  const std::vector<uint8_t> bare = dialogue::CharacterCard::from_json(card("X")).to_png();
  std::string corrupt(bare.begin(), bare.end());
  corrupt.resize(corrupt.size() / 2);
  expect_error(http->Post(kApi + "/characters/import", corrupt, "image/png"), 400);
  json bad = card("Bad");
  bad["data"]["alternate_greetings"] = 7;
  const httplib::Result wrong = http->Post(kApi + "/characters", bad.dump(), "application/json");
  expect_error(wrong, 400);
  EXPECT_NE(json_of(wrong)["error"]["message"].get<std::string>().find("alternate_greetings"), std::string::npos);
}

TEST_F(KindredApi, MalformedJsonIsA400InOpenAiShape) {
  const httplib::Result r = http->Post(kApi + "/characters", "{\"name\": ", "application/json");
  expect_error(r, 400);
  EXPECT_EQ(json_of(r)["error"]["type"], "invalid_request_error");
  expect_error(http->Post(kApi + "/sessions", "[1, 2]", "application/json"), 400);
  expect_error(http->Post(kApi + "/sessions", json{{"character_id", "one"}}.dump(), "application/json"), 400);
}

TEST_F(KindredApi, SessionsStartWithTheGreetingAndAreListedAndDeleted) {
  const int64_t character = new_character();
  const json session = new_session(character);
  EXPECT_EQ(session["character_id"], character);
  EXPECT_EQ(session["character_name"], "Mira");
  EXPECT_EQ(session["name"].get<std::string>().rfind("Mira ", 0), 0u);  // a generated name
  ASSERT_EQ(session["turns"].size(), 1u);
  const json& greeting = session["turns"][0];
  EXPECT_EQ(greeting["role"], "assistant");
  EXPECT_EQ(greeting["position"], 0);
  EXPECT_EQ(greeting["swipes"].size(), 2u);  // first_mes and the alternate greeting
  EXPECT_EQ(greeting["text"], "Evening, {{user}}. Lovely night for it.");

  const json named = post("/sessions", {{"character_id", character}, {"name", "evening"}, {"user_name", "Sam"}}, 201);
  EXPECT_EQ(named["name"], "evening");
  expect_error(http->Post(kApi + "/sessions", json{{"character_id", character}, {"name", "evening"}}.dump(),
                          "application/json"),
               409);
  expect_error(http->Post(kApi + "/sessions", json{{"character_id", 999}}.dump(), "application/json"), 404,
               "character_not_found");

  const json list = get("/sessions");
  ASSERT_EQ(list["data"].size(), 2u);
  EXPECT_FALSE(list["data"][0].contains("turns"));
  const std::string one = "/sessions/" + std::to_string(session["id"].get<int64_t>());
  EXPECT_EQ(get(one)["turns"], session["turns"]);

  // The character is in use.
  expect_error(http->Delete(kApi + "/characters/" + std::to_string(character)), 409);

  const json exported = get(one + "/export");
  EXPECT_EQ(exported["format"], "kindred-session");
  EXPECT_TRUE(get(one + "/memories")["data"].is_array());

  const httplib::Result del = http->Delete(kApi + one);
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 204);
  expect_error(http->Get(kApi + one), 404, "session_not_found");
  EXPECT_EQ(get("/sessions")["data"].size(), 1u);
}

TEST_F(KindredApi, MessageReturnsTheUsersEmotionAndTheAffectState) {
  const json session = new_session(new_character());
  const std::string one = "/sessions/" + std::to_string(session["id"].get<int64_t>());
  const json out = post(one + "/messages", {{"content", "I am so happy and grateful, thank you so much!"}});
  ASSERT_TRUE(out.contains("user") && out.contains("reply") && out.contains("affect")) << out.dump();
  EXPECT_EQ(out["user"]["role"], "user");
  EXPECT_EQ(out["user"]["position"], 1);
  EXPECT_EQ(out["user"]["text"], "I am so happy and grateful, thank you so much!");
  const json& ue = out["user"]["affect"]["user_emotion"];
  ASSERT_TRUE(ue.is_object()) << out["user"].dump();
  EXPECT_TRUE(ue["label"].is_string() && ue["label"] != "neutral") << ue.dump();
  EXPECT_GT(ue["pleasure"].get<double>(), 0.1);
  EXPECT_GT(ue["confidence"].get<double>(), 0.0);
  EXPECT_TRUE(out["user"]["affect"]["character"]["top_emotion"].is_string());
  EXPECT_EQ(out["reply"]["role"], "assistant");
  EXPECT_EQ(out["reply"]["position"], 2);
  EXPECT_FALSE(out["reply"]["affect"].contains("user_emotion"));  // user turns only
  const json& state = out["affect"];
  for (const char* k : {"pleasure", "arousal", "dominance", "top_emotion_p"}) EXPECT_TRUE(state[k].is_number()) << k;
  EXPECT_TRUE(state["mood"]["pleasure"].is_number());
  EXPECT_TRUE(state["top_emotion"].is_string());
  EXPECT_FALSE(state["mood_words"].get<std::string>().empty());

  const json stored = get(one);
  ASSERT_EQ(stored["turns"].size(), 3u);
  EXPECT_EQ(stored["turns"][2]["text"], out["reply"]["text"]);
  const json affect = get(one + "/affect");
  ASSERT_EQ(affect["trajectory"].size(), 2u);  // the greeting carries no annotations
  EXPECT_EQ(affect["trajectory"][0]["position"], 1);
  EXPECT_EQ(affect["trajectory"][0]["user_emotion"], ue);
  EXPECT_EQ(affect["state"], state);

  expect_error(http->Post(kApi + one + "/messages", json{{"content", "  "}}.dump(), "application/json"), 400);
  expect_error(http->Post(kApi + one + "/messages", json{{"content", "hi"}, {"stream", "yes"}}.dump(),
                          "application/json"),
               400);
}

TEST_F(KindredApi, StreamedMessageSendsUserTokensAndDoneInOrder) {
  const json session = new_session(new_character());
  const std::string one = "/sessions/" + std::to_string(session["id"].get<int64_t>());
  const httplib::Result r = http->Post(kApi + one + "/messages",
                                       json{{"content", "This is terrible, I am furious."}, {"stream", true}}.dump(),
                                       "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type").rfind("text/event-stream", 0), 0u);
  const std::vector<SseEvent> events = parse_sse(r->body);
  ASSERT_GE(events.size(), 3u) << r->body;
  EXPECT_EQ(events.front().event, "user");
  EXPECT_EQ(events.back().event, "done");
  std::string streamed;
  for (size_t i = 1; i + 1 < events.size(); ++i) {
    ASSERT_EQ(events[i].event, "token") << i;
    streamed += json::parse(events[i].data)["text"].get<std::string>();
  }
  const json user = json::parse(events.front().data);
  EXPECT_EQ(user["text"], "This is terrible, I am furious.");
  EXPECT_LT(user["affect"]["user_emotion"]["pleasure"].get<double>(), 0.0);
  const json done = json::parse(events.back().data);
  const json stored = get(one);
  ASSERT_EQ(stored["turns"].size(), 3u);
  EXPECT_EQ(done["reply"], stored["turns"][2]);
  EXPECT_EQ(stored["turns"][1]["id"], user["id"]);
  // ChatSession stores the reply trimmed of surrounding whitespace.
  const auto first = streamed.find_first_not_of(" \t\r\n");
  const std::string trimmed =
      first == std::string::npos ? "" : streamed.substr(first, streamed.find_last_not_of(" \t\r\n") - first + 1);
  EXPECT_EQ(trimmed, done["reply"]["text"]);
  EXPECT_TRUE(done["affect"]["top_emotion"].is_string());
}

TEST_F(KindredApi, AnAbandonedStreamLeavesTheSessionUsable) {
  const json session = new_session(new_character());
  const std::string one = "/sessions/" + std::to_string(session["id"].get<int64_t>());
  httplib::Request req;
  req.method = "POST";
  req.path = kApi + one + "/messages";
  req.headers = {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}};
  req.body = json{{"content", "Tell me a long story."}, {"stream", true}}.dump();
  int chunks = 0;
  req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) {
    ++chunks;
    return false;  // hang up at the first bytes
  };
  (void)http->send(req);
  EXPECT_EQ(chunks, 1);
  // The abandoned reply ends (kept, possibly partial) and the next message runs normally.
  const json next = post(one + "/messages", {{"content", "Hello again."}});
  EXPECT_EQ(next["user"]["position"], 3);
  EXPECT_EQ(get(one)["turns"].size(), 5u);
}

TEST_F(KindredApi, RegenerateSwipeAndUndo) {
  const json session = new_session(new_character());
  const std::string one = "/sessions/" + std::to_string(session["id"].get<int64_t>());
  const json first = post(one + "/messages", {{"content", "Tell me about the sea."}});
  const json again = post(one + "/regenerate", json::object());
  EXPECT_FALSE(again.contains("user"));
  EXPECT_EQ(again["reply"]["id"], first["reply"]["id"]);
  EXPECT_EQ(again["reply"]["swipes"].size(), 2u);
  EXPECT_EQ(again["reply"]["active_swipe"], 1);

  // A streamed regenerate: tokens then done, no user event.
  const httplib::Result r = http->Post(kApi + one + "/regenerate", json{{"stream", true}}.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const std::vector<SseEvent> events = parse_sse(r->body);
  ASSERT_FALSE(events.empty());
  for (size_t i = 0; i + 1 < events.size(); ++i) EXPECT_EQ(events[i].event, "token");
  ASSERT_EQ(events.back().event, "done");
  EXPECT_EQ(json::parse(events.back().data)["reply"]["swipes"].size(), 3u);

  json swiped = post(one + "/swipe", {{"direction", -1}});
  EXPECT_TRUE(swiped["moved"]);
  EXPECT_EQ(swiped["turn"]["active_swipe"], 1);
  EXPECT_EQ(swiped["turn"]["text"], swiped["turn"]["swipes"][1]);
  post(one + "/swipe", {{"direction", -1}});
  swiped = post(one + "/swipe", {{"direction", -1}});
  EXPECT_FALSE(swiped["moved"]);  // at the first swipe already
  EXPECT_EQ(swiped["turn"]["active_swipe"], 0);
  expect_error(http->Post(kApi + one + "/swipe", json{{"direction", 2}}.dump(), "application/json"), 400);

  EXPECT_TRUE(post(one + "/undo", json::object())["undone"]);
  EXPECT_EQ(get(one)["turns"].size(), 1u);  // back to the greeting
  EXPECT_FALSE(post(one + "/undo", json::object())["undone"]);
  EXPECT_TRUE(get(one + "/affect")["trajectory"].empty());
}

TEST_F(KindredApi, TenantsSeeOnlyTheirOwnRecords) {
  const std::string other_key = server.create_key("globex");
  auto other = server.client(other_key);
  const int64_t character = new_character();
  const int64_t session = new_session(character)["id"];
  const std::string c = kApi + "/characters/" + std::to_string(character);
  const std::string s = kApi + "/sessions/" + std::to_string(session);

  expect_error(other->Get(c), 404, "character_not_found");
  expect_error(other->Get(c + "/export"), 404, "character_not_found");
  expect_error(other->Put(c, card("Stolen").dump(), "application/json"), 404, "character_not_found");
  expect_error(other->Delete(c), 404, "character_not_found");
  expect_error(other->Get(s), 404, "session_not_found");
  expect_error(other->Get(s + "/affect"), 404, "session_not_found");
  expect_error(other->Get(s + "/memories"), 404, "session_not_found");
  expect_error(other->Get(s + "/export"), 404, "session_not_found");
  expect_error(other->Post(s + "/messages", json{{"content", "hello"}}.dump(), "application/json"), 404,
               "session_not_found");
  expect_error(other->Post(s + "/undo", "", "application/json"), 404, "session_not_found");
  expect_error(other->Delete(s), 404, "session_not_found");
  expect_error(other->Post(kApi + "/sessions", json{{"character_id", character}}.dump(), "application/json"), 404,
               "character_not_found");
  // The other tenant's lists hold only its own records, and the same name is free there.
  EXPECT_TRUE(json_of(other->Get(kApi + "/characters"))["data"].empty());
  EXPECT_TRUE(json_of(other->Get(kApi + "/sessions"))["data"].empty());
  const httplib::Result mine = other->Post(kApi + "/characters", card("Mira").dump(), "application/json");
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->status, 201);
  EXPECT_EQ(json_of(other->Get(kApi + "/characters"))["data"].size(), 1u);
  EXPECT_EQ(get("/characters")["data"].size(), 1u);
  // Still there for its owner.
  EXPECT_EQ(get("/sessions/" + std::to_string(session))["id"], session);
}

TEST_F(KindredApi, AppraiseAndIntents) {
  const json a = post("/affect/appraise", {{"text", "I am furious, this is outrageous!"}});
  EXPECT_TRUE(a["top"].is_string());
  ASSERT_EQ(a["pad"].size(), 3u);
  EXPECT_LT(a["pad"][0].get<double>(), 0.0);
  EXPECT_EQ(a["labels"].size(), 28u);
  EXPECT_TRUE(a["confidence"].is_number());
  EXPECT_EQ(get("/intents")["data"], json::array());  // no inventory loaded
  expect_error(http->Post(kApi + "/affect/appraise", json{{"text", 3}}.dump(), "application/json"), 400);
}

TEST(KindredApiWithoutAffect, AppraiseIs503AndSessionsHaveNoAffectState) {
  TestServer server({.affect = false});
  auto http = server.client(TestServer::kAdminKey);
  const httplib::Result r = http->Post(kApi + "/affect/appraise", json{{"text", "hello"}}.dump(), "application/json");
  expect_error(r, 503);
  const json c = json_of(http->Post(kApi + "/characters", card("Mira").dump(), "application/json"));
  const json s = json_of(http->Post(kApi + "/sessions", json{{"character_id", c["id"]}}.dump(), "application/json"));
  const std::string one = kApi + "/sessions/" + std::to_string(s["id"].get<int64_t>());
  const json out = json_of(http->Post(one + "/messages", json{{"content", "hello"}}.dump(), "application/json"));
  EXPECT_TRUE(out["affect"].is_null()) << out.dump();
  EXPECT_TRUE(out["user"]["affect"].is_null());
  EXPECT_TRUE(json_of(http->Get(one + "/affect"))["trajectory"].empty());
}

// Stopping the server cancels the reply and joins its thread while a client is still reading.
TEST(KindredApiShutdown, StoppingTheServerEndsAStreamInProgress) {
  auto server = std::make_unique<TestServer>(TestServerOptions{.max_reply_tokens = 400});
  auto http = server->client(TestServer::kAdminKey);
  const json c = json_of(http->Post(kApi + "/characters", card("Mira").dump(), "application/json"));
  const json s = json_of(http->Post(kApi + "/sessions", json{{"character_id", c["id"]}}.dump(), "application/json"));
  std::atomic<bool> got_bytes{false};
  std::string body;
  std::thread reader([&] {
    httplib::Request req;
    req.method = "POST";
    req.path = kApi + "/sessions/" + std::to_string(s["id"].get<int64_t>()) + "/messages";
    req.headers = {{"Authorization", std::string("Bearer ") + TestServer::kAdminKey}, {"Content-Type", "application/json"}};
    req.body = json{{"content", "Tell me a long story."}, {"stream", true}}.dump();
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      body.append(data, n);
      got_bytes = true;
      return true;
    };
    (void)http->send(req);
    got_bytes = true;  // also when the request failed outright
  });
  for (int i = 0; i < 3000 && !got_bytes; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  server.reset();  // stops generation, joins every thread; must not hang
  reader.join();
  const std::vector<SseEvent> events = parse_sse(body);
  ASSERT_FALSE(events.empty()) << body;
  EXPECT_EQ(events.front().event, "user");
  // The HTTP library stops writing streams when the server stops, so the stream may end without
  // a done event; what came is well formed.
  for (const SseEvent& e : events) {
    EXPECT_TRUE(e.event == "token" || e.event == "user" || e.event == "done" || e.event == "error") << e.event;
    EXPECT_FALSE(json::parse(e.data, nullptr, false).is_discarded()) << e.data;
  }
}

TEST(KindredApiStreamErrors, AFailedReplyStillAnnouncesTheStoredUserTurn) {
  // A reply budget that leaves no room for the prompt: the user turn is stored, the reply fails.
  TestServer server({.max_reply_tokens = 1000});
  auto http = server.client(TestServer::kAdminKey);
  const json c = json_of(http->Post(kApi + "/characters", card("Mira").dump(), "application/json"));
  const json s = json_of(http->Post(kApi + "/sessions", json{{"character_id", c["id"]}}.dump(), "application/json"));
  const std::string one = kApi + "/sessions/" + std::to_string(s["id"].get<int64_t>());
  const httplib::Result r =
      http->Post(one + "/messages", json{{"content", "Hello there."}, {"stream", true}}.dump(), "application/json");
  ASSERT_TRUE(r);
  const std::vector<SseEvent> events = parse_sse(r->body);
  ASSERT_EQ(events.size(), 2u) << r->body;
  EXPECT_EQ(events[0].event, "user");
  EXPECT_EQ(json::parse(events[0].data)["text"], "Hello there.");
  EXPECT_EQ(events[1].event, "error");
  EXPECT_TRUE(json::parse(events[1].data)["error"]["message"].is_string());
  EXPECT_EQ(json_of(http->Get(one))["turns"].size(), 2u);
}

TEST(KindredApiNoAuth, EveryRequestIsTheLocalTenant) {
  TestServer server({.no_auth = true});
  auto http = server.client();
  const httplib::Result created = http->Post(kApi + "/characters", card("Mira").dump(), "application/json");
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, 201) << created->body;
  // Without auth a key changes nothing: every caller is the local tenant and sees the same records.
  const json mine = json_of(server.client(TestServer::kAdminKey)->Get(kApi + "/characters"));
  ASSERT_EQ(mine["data"].size(), 1u);
  EXPECT_EQ(mine["data"][0]["name"], "Mira");
}

}  // namespace
}  // namespace kindred::test
