// The character's affect rendered as a short prompt directive, in the manner of SillyTavern's
// author's note, e.g.
//   [{{char}} feels: joy (mild), curiosity. Mood: slightly relaxed (P +0.42, A -0.10, D +0.20).
//    {{user}} seems: sad. Let this colour {{char}}'s next reply; do not name the emotions.]
// Emotion words come from the label mixture of the emotion PAD (emotion_mixture), mood words
// from the PAD octant of the mood: Mehrabian's eight temperament/mood types (Mehrabian 1996,
// Current Psychology 14(4); the octant names ALMA, Gebhard 2005, uses for moods). The strength
// words follow ALMA's slightly / moderately / fully; their thresholds are set here (see
// docs/AFFECT_CHAIN.md). {{char}} and {{user}} are left for the caller's macro expansion.
// Numbers use ASCII signs ("-0.10"), which every tokenizer reads the same way.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "affect/affect_state.h"

namespace kindred::affect {

// What the directive describes: a pure value, so rendering is a pure function.
struct DirectiveState {
  Pad character_emotion, character_mood;
  std::optional<Pad> user_emotion;  // absent: the user has not been appraised yet
  // What the appraiser asserted in the user's last message (strongest first). When set, these
  // name the user's emotion: the filtered PAD is the right input for dynamics, but the labels
  // actually detected describe the message better than the anchors nearest a smoothed point.
  std::vector<int> user_labels;
  float expressiveness = 0.5f;      // the character's AffectParams::expressiveness
};

// The character's predicted emotion and mood, the user's emotion once the user has been
// appraised, and the character's expressiveness.
DirectiveState directive_state(const AffectChain& chain);

struct DirectiveOptions {
  bool include_numbers = true;  // the mood's PAD after its words
  bool include_user = true;     // the "{{user}} seems: …" sentence (when there is a user emotion)
  int max_labels = 2;           // at most this many emotion labels per speaker (>= 1)
  // A label after the first is named only if its mixture share is at least this fraction of the
  // first's: close runners-up, not the long tail.
  float min_relative_share = 0.5f;
  float sharpness = kDefaultSharpness;  // emotion_mixture's
};

// Throws std::invalid_argument for max_labels < 1, min_relative_share outside [0, 1], sharpness
// <= 0, or a state outside the PAD cube.
std::string render_directive(const DirectiveState& state, const DirectiveOptions& options = {});

// Mehrabian's octant name: exuberant (+P+A+D), bored (−P−A−D), dependent (+P+A−D), disdainful
// (−P−A+D), relaxed (+P−A+D), anxious (−P+A−D), docile (+P−A−D), hostile (−P+A+D). A zero
// component counts as positive.
std::string_view mood_octant(const Pad& mood);
// "neutral" below 0.1 from the origin, else "slightly" (< 0.35), "moderately" (< 0.7), "fully".
std::string_view mood_strength(const Pad& mood);
// For an emotion intensity in [0, 1]: "faint" (< 0.25), "mild" (< 0.5), "moderate" (< 0.75), "strong".
std::string_view intensity_word(float intensity);

}  // namespace kindred::affect
