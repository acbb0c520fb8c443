// Kindred sessions (docs/SERVER_API.md, /kindred/v1/sessions): create, list, read, delete, and the
// conversation itself — messages, regenerate, swipe, undo — with the affect trajectory, memories
// and export. Conversation steps run on the live ChatSession through SessionManager::with_session
// (one step per session at a time); plain reads use this thread's store connection.
//
// Per-request max_tokens / temperature / seed apply to that reply only: the session's own settings
// (the server's --max-reply and sampling defaults) are put back afterwards.
#include <httplib.h>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "dialogue/chat_session.h"
#include "server/api_error.h"
#include "server/event_stream.h"
#include "server/kindred_json.h"
#include "server/kindred_routes.h"
#include "server/session_manager.h"

namespace kindred::server {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;
using dialogue::ChatSession;

namespace {

// Text the model wrote need not be valid UTF-8: bad bytes become U+FFFD rather than an exception.
std::string dump(const OJson& j) { return j.dump(-1, ' ', false, OJson::error_handler_t::replace); }
std::string error_frame(const Json& body) {
  return sse_frame(body.dump(-1, ' ', false, Json::error_handler_t::replace), "error");
}

// "<character> 3fa9c1": a name for a session created without one.
std::string generated_name(const std::string& character_name) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string suffix;
  for (int i = 0; i < 6; ++i) suffix += kHex[rng() % 16];
  return character_name + " " + suffix;
}

std::optional<std::string> optional_string(const Json& body, const char* key) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw bad_request(std::string("'") + key + "' must be a string", key);
  return it->get<std::string>();
}

// A request's reply settings: whether to stream, and overrides for this reply only.
struct ReplyOptions {
  bool stream = false;
  std::optional<int> max_tokens;
  std::optional<float> temperature;
  std::optional<uint64_t> seed;
};

ReplyOptions parse_reply_options(const Json& body) {
  ReplyOptions o;
  if (auto it = body.find("max_tokens"); it != body.end() && !it->is_null()) {
    if (!(it->is_number_integer() && it->get<int64_t>() > 0 && it->get<int64_t>() <= 1 << 20)) {
      throw bad_request("'max_tokens' must be a positive integer", "max_tokens");
    }
    o.max_tokens = static_cast<int>(it->get<int64_t>());
  }
  if (auto it = body.find("temperature"); it != body.end() && !it->is_null()) {
    if (!(it->is_number() && it->get<double>() >= 0 && it->get<double>() <= 10)) {
      throw bad_request("'temperature' must be a number between 0 and 10", "temperature");
    }
    o.temperature = it->get<float>();
  }
  if (auto it = body.find("seed"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer()) throw bad_request("'seed' must be an integer", "seed");
    o.seed = it->is_number_unsigned() ? it->get<uint64_t>() : static_cast<uint64_t>(it->get<int64_t>());
  }
  const auto it = body.find("stream");
  if (it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) throw bad_request("'stream' must be true or false", "stream");
    o.stream = it->get<bool>();
  }
  return o;
}

// Applies a request's overrides to the live session for one step and restores its own settings.
class ReplyOverride {
 public:
  ReplyOverride(ChatSession& chat, const ReplyOptions& o)
      : chat_(chat), sampling_(chat.options().sampling), max_tokens_(chat.options().max_reply_tokens) {
    SamplerParams sp = sampling_;
    if (o.temperature) sp.temperature = *o.temperature;
    if (o.seed) sp.seed = *o.seed;
    chat.set_sampling(sp);
    if (o.max_tokens) chat.set_max_reply_tokens(*o.max_tokens);
  }
  ~ReplyOverride() {
    chat_.set_sampling(sampling_);
    chat_.set_max_reply_tokens(max_tokens_);
  }
  ReplyOverride(const ReplyOverride&) = delete;
  ReplyOverride& operator=(const ReplyOverride&) = delete;

 private:
  ChatSession& chat_;
  SamplerParams sampling_;
  int max_tokens_;
};

std::string message_content(const Json& body) {
  const auto it = body.find("content");
  if (it == body.end() || !it->is_string()) throw bad_request("'content' must be a string", "content");
  const std::string content = it->get<std::string>();
  if (content.find_first_not_of(" \t\r\n") == std::string::npos) throw bad_request("'content' is empty", "content");
  return content;
}

int next_position(store::Store& store, int64_t session_id) {
  const std::vector<store::Turn> turns = store.turns(session_id);
  return turns.empty() ? 0 : turns.back().position + 1;
}

const store::Turn& turn_at(const std::vector<store::Turn>& turns, int position) {
  for (const store::Turn& t : turns) {
    if (t.position == position) return t;
  }
  throw std::runtime_error("turn " + std::to_string(position) + " is missing after the reply");
}

