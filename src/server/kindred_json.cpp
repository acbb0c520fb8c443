#include "server/kindred_json.h"

#include <cmath>
#include <stdexcept>

#include "affect/directive.h"

namespace kindred::server {

using OJson = nlohmann::ordered_json;
using Json = nlohmann::json;

namespace {

// Four decimals: the filter's doubles carry noise digits nobody reads.
double round4(double v) { return std::round(v * 10000.0) / 10000.0; }

OJson pad_json(const affect::Pad& pad) {
  return {{"pleasure", round4(pad.p)}, {"arousal", round4(pad.a)}, {"dominance", round4(pad.d)}};
}

// The character part of AffectPoint / AffectState: emotion PAD, mood and the strongest label of
// the emotion's mixture (as the chat line of describe_turn names it).
OJson character_affect(const affect::Pad& emotion, const affect::Pad& mood) {
  const affect::LabelProbs mix = affect::emotion_mixture(emotion);
  int top = 0;
  for (int i = 1; i < affect::kNumLabels; ++i) {
    if (mix[i] > mix[top]) top = i;
  }
  OJson out = pad_json(emotion);
  out["mood"] = pad_json(mood);
  out["top_emotion"] = affect::label_name(top);
  out["top_emotion_p"] = round4(mix[top]);
  return out;
}

std::string mood_words(const affect::Pad& mood) {
  const std::string strength(affect::mood_strength(mood));
  if (strength == "neutral") return strength;
  return strength + " " + std::string(affect::mood_octant(mood));
}

Json parse_metadata(const store::Turn& turn) {
  Json meta = Json::parse(turn.metadata_json, nullptr, false);
  if (meta.is_discarded()) throw std::runtime_error("turn " + std::to_string(turn.position) + ": metadata is not JSON");
  return meta;
}

std::string card_description(const store::Character& c) {
  const Json card = Json::parse(c.card_json, nullptr, false);
  if (!card.is_object()) return "";
  const Json& data = card.contains("data") && card["data"].is_object() ? card["data"] : card;
  const auto d = data.find("description");
  return d != data.end() && d->is_string() ? d->get<std::string>() : "";
}

}  // namespace

OJson character_json(const store::Character& c, bool with_card) {
  OJson out = {{"id", c.id},
               {"name", c.name},
               {"description", card_description(c)},
               {"created_at", c.created_at},
               {"updated_at", c.updated_at}};
  if (with_card) {
    const OJson card = OJson::parse(c.card_json, nullptr, false);
    if (card.is_discarded()) throw std::runtime_error("character " + std::to_string(c.id) + ": stored card is not JSON");
    out["card"] = card.contains("data") ? card["data"] : card;
  }
  return out;
}

OJson turn_json(const store::Turn& t) {
  return {{"id", t.id},
          {"position", t.position},
          {"role", std::string(store::to_string(t.role))},
          {"text", t.text()},
          {"swipes", t.swipes},
          {"active_swipe", t.active_swipe},
          {"created_at", t.created_at},
          {"affect", affect_point(t)}};
}

OJson session_json(const store::Session& s, const std::string& character_name, const std::vector<store::Turn>* turns) {
  OJson out = {{"id", s.id},
               {"name", s.name},
               {"character_id", s.character_id},
               {"character_name", character_name},
               {"created_at", s.created_at},
               {"updated_at", s.updated_at}};
  if (turns) {
    OJson list = OJson::array();
    for (const store::Turn& t : *turns) list.push_back(turn_json(t));
    out["turns"] = std::move(list);
  }
  return out;
}

OJson affect_point(const store::Turn& turn) {
  const Json meta = parse_metadata(turn);
  if (!meta.is_object() || !meta.contains("affect")) return nullptr;
  const std::string where = "turn " + std::to_string(turn.position) + " affect annotations";
  try {
    const Json& a = meta.at("affect");
    const affect::AffectSnapshot snapshot = affect::AffectSnapshot::from_json(a.at("state"));
    OJson point = {{"position", turn.position},
                   {"role", std::string(store::to_string(turn.role))},
                   {"character", character_affect(snapshot.character.emotion(), snapshot.character.mood())}};
    if (turn.role == store::Role::User && a.contains("appraisal")) {
      const Json& ap = a.at("appraisal");
      const Json& pad = ap.at("pad");
      point["user_emotion"] = {{"label", ap.at("top").get<std::string>()},
                               {"confidence", round4(ap.at("confidence").get<double>())},
                               {"pleasure", round4(pad.at(0).get<double>())},
                               {"arousal", round4(pad.at(1).get<double>())},
                               {"dominance", round4(pad.at(2).get<double>())}};
    }
    if (turn.role == store::Role::User && meta.contains("intent")) {
      const Json& in = meta.at("intent");
      point["intent"] = {{"name", in.at("intent").get<std::string>()},
                         {"confidence", round4(in.at("confidence").get<double>())}};
    }
    return point;
  } catch (const Json::exception& e) {
    throw std::runtime_error(where + ": " + e.what());
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(where + ": " + e.what());
  }
}

OJson affect_state(const affect::SpeakerAffect& character) {
  OJson out = character_affect(character.emotion(), character.mood());
  out["mood_words"] = mood_words(character.mood());
  return out;
}

}  // namespace kindred::server
