// `kindred chat -m MODEL [--character CARD] [--session NAME]`: a streaming terminal chat with a
// character. Sessions live in a SQLite store (--db), so a chat can be left and resumed; the
// KV cache is saved on exit so resuming does not re-process the conversation.
#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>

#include "affect/shipped_classifiers.h"
#include "cli/affect_options.h"
#include "cli/commands.h"
#include "cli/model_source.h"
#include "dialogue/chat_session.h"
#include "store/sqlite_store.h"
#include "template/chat_template.h"

namespace kindred::cli {
namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_sigint(int) { g_interrupted.store(true); }

struct ChatOptions {
  std::string model;
  std::string character;
  std::string session;
  std::string db;
  std::string user = "User";
  std::string persona;
  int n_ctx = 4096;
  int n_threads = 0;
  int max_tokens = 256;
  int64_t seed = -1;
  bool no_facts = false;
  SamplerParams sampling;
  // The affective stream.
  bool no_affect = false;
  std::string appraiser = "classifier";  // classifier | zero-shot | probe
  std::string intents;                   // an inventory (.json, trained at start) or a trained .kcls
  std::string steer;                     // a steering side file; default: beside the model when present
  float steer_strength = 1.0f;
  std::string steer_layers;              // "A:B"
  int affect_depth = 0;
  bool no_directive = false;
  int guard = 1;
  bool quiet_affect = false;
};

void configure_affect(const ChatOptions& o, const LoadedModel& m, const std::string& model_path,
                      dialogue::SessionOptions& so) {
  if (o.no_affect) return;
  if (o.appraiser == "classifier") {
    so.appraiser = affect::make_default_appraiser();
  } else if (o.appraiser == "zero-shot" || o.appraiser == "probe") {
    so.appraiser = make_model_appraiser(o.appraiser, *m.model, *m.tokenizer, model_path, o.n_threads);
  } else {
    throw std::runtime_error("--appraiser must be classifier, zero-shot or probe, not '" + o.appraiser + "'");
  }
  if (!o.intents.empty()) {
    const std::filesystem::path p = o.intents;
    so.intents = std::make_shared<const affect::IntentClassifier>(
        p.extension() == ".json" ? affect::IntentClassifier::train(affect::load_intent_inventory(p))
                                 : affect::IntentClassifier::load(p));
  }
  std::filesystem::path steer = o.steer;
  if (steer.empty() && !model_path.empty()) {
    const auto beside = affect::SteeringLibrary::default_path(model_path);
    if (std::filesystem::exists(beside)) steer = beside;
  }
  if (!steer.empty() && o.steer_strength > 0) {
    so.steering = std::make_shared<const affect::SteeringLibrary>(affect::SteeringLibrary::load(steer, *m.model));
  }
  so.affect.steering_strength = o.steer_strength;
  if (!o.steer_layers.empty()) {
    const auto colon = o.steer_layers.find(':');
    if (colon == std::string::npos) throw std::runtime_error("--steer-layers takes FIRST:LAST, e.g. 4:12");
    so.affect.steer_first = std::stoi(o.steer_layers.substr(0, colon));
    so.affect.steer_last = std::stoi(o.steer_layers.substr(colon + 1));
  }
  so.affect.directive = !o.no_directive;
  so.affect.directive_depth = o.affect_depth;
  so.affect.guard_candidates = o.guard;
}

std::filesystem::path data_dir() {
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "kindred";
  if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".local/share/kindred";
  return std::filesystem::current_path() / ".kindred";
}

// A card for chatting without one: a helpful assistant with no greeting.
dialogue::CharacterCard default_card() {
  return dialogue::CharacterCard::from_json(nlohmann::json{
      {"spec", "chara_card_v2"},
      {"spec_version", "2.0"},
      {"data", {{"name", "Assistant"}, {"description", "A helpful, friendly assistant."}, {"first_mes", ""}}}});
}

const char* kHelp =
    "Commands:\n"
    "  /regen          write another reply (kept as a swipe)\n"
    "  /swipe [<|>]    show the previous (<) or next (>) swipe of the last reply\n"
    "  /edit N TEXT    replace the text of turn N (see /history)\n"
    "  /undo           remove your last message and its reply\n"
    "  /history        list the turns with their numbers\n"
    "  /memory         what the last prompt used: window, summaries, memories, lore\n"
    "  /affect         the affective stream: both speakers' state, the directive, intents\n"
    "  /save           save the session's cache now (also done on exit)\n"
    "  /load NAME      switch to (or start) session NAME\n"
    "  /help           this list;  /quit or Ctrl-D to leave;  Ctrl-C stops a reply\n";

void print_turn(const store::Turn& t, const std::string& user, const std::string& character) {
  const std::string who = t.role == store::Role::User ? user : character;
  std::printf("[%d] %s: %s", t.position, who.c_str(), t.text().c_str());
  if (t.swipes.size() > 1) std::printf("   (swipe %d/%zu)", t.active_swipe + 1, t.swipes.size());
  std::printf("\n");
}

void run_chat(const ChatOptions& o) {
  LoadedModel m = load_model(o.model);
  const ChatTemplate chat_template = chat_template_for(*m.file);
  const std::filesystem::path dir = data_dir();
  std::filesystem::create_directories(dir);
  store::SqliteStore store(o.db.empty() ? (dir / "kindred.db").string() : o.db);

  dialogue::SessionOptions so;
  so.n_ctx = o.n_ctx;
  so.n_threads = o.n_threads;
  so.max_reply_tokens = o.max_tokens;
  so.sampling = o.sampling;
  so.sampling.seed = o.seed >= 0 ? static_cast<uint64_t>(o.seed) : std::random_device{}();
  so.user_name = o.user;
  so.persona = o.persona;
  so.extract_facts = !o.no_facts;
  so.state_dir = dir / "states";
  // Side files (probe, steering) sit beside a local GGUF; hf:// and the embedded model have none here.
  configure_affect(o, m, o.model.empty() || o.model.rfind("hf://", 0) == 0 ? std::string() : o.model, so);

  std::optional<dialogue::CharacterCard> card;
  if (!o.character.empty()) card = dialogue::CharacterCard::load(o.character);
  std::string name = o.session;
  if (name.empty()) name = (card ? card->name() : std::string("assistant")) + " chat";
  auto open = [&](const std::string& session_name) {
    std::optional<dialogue::CharacterCard> c = card;
    if (!c && !store.find_session_by_name(session_name)) c = default_card();
    return std::make_unique<dialogue::ChatSession>(store, dialogue::ChatModel{*m.model, *m.tokenizer, chat_template},
                                                   session_name, std::move(c), so);
  };
  std::unique_ptr<dialogue::ChatSession> chat = open(name);

  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: Ctrl-C at the prompt interrupts the read
  sigaction(SIGINT, &sa, nullptr);

  auto character_name = [&] { return chat->card() ? chat->card()->display_name() : std::string("Assistant"); };
  auto show_session = [&] {
    std::printf("Session '%s' with %s%s. /help for commands.\n", chat->record().name.c_str(), character_name().c_str(),
                chat->resumed_from_state() ? " (resumed from its saved cache)" : "");
    const auto turns = chat->turns();
    const size_t from = turns.size() > 6 ? turns.size() - 6 : 0;
    for (size_t i = from; i < turns.size(); ++i) print_turn(turns[i], o.user, character_name());
  };
  show_session();
  auto stream = [&](std::string_view piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    return !g_interrupted.load();
  };
  auto speak = [&](auto&& produce) {
    g_interrupted.store(false);
    std::printf("%s: ", character_name().c_str());
    std::fflush(stdout);
    produce();
    if (g_interrupted.exchange(false)) std::printf(" [stopped]");
    std::printf("\n");
    if (chat->affect() && !o.quiet_affect) {
      std::printf("  (%s)\n", dialogue::describe_turn(*chat->affect(), character_name()).c_str());
    }
  };

  std::string line;
  for (;;) {
    std::printf("%s> ", o.user.c_str());
    std::fflush(stdout);
    if (!std::getline(std::cin, line)) {
      // An interrupted read looks like end of input to the stream; Ctrl-C is not Ctrl-D.
      if (g_interrupted.exchange(false)) {
        std::cin.clear();
        std::clearerr(stdin);
        std::printf("\n(Ctrl-C stops a reply; /quit or Ctrl-D leaves)\n");
        continue;
      }
      break;
    }
    try {
      if (line.empty()) continue;
      if (line == "/quit" || line == "/exit") break;
      if (line == "/help") {
        std::fputs(kHelp, stdout);
      } else if (line == "/regen") {
        speak([&] { chat->regenerate(stream); });
      } else if (line.rfind("/swipe", 0) == 0) {
        const int dir = line.find('<') != std::string::npos ? -1 : 1;
        if (!chat->swipe(dir)) {
          if (dir > 0) {
            speak([&] { chat->regenerate(stream); });
          } else {
            std::printf("(no earlier swipe)\n");
          }
        } else {
          print_turn(chat->turns().back(), o.user, character_name());
        }
      } else if (line.rfind("/edit ", 0) == 0) {
        const std::string rest = line.substr(6);
        size_t used = 0;
        const int position = std::stoi(rest, &used);
        chat->edit(position, rest.substr(std::min(rest.size(), used + 1)));
        std::printf("(turn %d edited)\n", position);
      } else if (line == "/undo") {
        std::printf(chat->undo() ? "(last exchange removed)\n" : "(nothing to undo)\n");
      } else if (line == "/history") {
        for (const store::Turn& t : chat->turns()) print_turn(t, o.user, character_name());
      } else if (line == "/memory") {
        const dialogue::ContextReport& r = chat->last_report();
        std::printf("window: turns %d.. (%d turns), prompt %d tokens, %d reused from the cache\n", r.window_start,
                    r.turns_in_window, chat->last_prompt_tokens(), chat->last_reused_tokens());
        for (const auto& s : r.summaries) std::printf("summary: %s\n", s.c_str());
        for (const auto& s : r.memories) std::printf("memory: %s\n", s.c_str());
        for (const auto& s : r.lore) std::printf("lore: %s\n", s.c_str());
        size_t facts = 0;
        for (const store::Memory& mem : chat->memories()) facts += mem.kind == store::MemoryKind::Fact;
        std::printf("stored facts: %zu\n", facts);
      } else if (line == "/affect") {
        const dialogue::AffectStream* a = chat->affect();
        if (!a) {
          std::printf("(the affective stream is off)\n");
        } else {
          std::printf("%s\n", a->chain().snapshot(0).to_json().dump(2).c_str());
          std::printf("directive: %s\n", chat->last_report().affect_directive.c_str());
          std::printf("appraiser: %s; last turn's affect time %.2f ms of %.1f ms\n", a->appraiser().name().c_str(),
                      a->last_turn().seconds * 1e3, chat->last_turn_seconds() * 1e3);
          for (const auto& t : a->intent_history().turns()) {
            std::printf("intent turn %d: %s (%.2f)\n", t.turn, t.intent.c_str(), double(t.confidence));
          }
        }
      } else if (line == "/save") {
        chat->save();
        std::printf("(saved)\n");
      } else if (line.rfind("/load ", 0) == 0) {
        chat->save();
        chat = open(line.substr(6));
        show_session();
      } else if (line[0] == '/') {
        std::printf("unknown command %s; /help lists them\n", line.c_str());
      } else {
        speak([&] { chat->reply(line, stream); });
      }
    } catch (const std::exception& e) {
      std::printf("\nerror: %s\n", e.what());
    }
  }
  chat->save();
  std::printf("\n(session '%s' saved)\n", chat->record().name.c_str());
}

}  // namespace

