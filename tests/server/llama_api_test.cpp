// llama.cpp's API as SillyTavern uses it, over real HTTP: /completion (plain and streamed), /props
// with the chat template, /tokenize ↔ /detokenize, /slots save / restore / erase, and KoboldCpp's
// /api/extra/abort; plus the OpenAPI document the server hands out.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "test_server.h"

namespace kindred::test {
namespace {

using Json = nlohmann::json;

httplib::Result post(httplib::Client& c, const std::string& path, const Json& body) {
  return c.Post(path.c_str(), body.dump(), "application/json");
}

TEST(LlamaApi, CompletionPlainAndStreamedAgree) {
  TestServer server({.no_auth = true});
  auto c = server.client();
  const Json body = {{"prompt", "Once upon a time"}, {"n_predict", 10}, {"temperature", 0}, {"n_probs", 2}};
  const Json plain = json_of(post(*c, "/completion", body));
  ASSERT_TRUE(plain.contains("content")) << plain.dump();
  EXPECT_EQ(plain["stop"], true);
  EXPECT_EQ(plain["tokens_predicted"], 10);
  EXPECT_EQ(plain["stop_type"], "limit");
  EXPECT_EQ(plain["completion_probabilities"].size(), 10u);
  EXPECT_EQ(plain["completion_probabilities"][0]["probs"].size(), 2u);
  EXPECT_TRUE(plain["timings"].contains("predicted_per_second"));
  Json streamed_body = body;
  streamed_body["stream"] = true;
  auto r = post(*c, "/completion", streamed_body);
  ASSERT_TRUE(r);
  std::string text;
  const std::vector<SseEvent> events = parse_sse(r->body);
  ASSERT_FALSE(events.empty());
  for (size_t i = 0; i < events.size(); ++i) {
    const Json e = Json::parse(events[i].data);
    text += e["content"].get<std::string>();
    EXPECT_EQ(e["stop"].get<bool>(), i + 1 == events.size());
  }
  EXPECT_EQ(text, plain["content"].get<std::string>());
  // Token ids as the prompt.
  const Json ids = json_of(post(*c, "/tokenize", Json{{"content", "Once upon a time"}, {"add_special", true}}));
  Json by_ids = body;
  by_ids["prompt"] = ids["tokens"];
  EXPECT_EQ(json_of(post(*c, "/completion", by_ids))["content"], plain["content"]);
}

TEST(LlamaApi, PropsTokenizeDetokenize) {
  TestServer server({.no_auth = true});
  auto c = server.client();
  const Json props = json_of(c->Get("/props"));
  EXPECT_NE(props["chat_template"].get<std::string>().find("<|im_start|>"), std::string::npos) << "chatml";
  EXPECT_EQ(props["default_generation_settings"]["n_ctx"], 1024);
  EXPECT_GT(props["total_slots"].get<int>(), 0);
  const Json toks = json_of(post(*c, "/tokenize", Json{{"content", "hello world"}, {"with_pieces", true}}));
  ASSERT_FALSE(toks["tokens"].empty());
  Json ids = Json::array();
  std::string pieces;
  for (const Json& t : toks["tokens"]) {
    ids.push_back(t["id"]);
    pieces += t["piece"].get<std::string>();
  }
  const Json back = json_of(post(*c, "/detokenize", Json{{"tokens", ids}}));
  EXPECT_EQ(back["content"], "hello world");
  EXPECT_EQ(post(*c, "/detokenize", Json{{"tokens", {1, -5}}})->status, 400);
  EXPECT_EQ(post(*c, "/tokenize", Json{{"content", 5}})->status, 400);
}

TEST(LlamaApi, SlotsSaveRestoreErase) {
  TestServer server({.no_auth = true});
  auto c = server.client();
  ASSERT_EQ(post(*c, "/completion", Json{{"prompt", "The slot remembers this"}, {"n_predict", 4}})->status, 200);
  const Json slots = json_of(c->Get("/slots"));
  ASSERT_EQ(slots.size(), 1u) << slots.dump();
  const int id = slots[0]["id"];
  const int n_past = slots[0]["n_past"];
  EXPECT_GT(n_past, 0);
  const std::string base = "/slots/" + std::to_string(id);
  const Json saved = json_of(post(*c, base + "?action=save", Json{{"filename", "mine.bin"}}));
  EXPECT_EQ(saved["n_saved"], n_past) << saved.dump();
  EXPECT_EQ(post(*c, base + "?action=erase", Json::object())->status, 200);
  EXPECT_EQ(json_of(c->Get("/slots"))[0]["n_past"], 0);
  const Json restored = json_of(post(*c, base + "?action=restore", Json{{"filename", "mine.bin"}}));
  EXPECT_EQ(restored["n_restored"], n_past) << restored.dump();
  EXPECT_EQ(json_of(c->Get("/slots"))[0]["n_past"], n_past);
  EXPECT_EQ(post(*c, base + "?action=save", Json{{"filename", "../escape"}})->status, 400);
  EXPECT_EQ(post(*c, base + "?action=restore", Json{{"filename", "missing.bin"}})->status, 404);
  EXPECT_EQ(post(*c, "/slots/999?action=erase", Json::object())->status, 404);
  EXPECT_EQ(post(*c, base + "?action=fly", Json::object())->status, 400);
}

TEST(LlamaApi, SlotsNeedAnAdminKey) {
  TestServer server;
  const std::string key = server.create_key("acme");
  EXPECT_EQ(server.client(key)->Get("/slots")->status, 403);
  EXPECT_EQ(server.client(TestServer::kAdminKey)->Get("/slots")->status, 200);
}

TEST(LlamaApi, AbortStopsRunningGenerations) {
  TestServer server({.no_auth = true, .n_ctx = 2048});
  std::thread long_run([&] {
    auto c = server.client();
    c->set_read_timeout(60, 0);
    const Json r = json_of(post(*c, "/completion", Json{{"prompt", "Go"}, {"n_predict", 2000}, {"ignore_eos", true}}));
    EXPECT_LT(r["tokens_predicted"].get<int>(), 2000) << "the abort did not stop it";
  });
  while (server.state().scheduler->stats().active == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const Json aborted = json_of(post(*server.client(), "/api/extra/abort", Json::object()));
  EXPECT_EQ(aborted["success"], true);
  EXPECT_GE(aborted["cancelled"].get<int>(), 1);
  long_run.join();
}

TEST(ServerDocs, OpenApiDocumentIsServedAsWritten) {
  TestServer server({.no_auth = true});
  auto r = server.client()->Get("/openapi.json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  std::ifstream in(std::string(KINDRED_SOURCE_DIR) + "/docs/openapi.json");
  std::stringstream file;
  file << in.rdbuf();
  EXPECT_EQ(Json::parse(r->body), Json::parse(file.str()));
  const Json doc = Json::parse(r->body);
  EXPECT_EQ(doc["openapi"].get<std::string>().substr(0, 2), "3.");
  for (const char* path : {"/v1/chat/completions", "/completion", "/kindred/v1/sessions/{id}/messages", "/kindred/v1/admin/keys"}) {
    EXPECT_TRUE(doc["paths"].contains(path)) << path;
  }
}

}  // namespace
}  // namespace kindred::test
