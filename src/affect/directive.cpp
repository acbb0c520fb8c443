#include "affect/directive.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <stdexcept>
#include <vector>

namespace kindred::affect {
namespace {

// "{{user}} seems: …" needs adjectives; GoEmotions order, neutral last.
constexpr std::array<std::string_view, kNumLabels> kAdjectives = {
    "admiring",  "amused",     "angry",     "annoyed",      "approving", "caring",     "confused",
    "curious",   "longing",    "disappointed", "disapproving", "disgusted", "embarrassed", "excited",
    "afraid",    "grateful",   "grieving",  "joyful",       "loving",    "nervous",    "optimistic",
    "proud",     "struck by a realization", "relieved", "remorseful", "sad", "surprised", "calm",
};

// Below this distance from the origin an emotion is too faint to name.
constexpr float kCalm = 0.1f;

// Up to max_labels non-neutral labels, strongest first; empty when the state reads as calm.
std::vector<int> pick_labels(const Pad& emotion, const DirectiveOptions& o) {
  if (intensity(emotion) < kCalm) return {};
  const LabelProbs probs = emotion_mixture(emotion, o.sharpness);
  std::vector<int> order(kNumLabels);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return probs[a] > probs[b]; });
  std::vector<int> out;
  float first = 0;
  for (int label : order) {
    if (label == kNeutral) continue;  // a non-calm state names what it is, not "neutral"
    if (out.empty()) first = probs[label];
    else if (probs[label] < o.min_relative_share * first) break;
    out.push_back(label);
    if (int(out.size()) == o.max_labels) break;
  }
  return out;
}

std::string signed2(float v) {
  double r = std::round(double(v) * 100.0) / 100.0;
  if (r == 0) r = 0;  // no "-0.00"
  char buf[16];
  std::snprintf(buf, sizeof buf, "%+.2f", r);
  return buf;
}

void check_pad(const Pad& pad, const char* what) {
  for (int k = 0; k < 3; ++k) {
    if (!std::isfinite(pad[k]) || std::abs(pad[k]) > 1.0f + 1e-4f) {
      throw std::invalid_argument(std::string("render_directive: ") + what + " is outside the PAD cube [-1, 1]");
    }
  }
}

}  // namespace

DirectiveState directive_state(const AffectChain& chain) {
  DirectiveState s;
  s.character_emotion = chain.character().emotion();
  s.character_mood = chain.character().mood();
  if (const auto& last = chain.user().last_appraisal()) {
    s.user_emotion = chain.user().emotion();
    for (int label : last->active) {
      if (label != kNeutral) s.user_labels.push_back(label);
    }
  }
  s.expressiveness = chain.character().params().expressiveness;
  return s;
}

std::string_view mood_octant(const Pad& m) {
  const bool p = m.p >= 0, a = m.a >= 0, d = m.d >= 0;
  if (p && a && d) return "exuberant";
  if (!p && !a && !d) return "bored";
  if (p && a && !d) return "dependent";
  if (!p && !a && d) return "disdainful";
  if (p && !a && d) return "relaxed";
  if (!p && a && !d) return "anxious";
  if (p && !a && !d) return "docile";
  return "hostile";  // −P +A +D
}

std::string_view mood_strength(const Pad& m) {
  const float r = std::sqrt(m.p * m.p + m.a * m.a + m.d * m.d);
  if (r < 0.1f) return "neutral";
  if (r < 0.35f) return "slightly";
  if (r < 0.7f) return "moderately";
  return "fully";
}

std::string_view intensity_word(float x) {
  if (x < 0.25f) return "faint";
  if (x < 0.5f) return "mild";
  if (x < 0.75f) return "moderate";
  return "strong";
}

std::string render_directive(const DirectiveState& state, const DirectiveOptions& o) {
  if (o.max_labels < 1) throw std::invalid_argument("render_directive: max_labels must be at least 1");
  if (!(o.min_relative_share >= 0 && o.min_relative_share <= 1)) {
    throw std::invalid_argument("render_directive: min_relative_share must be in [0, 1]");
  }
  if (!(o.sharpness > 0) || !std::isfinite(o.sharpness)) {
    throw std::invalid_argument("render_directive: sharpness must be > 0");
  }
  if (!(state.expressiveness >= 0 && state.expressiveness <= 1)) {
    throw std::invalid_argument("render_directive: expressiveness must be in [0, 1]");
  }
  check_pad(state.character_emotion, "character_emotion");
  check_pad(state.character_mood, "character_mood");
  if (state.user_emotion) check_pad(*state.user_emotion, "user_emotion");
  for (int label : state.user_labels) {
    if (label < 0 || label >= kNumLabels) throw std::invalid_argument("directive: user label " + std::to_string(label) + " is not a label");
  }

  std::string out = "[{{char}} feels: ";
  const std::vector<int> labels = pick_labels(state.character_emotion, o);
  if (labels.empty()) out += "calm";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ", ";
    out += label_name(labels[i]);
    if (i == 0) out += " (" + std::string(intensity_word(intensity(state.character_emotion))) + ")";
  }

  const Pad& m = state.character_mood;
  out += ". Mood: ";
  const std::string_view strength = mood_strength(m);
  if (strength == "neutral") out += "neutral";
  else out += std::string(strength) + " " + std::string(mood_octant(m));
  if (o.include_numbers) out += " (P " + signed2(m.p) + ", A " + signed2(m.a) + ", D " + signed2(m.d) + ")";
  out += ".";

  if (o.include_user && state.user_emotion) {
    out += " {{user}} seems: ";
    std::vector<int> user_labels = pick_labels(*state.user_emotion, o);
    if (!state.user_labels.empty()) {
      user_labels.assign(state.user_labels.begin(),
                         state.user_labels.begin() + std::min<std::ptrdiff_t>(o.max_labels, std::ssize(state.user_labels)));
    }
    if (user_labels.empty()) out += "calm";
    for (size_t i = 0; i < user_labels.size(); ++i) {
      if (i > 0) out += ", ";
      out += kAdjectives[user_labels[i]];
    }
    out += ".";
  }

  // Expressiveness decides how openly the reply may show the state (thirds of [0, 1]).
  if (state.expressiveness < 1.0f / 3) out += " Let this subtly colour {{char}}'s next reply";
  else if (state.expressiveness <= 2.0f / 3) out += " Let this colour {{char}}'s next reply";
  else out += " Let this show clearly in {{char}}'s next reply";
  out += "; do not name the emotions.]";
  return out;
}

}  // namespace kindred::affect
