#include "server/session_manager.h"

#include "server/api_error.h"
#include "server/generation.h"
#include "server/remote_backend.h"
#include "server/server_state.h"
#include "store/open_store.h"

namespace kindred::server {

SessionManager::SessionManager(ServerState& state) : state_(state) {}
SessionManager::~SessionManager() = default;

size_t SessionManager::open_count() {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::shared_ptr<SessionManager::Entry> SessionManager::acquire(int64_t session_id) {
  std::lock_guard lock(mutex_);
  auto& entry = entries_[session_id];
  if (!entry) entry = std::make_shared<Entry>();
  ++entry->users;
  return entry;
}

void SessionManager::release(int64_t session_id, const std::shared_ptr<Entry>& entry) {
  std::lock_guard lock(mutex_);
  --entry->users;
  entry->last_used = std::chrono::steady_clock::now();
  // Close the least recently used idle sessions beyond the limit.
  while (entries_.size() > static_cast<size_t>(std::max(1, state_.options.live_sessions))) {
    auto oldest = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->second->users > 0) continue;
      if (oldest == entries_.end() || it->second->last_used < oldest->second->last_used) oldest = it;
    }
    if (oldest == entries_.end()) break;
    entries_.erase(oldest);
  }
  (void)session_id;
}

dialogue::SessionOptions SessionManager::session_options(const store::Session& record) {
  dialogue::SessionOptions o;
  o.n_ctx = state_.n_ctx();
  o.max_reply_tokens = state_.options.max_reply_tokens;
  o.summarize = state_.options.summarize && state_.model != nullptr;
  o.extract_facts = state_.options.extract_facts && state_.model != nullptr;
  o.appraiser = state_.appraiser;
  o.intents = state_.intents;
  o.steering = state_.remote ? nullptr : state_.steering;  // a remote backend takes prompt-level fusion only
  o.tenant = record.tenant;
  // The session's own user name and persona (POST /sessions stores them in its settings).
  const nlohmann::json settings = nlohmann::json::parse(record.settings_json, nullptr, false);
  if (settings.is_object()) {
    if (settings.contains("user_name") && settings["user_name"].is_string()) o.user_name = settings["user_name"];
    if (settings.contains("persona") && settings["persona"].is_string()) o.persona = settings["persona"];
  }
  const std::string key = slot_key(record.id);
  const std::string owner = record.tenant;
  ServerState* s = &state_;
  o.generator = [s, key, owner](const dialogue::ReplyRequest& r, const TextCallback& on_text) -> GenerateResult {
    if (s->remote) return s->remote->generate(r, on_text);
    GenerationRequest g;
    g.slot_key = key;
    g.owner = owner;
    g.prompt.assign(r.prompt.begin(), r.prompt.end());
    g.sampling = r.sampling;
    g.params = r.params;
    g.steering = r.steering;
    if (on_text) {
      g.on_token = [&on_text](const TokenEvent& ev) { return ev.text.empty() || on_text(ev.text); };
    }
    std::shared_ptr<Job> job = s->scheduler->submit(std::move(g));
    const GenerationOutcome& o = wait_ok(*job);
    record_generation(*s, o);
    return o.result;
  };
  return o;
}

void SessionManager::with_session(const Caller& caller, int64_t session_id,
                                  const std::function<void(dialogue::ChatSession&, store::Store&)>& fn) {
  std::shared_ptr<Entry> entry = acquire(session_id);
  struct Release {
    SessionManager* self;
    int64_t id;
    const std::shared_ptr<Entry>& e;
    ~Release() { self->release(id, e); }
  } release{this, session_id, entry};
  std::lock_guard session_lock(entry->mutex);
  if (!entry->store) entry->store = store::open_store(state_.options.db);
  // Checked on every call: the record may have been deleted or the caller may be another tenant.
  const std::optional<store::Session> record = entry->store->get_session(session_id);
  if (!record || record->tenant != caller.tenant) {
    entry->session.reset();
    throw not_found("no session " + std::to_string(session_id), "session_not_found");
  }
  if (entry->session && turns_version(*entry->store, session_id) != entry->version) entry->session.reset();
  if (!entry->session) {
    if (!state_.model && !state_.remote) throw ApiError(501, "this server has no model");
    entry->session = std::make_unique<dialogue::ChatSession>(
        *entry->store, dialogue::ChatModel{*state_.model, *state_.tokenizer, *state_.chat_template}, record->name,
        std::nullopt, session_options(*record));
  }
  try {
    fn(*entry->session, *entry->store);
  } catch (...) {
    entry->session.reset();  // whatever state it was left in, the store has the truth
    throw;
  }
  entry->version = turns_version(*entry->store, session_id);
}

std::string SessionManager::turns_version(store::Store& store, int64_t session_id) {
  const std::vector<store::Turn> turns = store.turns(session_id);
  if (turns.empty()) return "0";
  const store::Turn& last = turns.back();
  return std::to_string(turns.size()) + ":" + std::to_string(last.id) + ":" + std::to_string(last.swipes.size()) + ":" +
         std::to_string(last.active_swipe) + ":" + std::to_string(std::hash<std::string>{}(last.text()));
}

void SessionManager::forget(int64_t session_id) {
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(session_id);
    if (it != entries_.end() && it->second->users == 0) entries_.erase(it);
  }
  if (state_.scheduler) state_.scheduler->forget_key(slot_key(session_id));
}

}  // namespace kindred::server
