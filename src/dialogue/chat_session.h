// A conversation with a character, kept in the store and run on the engine: each turn is
// persisted as it happens, the prompt is rebuilt by the ContextBuilder and evaluated with the
// prefix cache, and the memory hierarchy is maintained:
//   level 0  the live context (the window of recent turns in the prompt)
//   level 1  every turn, persisted in the store and indexed for recall
//   level 2  when turns leave the window, the model summarises them into a note (summaries of
//            summaries once there are many)
//   level 3  facts about the user the model extracts from each user message, recalled for each
//            turn with the turns themselves by hybrid search (BM25 + pooled-hidden-state embeddings)
#pragma once
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dialogue/affect_stream.h"
#include "dialogue/character_card.h"
#include "dialogue/context_builder.h"
#include "engine/context.h"
#include "engine/generate.h"
#include "memory/memory_index.h"
#include "sampling/sampler.h"
#include "store/store.h"

namespace kindred::dialogue {

// What a reply needs from the engine, for a ReplyGenerator: the whole prompt (the session's
// sequence so far; the generator keeps what its cache already holds of it), the sampling and stop
// settings, and this turn's steering blend (null: none).
struct ReplyRequest {
  std::span<const int32_t> prompt;
  const SamplerParams& sampling;
  const GenerateParams& params;
  std::shared_ptr<const SteeringVectors> steering;
};
// Runs a reply somewhere other than the session's own Context: the server's batch scheduler,
// where all sessions decode together. Returns what generate() would.
using ReplyGenerator = std::function<GenerateResult(const ReplyRequest&, const TextCallback&)>;

struct SessionOptions {
  int n_ctx = 4096;
  int n_threads = 0;
  int max_reply_tokens = 256;
  SamplerParams sampling;
  std::string user_name = "User";
  std::string persona;
  int recall_k = 4;                 // long-term memories per turn
  bool summarize = true;            // level 2
  bool extract_facts = true;        // level 3
  std::filesystem::path state_dir;  // where save() writes KV state files (empty: beside nothing, save refuses)
  // The affective stream: on when there is an appraiser (intents and steering are optional).
  std::shared_ptr<affect::Appraiser> appraiser;
  AffectOptions affect;
  std::shared_ptr<const affect::IntentClassifier> intents;
  std::shared_ptr<const affect::SteeringLibrary> steering;
  // When set, replies go through it and the session holds no KV cache of its own (save() and
  // resuming from a state file are then the generator's business).
  ReplyGenerator generator;
  std::string tenant;  // whose session `name` is (the store's default tenant when empty)
};

// The language model and what interprets its text.
struct ChatModel {
  const Model& model;
  const Tokenizer& tokenizer;
  const ChatTemplate& chat_template;
};

// Creates session `name` for an existing character, with the card's greetings as the first
// turn (alternate greetings as swipes), in one transaction; `tenant` owns it. Throws StoreError
// (e.g. a name in use) or std::runtime_error for a character whose stored card is invalid.
store::Session start_session(store::Store& store, const store::Character& character, const std::string& name,
                             const std::string& tenant = {});

class ChatSession {
 public:
  // Opens session `name`, creating it when the store has none: then `card` is required and its
  // greetings become the first turn (alternate greetings as swipes). An existing session resumes
  // from its saved KV state when that file is still valid.
  ChatSession(store::Store& store, ChatModel model, const std::string& name, std::optional<CharacterCard> card,
              SessionOptions options);

  // Persists the user turn, generates and persists the reply; on_text streams it (return false
  // to stop early: the partial reply is kept).
  std::string reply(const std::string& user_text, const TextCallback& on_text = {});
  // A new alternative for the last assistant turn, made the active swipe.
  std::string regenerate(const TextCallback& on_text = {});
  // Moves the last assistant turn's active swipe by ±1; false at either end.
  bool swipe(int direction);
  // Replaces the active text of the turn at `position`; later turns stay.
  void edit(int position, const std::string& text);
  // Removes the last exchange (back to before the newest user turn). False when nothing to undo.
  bool undo();
  // Writes the KV cache so the next open resumes without re-processing.
  void save();

  // The prompt the next reply to `user_text` would see (nothing is stored or generated): for
  // /memory-style inspection and tests.
  BuiltContext preview(const std::string& user_text);

  // Per-reply settings: the server applies a request's max_tokens / temperature / seed this way
  // and puts the session's own back afterwards.
  const SessionOptions& options() const { return options_; }
  void set_sampling(const SamplerParams& sampling) { options_.sampling = sampling; }
  void set_max_reply_tokens(int n) { options_.max_reply_tokens = n; }

  const store::Session& record() const { return session_; }
  const CharacterCard* card() const { return card_ ? &*card_ : nullptr; }
  std::vector<store::Turn> turns() { return store_.turns(session_.id); }
  std::vector<store::Memory> memories();
  const ContextReport& last_report() const { return report_; }
  int last_prompt_tokens() const { return last_prompt_tokens_; }
  int last_reused_tokens() const { return last_reused_tokens_; }
  bool resumed_from_state() const { return resumed_from_state_; }
  // The affective stream (null when the session runs without one).
  const AffectStream* affect() const { return affect_.get(); }
  // Wall time of the last reply()/regenerate() call, affective stream included.
  double last_turn_seconds() const { return last_turn_seconds_; }

 private:
  std::string generate_reply(const std::vector<store::Turn>& turns, uint64_t seed_salt, const TextCallback& on_text);
  void restore_affect(const std::vector<store::Turn>& turns);
  BuiltContext build_context(const std::vector<store::Turn>& turns);
  void summarize_dropped(const std::vector<store::Turn>& turns, int window_start);
  void extract_facts(const std::string& user_text, int position);
  std::string run_aux(const std::string& instruction, int max_tokens);
  std::vector<float> embed(const std::string& text);
  void index_turn(const store::Turn& t);
  void index_memory(const store::Memory& m);

  store::Store& store_;
  ChatModel model_;
  SessionOptions options_;
  store::Session session_;
  std::optional<CharacterCard> card_;
  ContextBuilder builder_;
  std::unique_ptr<Context> ctx_;  // null when options_.generator runs the replies
  std::unique_ptr<Context> aux_;  // summaries, fact extraction and embeddings: keeps ctx_'s cache intact
  memory::MemoryIndex recall_;
  int window_start_ = 0;
  int summarized_until_ = 0;  // turns before this position are covered by summaries
  ContextReport report_;
  int last_prompt_tokens_ = 0, last_reused_tokens_ = 0;
  uint64_t nonce_ = 0;
  bool resumed_from_state_ = false;
  std::unique_ptr<AffectStream> affect_;
  double last_turn_seconds_ = 0;
};

}  // namespace kindred::dialogue
