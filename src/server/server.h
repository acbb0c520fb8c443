// `kindred serve`: one HTTP server speaking OpenAI's API, llama.cpp's (for SillyTavern) and
// Kindred's own (docs/SERVER_API.md), in front of the batch scheduler.
#pragma once
#include <memory>
#include <thread>

#include "server/server_state.h"

namespace httplib {
class Server;
}

namespace kindred::server {

class Server {
 public:
  // The state must have its model (or remote backend), tokenizer and template set; the server
  // creates the scheduler and the session manager. Throws std::invalid_argument for options that
  // would be unsafe (--no-auth on a non-loopback address) or inconsistent.
  explicit Server(std::unique_ptr<ServerState> state);
  ~Server();

  // Binds and serves in a background thread; returns once the socket is bound.
  // Throws std::runtime_error naming the address when it cannot bind.
  void start();
  // Blocks until stop() (or a signal handler calling it).
  void wait();
  void stop();
  int port() const { return port_; }
  ServerState& state() { return *state_; }

 private:
  std::unique_ptr<ServerState> state_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
};

// Whether host names only this machine (127.0.0.0/8, ::1, localhost).
bool is_loopback_host(const std::string& host);

}  // namespace kindred::server
