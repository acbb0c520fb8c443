#include "server/server.h"

#include <httplib.h>

#include <chrono>
#include <cstdlib>

#include "server/api_error.h"
#include "server/api_keys.h"
#include "server/log.h"
#include "server/remote_backend.h"
#include "server/session_manager.h"
#include "server/web_assets.h"
#include "store/open_store.h"

namespace kindred::server {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

// ---------------------------------------------------------------------------------------------
// Router

void send_json(httplib::Response& res, const Json& body, int status) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

void send_json(httplib::Response& res, const nlohmann::ordered_json& body, int status) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace), "application/json");
}

Json json_body(const httplib::Request& req) { return parse_json_body(req.body); }

int64_t path_id(const httplib::Request& req, size_t index) {
  if (req.matches.size() <= index) throw not_found("no id in the path");
  const std::string text = req.matches[index].str();
  int64_t id = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || id > (INT64_MAX - 9) / 10) throw not_found("'" + text + "' is not an id");
    id = id * 10 + (c - '0');
  }
  if (id <= 0) throw not_found("'" + text + "' is not an id");
  return id;
}

Caller authenticate(ServerState& state_, const httplib::Request& req, Access access) {
  if (access == Access::Public) return {};
  if (state_.options.no_auth) return Caller{.tenant = "", .key_id = 0, .admin = true};
  std::optional<std::string> token;
  if (req.has_header("Authorization")) token = bearer_token(req.get_header_value("Authorization"));
  if (!token && req.has_header("X-API-Key")) token = req.get_header_value("X-API-Key");
  if (!token || token->empty()) {
    throw ApiError(401, "no API key: send 'Authorization: Bearer <key>'", std::nullopt, "missing_api_key");
  }
  Caller caller;
  if (!state_.options.admin_key.empty() && constant_time_equals(*token, state_.options.admin_key)) {
    caller = Caller{.tenant = "", .key_id = 0, .admin = true};
  } else {
    const std::optional<store::ApiKey> key = state_.store().find_api_key_by_hash(hash_api_key(*token));
    if (!key || key->revoked_at) throw ApiError(401, "the API key is not valid", std::nullopt, "invalid_api_key");
    caller = Caller{.tenant = key->tenant, .key_id = key->id, .admin = key->admin};
    const RateLimiter::Decision d = state_.rate_limiter.take(key->id, key->rate_limit_per_minute);
    if (!d.allowed) {
      state_.metrics.rate_limited.inc();
      const int wait = std::max(1, static_cast<int>(std::ceil(d.retry_after_seconds)));
      ApiError e(429, "rate limit of " + std::to_string(key->rate_limit_per_minute) +
                          " requests per minute reached; retry in " + std::to_string(wait) + " s",
                 std::nullopt, "rate_limit_exceeded");
      e.retry_after_seconds = wait;
      throw e;
    }
  }
  if (access == Access::Admin && !caller.admin) throw ApiError(403, "this route needs an admin key");
  return caller;
}

