// The JSON shapes of the Kindred API (docs/SERVER_API.md): Character, Session, Turn, and the
// affect views — AffectPoint (one per annotated turn, read from the metadata AffectStream wrote)
// and AffectState (the character's current state). Pure functions of store records and affect
// values, shared by the route files.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "affect/affect_state.h"
#include "store/store.h"

namespace kindred::server {

// {"id", "name", "description", "created_at", "updated_at", "card": {...the card's data...}};
// list items leave "card" out. Timestamps are the store's milliseconds since the epoch.
nlohmann::ordered_json character_json(const store::Character& character, bool with_card);

// {"id", "position", "role", "text", "swipes", "active_swipe", "created_at", "affect"}.
nlohmann::ordered_json turn_json(const store::Turn& turn);

// {"id", "name", "character_id", "character_name", "created_at", "updated_at"} plus "turns"
// when `turns` is given.
nlohmann::ordered_json session_json(const store::Session& session, const std::string& character_name,
                                    const std::vector<store::Turn>* turns);

// The turn's AffectPoint, or null when its metadata has no affect annotations. Throws
// std::runtime_error naming the turn when the annotations are malformed.
nlohmann::ordered_json affect_point(const store::Turn& turn);

// The character's AffectState: its emotion PAD, mood, strongest emotion label (of the emotion's
// label mixture) and the mood in words ("slightly relaxed").
nlohmann::ordered_json affect_state(const affect::SpeakerAffect& character);

}  // namespace kindred::server
