// OpenAI's API over real HTTP: response shapes, streaming frames, prefix reuse in usage, forced
// tool calls and JSON Schema output through grammars, bad input as 4xx in OpenAI's error shape,
// rate limits, client disconnects and the metrics they leave.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "server/openai_request.h"
#include "test_server.h"

namespace kindred::test {
namespace {

using Json = nlohmann::json;

Json chat_body(const std::string& text, int max_tokens = 8) {
  return {{"messages", {{{"role", "user"}, {"content", text}}}}, {"max_tokens", max_tokens}, {"temperature", 0}, {"seed", 1}};
}

httplib::Result post(httplib::Client& c, const std::string& path, const Json& body) {
  return c.Post(path.c_str(), body.dump(), "application/json");
}

void expect_error(const httplib::Result& r, int status, const std::string& param = "") {
  ASSERT_TRUE(r) << "no response";
  EXPECT_EQ(r->status, status) << r->body;
  const Json j = json_of(r);
  ASSERT_TRUE(j.contains("error")) << r->body;
  EXPECT_TRUE(j["error"]["message"].is_string());
  EXPECT_TRUE(j["error"]["type"].is_string());
  if (!param.empty()) {
    EXPECT_EQ(j["error"]["param"], param) << r->body;
  }
}

TEST(OpenAiApi, ChatCompletionShapeAndCachedPrefix) {
  TestServer server({.no_auth = true});
  auto c = server.client();
  const Json body = chat_body("Hello there, how are you today?");
  const Json first = json_of(post(*c, "/v1/chat/completions", body));
  ASSERT_TRUE(first.contains("choices")) << first.dump();
  EXPECT_EQ(first["object"], "chat.completion");
  EXPECT_EQ(first["choices"][0]["message"]["role"], "assistant");
  EXPECT_TRUE(first["choices"][0]["message"]["content"].is_string());
  EXPECT_EQ(first["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(first["usage"]["completion_tokens"], 8);
  EXPECT_EQ(first["usage"]["total_tokens"].get<int>(),
            first["usage"]["prompt_tokens"].get<int>() + first["usage"]["completion_tokens"].get<int>());
  // The same conversation again: its prompt is served from the slot's cache.
  const Json second = json_of(post(*c, "/v1/chat/completions", body));
  EXPECT_EQ(second["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(), first["usage"]["prompt_tokens"].get<int>() - 1);
  EXPECT_EQ(second["choices"][0]["message"]["content"], first["choices"][0]["message"]["content"]) << "greedy is deterministic";
}

TEST(OpenAiApi, StreamingFramesMatchTheNonStreamedAnswer) {
  TestServer server({.no_auth = true});
  auto c = server.client();
  Json body = chat_body("Tell me a story", 12);
  const Json plain = json_of(post(*c, "/v1/chat/completions", body));
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};
  auto r = post(*c, "/v1/chat/completions", body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->get_header_value("Content-Type").find("text/event-stream"), std::string::npos);
  const std::vector<SseEvent> events = parse_sse(r->body);
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.back().data, "[DONE]");
  const Json first = Json::parse(events.front().data);
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  std::string text;
  std::string finish;
  Json usage;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    const Json chunk = Json::parse(events[i].data);
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    if (chunk.contains("usage") && !chunk["usage"].is_null()) {
      usage = chunk["usage"];
      EXPECT_TRUE(chunk["choices"].empty());
      continue;
    }
    const Json& choice = chunk["choices"][0];
    if (choice["delta"].contains("content")) text += choice["delta"]["content"].get<std::string>();
    if (!choice["finish_reason"].is_null()) finish = choice["finish_reason"];
  }
  EXPECT_EQ(text, plain["choices"][0]["message"]["content"].get<std::string>());
  EXPECT_EQ(finish, "length");
  ASSERT_TRUE(usage.is_object()) << "include_usage sends a usage chunk";
  EXPECT_EQ(usage["completion_tokens"], 12);
}

TEST(OpenAiApi, ForcedToolCallFollowsTheFunctionSchema) {
  TestServer server({.no_auth = true});
  auto c = server.client();
  Json body = chat_body("What is the weather in Paris?", 400);
  body["temperature"] = 0.7;
  body["tools"] = Json::array({{{"type", "function"},
                                {"function",
                                 {{"name", "get_weather"},
                                  {"description", "Current weather of a city"},
                                  {"parameters",
                                   {{"type", "object"},
                                    {"properties", {{"unit", {{"enum", {"celsius", "fahrenheit"}}}}, {"days", {{"type", "boolean"}}}}},
                                    {"required", {"unit", "days"}},
                                    {"additionalProperties", false}}}}}}});
  body["tool_choice"] = {{"type", "function"}, {"function", {{"name", "get_weather"}}}};
  const Json r = json_of(post(*c, "/v1/chat/completions", body));
  ASSERT_TRUE(r.contains("choices")) << r.dump();
  const Json& choice = r["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "tool_calls") << r.dump();
  ASSERT_TRUE(choice["message"].contains("tool_calls")) << r.dump();
  const Json& call = choice["message"]["tool_calls"][0];
  EXPECT_EQ(call["type"], "function");
  EXPECT_EQ(call["function"]["name"], "get_weather");
  const Json args = Json::parse(call["function"]["arguments"].get<std::string>());
  EXPECT_TRUE(args["unit"] == "celsius" || args["unit"] == "fahrenheit") << args.dump();
  EXPECT_TRUE(args["days"].is_boolean());
}

TEST(OpenAiApi, JsonSchemaResponseParses) {
  TestServer server({.no_auth = true});
  auto c = server.client();
  for (int seed = 0; seed < 3; ++seed) {
    Json body = chat_body("Answer in JSON", 64);
    body["temperature"] = 1.0;
    body["seed"] = seed;
    body["response_format"] = {
        {"type", "json_schema"},
        {"json_schema",
         {{"name", "answer"},
          {"schema",
           {{"type", "object"},
            {"properties", {{"ok", {{"type", "boolean"}}}, {"mood", {{"enum", {"happy", "sad"}}}}}},
            {"required", {"ok", "mood"}},
            {"additionalProperties", false}}}}}};
    const Json r = json_of(post(*c, "/v1/chat/completions", body));
    ASSERT_TRUE(r.contains("choices")) << r.dump();
    const std::string content = r["choices"][0]["message"]["content"];
    const Json parsed = Json::parse(content, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << content;
    EXPECT_TRUE(parsed["ok"].is_boolean());
    EXPECT_TRUE(parsed["mood"] == "happy" || parsed["mood"] == "sad");
    EXPECT_EQ(parsed.size(), 2u);
  }
}

TEST(OpenAiApi, BadInputIsAClearClientError) {
  TestServer server({.no_auth = true, .max_body_bytes = 4096});
  auto c = server.client();
  expect_error(c->Post("/v1/chat/completions", "{not json", "application/json"), 400);
  expect_error(c->Post("/v1/chat/completions", "[1,2]", "application/json"), 400);
  // Found by fuzz/request_fuzz.cpp: a number too large for a double is a 400, not a 500.
  expect_error(c->Post("/v1/chat/completions", R"({"prompt":[1,2,33333333333333e33166-)", "application/json"), 400);
  expect_error(post(*c, "/v1/chat/completions", Json{{"messages", "hi"}}), 400, "messages");
  expect_error(post(*c, "/v1/chat/completions", Json{{"model", 5}, {"messages", chat_body("x")["messages"]}}), 400, "model");
  Json b = chat_body("x");
  b["messages"][0]["role"] = "wizard";
  expect_error(post(*c, "/v1/chat/completions", b), 400, "messages[0].role");
  b = chat_body("x");
  b["messages"][0]["content"] = Json::array({{{"type", "image_url"}, {"image_url", {{"url", "http://x"}}}}});
  expect_error(post(*c, "/v1/chat/completions", b), 400, "messages[0].content");
  for (const auto& [field, value] : std::vector<std::pair<std::string, Json>>{
           {"temperature", 3}, {"temperature", "hot"}, {"top_p", -1}, {"n", 1000}, {"max_tokens", 1e9},
           {"max_tokens", 0}, {"presence_penalty", 9}, {"seed", 1.5}, {"stop", Json::array({1, 2})},
           {"logit_bias", {{"999999999", 5}}}, {"logit_bias", {{"3", 500}}}, {"response_format", {{"type", "xml"}}}}) {
    b = chat_body("x");
    b[field] = value;
    expect_error(post(*c, "/v1/chat/completions", b), 400, field);
  }
  b = chat_body("x");
  b["top_logprobs"] = 3;  // without logprobs
  expect_error(post(*c, "/v1/chat/completions", b), 400, "top_logprobs");
  b = chat_body("x");
  b["response_format"] = {{"type", "json_schema"}, {"json_schema", {{"schema", {{"type", "string"}, {"pattern", "a+"}}}}}};
  expect_error(post(*c, "/v1/chat/completions", b), 400, "response_format");
  expect_error(post(*c, "/v1/chat/completions", Json{{"model", "gpt-9"}, {"messages", chat_body("x")["messages"]}}), 404, "model");
  expect_error(c->Post("/v1/chat/completions", std::string(10000, ' ') + "{}", "application/json"), 413);
  expect_error(c->Get("/v1/nothing-here"), 404);
  expect_error(post(*c, "/v1/completions", Json{{"prompt", Json::array({Json::array({1, 99999999})})}}), 400, "prompt");
  expect_error(post(*c, "/v1/embeddings", Json{{"input", Json::array()}}), 400, "input");
  // The server is still healthy after all that.
  EXPECT_EQ(c->Get("/health")->status, 200);
}

TEST(OpenAiApi, AuthAndRateLimits) {
  TestServer server;
  auto anonymous = server.client();
  expect_error(anonymous->Get("/v1/models"), 401);
  expect_error(server.client("kr-not-a-real-key")->Get("/v1/models"), 401);
  auto admin = server.client(TestServer::kAdminKey);
  const Json made = json_of(post(*admin, "/kindred/v1/admin/keys",
                                 Json{{"tenant", "acme"}, {"name", "tight"}, {"rate_limit_per_minute", 2}}));
  ASSERT_TRUE(made.contains("key")) << made.dump();
  auto limited = server.client(made["key"]);
  EXPECT_EQ(limited->Get("/v1/models")->status, 200);
  EXPECT_EQ(limited->Get("/v1/models")->status, 200);
  auto third = limited->Get("/v1/models");
  expect_error(third, 429);
  EXPECT_FALSE(third->get_header_value("Retry-After").empty());
  // The health and metrics routes need no key; the metrics count the refusal.
  EXPECT_EQ(anonymous->Get("/health")->status, 200);
  const std::string metrics = anonymous->Get("/metrics")->body;
  EXPECT_NE(metrics.find("kindred_rate_limited_total 1"), std::string::npos) << metrics.substr(0, 2000);
}

TEST(OpenAiApi, NoAuthRefusesANonLoopbackAddress) {
  const std::string cmd = std::string(KINDRED_BINARY) + " serve --no-auth --host 0.0.0.0 --port 0 --db /dev/null 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  const int status = ::pclose(p);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("loopback"), std::string::npos) << out;
}

TEST(OpenAiApi, ClientGoingAwayCancelsItsStream) {
  TestServer server({.no_auth = true, .n_ctx = 2048});
  auto c = server.client();
  Json body = chat_body("Go on and on", 1500);
  body["stream"] = true;
  int chunks = 0;
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/chat/completions";
  req.headers.emplace("Content-Type", "application/json");
  req.body = body.dump();
  req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++chunks < 3; };  // hang up after 3 chunks
  auto r = c->send(req);
  EXPECT_FALSE(r);  // the client cancelled
  // The server notices at its next write and frees the slot within a few steps.
  bool idle = false;
  for (int i = 0; i < 100 && !idle; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    idle = server.state().scheduler->stats().active == 0;
  }
  EXPECT_TRUE(idle) << "the abandoned stream still runs";
  EXPECT_LT(server.state().scheduler->stats().generated_tokens, 1500u);
}

TEST(OpenAiApi, MetricsAfterTraffic) {
  TestServer server({.no_auth = true});
  auto c = server.client();
  ASSERT_EQ(post(*c, "/v1/chat/completions", chat_body("hi"))->status, 200);
  const std::string m = c->Get("/metrics")->body;
  EXPECT_NE(m.find("kindred_http_requests_total{route=\"/v1/chat/completions\",code=\"200\"} 1"), std::string::npos) << m.substr(0, 3000);
  EXPECT_NE(m.find("kindred_generated_tokens_total 8"), std::string::npos);
  EXPECT_NE(m.find("kindred_time_to_first_token_seconds_count 1"), std::string::npos);
  EXPECT_NE(m.find("kindred_kv_bytes_budget"), std::string::npos);
}

TEST(OpenAiApi, MiniMaxRolesBecomePersonaSceneAndExamples) {
  const nlohmann::ordered_json folded = server::fold_minimax_roles(nlohmann::ordered_json::parse(R"([
    {"role": "system", "content": "You are Mira."},
    {"role": "user_system", "content": "The user is a knight named Sam."},
    {"role": "group", "content": "A rainy tavern at night."},
    {"role": "sample_message_user", "content": "Any rooms?"},
    {"role": "sample_message_ai", "name": "Mira", "content": "One left, by the fire."},
    {"role": "user", "content": "Hello!"}])"));
  ASSERT_EQ(folded.size(), 2u);
  EXPECT_EQ(folded[0]["role"], "system");
  const std::string sys = folded[0]["content"];
  EXPECT_EQ(sys.find("You are Mira."), 0u);
  EXPECT_NE(sys.find("About the user:\nThe user is a knight named Sam."), std::string::npos) << sys;
  EXPECT_NE(sys.find("Scene:\nA rainy tavern at night."), std::string::npos) << sys;
  EXPECT_NE(sys.find("User: Any rooms?\nMira: One left, by the fire."), std::string::npos) << sys;
  EXPECT_EQ(folded[1]["content"], "Hello!");
  // Through the server: accepted by chat completions.
  TestServer server({.no_auth = true});
  Json body = chat_body("Hello!");
  body["messages"] = Json::parse(R"([{"role": "user_system", "content": "Sam"}, {"role": "user", "content": "Hi"}])");
  EXPECT_EQ(post(*server.client(), "/v1/chat/completions", body)->status, 200);
}

}  // namespace
}  // namespace kindred::test

namespace kindred::test {
namespace {

TEST(KindredSessionOptions, PerRequestMaxTokensAppliesToThatReplyOnly) {
  TestServer server({.no_auth = true, .max_reply_tokens = 16});
  auto c = server.client();
  const Json character = json_of(c->Post("/kindred/v1/characters",
                                         R"({"name":"Ada","description":"A chatty inventor.","first_mes":"Hi!"})",
                                         "application/json"));
  ASSERT_TRUE(character.contains("id")) << character.dump();
  const Json session = json_of(post(*c, "/kindred/v1/sessions", Json{{"character_id", character["id"]}}));
  ASSERT_TRUE(session.contains("id")) << session.dump();
  const std::string path = "/kindred/v1/sessions/" + std::to_string(session["id"].get<int64_t>()) + "/messages";
  const Json short_reply = json_of(post(*c, path, Json{{"content", "Tell me everything."}, {"max_tokens", 2}, {"temperature", 0}}));
  ASSERT_TRUE(short_reply.contains("reply")) << short_reply.dump();
  // Two tokens of this vocabulary (bytes and short words; a lone byte shows as U+FFFD).
  EXPECT_LE(short_reply["reply"]["text"].get<std::string>().size(), 12u) << short_reply["reply"]["text"];
  const Json bad = json_of(post(*c, path, Json{{"content", "x"}, {"max_tokens", -3}}));
  EXPECT_EQ(bad["error"]["param"], "max_tokens");
}

}  // namespace
}  // namespace kindred::test