void add_chat_command(CLI::App& app) {
  auto opts = std::make_shared<ChatOptions>();
  CLI::App* cmd = app.add_subcommand("chat", "Chat with a character in the terminal (sessions are kept and resumed)");
  cmd->add_option("-m,--model", opts->model, "GGUF file or hf://OWNER/REPO/FILE.gguf (default: embedded stories260K)");
  cmd->add_option("--character", opts->character, "Character card (.png or .json) for a new session");
  cmd->add_option("--session", opts->session, "Session name (resumed when it exists)");
  cmd->add_option("--db", opts->db, "Store file (default: $XDG_DATA_HOME/kindred/kindred.db)");
  cmd->add_option("--user", opts->user, "Your name in the chat ({{user}})");
  cmd->add_option("--persona", opts->persona, "A description of you the character knows");
  cmd->add_option("-c,--ctx-size", opts->n_ctx, "Context length");
  cmd->add_option("-t,--threads", opts->n_threads, "Threads (0: all cores)");
  cmd->add_option("-n,--max-tokens", opts->max_tokens, "Longest reply in tokens");
  cmd->add_option("-s,--seed", opts->seed, "Random seed (-1: random)");
  cmd->add_option("--temp", opts->sampling.temperature, "Temperature (0: greedy)");
  cmd->add_option("--top-p", opts->sampling.top_p, "Top-p (1: off)");
  cmd->add_option("--min-p", opts->sampling.min_p, "Min-p (0: off)");
  cmd->add_option("--repeat-penalty", opts->sampling.repeat_penalty, "Repetition penalty (1: off)");
  cmd->add_flag("--no-facts", opts->no_facts, "Do not ask the model to extract facts after each message");
  cmd->add_flag("--no-affect", opts->no_affect, "Turn the affective stream off (no appraisal, directive or steering)");
  cmd->add_option("--appraiser", opts->appraiser, "classifier (built in, default), zero-shot (the model) or probe "
                                                  "(trained with `kindred affect train --model`)");
  cmd->add_option("--intents", opts->intents, "Intent inventory (.json, trained at start) or trained intents (.kcls)");
  cmd->add_option("--steer", opts->steer, "Steering vectors from `kindred affect steer-build` (default: beside the model)");
  cmd->add_option("--steer-strength", opts->steer_strength, "Steering strength (0: off)");
  cmd->add_option("--steer-layers", opts->steer_layers, "Layers to steer, FIRST:LAST (default: the file's suggestion)");
  cmd->add_option("--affect-depth", opts->affect_depth, "Where the mood directive goes: 0 after your message, N before the last N messages");
  cmd->add_flag("--no-directive", opts->no_directive, "Do not put the mood directive into the prompt");
  cmd->add_option("--guard", opts->guard, "Consistency guard: sample N replies, keep the one nearest the intended emotion");
  cmd->add_flag("--quiet-affect", opts->quiet_affect, "Do not print the mood line after each reply");
  cmd->callback([opts] { run_chat(*opts); });
}

}  // namespace kindred::cli
