#include "dialogue/affect_stream.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace kindred::dialogue {
namespace {

using Clock = std::chrono::steady_clock;

float distance(const affect::Pad& a, const affect::Pad& b) {
  float sum = 0;
  for (int i = 0; i < 3; ++i) sum += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(sum);
}

std::string signed2(float v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%+.2f", double(v));
  return buf;
}

}  // namespace

AffectStream::AffectStream(std::shared_ptr<affect::Appraiser> appraiser, const CharacterCard* card,
                           AffectOptions options, std::shared_ptr<const affect::IntentClassifier> intents,
                           std::shared_ptr<const affect::SteeringLibrary> steering)
    : appraiser_(std::move(appraiser)),
      options_(options),
      intents_(std::move(intents)),
      steering_(std::move(steering)),
      chain_(affect::AffectParams{}, affect::AffectParams{}) {
  if (!appraiser_) throw std::invalid_argument("the affective stream needs an appraiser");
  if (options_.directive_depth < 0) throw std::invalid_argument("affect directive depth must be 0 or more");
  if (options_.guard_candidates < 1) throw std::invalid_argument("the consistency guard needs at least 1 candidate");
  if (!std::isfinite(options_.steering_strength) || options_.steering_strength < 0) {
    throw std::invalid_argument("steering strength must be a finite number >= 0");
  }
  affect::AffectProfile profile;
  if (card) profile = affect::affect_profile_of_extensions(card->extensions());
  if (profile.personality) {
    personality_ = *profile.personality;
  } else {
    // No stated personality: read one from how the card describes the character.
    const std::string text = card ? card->description() + "\n" + card->personality() : "";
    personality_ = affect::estimate_personality(text.size() > 1 ? appraiser_->appraise(text).pad : affect::Pad{});
  }
  character_params_ = affect::AffectParams::from(personality_, profile);
  user_params_ = affect::AffectParams{};
  chain_ = affect::AffectChain(character_params_, user_params_);
  if (steering_ && options_.steering_strength > 0) {
    // Validate the range now rather than at the first reply.
    const affect::LabelProbs probe = affect::emotion_mixture(affect::Pad{});
    (void)steering_->blend(probe, 0.0f, options_.steering_strength,
                           options_.steer_first < 0 ? steering_->suggested_first() : options_.steer_first,
                           options_.steer_last < 0 ? steering_->suggested_last() : options_.steer_last);
  }
}

