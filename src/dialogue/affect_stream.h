// The affective stream of one chat session, beside the language model: it appraises every user
// message and every reply, keeps both speakers' latent state (affect::AffectChain), tracks the
// user's intent, and feeds the character's state back into generation — as a prompt directive
// (ContextInputs::affect_directive) and as a steering blend added to the residual stream of this
// session's sequence only. Each turn's annotations (appraisal, chain snapshot, intent) go into
// the turn's metadata, so the trajectory is stored per turn and a resumed, undone or
// regenerated conversation continues from the right state.
#pragma once
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "affect/affect_state.h"
#include "affect/directive.h"
#include "affect/emotion.h"
#include "affect/intent.h"
#include "affect/steering.h"
#include "dialogue/character_card.h"

namespace kindred::dialogue {

struct AffectOptions {
  bool directive = true;     // prompt conditioning
  int directive_depth = 0;   // see ContextInputs::affect_directive
  affect::DirectiveOptions directive_options;
  float steering_strength = 1.0f;  // with a steering library; 0 turns steering off
  int steer_first = -1, steer_last = -1;  // layer range; -1: the library's suggestion
  int guard_candidates = 1;  // consistency guard: > 1 samples that many replies and keeps the nearest
};

// What the stream did for one turn (for display and the API).
struct AffectTurnReport {
  std::optional<affect::Appraisal> user;       // the user's message
  std::optional<affect::IntentResult> intent;  // the user's intent, when an inventory is loaded
  std::optional<affect::Appraisal> reply;      // the character's reply
  std::string directive;                       // as rendered (macros unexpanded)
  double seconds = 0;                          // time spent in the stream this turn
  int guard_candidates = 0;                    // replies sampled by the guard (0: guard off)
  float guard_distance = 0;                    // PAD distance of the kept reply to the intended emotion
};

class AffectStream {
 public:
  // The character's dynamics come from the card's kindred extension (affect::AffectProfile); a
  // card without a personality gets one estimated from an appraisal of its description and
  // personality text. `intents` and `steering` are optional.
  AffectStream(std::shared_ptr<affect::Appraiser> appraiser, const CharacterCard* card, AffectOptions options,
               std::shared_ptr<const affect::IntentClassifier> intents = nullptr,
               std::shared_ptr<const affect::SteeringLibrary> steering = nullptr);

  // A user message at turn `position`: appraise it, advance the chain, classify the intent.
  // Returns the user turn's metadata annotations ({"affect":…, "intent":…}).
  nlohmann::json on_user_message(const std::string& text, int position);
  // The character's reply at `position`: appraise what it expressed and observe it.
  nlohmann::json on_reply(const std::string& text, int position);
  // Back to the state stored in the turns' metadata, oldest first (resume, undo, regenerate):
  // the chain from the newest annotated turn (the start when none is), the intent history from
  // all. Throws std::invalid_argument for malformed annotations.
  void restore(const std::vector<nlohmann::json>& turn_metadata);
  void reset();

  // The directive for the coming reply ("" when prompt conditioning is off).
  std::string directive() const;
  // The steering blend for the coming reply (null without a library or at strength 0).
  std::shared_ptr<const SteeringVectors> steering() const;
  // Consistency guard: the index of the candidate whose appraisal is nearest (PAD) to the
  // character's intended emotion; records the choice in the report.
  size_t pick_consistent(const std::vector<std::string>& candidates);

  const AffectOptions& options() const { return options_; }
  const affect::AffectChain& chain() const { return chain_; }
  const affect::Personality& personality() const { return personality_; }
  const affect::IntentHistory& intent_history() const { return intents_history_; }
  const AffectTurnReport& last_turn() const { return report_; }
  affect::Appraiser& appraiser() { return *appraiser_; }
  const affect::Appraiser& appraiser() const { return *appraiser_; }
  bool has_intents() const { return intents_ != nullptr; }

 private:
  double elapsed_since(std::chrono::steady_clock::time_point start) const;
  nlohmann::json annotations(const char* speaker, const affect::Appraisal& appraisal, int position) const;

  std::shared_ptr<affect::Appraiser> appraiser_;
  AffectOptions options_;
  std::shared_ptr<const affect::IntentClassifier> intents_;
  std::shared_ptr<const affect::SteeringLibrary> steering_;
  affect::Personality personality_;
  affect::AffectParams character_params_, user_params_;
  affect::AffectChain chain_;
  affect::IntentHistory intents_history_;
  AffectTurnReport report_;
};

// One line for a chat UI: the character's mood and emotion, the user's detected emotion and intent.
std::string describe_turn(const AffectStream& stream, const std::string& char_name);

}  // namespace kindred::dialogue
