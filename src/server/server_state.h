// What every route of `kindred serve` shares: the options, the model and what interprets its text,
// the batch scheduler, metrics, rate limits, and one store connection per HTTP thread. Route files
// (openai_routes.cpp, llama_routes.cpp, kindred_routes.cpp, ...) register on a Router, which wraps
// each handler with authentication, rate limiting, error bodies in OpenAI's shape, metrics and a
// structured log line.
#pragma once
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/context.h"
#include "server/batch_scheduler.h"
#include "server/metrics.h"
#include "server/openai_request.h"
#include "server/rate_limiter.h"
#include "store/store.h"
#include "template/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace kindred::affect {
class Appraiser;
class IntentClassifier;
class SteeringLibrary;
}  // namespace kindred::affect

namespace kindred::server {

class RemoteBackend;
class SessionManager;

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                    // 0: any free port (port() tells which)
  std::string db = "kindred.db";      // SQLite path, or postgresql://...
  bool no_auth = false;               // every request is the local tenant; loopback only
  std::string admin_key;              // plaintext; may manage keys (also env KINDRED_ADMIN_KEY)
  size_t max_body_bytes = 8u << 20;
  int http_threads = 96;              // concurrent connections served (streams hold one each)
  std::string model_id;               // the name /v1/models reports and requests must use
  std::string backend;                // openai://HOST:PORT: generation elsewhere (remote_backend.h)
  SchedulerOptions scheduler;
  std::filesystem::path state_dir;    // evicted sessions' KV state, /slots files
  int max_reply_tokens = 256;         // Kindred session replies
  int live_sessions = 64;             // ChatSession objects kept open (LRU)
  bool summarize = true;              // memory hierarchy in sessions
  bool extract_facts = false;         // costs a generation per message; off by default on a server
};

// Who made a request.
struct Caller {
  std::string tenant;  // "" = the local tenant (--no-auth)
  int64_t key_id = 0;  // 0: the admin key from the command line, or --no-auth
  bool admin = false;
};

class ServerState {
 public:
  ServerOptions options;
  const Model* model = nullptr;            // null with a remote backend
  const Tokenizer* tokenizer = nullptr;
  const ChatTemplate* chat_template = nullptr;
  std::string chat_template_source;
  int64_t created = 0;                      // unix seconds, for /v1/models
  std::unique_ptr<BatchScheduler> scheduler;  // null with a remote backend
  std::unique_ptr<RemoteBackend> remote;
  std::unique_ptr<SessionManager> sessions;
  ServerMetrics metrics;
  RateLimiter rate_limiter;
  std::shared_ptr<affect::Appraiser> appraiser;  // null: sessions run without the affective stream
  std::shared_ptr<const affect::IntentClassifier> intents;
  std::shared_ptr<const affect::SteeringLibrary> steering;
  std::atomic<bool> stopping{false};

  ServerState();
  ~ServerState();

  // This thread's store connection (opened on first use; SQLite and PostgreSQL connections are
  // single-threaded).
  store::Store& store();
  // Prompt text → tokens; a template that writes the BOS text itself gets no second one.
  std::vector<int32_t> tokenize_prompt(const std::string& text) const;
  // The chat template applied to OpenAI-style messages (and tools), ready for generation.
  std::string render_chat(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools) const;
  RequestLimits limits() const;
  int n_ctx() const;
  // Throws ApiError 404 (code model_not_found) unless `model` is empty or names the served model.
  void check_model(const std::string& model) const;
  // A text embedding (unit length) from the served model; serialised on one context.
  std::vector<float> embed(const std::vector<int32_t>& tokens);

 private:
  std::mutex embed_mutex_;
  std::unique_ptr<Context> embed_ctx_;
  uint64_t instance_ = 0;  // unique per ServerState in this process: keys the per-thread store cache
};

using Handler = std::function<void(const httplib::Request&, httplib::Response&, const Caller&)>;

enum class Access { Public, Tenant, Admin };

// Who is calling: the admin key, a stored API key (rate-limited), or anyone with --no-auth.
// Throws ApiError 401 / 403 / 429.
Caller authenticate(ServerState& state, const httplib::Request& req, Access access);

class Router {
 public:
  Router(httplib::Server& http, ServerState& state) : http_(http), state_(state) {}
  // `pattern` is an httplib regex; `label` is the route as metrics and logs name it.
  void get(const std::string& pattern, const std::string& label, Access access, Handler handler);
  void post(const std::string& pattern, const std::string& label, Access access, Handler handler);
  void put(const std::string& pattern, const std::string& label, Access access, Handler handler);
  void del(const std::string& pattern, const std::string& label, Access access, Handler handler);

 private:
  std::function<void(const httplib::Request&, httplib::Response&)> wrap(std::string label, Access access, Handler handler);
  httplib::Server& http_;
  ServerState& state_;
};

// Writes `body` as the JSON response with `status`.
void send_json(httplib::Response& res, const nlohmann::json& body, int status = 200);
void send_json(httplib::Response& res, const nlohmann::ordered_json& body, int status = 200);
// The request body parsed as a JSON object (ApiError 400 otherwise).
nlohmann::json json_body(const httplib::Request& req);
// A path parameter captured by the route regex as a positive id (ApiError 404 otherwise).
int64_t path_id(const httplib::Request& req, size_t index = 1);

// Registration, one per dialect.
void add_openai_routes(Router& router, ServerState& state);
void add_llama_routes(Router& router, ServerState& state);
void add_kindred_routes(Router& router, ServerState& state);
void add_admin_routes(Router& router, ServerState& state);

}  // namespace kindred::server