double AffectStream::elapsed_since(Clock::time_point start) const {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

nlohmann::json AffectStream::annotations(const char* speaker, const affect::Appraisal& appraisal, int position) const {
  nlohmann::json affect = {{"speaker", speaker},
                           {"appraiser", appraiser_->name()},
                           {"appraisal", affect::to_json(appraisal)},
                           {"state", chain_.snapshot(position).to_json()}};
  return nlohmann::json{{"affect", std::move(affect)}};
}

nlohmann::json AffectStream::on_user_message(const std::string& text, int position) {
  const auto start = Clock::now();
  report_ = {};
  const affect::Appraisal appraisal = appraiser_->appraise(text);
  chain_.on_user_turn(appraisal);
  report_.user = appraisal;
  nlohmann::json out = annotations("user", appraisal, position);
  if (intents_) {
    const affect::IntentResult intent = intents_->classify(text);
    intents_history_.record(position, intent);
    report_.intent = intent;
    out["intent"] = affect::to_json(intent);
    out["intent"]["turn"] = position;
  }
  report_.directive = directive();
  report_.seconds += elapsed_since(start);
  return out;
}

nlohmann::json AffectStream::on_reply(const std::string& text, int position) {
  const auto start = Clock::now();
  const affect::Appraisal appraisal = appraiser_->appraise(text);
  chain_.on_character_turn(appraisal);
  report_.reply = appraisal;
  nlohmann::json out = annotations("character", appraisal, position);
  out["affect"]["directive"] = report_.directive;
  if (report_.guard_candidates > 0) {
    out["affect"]["guard"] = {{"candidates", report_.guard_candidates}, {"distance", report_.guard_distance}};
  }
  report_.seconds += elapsed_since(start);
  return out;
}

void AffectStream::reset() {
  chain_ = affect::AffectChain(character_params_, user_params_);
  intents_history_ = {};
  report_ = {};
}

void AffectStream::restore(const std::vector<nlohmann::json>& turn_metadata) {
  reset();
  const nlohmann::json* newest = nullptr;
  for (const nlohmann::json& meta : turn_metadata) {
    if (!meta.is_object()) continue;
    if (const auto a = meta.find("affect"); a != meta.end()) {
      if (!a->is_object() || !a->contains("state")) throw std::invalid_argument("turn metadata: affect has no state");
      newest = &*a;
    }
    if (const auto i = meta.find("intent"); i != meta.end() && intents_) {
      try {
        intents_history_.add({.turn = i->at("turn").get<int>(),
                              .intent = i->at("intent").get<std::string>(),
                              .confidence = i->at("confidence").get<float>()});
      } catch (const nlohmann::json::exception& e) {
        throw std::invalid_argument(std::string("turn metadata: intent: ") + e.what());
      }
    }
  }
  if (newest) chain_.restore(affect::AffectSnapshot::from_json((*newest)["state"]));
}

std::string AffectStream::directive() const {
  if (!options_.directive) return "";
  return affect::render_directive(affect::directive_state(chain_), options_.directive_options);
}

std::shared_ptr<const SteeringVectors> AffectStream::steering() const {
  if (!steering_ || options_.steering_strength <= 0) return nullptr;
  const affect::SpeakerAffect& c = chain_.character();
  const affect::LabelProbs mixture = affect::emotion_mixture(c.emotion());
  const float intensity = affect::intensity(c) * c.params().expressiveness * 2.0f;  // expressiveness 0.5 = as felt
  return steering_->blend(mixture, std::min(1.0f, intensity), options_.steering_strength,
                          options_.steer_first < 0 ? steering_->suggested_first() : options_.steer_first,
                          options_.steer_last < 0 ? steering_->suggested_last() : options_.steer_last);
}

size_t AffectStream::pick_consistent(const std::vector<std::string>& candidates) {
  if (candidates.empty()) throw std::invalid_argument("consistency guard: no candidates");
  const auto start = Clock::now();
  const affect::Pad intended = chain_.character().emotion();
  size_t best = 0;
  float best_distance = INFINITY;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const float d = distance(appraiser_->appraise(candidates[i]).pad, intended);
    if (d < best_distance) {
      best_distance = d;
      best = i;
    }
  }
  report_.guard_candidates = int(candidates.size());
  report_.guard_distance = best_distance;
  report_.seconds += elapsed_since(start);
  return best;
}

std::string describe_turn(const AffectStream& stream, const std::string& char_name) {
  const affect::SpeakerAffect& c = stream.chain().character();
  const affect::Pad mood = c.mood(), emotion = c.emotion();
  const affect::LabelProbs mix = affect::emotion_mixture(emotion);
  int top = 0;
  for (int i = 1; i < affect::kNumLabels; ++i) {
    if (mix[i] > mix[top]) top = i;
  }
  std::string line = char_name + ": mood " + std::string(affect::mood_strength(mood)) + " " +
                     std::string(affect::mood_octant(mood)) + " (P " + signed2(mood.p) + " A " + signed2(mood.a) +
                     " D " + signed2(mood.d) + "), feels " + affect::label_name(top) + " (" +
                     std::string(affect::intensity_word(affect::intensity(emotion))) + ")";
  const AffectTurnReport& r = stream.last_turn();
  if (r.user) {
    std::string labels;
    for (int l : r.user->active) labels += (labels.empty() ? "" : ", ") + affect::label_name(l);
    char conf[16];
    std::snprintf(conf, sizeof conf, "%.2f", double(r.user->confidence));
    line += " | you: " + (labels.empty() ? affect::label_name(r.user->top()) : labels) + " (" + conf + ")";
  }
  if (r.intent) {
    char conf[16];
    std::snprintf(conf, sizeof conf, "%.2f", double(r.intent->confidence));
    line += " | intent: " + r.intent->name + " (" + conf + ")";
  }
  return line;
}

}  // namespace kindred::dialogue
