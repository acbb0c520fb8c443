// `kindred serve`: the HTTP server (docs/SERVER_API.md) — OpenAI's API, llama.cpp's for SillyTavern,
// Kindred's own with characters, sessions and emotions, and the web chat page at /.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>

#include "affect/intent.h"
#include "affect/shipped_classifiers.h"
#include "affect/steering.h"
#include "cli/commands.h"
#include "cli/model_source.h"
#include "server/log.h"
#include "server/remote_backend.h"
#include "server/server.h"

namespace kindred::cli {
namespace {

server::Server* g_server = nullptr;

extern "C" void on_stop_signal(int) {
  // Only an atomic store here; the main thread notices and stops the server.
  if (g_server) g_server->state().stopping.store(true);
}

struct ServeOptions {
  std::string model;
  server::ServerOptions server;
  int n_ctx = 4096;
  int n_threads = 0;
  int parallel = 64;
  double kv_budget_mib = 0;
  std::string kv_type = "f16";
  std::string state_dir;
  std::string log_level = "info";
  bool no_affect = false;
  std::string intents;
  std::string steer;
  std::string backend_key;
};

DType parse_kv_type(const std::string& name) {
  if (name == "f16") return DType::F16;
  if (name == "f32") return DType::F32;
  if (name == "q8_0") return DType::Q8_0;
  throw std::runtime_error("--kv-type must be f16, f32 or q8_0, not '" + name + "'");
}

void run_serve(const ServeOptions& o) {
  server::set_log_level(server::parse_log_level(o.log_level));
  auto state = std::make_unique<server::ServerState>();
  state->options = o.server;
  state->options.scheduler.n_ctx = o.n_ctx;
  state->options.scheduler.n_threads = o.n_threads;
  state->options.scheduler.max_active = o.parallel;
  state->options.scheduler.kv_type = parse_kv_type(o.kv_type);
  state->options.scheduler.kv_budget_bytes = static_cast<size_t>(o.kv_budget_mib * 1024 * 1024);
  state->options.state_dir = o.state_dir.empty() ? std::filesystem::path(o.server.db).parent_path() / "kindred-state"
                                                 : std::filesystem::path(o.state_dir);
  if (o.server.db.rfind("postgres", 0) == 0 && o.state_dir.empty()) state->options.state_dir = "kindred-state";
  state->options.scheduler.state_dir = state->options.state_dir;

  LoadedModel m = load_model(o.model);
  const ChatTemplate chat_template = chat_template_for(*m.file);
  state->tokenizer = m.tokenizer.get();
  state->chat_template = &chat_template;
  state->chat_template_source = chat_template.source();
  state->model = m.model.get();
  if (state->options.model_id.empty()) {
    state->options.model_id = o.model.empty() ? "stories260K" : std::filesystem::path(o.model).stem().string();
  }
  state->created = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  if (!o.server.backend.empty()) {
    state->remote = std::make_unique<server::RemoteBackend>(o.server.backend, o.backend_key, *m.tokenizer);
    server::log_event(server::LogLevel::info, "backend", {{"address", state->remote->address()}, {"model", state->remote->model()}});
  }
  if (!o.no_affect) {
    state->appraiser = affect::make_default_appraiser();
    if (!o.intents.empty()) {
      const std::filesystem::path p = o.intents;
      state->intents = std::make_shared<const affect::IntentClassifier>(
          p.extension() == ".json" ? affect::IntentClassifier::train(affect::load_intent_inventory(p))
                                   : affect::IntentClassifier::load(p));
    }
    std::filesystem::path steer = o.steer;
    if (steer.empty() && !o.model.empty()) {
      const auto beside = affect::SteeringLibrary::default_path(o.model);
      if (std::filesystem::exists(beside)) steer = beside;
    }
    if (!steer.empty()) {
      state->steering = std::make_shared<const affect::SteeringLibrary>(affect::SteeringLibrary::load(steer, *m.model));
    }
  }
  server::Server srv(std::move(state));
  srv.start();
  std::printf("kindred: serving %s on http://%s:%d/ (chat page at /, API docs at /openapi.json)\n",
              srv.state().options.model_id.c_str(), srv.state().options.host.c_str(), srv.port());
  std::fflush(stdout);
  g_server = &srv;
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  while (!srv.state().stopping.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server::log_event(server::LogLevel::info, "stopping", {});
  srv.stop();
  g_server = nullptr;
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve the OpenAI, llama.cpp and Kindred APIs and the web chat page");
  cmd->add_option("-m,--model", o->model, "GGUF file or hf://OWNER/REPO/FILE.gguf (default: embedded stories260K)");
  cmd->add_option("--host", o->server.host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", o->server.port, "Port (0: any free port)")->capture_default_str();
  cmd->add_option("--db", o->server.db, "SQLite file, or postgresql://USER:PASS@HOST:PORT/DB")->capture_default_str();
  cmd->add_flag("--no-auth", o->server.no_auth, "No API keys: every request is the local tenant (loopback addresses only)");
  cmd->add_option("--admin-key", o->server.admin_key, "Admin key that manages API keys (or env KINDRED_ADMIN_KEY)");
  cmd->add_option("--model-id", o->server.model_id, "Model name reported by /v1/models (default: the file's stem)");
  cmd->add_option("-c,--ctx-size", o->n_ctx, "Context of every sequence")->capture_default_str();
  cmd->add_option("-t,--threads", o->n_threads, "Threads (0: all)")->capture_default_str();
  cmd->add_option("--parallel", o->parallel, "Sequences decoded together at most")->capture_default_str();
  cmd->add_option("--kv-budget", o->kv_budget_mib, "KV cache memory for resident sequences, MiB (0: --parallel contexts)");
  cmd->add_option("--kv-type", o->kv_type, "KV cache type: f16, f32, q8_0")->capture_default_str();
  cmd->add_option("--state-dir", o->state_dir, "Where evicted sessions' KV state and /slots files go");
  cmd->add_option("--max-body", o->server.max_body_bytes, "Largest request body, bytes")->capture_default_str();
  cmd->add_option("--http-threads", o->server.http_threads, "Connections served at once")->capture_default_str();
  cmd->add_option("--max-reply", o->server.max_reply_tokens, "Tokens per session reply")->capture_default_str();
  cmd->add_option("--backend", o->server.backend, "openai://HOST:PORT: generate on another OpenAI-compatible server");
  cmd->add_option("--backend-key", o->backend_key, "API key for --backend");
  cmd->add_flag("--no-affect", o->no_affect, "Sessions without the affective stream");
  cmd->add_option("--intents", o->intents, "Intent inventory (.json) or trained classifier (.kcls)");
  cmd->add_option("--steer", o->steer, "Steering side file (default: beside the model when present)");
  cmd->add_flag("--extract-facts", o->server.extract_facts, "Extract facts about the user after each message (costs a generation)");
  cmd->add_option("--log-level", o->log_level, "debug, info, warn, error")->capture_default_str();
  cmd->callback([o] { run_serve(*o); });
}

}  // namespace kindred::cli