OJson current_affect(ChatSession& chat) {
  return chat.affect() ? affect_state(chat.affect()->chain().character()) : OJson(nullptr);
}

void require_reply_to_regenerate(store::Store& store, int64_t session_id) {
  const std::vector<store::Turn> turns = store.turns(session_id);
  if (turns.empty() || turns.back().role != store::Role::Assistant) {
    throw bad_request("there is no reply to regenerate: the session's last turn is not the character's");
  }
}

std::string character_name(store::Store& store, int64_t character_id) {
  const std::optional<store::Character> c = store.get_character(character_id);
  return c ? c->name : "";
}

// ---------------------------------------------------------------------------------------------
// Streaming: the reply runs on its own thread (with_session blocks until it is stored) and its
// frames reach the connection through an EventStream. The user turn is stored before generation
// starts, so the first piece of the reply is the moment its `user` frame can be sent: pieces wait
// behind it until the connection thread (poll) has read the turn from its own store connection,
// or until the reply is done (then the generating thread sends it).

struct ReplyRelay {
  std::shared_ptr<EventStream> events = std::make_shared<EventStream>();
  std::atomic<bool> cancelled{false};  // the client went away
  std::mutex mutex;
  bool announce_user = false;  // messages: a `user` frame first; regenerate: none
  int user_position = -1;
  bool user_stored = false;
  bool user_sent = false;
  std::vector<std::string> held;  // token frames waiting for the user frame

  // One piece of the reply (on the scheduler's thread); false stops the generation.
  bool piece(std::string_view text, bool stopping) {
    if (cancelled || stopping) return false;
    std::string frame = sse_frame(dump(OJson{{"text", std::string(text)}}), "token");
    std::lock_guard lock(mutex);
    if (announce_user && !user_sent) {
      user_stored = true;
      held.push_back(std::move(frame));
    } else {
      events->push(std::move(frame));
    }
    return true;
  }
  std::optional<int> user_frame_due() {
    std::lock_guard lock(mutex);
    if (!announce_user || !user_stored || user_sent) return std::nullopt;
    return user_position;
  }
  void set_user_position(int position) {
    std::lock_guard lock(mutex);
    user_position = position;
  }
  // The user frame (once), then the pieces that waited for it.
  void send_user(const OJson& turn) {
    std::lock_guard lock(mutex);
    if (user_sent || !announce_user) return;
    events->push(sse_frame(dump(turn), "user"));
    for (std::string& f : held) events->push(std::move(f));
    held.clear();
    user_sent = true;
  }
};

// Joins the generating thread when the response lets go of it (on the connection's thread, which
// the server joins when it stops), so no generation outlives the server.
struct WorkerThread {
  std::thread thread;
  ~WorkerThread() {
    if (thread.joinable()) thread.join();
  }
};

using ReplyStep = std::function<void(ChatSession&, store::Store&, ReplyRelay&)>;

void serve_reply_stream(ServerState& state, httplib::Response& res, const Caller& caller, int64_t session_id,
                        bool announce_user, ReplyStep step) {
  auto relay = std::make_shared<ReplyRelay>();
  relay->announce_user = announce_user;
  ServerState* s = &state;
  auto worker = std::make_shared<WorkerThread>();
  worker->thread = std::thread([s, relay, caller, session_id, step = std::move(step)] {
    try {
      s->sessions->with_session(caller, session_id,
                                [&](ChatSession& chat, store::Store& store) { step(chat, store, *relay); });
    } catch (const ApiError& e) {
      relay->events->push(error_frame(e.to_json()));
    } catch (const SchedulerError& e) {
      relay->events->push(error_frame(error_body(e.status, e.what())));
    } catch (const std::exception& e) {
      relay->events->push(error_frame(error_body(500, std::string("generation failed: ") + e.what())));
    } catch (...) {
      relay->events->push(error_frame(error_body(500, "generation failed")));
    }
    relay->events->close();
  });
  serve_event_stream(
      res, relay->events,
      [s, relay, session_id, worker] {
        (void)worker;  // held here so the response owns (and at its end joins) the thread
        const std::optional<int> position = relay->user_frame_due();
        if (!position) return;
        try {
          for (const store::Turn& t : s->store().turns(session_id)) {
            if (t.position == *position) relay->send_user(turn_json(t));
          }
        } catch (const std::exception&) {
          // Not lost: the generating thread sends the user frame when the reply is done.
        }
      },
      [relay] { relay->cancelled = true; });
}

// ---------------------------------------------------------------------------------------------

