// A character's personality (Big Five) and the affect settings a card can carry, plus the
// personality → baseline-mood mapping the affect chain decays toward.
//
// Sign convention: `neuroticism` is neuroticism (high = emotionally unstable), as in the Big Five
// literature. Mehrabian (1996, "Pleasure-arousal-dominance: a general framework for describing
// and measuring individual differences in temperament", Current Psychology 14(4)) gives the
// temperament regression in terms of emotional STABILITY; ALMA (Gebhard 2005) prints the same
// coefficients under the letter N. We therefore substitute stability = −neuroticism, which flips
// the sign of both N terms: a neurotic character is less pleased and more aroused at rest.
//
// Card extension (the object at card data.extensions.kindred; unknown top-level keys belong to
// other subsystems and are left alone):
//   {"personality": {"openness": 0.3, "conscientiousness": 0, "extraversion": 0.5,
//                    "agreeableness": 0.2, "neuroticism": -0.1},
//    "emotion_persistence": 0.6, "mood_inertia": 0.8, "empathy": 0.4, "expressiveness": 0.5}
// Traits are in [-1, 1], the four settings in [0, 1]. A missing trait is 0 (average); a missing
// "personality" object means "not given" (estimate it from the description); a missing setting
// takes the default in AffectParams. Wrong type, out of range or an unknown trait name →
// std::invalid_argument naming the field.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>

#include "affect/emotion.h"

namespace kindred::affect {

struct Personality {
  float openness = 0, conscientiousness = 0, extraversion = 0, agreeableness = 0, neuroticism = 0;
  bool estimated = false;  // true when guessed by estimate_personality rather than given by the card
};

// Mehrabian's temperament mapping as ALMA uses it (with stability = −neuroticism, see above),
// clamped into [-1, 1] (the arousal row can reach 1.02):
//   P = 0.21 E + 0.59 A − 0.19 N
//   A = 0.15 O + 0.30 A + 0.57 N
//   D = 0.25 O + 0.17 C + 0.60 E − 0.32 A
Pad baseline_mood(const Personality& personality);

// The minimum-norm personality whose baseline mood is `pad_of_description` (Mᵀ(MMᵀ)⁻¹·pad, with
// M the 3×5 matrix above), each trait clamped into [-1, 1]; `estimated` is set. For a card
// without the extension: appraise its description and pass the appraisal's PAD.
Personality estimate_personality(const Pad& pad_of_description);

// What the card's kindred extension says about affect; absent fields stay empty.
struct AffectProfile {
  std::optional<Personality> personality;
  std::optional<float> emotion_persistence, mood_inertia, empathy, expressiveness;
};

// Parses the object at data.extensions.kindred. Throws std::invalid_argument naming the field.
AffectProfile parse_affect_profile(const nlohmann::json& kindred);
// Same, from the card's whole extensions object (CharacterCard::extensions()): no "kindred" key
// gives an empty profile; a "kindred" that is not an object throws.
AffectProfile affect_profile_of_extensions(const nlohmann::json& extensions);

}  // namespace kindred::affect
