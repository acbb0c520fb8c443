#include "affect/personality.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace kindred::affect {
namespace {

// Rows P, A, D; columns O, C, E, A, N (neuroticism). Mehrabian (1996) / ALMA (Gebhard 2005),
// with the stability coefficients negated for neuroticism (see personality.h).
constexpr double kMap[3][5] = {
    {0.00, 0.00, 0.21, 0.59, -0.19},
    {0.15, 0.00, 0.00, 0.30, 0.57},
    {0.25, 0.17, 0.60, -0.32, 0.00},
};

std::array<double, 5> traits_of(const Personality& p) {
  return {p.openness, p.conscientiousness, p.extraversion, p.agreeableness, p.neuroticism};
}

// Mᵀ(MMᵀ)⁻¹, computed once: MMᵀ is a well-conditioned 3×3 (its rows are independent), so the
// adjugate inverse is exact enough.
const std::array<std::array<double, 3>, 5> kPseudoInverse = [] {
  double g[3][3];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      g[i][j] = 0;
      for (int k = 0; k < 5; ++k) g[i][j] += kMap[i][k] * kMap[j][k];
    }
  const double det = g[0][0] * (g[1][1] * g[2][2] - g[1][2] * g[2][1]) -
                     g[0][1] * (g[1][0] * g[2][2] - g[1][2] * g[2][0]) +
                     g[0][2] * (g[1][0] * g[2][1] - g[1][1] * g[2][0]);
  double inv[3][3];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      // cofactor of (j, i) / det
      const int r0 = (j + 1) % 3, r1 = (j + 2) % 3, c0 = (i + 1) % 3, c1 = (i + 2) % 3;
      inv[i][j] = (g[r0][c0] * g[r1][c1] - g[r0][c1] * g[r1][c0]) / det;
    }
  std::array<std::array<double, 3>, 5> out{};
  for (int k = 0; k < 5; ++k)
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 3; ++i) out[k][j] += kMap[i][k] * inv[i][j];
  return out;
}();

std::string range(float v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%g", double(v));
  return buf;
}

float number_in(const nlohmann::json& value, const std::string& field, float lo, float hi) {
  if (!value.is_number()) {
    throw std::invalid_argument("affect extension: " + field + " must be a number, got " + std::string(value.type_name()));
  }
  const double v = value.get<double>();
  if (!std::isfinite(v) || v < lo || v > hi) {
    throw std::invalid_argument("affect extension: " + field + " = " + value.dump() + " is outside [" + range(lo) +
                                ", " + range(hi) + "]");
  }
  return float(v);
}

Personality parse_personality(const nlohmann::json& j) {
  if (!j.is_object()) {
    throw std::invalid_argument("affect extension: personality must be an object, got " + std::string(j.type_name()));
  }
  Personality p;
  for (const auto& [key, value] : j.items()) {
    const std::string field = "personality." + key;
    // A misspelt trait would otherwise silently stay average.
    if (key == "openness") p.openness = number_in(value, field, -1, 1);
    else if (key == "conscientiousness") p.conscientiousness = number_in(value, field, -1, 1);
    else if (key == "extraversion") p.extraversion = number_in(value, field, -1, 1);
    else if (key == "agreeableness") p.agreeableness = number_in(value, field, -1, 1);
    else if (key == "neuroticism") p.neuroticism = number_in(value, field, -1, 1);
    else
      throw std::invalid_argument("affect extension: " + field +
                                  " is not a Big Five trait (openness, conscientiousness, extraversion, "
                                  "agreeableness, neuroticism)");
  }
  return p;
}

std::optional<float> setting(const nlohmann::json& kindred, const char* key) {
  if (!kindred.contains(key)) return std::nullopt;
  return number_in(kindred.at(key), key, 0, 1);
}

}  // namespace

Pad baseline_mood(const Personality& personality) {
  const auto t = traits_of(personality);
  Pad out;
  for (int i = 0; i < 3; ++i) {
    double v = 0;
    for (int k = 0; k < 5; ++k) v += kMap[i][k] * t[k];
    out[i] = float(v);
  }
  return clamp(out);
}

Personality estimate_personality(const Pad& pad_of_description) {
  std::array<double, 5> t{};
  for (int k = 0; k < 5; ++k)
    for (int j = 0; j < 3; ++j) t[k] += kPseudoInverse[k][j] * pad_of_description[j];
  auto c = [](double v) { return float(std::clamp(v, -1.0, 1.0)); };
  return {c(t[0]), c(t[1]), c(t[2]), c(t[3]), c(t[4]), /*estimated=*/true};
}

AffectProfile parse_affect_profile(const nlohmann::json& kindred) {
  if (!kindred.is_object()) {
    throw std::invalid_argument("affect extension: extensions.kindred must be an object, got " +
                                std::string(kindred.type_name()));
  }
  AffectProfile profile;
  if (kindred.contains("personality")) profile.personality = parse_personality(kindred.at("personality"));
  profile.emotion_persistence = setting(kindred, "emotion_persistence");
  profile.mood_inertia = setting(kindred, "mood_inertia");
  profile.empathy = setting(kindred, "empathy");
  profile.expressiveness = setting(kindred, "expressiveness");
  return profile;
}

AffectProfile affect_profile_of_extensions(const nlohmann::json& extensions) {
  if (extensions.is_null()) return {};
  if (!extensions.is_object()) {
    throw std::invalid_argument("affect extension: extensions must be an object, got " +
                                std::string(extensions.type_name()));
  }
  if (!extensions.contains("kindred")) return {};
  return parse_affect_profile(extensions.at("kindred"));
}

}  // namespace kindred::affect
