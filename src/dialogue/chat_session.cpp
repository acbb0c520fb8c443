#include "dialogue/chat_session.h"

#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <sstream>
#include <stdexcept>

namespace kindred::dialogue {
namespace {

using store::Role;

std::string role_name(Role r) { return std::string(store::to_string(r)); }

uint64_t hash_name(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Recall ids: turns and stored memories share one index.
int64_t turn_key(store::Id id) { return id * 2; }
int64_t memory_key(store::Id id) { return id * 2 + 1; }

std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

}  // namespace

store::Session start_session(store::Store& store, const store::Character& character, const std::string& name,
                             const std::string& tenant) {
  const CharacterCard card = CharacterCard::from_json_text(character.card_json, "stored card of '" + character.name + "'");
  store::Session session;
  store.with_transaction([&](store::Store& s) {
    store::Session record{.name = name, .character_id = character.id};
    record.tenant = tenant;
    session = s.create_session(record);
    const std::vector<std::string> greetings = card.greetings();
    if (!greetings.empty() && !(greetings.size() == 1 && greetings[0].empty())) {
      s.append_turn({.session_id = session.id, .role = Role::Assistant, .swipes = greetings});
    }
  });
  return session;
}

ChatSession::ChatSession(store::Store& store, ChatModel model, const std::string& name,
                         std::optional<CharacterCard> card, SessionOptions options)
    : store_(store),
      model_(model),
      options_(std::move(options)),
      builder_(model.chat_template, model.tokenizer) {
  if (!options_.generator) {
    ctx_ = std::make_unique<Context>(model.model, ContextParams{.n_ctx = options_.n_ctx, .n_threads = options_.n_threads});
  }
  if (std::optional<store::Session> existing = store_.find_session_by_name(name, options_.tenant)) {
    session_ = *existing;
    const std::optional<store::Character> c = store_.get_character(session_.character_id);
    if (!c) throw std::runtime_error("session '" + name + "' refers to a character that is gone");
    card_ = CharacterCard::from_json_text(c->card_json, "stored card of '" + c->name + "'");
    if (ctx_ && session_.kv_state_path && std::filesystem::exists(*session_.kv_state_path)) {
      try {
        ctx_->load_state(*session_.kv_state_path);
        resumed_from_state_ = true;
      } catch (const std::exception&) {
        // A stale or foreign state file only costs re-processing; the turns are in the store.
      }
    }
  } else {
    if (!card) throw std::runtime_error("session '" + name + "' does not exist: a character card is needed to start it");
    card_ = std::move(card);
    store_.with_transaction([&](store::Store& s) {
      const store::Character character = s.create_character({.name = card_->name(), .card_json = card_->to_json().dump()});
      session_ = start_session(s, character, name, options_.tenant);
    });
  }
  for (const store::Turn& t : store_.turns(session_.id)) index_turn(t);
  for (const store::Memory& m : memories()) {
    index_memory(m);
    if (m.kind == store::MemoryKind::Summary && m.last_turn) summarized_until_ = std::max(summarized_until_, *m.last_turn + 1);
  }
  window_start_ = summarized_until_;
  if (options_.appraiser) {
    affect_ = std::make_unique<AffectStream>(options_.appraiser, card_ ? &*card_ : nullptr, options_.affect, options_.intents,
                                             options_.steering);
    restore_affect(store_.turns(session_.id));
  }
}

void ChatSession::restore_affect(const std::vector<store::Turn>& turns) {
  if (!affect_) return;
  std::vector<nlohmann::json> metadata;
  for (const store::Turn& t : turns) {
    metadata.push_back(nlohmann::json::parse(t.metadata_json, nullptr, false));  // the store validated it
  }
  affect_->restore(metadata);
}

std::vector<store::Memory> ChatSession::memories() {
  return store_.list_memories({.session_id = session_.id, .include_global = true});
}

void ChatSession::index_turn(const store::Turn& t) {
  const int64_t key = turn_key(t.id);
  if (recall_.contains(key)) recall_.remove(key);
  recall_.add(key, t.text());
}

void ChatSession::index_memory(const store::Memory& m) {
  const int64_t key = memory_key(m.id);
  if (recall_.contains(key)) recall_.remove(key);
  if (m.embedding.empty() || (recall_.embedding_dim() != 0 && m.embedding.size() != recall_.embedding_dim())) {
    recall_.add(key, m.text);
  } else {
    recall_.add(key, m.text, m.embedding);
  }
}

std::string ChatSession::run_aux(const std::string& instruction, int max_tokens) {
  if (!aux_) aux_ = std::make_unique<Context>(model_.model, ContextParams{.n_ctx = std::min(options_.n_ctx, 2048),
                                                                          .n_threads = options_.n_threads});
  ChatTemplateInputs in;
  in.messages = nlohmann::ordered_json::array({{{"role", "user"}, {"content", instruction}}});
  std::string prompt;
  try {
    prompt = model_.chat_template.render(in);
  } catch (const TemplateError&) {
    prompt = instruction + "\n";
  }
  std::vector<int32_t> tokens = builder_.tokenize(prompt);
  const size_t limit = static_cast<size_t>(aux_->n_ctx() - max_tokens);
  if (tokens.size() > limit) tokens.erase(tokens.begin() + 1, tokens.begin() + 1 + static_cast<std::ptrdiff_t>(tokens.size() - limit));
  Sampler greedy({.temperature = 0.0f, .penalty_last_n = 0}, model_.tokenizer.n_vocab());
  const GenerateResult r = generate(*aux_, model_.tokenizer, greedy, tokens,
                                    {.n_predict = max_tokens, .reuse_prefix = true});
  return trim(r.text);
}

std::vector<float> ChatSession::embed(const std::string& text) {
  if (!aux_) run_aux("", 1);  // creates the auxiliary context
  const std::vector<int32_t> tokens = model_.tokenizer.encode(text, true, false);
  if (tokens.empty()) return {};
  return aux_->embed(tokens);
}

void ChatSession::summarize_dropped(const std::vector<store::Turn>& turns, int window_start) {
  if (!options_.summarize || window_start <= summarized_until_) return;
  const std::string char_name = card_ ? card_->display_name() : "Assistant";
  std::string transcript;
  for (const store::Turn& t : turns) {
    if (t.position < summarized_until_ || t.position >= window_start) continue;
    transcript += (t.role == Role::User ? options_.user_name : char_name) + ": " + t.text() + "\n";
  }
  const std::string summary = run_aux(
      "Summarize this part of a conversation between " + options_.user_name + " and " + char_name +
          " in a few sentences. Keep names, facts and promises.\n\n" + transcript,
      160);
  if (!summary.empty()) {
    store::Memory m{.session_id = session_.id, .kind = store::MemoryKind::Summary, .level = 0, .text = summary,
                    .first_turn = summarized_until_, .last_turn = window_start - 1};
    index_memory(store_.create_memory(m));
  }
  summarized_until_ = window_start;
  // Summaries of summaries: past eight notes, the oldest four become one note a level up.
  std::vector<store::Memory> notes;
  for (const store::Memory& m : memories()) {
    if (m.kind == store::MemoryKind::Summary && m.session_id) notes.push_back(m);
  }
  if (notes.size() <= 8) return;
  std::string joined;
  int level = 0;
  for (size_t i = 0; i < 4; ++i) {
    joined += "- " + notes[i].text + "\n";
    level = std::max(level, notes[i].level + 1);
  }
  const std::string merged = run_aux("Combine these notes about a conversation into one short summary:\n" + joined, 200);
  if (merged.empty()) return;
  store_.with_transaction([&](store::Store& s) {
    store::Memory m{.session_id = session_.id, .kind = store::MemoryKind::Summary, .level = level, .text = merged,
                    .first_turn = notes[0].first_turn, .last_turn = notes[3].last_turn};
    index_memory(s.create_memory(m));
    for (size_t i = 0; i < 4; ++i) {
      s.delete_memory(notes[i].id);
      recall_.remove(memory_key(notes[i].id));
    }
  });
}

void ChatSession::extract_facts(const std::string& user_text, int position) {
  if (!options_.extract_facts) return;
  const std::string facts = run_aux(
      "List the facts about " + options_.user_name + " stated in this message, one short sentence per line. "
      "Write NONE if there are none.\n\nMessage: " + user_text,
      96);
  std::istringstream lines(facts);
  std::string line;
  while (std::getline(lines, line)) {
    line = trim(line);
    while (!line.empty() && (line[0] == '-' || line[0] == '*')) line = trim(line.substr(1));
    if (line.size() < 4 || line.find("NONE") != std::string::npos) continue;
    store::Memory m{.session_id = session_.id, .kind = store::MemoryKind::Fact, .text = line,
                    .first_turn = position, .last_turn = position, .embedding = embed(line)};
    index_memory(store_.create_memory(m));
  }
}

BuiltContext ChatSession::build_context(const std::vector<store::Turn>& turns) {
  ContextInputs in;
  in.card = card();
  in.user_name = options_.user_name;
  in.persona = options_.persona;
  in.budget_tokens = (ctx_ ? ctx_->n_ctx() : options_.n_ctx) - options_.max_reply_tokens;
  in.seed = hash_name(session_.name);
  in.nonce = nonce_++;
  if (affect_) {
    in.affect_directive = affect_->directive();
    in.affect_depth = affect_->options().directive_depth;
  }
  for (const store::Turn& t : turns) in.history.push_back({role_name(t.role), t.text()});
  if (!turns.empty() && turns.front().role == Role::Assistant) in.greeting_index = turns.front().active_swipe;
  in.window_start = std::max(window_start_, summarized_until_);
  auto load_summaries = [&] {
    in.summaries.clear();
    for (const store::Memory& m : memories()) {
      if (m.kind == store::MemoryKind::Summary && m.session_id) in.summaries.push_back(m.text);
    }
  };
  load_summaries();

  // First the window (recall must not repeat turns the prompt already holds).
  BuiltContext built = builder_.build(in);
  if (built.report.window_start > summarized_until_ && options_.summarize) {
    summarize_dropped(turns, built.report.window_start);
    load_summaries();
  }
  in.window_start = built.report.window_start;
  // Long-term recall for the newest message: turns that left the window, facts and notes.
  if (options_.recall_k > 0 && !in.history.empty()) {
    const std::string& query = in.history.back().content;
    std::vector<float> query_embedding;
    if (recall_.embedding_dim() != 0) query_embedding = embed(query);
    if (query_embedding.size() != recall_.embedding_dim()) query_embedding.clear();
    std::unordered_map<int64_t, const store::Turn*> by_key;
    for (const store::Turn& t : turns) by_key[turn_key(t.id)] = &t;
    std::unordered_map<int64_t, std::string> summary_text;
    for (const store::Memory& m : memories()) summary_text[memory_key(m.id)] = m.text;
    const std::string char_name = card_ ? card_->display_name() : "Assistant";
    for (const memory::MemoryHit& hit : recall_.search(query, query_embedding, options_.recall_k + 32)) {
      if (static_cast<int>(in.recalled.size()) >= options_.recall_k) break;
      // Pooled hidden states of small models are all alike (cosines of 0.8 between unrelated
      // texts), so similarity alone must be high to count.
      if (hit.bm25 <= 0.0 && hit.cosine < 0.9) continue;
      if (const auto t = by_key.find(hit.id); t != by_key.end()) {
        if (t->second->position >= in.window_start) continue;  // already in the prompt
        const std::string who = t->second->role == Role::User ? options_.user_name : char_name;
        in.recalled.push_back({who + " said (turn " + std::to_string(t->second->position) + "): " + t->second->text(), hit.why});
      } else if (const auto m = summary_text.find(hit.id); m != summary_text.end()) {
        in.recalled.push_back({m->second, hit.why});
      }
    }
  }

  built = builder_.build(in);
  window_start_ = built.report.window_start;
  report_ = built.report;
  return built;
}

std::string ChatSession::generate_reply(const std::vector<store::Turn>& turns, uint64_t seed_salt,
                                        const TextCallback& on_text) {
  const BuiltContext built = build_context(turns);
  GenerateParams gp{.n_predict = options_.max_reply_tokens, .reuse_prefix = true};
  // Stop where the model starts writing the user's line itself.
  gp.stop = {std::string("\n") + options_.user_name + ":"};
  std::shared_ptr<const SteeringVectors> steering = affect_ ? affect_->steering() : nullptr;
  if (ctx_) ctx_->set_steering(steering);  // this sequence only
  const int n_candidates = affect_ ? affect_->options().guard_candidates : 1;
  std::vector<std::string> candidates;
  for (int i = 0; i < n_candidates; ++i) {
    SamplerParams sp = options_.sampling;
    sp.seed = sp.seed + seed_salt + uint64_t(i) * 104729;
    Sampler sampler(sp, model_.tokenizer.n_vocab());
    // With the guard, candidates are sampled silently and the kept one is shown whole.
    const TextCallback& stream = n_candidates == 1 ? on_text : TextCallback{};
    const GenerateResult r = options_.generator
                                 ? options_.generator({.prompt = built.tokens, .sampling = sp, .params = gp,
                                                       .steering = steering},
                                                      stream)
                                 : generate(*ctx_, model_.tokenizer, sampler, built.tokens, gp, stream);
    if (i == 0) {
      last_prompt_tokens_ = r.n_prompt;
      last_reused_tokens_ = r.n_reused;
    }
    candidates.push_back(trim(r.text));
  }
  if (ctx_) ctx_->clear_steering();
  if (n_candidates == 1) return candidates[0];
  const std::string& kept = candidates[affect_->pick_consistent(candidates)];
  if (on_text) on_text(kept);
  return kept;
}

std::string ChatSession::reply(const std::string& user_text, const TextCallback& on_text) {
  if (trim(user_text).empty()) throw std::runtime_error("an empty message cannot be sent");
  const auto start = std::chrono::steady_clock::now();
  const store::Turn user = store_.append_turn({.session_id = session_.id, .role = Role::User, .swipes = {user_text}});
  index_turn(user);
  if (affect_) store_.set_turn_metadata(user.id, affect_->on_user_message(user_text, user.position).dump());
  const std::string text = generate_reply(store_.turns(session_.id), nonce_, on_text);
  const store::Turn answer = store_.append_turn({.session_id = session_.id, .role = Role::Assistant, .swipes = {text}});
  index_turn(answer);
  if (affect_) store_.set_turn_metadata(answer.id, affect_->on_reply(text, answer.position).dump());
  extract_facts(user_text, user.position);
  last_turn_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return text;
}

BuiltContext ChatSession::preview(const std::string& user_text) {
  std::vector<store::Turn> turns = store_.turns(session_.id);
  store::Turn pending{.session_id = session_.id, .role = Role::User, .swipes = {user_text}};
  pending.position = turns.empty() ? 0 : turns.back().position + 1;
  turns.push_back(pending);
  return build_context(turns);
}

std::string ChatSession::regenerate(const TextCallback& on_text) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<store::Turn> turns = store_.turns(session_.id);
  if (turns.empty() || turns.back().role != Role::Assistant) throw std::runtime_error("there is no reply to regenerate");
  const store::Turn last = turns.back();
  // Generate as if the reply were not there yet (the affect state too), then keep it as a new swipe.
  const std::vector<store::Turn> before(turns.begin(), turns.end() - 1);
  restore_affect(before);
  const std::string text = generate_reply(before, nonce_ * 7919, on_text);
  store_.add_swipe(last.id, text, true);
  if (affect_) store_.set_turn_metadata(last.id, affect_->on_reply(text, last.position).dump());
  if (const auto t = store_.get_turn(last.id)) index_turn(*t);
  last_turn_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return text;
}

bool ChatSession::swipe(int direction) {
  const std::vector<store::Turn> turns = store_.turns(session_.id);
  if (turns.empty() || turns.back().role != Role::Assistant) return false;
  const store::Turn& last = turns.back();
  const int next = last.active_swipe + (direction < 0 ? -1 : 1);
  if (next < 0 || next >= static_cast<int>(last.swipes.size())) return false;
  store_.set_active_swipe(last.id, next);
  if (const auto t = store_.get_turn(last.id)) index_turn(*t);
  return true;
}

void ChatSession::edit(int position, const std::string& text) {
  for (const store::Turn& t : store_.turns(session_.id)) {
    if (t.position != position) continue;
    store_.edit_turn_text(t.id, text);
    if (const auto updated = store_.get_turn(t.id)) index_turn(*updated);
    return;
  }
  throw std::runtime_error("there is no turn " + std::to_string(position) + " in this session");
}

bool ChatSession::undo() {
  const std::vector<store::Turn> turns = store_.turns(session_.id);
  int from = -1;
  for (const store::Turn& t : turns) {
    if (t.role == Role::User) from = t.position;
  }
  if (from < 0) return false;
  for (const store::Turn& t : turns) {
    if (t.position >= from && recall_.contains(turn_key(t.id))) recall_.remove(turn_key(t.id));
  }
  store_.truncate_turns(session_.id, from);
  window_start_ = std::min(window_start_, from);
  restore_affect(store_.turns(session_.id));
  return true;
}

void ChatSession::save() {
  if (options_.state_dir.empty()) throw std::runtime_error("no folder for session state was configured");
  std::filesystem::create_directories(options_.state_dir);
  if (!ctx_) return;  // the generator keeps the sequence
  const std::filesystem::path path = options_.state_dir / ("session-" + std::to_string(session_.id) + ".kv");
  ctx_->save_state(path);
  session_.kv_state_path = path.string();
  store_.update_session(session_);
}

}  // namespace kindred::dialogue
