// A real `kindred serve` inside the test process, for tests that talk HTTP to it: a tiny
// random-weight model (tests/model/tiny_model.h) with the chatml template, the shipped appraiser,
// a SQLite database in a fresh temporary folder, and a free loopback port. Talk to it with
// httplib::Client (client()); admin_key() manages API keys, create_key() mints one per tenant.
#pragma once
#include <httplib.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/server.h"
#include "store/store.h"

namespace kindred::test {

struct TestServerOptions {
  bool no_auth = false;        // true: no keys, every request is the local tenant
  bool affect = true;          // the shipped LLM-free appraiser (false: sessions without affect)
  int max_reply_tokens = 16;   // keeps replies (and tests) short
  int n_ctx = 1024;            // of every scheduler slot
  size_t max_body_bytes = 8u << 20;
};

class TestServer {
 public:
  static constexpr const char* kAdminKey = "kr-test-admin-key";

  explicit TestServer(TestServerOptions options = {});
  ~TestServer();  // stops the server and removes the folder
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  int port() const { return server_->port(); }
  server::ServerState& state() { return server_->state(); }
  const std::filesystem::path& dir() const { return dir_; }

  // A connection of the caller's own to the server's database (for checking what was stored).
  // Prefer it to state().store() on a test thread: that cache is per thread and ServerState
  // address, so a later server in the same process can get an earlier one's connection.
  std::unique_ptr<store::Store> open_db() const;
  // A client of this server; with a key, every request sends "Authorization: Bearer <key>".
  std::unique_ptr<httplib::Client> client(const std::string& key = "") const;
  // Mints an API key for `tenant` through POST /kindred/v1/admin/keys (as the admin) and returns
  // the plaintext key. Fails the calling test (and throws) when the server refuses.
  std::string create_key(const std::string& tenant, bool admin = false);

 private:
  std::filesystem::path dir_;
  std::unique_ptr<server::Server> server_;
};

// A response body as JSON (null when there is no response or the body is not JSON).
nlohmann::json json_of(const httplib::Result& result);

// One server-sent event as the Kindred and OpenAI streams write it.
struct SseEvent {
  std::string event;  // "" for unnamed events
  std::string data;
};
// Splits a text/event-stream body into its events (blank-line separated; comment lines skipped).
std::vector<SseEvent> parse_sse(const std::string& body);

}  // namespace kindred::test
