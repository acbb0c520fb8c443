#include "affect/personality.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace kindred::affect {
namespace {

using nlohmann::json;

// Expects std::invalid_argument whose message contains `field`.
template <class F>
void expect_rejects(F&& f, const std::string& field) {
  try {
    f();
    ADD_FAILURE() << "expected std::invalid_argument naming " << field;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
  }
}

TEST(Personality, BaselineMoodMatchesHandComputedMapping) {
  Personality p{.openness = 0.5f, .conscientiousness = 0.2f, .extraversion = 0.4f, .agreeableness = 0.6f,
                .neuroticism = -0.3f};
  const Pad m = baseline_mood(p);
  // P = .21·.4 + .59·.6 − .19·(−.3) = .084 + .354 + .057
  EXPECT_NEAR(m.p, 0.495f, 1e-6);
  // A = .15·.5 + .30·.6 + .57·(−.3) = .075 + .18 − .171
  EXPECT_NEAR(m.a, 0.084f, 1e-6);
  // D = .25·.5 + .17·.2 + .60·.4 − .32·.6 = .125 + .034 + .24 − .192
  EXPECT_NEAR(m.d, 0.207f, 1e-6);
  EXPECT_EQ(baseline_mood(Personality{}), Pad{});
}

TEST(Personality, NeuroticismLowersPleasureAndRaisesArousal) {
  // Mehrabian's coefficients are for emotional stability; neuroticism is its negation.
  const Pad m = baseline_mood(Personality{.neuroticism = 1.0f});
  EXPECT_NEAR(m.p, -0.19f, 1e-6);
  EXPECT_NEAR(m.a, 0.57f, 1e-6);
  EXPECT_NEAR(m.d, 0.0f, 1e-6);
}

TEST(Personality, BaselineIsClampedIntoTheCube) {
  // Arousal row: .15 + .30 + .57 = 1.02.
  const Pad m = baseline_mood(Personality{.openness = 1, .agreeableness = 1, .neuroticism = 1});
  EXPECT_EQ(m.a, 1.0f);
}

TEST(Personality, EstimateInvertsTheMappingAndIsMarked) {
  const Pad target{0.3f, -0.1f, 0.2f};
  const Personality p = estimate_personality(target);
  EXPECT_TRUE(p.estimated);
  const Pad back = baseline_mood(p);
  EXPECT_NEAR(back.p, target.p, 1e-5);
  EXPECT_NEAR(back.a, target.a, 1e-5);
  EXPECT_NEAR(back.d, target.d, 1e-5);
  // Minimum norm: the conscientiousness-only direction's null-space partner would add norm, and
  // the origin maps to the average personality.
  const Personality zero = estimate_personality(Pad{});
  EXPECT_EQ(zero.openness, 0.0f);
  EXPECT_EQ(zero.neuroticism, 0.0f);
}

TEST(Personality, EstimateIsClampedForExtremePads) {
  for (const Pad& pad : {Pad{1, 1, 1}, Pad{-1, -1, -1}, Pad{1, -1, 1}}) {
    const Personality p = estimate_personality(pad);
    for (float t : {p.openness, p.conscientiousness, p.extraversion, p.agreeableness, p.neuroticism}) {
      EXPECT_GE(t, -1.0f);
      EXPECT_LE(t, 1.0f);
    }
  }
}

TEST(PersonalityExtension, ParsesTraitsAndSettings) {
  const json kindred = {
      {"personality", {{"openness", 0.3}, {"extraversion", -0.5}, {"neuroticism", 1}}},
      {"emotion_persistence", 0.7},
      {"mood_inertia", 0.9},
      {"empathy", 0.4},
      {"expressiveness", 0.2},
      {"voice", "someone else's setting"},  // other subsystems' keys are left alone
  };
  const AffectProfile profile = parse_affect_profile(kindred);
  ASSERT_TRUE(profile.personality);
  EXPECT_FLOAT_EQ(profile.personality->openness, 0.3f);
  EXPECT_FLOAT_EQ(profile.personality->extraversion, -0.5f);
  EXPECT_FLOAT_EQ(profile.personality->neuroticism, 1.0f);
  EXPECT_EQ(profile.personality->agreeableness, 0.0f);  // missing trait: average
  EXPECT_FALSE(profile.personality->estimated);
  EXPECT_FLOAT_EQ(*profile.emotion_persistence, 0.7f);
  EXPECT_FLOAT_EQ(*profile.mood_inertia, 0.9f);
  EXPECT_FLOAT_EQ(*profile.empathy, 0.4f);
  EXPECT_FLOAT_EQ(*profile.expressiveness, 0.2f);
}

TEST(PersonalityExtension, MissingFieldsStayEmpty) {
  const AffectProfile profile = parse_affect_profile(json::object());
  EXPECT_FALSE(profile.personality);
  EXPECT_FALSE(profile.mood_inertia);
  EXPECT_FALSE(profile.empathy);
  EXPECT_FALSE(affect_profile_of_extensions(json::object()).personality);
  EXPECT_FALSE(affect_profile_of_extensions(json{{"other_tool", {{"x", 1}}}}).personality);
  const AffectProfile from_card =
      affect_profile_of_extensions(json{{"kindred", {{"personality", {{"agreeableness", 0.8}}}}}});
  ASSERT_TRUE(from_card.personality);
  EXPECT_FLOAT_EQ(from_card.personality->agreeableness, 0.8f);
}

TEST(PersonalityExtension, RejectsMalformedFieldsNamingThem) {
  expect_rejects([] { parse_affect_profile(json{{"personality", {{"openness", "high"}}}}); }, "personality.openness");
  expect_rejects([] { parse_affect_profile(json{{"personality", {{"agreeableness", 1.5}}}}); },
                 "personality.agreeableness");
  expect_rejects([] { parse_affect_profile(json{{"personality", {{"extroversion", 0.5}}}}); },
                 "personality.extroversion");
  expect_rejects([] { parse_affect_profile(json{{"personality", json::array({0.1, 0.2})}}); }, "personality");
  expect_rejects([] { parse_affect_profile(json{{"mood_inertia", -0.1}}); }, "mood_inertia");
  expect_rejects([] { parse_affect_profile(json{{"empathy", true}}); }, "empathy");
  expect_rejects([] { parse_affect_profile(json{{"expressiveness", nullptr}}); }, "expressiveness");
  expect_rejects([] { parse_affect_profile(json{{"emotion_persistence", 2}}); }, "emotion_persistence");
  expect_rejects([] { parse_affect_profile(json::array()); }, "extensions.kindred");
  expect_rejects([] { affect_profile_of_extensions(json{{"kindred", "yes"}}); }, "extensions.kindred");
}

}  // namespace
}  // namespace kindred::affect
