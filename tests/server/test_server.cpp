#include "server/test_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "affect/shipped_classifiers.h"
#include "gguf/gguf.h"
#include "model/model.h"
#include "model/tiny_model.h"
#include "server/log.h"
#include "store/open_store.h"
#include "template/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "test_data.h"

namespace kindred::test {
namespace {

// The model side is read-only once loaded, so every server of the process shares one.
struct TinyWorld {
  std::shared_ptr<const gguf::File> file;
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  ChatTemplate chat_template = known_chat_template("chatml");
  std::shared_ptr<affect::Appraiser> appraiser;

  TinyWorld() {
    TinyModelSpec spec;
    spec.n_ctx = 2048;
    file = std::make_shared<const gguf::File>(gguf::File::from_bytes(make_tiny_model(spec)));
    model = Model::load(file);
    tokenizer = Tokenizer::from_gguf(*file);
    appraiser = affect::make_default_appraiser();
  }
};

TinyWorld& world() {
  static TinyWorld w;
  return w;
}

}  // namespace

TestServer::TestServer(TestServerOptions options) {
  static std::atomic<int> counter{0};
  dir_ = temp_dir() / ("server-" + std::to_string(counter++));
  std::filesystem::create_directories(dir_);
  server::set_log_level(server::LogLevel::error);  // request lines would drown the test output

  TinyWorld& w = world();
  auto state = std::make_unique<server::ServerState>();
  server::ServerOptions& o = state->options;
  o.host = "127.0.0.1";
  o.port = 0;
  o.db = (dir_ / "kindred.db").string();
  o.no_auth = options.no_auth;
  o.admin_key = kAdminKey;
  o.max_body_bytes = options.max_body_bytes;
  o.http_threads = 16;
  o.model_id = "tiny";
  o.state_dir = dir_ / "state";
  o.max_reply_tokens = options.max_reply_tokens;
  o.live_sessions = 8;
  o.summarize = false;  // each summary costs a generation
  o.extract_facts = false;
  o.scheduler.n_ctx = options.n_ctx;
  o.scheduler.n_threads = 1;
  o.scheduler.max_active = 4;
  o.scheduler.state_dir = o.state_dir;
  state->model = w.model.get();
  state->tokenizer = w.tokenizer.get();
  state->chat_template = &w.chat_template;
  state->chat_template_source = w.chat_template.source();
  state->created = 1700000000;
  if (options.affect) state->appraiser = w.appraiser;
  server_ = std::make_unique<server::Server>(std::move(state));
  server_->start();
}

TestServer::~TestServer() {
  server_->stop();
  server_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::unique_ptr<httplib::Client> TestServer::client(const std::string& key) const {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port());
  c->set_read_timeout(120, 0);
  c->set_write_timeout(30, 0);
  if (!key.empty()) c->set_bearer_token_auth(key);
  return c;
}

std::unique_ptr<store::Store> TestServer::open_db() const { return store::open_store(server_->state().options.db); }

std::string TestServer::create_key(const std::string& tenant, bool admin) {
  const nlohmann::json body = {{"tenant", tenant}, {"name", tenant + "-key"}, {"admin", admin}};
  const httplib::Result r = client(kAdminKey)->Post("/kindred/v1/admin/keys", body.dump(), "application/json");
  if (!r || r->status != 201) {
    ADD_FAILURE() << "creating a key for tenant '" << tenant << "' failed: " << (r ? r->body : "no response");
    throw std::runtime_error("create_key failed");
  }
  return nlohmann::json::parse(r->body).at("key").get<std::string>();
}

nlohmann::json json_of(const httplib::Result& result) {
  if (!result) return nullptr;
  nlohmann::json j = nlohmann::json::parse(result->body, nullptr, false);
  return j.is_discarded() ? nlohmann::json(nullptr) : j;
}

std::vector<SseEvent> parse_sse(const std::string& body) {
  std::vector<SseEvent> out;
  SseEvent current;
  bool has_data = false;
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t end = body.find('\n', pos);
    if (end == std::string::npos) end = body.size();
    std::string line = body.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    pos = end + 1;
    if (line.empty()) {
      if (has_data) out.push_back(current);
      current = {};
      has_data = false;
      if (end == body.size()) break;
      continue;
    }
    if (line[0] == ':') continue;
    const size_t colon = line.find(':');
    const std::string field = line.substr(0, colon);
    std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    if (field == "event") {
      current.event = value;
    } else if (field == "data") {
      current.data += (has_data ? "\n" : "") + value;
      has_data = true;
    }
    if (end == body.size()) {
      if (has_data) out.push_back(current);
      break;
    }
  }
  return out;
}

}  // namespace kindred::test