void post_message(ServerState& s, const httplib::Request& req, httplib::Response& res, const Caller& caller) {
  const int64_t id = path_id(req);
  const Json body = json_body(req);
  const std::string content = message_content(body);
  const ReplyOptions options = parse_reply_options(body);
  owned_session(s.store(), caller, id);  // a 404 before any stream starts
  if (!options.stream) {
    OJson out;
    s.sessions->with_session(caller, id, [&](ChatSession& chat, store::Store& store) {
      const int user_position = next_position(store, id);
      const ReplyOverride override_settings(chat, options);
      chat.reply(content);
      const std::vector<store::Turn> turns = store.turns(id);
      out = {{"user", turn_json(turn_at(turns, user_position))},
             {"reply", turn_json(turns.back())},
             {"affect", current_affect(chat)}};
    });
    send_json(res, out);
    return;
  }
  const std::atomic<bool>* stopping = &s.stopping;
  serve_reply_stream(s, res, caller, id, true,
                     [content, stopping, id, options](ChatSession& chat, store::Store& store, ReplyRelay& relay) {
                       relay.set_user_position(next_position(store, id));
                       const ReplyOverride override_settings(chat, options);
                       try {
                         chat.reply(content, [&](std::string_view t) { return relay.piece(t, *stopping); });
                       } catch (...) {
                         // The user turn may be stored although the reply failed: say so before the error.
                         for (const store::Turn& t : store.turns(id)) {
                           if (t.position == relay.user_position) relay.send_user(turn_json(t));
                         }
                         throw;
                       }
                       const std::vector<store::Turn> turns = store.turns(id);
                       relay.send_user(turn_json(turn_at(turns, relay.user_position)));
                       relay.events->push(sse_frame(
                           dump(OJson{{"reply", turn_json(turns.back())}, {"affect", current_affect(chat)}}), "done"));
                     });
}

void regenerate(ServerState& s, const httplib::Request& req, httplib::Response& res, const Caller& caller) {
  const int64_t id = path_id(req);
  const Json body = req.body.empty() ? Json::object() : json_body(req);
  const ReplyOptions options = parse_reply_options(body);
  owned_session(s.store(), caller, id);
  require_reply_to_regenerate(s.store(), id);
  if (!options.stream) {
    OJson out;
    s.sessions->with_session(caller, id, [&](ChatSession& chat, store::Store& store) {
      require_reply_to_regenerate(store, id);
      const ReplyOverride override_settings(chat, options);
      chat.regenerate();
      out = {{"reply", turn_json(store.turns(id).back())}, {"affect", current_affect(chat)}};
    });
    send_json(res, out);
    return;
  }
  const std::atomic<bool>* stopping = &s.stopping;
  serve_reply_stream(s, res, caller, id, false, [stopping, id, options](ChatSession& chat, store::Store& store, ReplyRelay& relay) {
    require_reply_to_regenerate(store, id);
    const ReplyOverride override_settings(chat, options);
    chat.regenerate([&](std::string_view t) { return relay.piece(t, *stopping); });
    relay.events->push(sse_frame(
        dump(OJson{{"reply", turn_json(store.turns(id).back())}, {"affect", current_affect(chat)}}), "done"));
  });
}

void create_session(ServerState& s, const httplib::Request& req, httplib::Response& res, const Caller& caller) {
  const Json body = json_body(req);
  const auto cid = body.find("character_id");
  if (cid == body.end() || !cid->is_number_integer()) throw bad_request("'character_id' must be an integer", "character_id");
  const std::optional<std::string> name = optional_string(body, "name");
  const std::optional<std::string> user_name = optional_string(body, "user_name");
  const std::optional<std::string> persona = optional_string(body, "persona");
  if (name && name->empty()) throw bad_request("'name' is empty", "name");
  store::Store& store = s.store();
  const store::Character character = owned_character(store, caller, cid->get<int64_t>());
  const std::string session_name = name ? *name : generated_name(character.name);
  if (store.find_session_by_name(session_name, caller.tenant)) {
    throw ApiError(409, "a session named '" + session_name + "' exists already", "name", "session_name_taken");
  }
  // Kept in the session's settings for the session's options (the store's place for them).
  Json settings = Json::object();
  if (user_name) settings["user_name"] = *user_name;
  if (persona) settings["persona"] = *persona;
  store::Session session;
  store.with_transaction([&](store::Store& tx) {
    try {
      session = dialogue::start_session(tx, character, session_name, caller.tenant);
    } catch (const store::StoreError&) {
      throw;
    } catch (const std::runtime_error& e) {
      throw bad_request(e.what());  // the stored card is not a valid card
    }
    if (!settings.empty()) {
      session.settings_json = settings.dump();
      tx.update_session(session);
    }
  });
  const store::Session stored = owned_session(store, caller, session.id);
  const std::vector<store::Turn> turns = store.turns(stored.id);
  send_json(res, session_json(stored, character.name, &turns), 201);
}

}  // namespace

