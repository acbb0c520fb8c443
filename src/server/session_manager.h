// Live Kindred sessions of the server: each open ChatSession with its own store connection and a
// lock, so one session's messages run one after another while different sessions run at once (their
// replies meet in the batch scheduler, keyed by session, so each keeps its KV slot between turns).
// Idle sessions beyond the limit are closed (least recently used first); their KV slots stay with
// the scheduler, which evicts them to disk under memory pressure.
#pragma once
#include <chrono>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "dialogue/chat_session.h"
#include "store/store.h"

namespace kindred::server {

class ServerState;
struct Caller;

class SessionManager {
 public:
  explicit SessionManager(ServerState& state);
  ~SessionManager();

  // Runs fn with the session open, one caller at a time per session. Throws ApiError 404 when the
  // session does not exist or belongs to another tenant.
  void with_session(const Caller& caller, int64_t session_id,
                    const std::function<void(dialogue::ChatSession&, store::Store&)>& fn);
  // Closes the session if open and drops its KV slot (deleted sessions).
  void forget(int64_t session_id);
  // The scheduler's slot key of a session.
  static std::string slot_key(int64_t session_id) { return "session:" + std::to_string(session_id); }
  size_t open_count();

 private:
  struct Entry {
    std::mutex mutex;  // held while a message runs
    std::unique_ptr<store::Store> store;
    std::unique_ptr<dialogue::ChatSession> session;
    std::chrono::steady_clock::time_point last_used;
    int users = 0;  // callers holding or waiting for the entry (guarded by SessionManager::mutex_)
    std::string version;  // the turns as this process last left them (see turns_version)
  };
  std::shared_ptr<Entry> acquire(int64_t session_id);
  void release(int64_t session_id, const std::shared_ptr<Entry>& entry);
  dialogue::SessionOptions session_options(const store::Session& record);
  // Identifies the session's turns (count, last id, swipes): another server process sharing the
  // database changes it, and then the open ChatSession is rebuilt from the store.
  static std::string turns_version(store::Store& store, int64_t session_id);

  ServerState& state_;
  std::mutex mutex_;
  std::map<int64_t, std::shared_ptr<Entry>> entries_;
};

}  // namespace kindred::server