std::function<void(const httplib::Request&, httplib::Response&)> Router::wrap(std::string label, Access access,
                                                                                Handler handler) {
  // Routers are short-lived; the handlers keep only the state.
  return [&state_ = state_, label = std::move(label), access, handler = std::move(handler)](const httplib::Request& req,
                                                                                            httplib::Response& res) {
    const auto start = Clock::now();
    std::string error_type;
    try {
      const Caller caller = authenticate(state_, req, access);
      handler(req, res, caller);
    } catch (const ApiError& e) {
      send_json(res, e.to_json(), e.status());
      if (e.retry_after_seconds > 0) res.set_header("Retry-After", std::to_string(e.retry_after_seconds));
      error_type = e.type();
    } catch (const SchedulerError& e) {
      send_json(res, error_body(e.status, e.what()), e.status);
      error_type = "scheduler";
    } catch (const store::StoreError& e) {
      send_json(res, error_body(400, e.what()), 400);
      error_type = "store";
    } catch (const std::exception& e) {
      send_json(res, error_body(500, std::string("internal error: ") + e.what()), 500);
      error_type = "internal";
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    state_.metrics.record_request(label, res.status, seconds);
    if (!error_type.empty()) state_.metrics.record_error(error_type);
    log_event(res.status >= 500 ? LogLevel::error : (res.status >= 400 ? LogLevel::warn : LogLevel::info), "request",
              {{"method", req.method}, {"route", label}, {"path", req.path}, {"status", res.status},
               {"ms", std::round(seconds * 1e5) / 100}, {"remote", req.remote_addr}});
  };
}

void Router::get(const std::string& p, const std::string& l, Access a, Handler h) { http_.Get(p, wrap(l, a, std::move(h))); }
void Router::post(const std::string& p, const std::string& l, Access a, Handler h) { http_.Post(p, wrap(l, a, std::move(h))); }
void Router::put(const std::string& p, const std::string& l, Access a, Handler h) { http_.Put(p, wrap(l, a, std::move(h))); }
void Router::del(const std::string& p, const std::string& l, Access a, Handler h) { http_.Delete(p, wrap(l, a, std::move(h))); }

// ---------------------------------------------------------------------------------------------
// ServerState

ServerState::ServerState() {
  static std::atomic<uint64_t> next{1};
  instance_ = next++;
}
ServerState::~ServerState() = default;

store::Store& ServerState::store() {
  // One connection per (thread, server): several servers may run in one process (tests), one after
  // another at the same address, so they are told apart by a number that is never reused.
  thread_local std::map<uint64_t, std::unique_ptr<store::Store>> stores;
  auto& s = stores[instance_];
  if (!s) s = store::open_store(options.db);
  return *s;
}

std::vector<int32_t> ServerState::tokenize_prompt(const std::string& text) const {
  const int32_t bos = tokenizer->bos();
  const std::string bos_text = bos >= 0 ? tokenizer->token_to_piece(bos, true) : "";
  const bool has_bos = !bos_text.empty() && text.compare(0, bos_text.size(), bos_text) == 0;
  return tokenizer->encode(text, !has_bos, true);
}

std::string ServerState::render_chat(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools) const {
  ChatTemplateInputs in;
  in.messages = messages;
  in.tools = tools;
  in.add_generation_prompt = true;
  if (tokenizer->bos() >= 0) in.bos_token = tokenizer->token_to_piece(tokenizer->bos(), true);
  if (tokenizer->eos() >= 0) in.eos_token = tokenizer->token_to_piece(tokenizer->eos(), true);
  try {
    return chat_template->render(in);
  } catch (const TemplateError& e) {
    // raise_exception() in a template is how it rejects a conversation (e.g. roles not alternating).
    throw bad_request(std::string("the model's chat template rejected the messages: ") + e.what(), "messages");
  }
}

int ServerState::n_ctx() const { return scheduler ? scheduler->n_ctx() : options.scheduler.n_ctx; }

RequestLimits ServerState::limits() const {
  RequestLimits l;
  l.n_ctx = n_ctx();
  l.n_vocab = tokenizer ? tokenizer->n_vocab() : 0;
  return l;
}

void ServerState::check_model(const std::string& name) const {
  if (name.empty() || name == options.model_id || name == "kindred") return;
  throw ApiError(404, "the model '" + name + "' does not exist; this server serves '" + options.model_id + "'", "model",
                 "model_not_found");
}

std::vector<float> ServerState::embed(const std::vector<int32_t>& tokens) {
  if (!model) throw ApiError(501, "embeddings need a local model (this server generates through a remote backend)");
  std::lock_guard lock(embed_mutex_);
  if (!embed_ctx_) embed_ctx_ = std::make_unique<Context>(*model, ContextParams{.n_ctx = std::min(n_ctx(), 2048)});
  if (static_cast<int>(tokens.size()) > embed_ctx_->n_ctx()) {
    throw bad_request("the input (" + std::to_string(tokens.size()) + " tokens) is longer than the embedding context of " +
                          std::to_string(embed_ctx_->n_ctx()) + " tokens",
                      "input");
  }
  return embed_ctx_->embed(tokens);
}

// ---------------------------------------------------------------------------------------------
// Server

Server::Server(std::unique_ptr<ServerState> state) : state_(std::move(state)) {
  ServerState& s = *state_;
  if (s.options.admin_key.empty()) {
    if (const char* env = std::getenv("KINDRED_ADMIN_KEY")) s.options.admin_key = env;
  }
  if (s.options.no_auth && !is_loopback_host(s.options.host)) {
    throw std::invalid_argument("--no-auth serves everyone as one tenant, so it binds only to a loopback address, not '" +
                                s.options.host + "'; use API keys (--admin-key) to listen there");
  }
  if (!s.tokenizer || !s.chat_template) throw std::invalid_argument("the server needs a tokenizer and a chat template");
  // With a remote backend every generation goes there, so no local scheduler is made.
  if (s.model && !s.scheduler && !s.remote) {
    SchedulerOptions so = s.options.scheduler;
    if (so.state_dir.empty()) so.state_dir = s.options.state_dir;
    s.scheduler = std::make_unique<BatchScheduler>(*s.model, *s.tokenizer, so);
  }
  s.sessions = std::make_unique<SessionManager>(s);
  s.store();  // opens (and migrates) the database now, so a bad --db fails at start

  http_ = std::make_unique<httplib::Server>();
  const int threads = s.options.http_threads;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  http_->set_payload_max_length(s.options.max_body_bytes);
  http_->set_read_timeout(30, 0);
  http_->set_write_timeout(30, 0);
  http_->set_keep_alive_max_count(1000);
  http_->set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // a handler already wrote its error
    std::string message;
    switch (res.status) {
      case 404: message = "no route " + req.method + " " + req.path; break;
      case 413: message = "the request body is larger than the limit of " +
                          std::to_string(state_->options.max_body_bytes) + " bytes"; break;
      case 400: message = "the request could not be parsed"; break;
      default: message = "HTTP error " + std::to_string(res.status);
    }
    send_json(res, error_body(res.status, message), res.status);
  });
  http_->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_json(res, error_body(500, "internal error: " + what), 500);
  });

  Router router(*http_, s);
  add_openai_routes(router, s);
  add_llama_routes(router, s);
  add_kindred_routes(router, s);
  add_admin_routes(router, s);
  router.get("/health", "/health", Access::Public, [&s](const httplib::Request&, httplib::Response& res, const Caller&) {
    Json h = {{"status", s.stopping ? "stopping" : "ok"}, {"model", s.options.model_id}};
    if (s.scheduler) {
      const SchedulerStats st = s.scheduler->stats();
      h["slots_active"] = st.active;
      h["queue"] = st.queued;
      h["slots_resident"] = st.resident_slots;
    }
    send_json(res, h, s.stopping ? 503 : 200);
  });
  router.get("/metrics", "/metrics", Access::Public, [&s](const httplib::Request&, httplib::Response& res, const Caller&) {
    if (s.scheduler) {
      const SchedulerStats st = s.scheduler->stats();
      s.metrics.queue_depth.set(st.queued);
      s.metrics.active_sequences.set(st.active);
      s.metrics.kv_bytes_used.set(static_cast<double>(st.kv_bytes_used));
      s.metrics.kv_bytes_budget.set(static_cast<double>(st.kv_bytes_budget));
      // Counters follow the scheduler's totals.
      const double evicted = static_cast<double>(st.evicted) - s.metrics.sessions_evicted.value();
      if (evicted > 0) s.metrics.sessions_evicted.inc(evicted);
      const double restored = static_cast<double>(st.restored) - s.metrics.sessions_restored.value();
      if (restored > 0) s.metrics.sessions_restored.inc(restored);
    }
    res.set_content(s.metrics.registry.render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  auto page = [](const httplib::Request& req, httplib::Response& res, const Caller&) {
    const std::optional<WebAsset> asset = find_web_asset(req.path);
    if (!asset) throw not_found("no page " + req.path);
    res.set_content(std::string(asset->body), std::string(asset->content_type));
  };
  router.get("/", "/", Access::Public, page);
  router.get("/index.html", "/", Access::Public, page);
  router.get(R"(/web/[A-Za-z0-9_.-]+)", "/web/*", Access::Public, page);
  router.get("/openapi.json", "/openapi.json", Access::Public, [](const httplib::Request&, httplib::Response& res, const Caller&) {
    const std::optional<WebAsset> asset = find_web_asset("/openapi.json");
    if (!asset) throw not_found("the OpenAPI document is not built in");
    res.set_content(std::string(asset->body), std::string(asset->content_type));
  });
}

Server::~Server() { stop(); }

void Server::start() {
  const ServerOptions& o = state_->options;
  if (o.port == 0) {
    port_ = http_->bind_to_any_port(o.host);
  } else {
    port_ = http_->bind_to_port(o.host, o.port) ? o.port : -1;
  }
  if (port_ <= 0) throw std::runtime_error("cannot listen on " + o.host + ":" + std::to_string(o.port));
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  log_event(LogLevel::info, "listening", {{"host", o.host}, {"port", port_}, {"model", o.model_id}, {"db", o.db.rfind("postgres", 0) == 0 ? "postgresql" : o.db}});
}

void Server::wait() {
  if (thread_.joinable()) thread_.join();
}

void Server::stop() {
  if (!http_) return;
  state_->stopping = true;
  if (state_->scheduler) state_->scheduler->cancel_all();
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace kindred::server