void add_session_routes(Router& router, ServerState& state) {
  ServerState* s = &state;
  const std::string base = std::string(kKindredPrefix) + "/sessions";
  const std::string one = base + R"(/(\d+))";
  const std::string label = base + "/{id}";
  auto route = [s](void (*fn)(ServerState&, const httplib::Request&, httplib::Response&, const Caller&)) {
    return [s, fn](const httplib::Request& req, httplib::Response& res, const Caller& caller) { fn(*s, req, res, caller); };
  };

  router.post(base, base, Access::Tenant, route(create_session));
  router.get(base, base, Access::Tenant, [s](const httplib::Request&, httplib::Response& res, const Caller& caller) {
    store::Store& store = s->store();
    std::map<int64_t, std::string> names;
    for (const store::Character& c : store.list_characters()) {
      if (c.tenant == caller.tenant) names[c.id] = c.name;
    }
    OJson data = OJson::array();
    for (const store::Session& x : store.list_sessions()) {
      if (x.tenant == caller.tenant) data.push_back(session_json(x, names[x.character_id], nullptr));
    }
    send_json(res, OJson{{"data", data}});
  });
  router.get(one, label, Access::Tenant, [s](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
    store::Store& store = s->store();
    const store::Session x = owned_session(store, caller, path_id(req));
    const std::vector<store::Turn> turns = store.turns(x.id);
    send_json(res, session_json(x, character_name(store, x.character_id), &turns));
  });
  router.del(one, label, Access::Tenant, [s](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
    store::Store& store = s->store();
    const store::Session x = owned_session(store, caller, path_id(req));
    store.delete_session(x.id);
    s->sessions->forget(x.id);
    res.status = 204;
  });
  router.post(one + "/messages", label + "/messages", Access::Tenant, route(post_message));
  router.post(one + "/regenerate", label + "/regenerate", Access::Tenant, route(regenerate));
  router.post(one + "/swipe", label + "/swipe", Access::Tenant, [s](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
    const int64_t id = path_id(req);
    const Json body = json_body(req);
    const auto d = body.find("direction");
    if (d == body.end() || !d->is_number_integer() || (d->get<int64_t>() != 1 && d->get<int64_t>() != -1)) {
      throw bad_request("'direction' must be 1 or -1", "direction");
    }
    OJson out;
    s->sessions->with_session(caller, id, [&](ChatSession& chat, store::Store& store) {
      const bool moved = chat.swipe(static_cast<int>(d->get<int64_t>()));
      const std::vector<store::Turn> turns = store.turns(id);
      out = {{"turn", turns.empty() ? OJson(nullptr) : turn_json(turns.back())}, {"moved", moved}};
    });
    send_json(res, out);
  });
  router.post(one + "/undo", label + "/undo", Access::Tenant, [s](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
    bool undone = false;
    s->sessions->with_session(caller, path_id(req), [&](ChatSession& chat, store::Store&) { undone = chat.undo(); });
    send_json(res, OJson{{"undone", undone}});
  });
  router.get(one + "/affect", label + "/affect", Access::Tenant, [s](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
    const int64_t id = path_id(req);
    OJson out;
    s->sessions->with_session(caller, id, [&](ChatSession& chat, store::Store& store) {
      OJson trajectory = OJson::array();
      for (const store::Turn& t : store.turns(id)) {
        OJson point = affect_point(t);
        if (!point.is_null()) trajectory.push_back(std::move(point));
      }
      out = {{"trajectory", std::move(trajectory)}, {"state", current_affect(chat)}};
    });
    send_json(res, out);
  });
  router.get(one + "/memories", label + "/memories", Access::Tenant, [s](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
    store::Store& store = s->store();
    const store::Session x = owned_session(store, caller, path_id(req));
    // The session's own memories only: global memories are not tenant-scoped.
    OJson data = OJson::array();
    for (const store::Memory& m : store.list_memories({.session_id = x.id})) {
      data.push_back({{"id", m.id},
                      {"kind", std::string(store::to_string(m.kind))},
                      {"level", m.level},
                      {"text", m.text},
                      {"first_turn", m.first_turn ? OJson(*m.first_turn) : OJson(nullptr)},
                      {"last_turn", m.last_turn ? OJson(*m.last_turn) : OJson(nullptr)}});
    }
    send_json(res, OJson{{"data", data}});
  });
  router.get(one + "/export", label + "/export", Access::Tenant, [s](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
    store::Store& store = s->store();
    const store::Session x = owned_session(store, caller, path_id(req));
    res.set_content(store.export_session_json(x.id), "application/json");
  });
}

}  // namespace kindred::server
