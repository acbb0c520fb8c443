#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "affect/affect_state.h"

namespace kindred::affect {
namespace {

using nlohmann::json;

template <class F>
void expect_rejects(F&& f, const std::string& field) {
  try {
    f();
    ADD_FAILURE() << "expected std::invalid_argument naming " << field;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
  }
}

Appraisal appraisal_at(const Pad& pad, float confidence, const char* label = nullptr) {
  Appraisal a;
  a.pad = pad;
  a.confidence = confidence;
  if (label) {
    a.labels[label_index(label)] = 0.9f;
    a.active = {label_index(label)};
  }
  return a;
}

Appraisal label_appraisal(const char* label, float confidence = 1.0f) {
  return appraisal_at(label_anchor(label_index(label)), confidence, label);
}

float distance(const Pad& a, const Pad& b) {
  return std::sqrt((a.p - b.p) * (a.p - b.p) + (a.a - b.a) * (a.a - b.a) + (a.d - b.d) * (a.d - b.d));
}

AffectParams params_with_baseline(Pad baseline) {
  AffectParams p;
  p.baseline = baseline;
  return p;
}

TEST(AffectChain, StartsAtTheBaselineWithStationarySpread) {
  const Pad b{0.4f, -0.1f, 0.2f};
  SpeakerAffect s(params_with_baseline(b));
  EXPECT_EQ(s.emotion(), b);
  EXPECT_EQ(s.mood(), b);
  const Pad v0 = s.emotion_variance(), m0 = s.mood_variance();
  s.predict(nullptr);  // stationary: a prediction without evidence keeps the spread
  EXPECT_NEAR(s.emotion_variance().p, v0.p, 1e-7);
  EXPECT_NEAR(s.mood_variance().d, m0.d, 1e-7);
  EXPECT_GT(v0.p, m0.p);  // emotions are the volatile layer
}

TEST(AffectChain, WithoutObservationsEmotionAndMoodDecayToTheBaseline) {
  const Pad b = baseline_mood(Personality{.extraversion = 0.6f, .agreeableness = 0.5f});
  SpeakerAffect s(AffectParams::from(Personality{.extraversion = 0.6f, .agreeableness = 0.5f}));
  EXPECT_EQ(s.params().baseline, b);
  for (int i = 0; i < 5; ++i) s.observe(label_appraisal("anger"));  // far from baseline
  float emotion_gap = distance(s.emotion(), b), mood_gap = distance(s.mood(), b);
  EXPECT_GT(emotion_gap, 0.5f);
  for (int turn = 0; turn < 300; ++turn) {
    s.predict(nullptr);
    if (turn % 20 == 19) {  // the gap shrinks turn after turn (checked every 20: mood lags)
      EXPECT_LT(distance(s.emotion(), b), emotion_gap);
      EXPECT_LT(distance(s.mood(), b), mood_gap);
      emotion_gap = distance(s.emotion(), b);
      mood_gap = distance(s.mood(), b);
    }
  }
  EXPECT_LT(distance(s.emotion(), b), 1e-3f);
  EXPECT_LT(distance(s.mood(), b), 1e-3f);
}

TEST(AffectChain, EmotionDecaysFasterThanMood) {
  SpeakerAffect s(AffectParams{});
  for (int i = 0; i < 3; ++i) s.observe(label_appraisal("joy"));
  for (int i = 0; i < 10; ++i) {
    s.predict(nullptr);
    s.observe(label_appraisal("joy"));
  }
  const float mood_before = s.mood().p;
  EXPECT_GT(mood_before, 0.1f);  // a run of joy lifted the mood
  s.predict(nullptr);
  s.predict(nullptr);
  // Two quiet turns: the emotion has fallen toward the (still raised) mood, the mood barely moved.
  EXPECT_LT(s.emotion().p - s.mood().p, 0.2f);
  EXPECT_GT(s.mood().p, 0.8f * mood_before);
}

TEST(AffectChain, ObservationPullsEmotionMoreWithHigherConfidence) {
  SpeakerAffect low(AffectParams{}), high(AffectParams{});
  low.observe(label_appraisal("sadness", 0.2f));
  high.observe(label_appraisal("sadness", 1.0f));
  EXPECT_LT(high.emotion().p, low.emotion().p);
  EXPECT_LT(low.emotion().p, 0.0f);
  EXPECT_LT(high.mood().p, 0.0f);  // the mood learns through the emotion–mood covariance
}

TEST(AffectChain, ContagionGrowsWithEmpathyAndVanishesAtZero) {
  const Pad sad = label_anchor(label_index("sadness"));
  auto character_after_sad_user = [&](float empathy) {
    AffectParams character;
    character.empathy = empathy;
    AffectChain chain(character, AffectParams{});
    for (int i = 0; i < 4; ++i) {
      chain.on_user_turn(label_appraisal("sadness"));
      chain.on_character_turn(appraisal_at(chain.character().emotion(), 0.0f));  // no evidence from the reply
    }
    return chain.character();
  };
  const float d0 = distance(character_after_sad_user(0.0f).emotion(), sad);
  const float d_low = distance(character_after_sad_user(0.2f).emotion(), sad);
  const float d_high = distance(character_after_sad_user(0.6f).emotion(), sad);
  EXPECT_LT(d_high, d_low);
  EXPECT_LT(d_low, d0);

  // Zero empathy: exactly the state of a character that never heard the user.
  SpeakerAffect alone(AffectParams{});
  for (int i = 0; i < 4; ++i) alone.predict(nullptr);
  const SpeakerAffect unmoved = character_after_sad_user(0.0f);
  EXPECT_EQ(unmoved.mean(), alone.mean());
  EXPECT_EQ(unmoved.covariance(), alone.covariance());
}

TEST(AffectChain, MeansStayInTheCubeUnderExtremeRepeatedObservations) {
  AffectParams p;
  p.empathy = 1.0f;
  p.mood_inertia = 0.0f;
  p.emotion_persistence = 0.0f;
  p.baseline = {1, 1, 1};
  AffectChain chain(p, p);
  auto check = [](const SpeakerAffect& s) {
    for (double v : s.mean()) {
      ASSERT_TRUE(std::isfinite(v));
      ASSERT_GE(v, -1.0);
      ASSERT_LE(v, 1.0);
    }
    for (int k = 0; k < 6; ++k) ASSERT_GT(s.covariance()[k * 7], 0.0);
  };
  for (int turn = 0; turn < 500; ++turn) {
    const float sign = (turn / 7) % 2 ? 1.0f : -1.0f;  // runs of one extreme, then the other
    chain.on_user_turn(appraisal_at({sign, sign, sign}, 1.0f));
    chain.on_character_turn(appraisal_at({-sign, sign, -sign}, 1.0f));
    check(chain.user());
    check(chain.character());
  }
}

TEST(AffectChain, VarianceShrinksWithObservationsAndGrowsBackWithout) {
  SpeakerAffect s(AffectParams{});
  const Pad start = s.emotion_variance();
  float previous = start.p;
  for (int i = 0; i < 5; ++i) {
    s.observe(label_appraisal("joy"));
    EXPECT_LT(s.emotion_variance().p, previous);
    previous = s.emotion_variance().p;
  }
  EXPECT_LT(s.mood_variance().p, SpeakerAffect(AffectParams{}).mood_variance().p);
  for (int i = 0; i < 5; ++i) {
    s.predict(nullptr);
    EXPECT_GT(s.emotion_variance().p, previous);
    previous = s.emotion_variance().p;
  }
  for (int i = 0; i < 300; ++i) s.predict(nullptr);
  EXPECT_NEAR(s.emotion_variance().p, start.p, 1e-5);  // back to the stationary spread
}

TEST(AffectChain, ZeroConfidenceChangesNothing) {
  SpeakerAffect s(AffectParams{});
  s.observe(label_appraisal("fear"));
  const auto mean = s.mean();
  const auto cov = s.covariance();
  s.observe(label_appraisal("joy", 0.0f));
  EXPECT_EQ(s.mean(), mean);
  EXPECT_EQ(s.covariance(), cov);
  ASSERT_TRUE(s.last_appraisal());  // still remembered as what was said
  EXPECT_EQ(s.last_appraisal()->confidence, 0.0f);
}

TEST(AffectChain, RejectsInvalidAppraisalsAndParams) {
  SpeakerAffect s(AffectParams{});
  expect_rejects([&] { s.observe(appraisal_at({0, 0, 0}, 1.5f)); }, "confidence");
  expect_rejects([&] { s.observe(appraisal_at({0, 2, 0}, 1.0f)); }, "pad[1]");
  expect_rejects([&] { s.observe(appraisal_at({NAN, 0, 0}, 1.0f)); }, "pad[0]");
  const Pad outside{0, 0, -3};
  expect_rejects([&] { s.predict(&outside); }, "other speaker's emotion");
  AffectParams p;
  p.emotion_persistence = 1.0f;
  expect_rejects([&] { SpeakerAffect bad(p); }, "emotion_persistence");
  p = {};
  p.baseline_pull = 0.0f;
  expect_rejects([&] { SpeakerAffect bad(p); }, "baseline_pull");
  p = {};
  p.observation_noise = -1;
  expect_rejects([&] { SpeakerAffect bad(p); }, "observation_noise");
  AffectProfile profile;
  profile.emotion_persistence = 1.0f;  // the extension allows [0, 1]; the model needs < 1
  expect_rejects([&] { AffectParams::from(Personality{}, profile); }, "emotion_persistence");
}

TEST(AffectChain, ParamsFollowPersonalityAndProfile) {
  const AffectParams agreeable = AffectParams::from(Personality{.agreeableness = 1.0f});
  const AffectParams cold = AffectParams::from(Personality{.agreeableness = -1.0f});
  EXPECT_FLOAT_EQ(agreeable.empathy, 0.45f);
  EXPECT_FLOAT_EQ(cold.empathy, 0.15f);
  EXPECT_GT(AffectParams::from(Personality{.neuroticism = 1}).emotion_noise,
            AffectParams::from(Personality{.neuroticism = -1}).emotion_noise);
  AffectProfile profile;
  profile.empathy = 0.9f;
  profile.mood_inertia = 0.5f;
  profile.expressiveness = 0.1f;
  const AffectParams p = AffectParams::from(Personality{.agreeableness = -1.0f}, profile);
  EXPECT_FLOAT_EQ(p.empathy, 0.9f);  // the card's explicit value wins
  EXPECT_FLOAT_EQ(p.mood_inertia, 0.5f);
  EXPECT_FLOAT_EQ(p.expressiveness, 0.1f);
}

AffectChain played_chain() {
  AffectChain chain(AffectParams::from(Personality{.extraversion = 0.5f, .agreeableness = 0.7f}), AffectParams{});
  chain.on_user_turn(label_appraisal("sadness", 0.8f));
  chain.on_character_turn(label_appraisal("caring", 0.6f));
  chain.on_user_turn(label_appraisal("gratitude", 0.7f));
  return chain;
}

TEST(AffectSnapshot, JsonRoundTripIsExactAndResumesIdentically) {
  AffectChain chain = played_chain();
  const AffectSnapshot snap = chain.snapshot(3);
  const std::string text = snap.to_json().dump();
  const AffectSnapshot back = AffectSnapshot::from_json(json::parse(text));
  EXPECT_TRUE(back == snap);
  EXPECT_EQ(back.to_json().dump(), text);
  EXPECT_EQ(back.turn, 3);
  ASSERT_TRUE(back.user.last_appraisal);
  EXPECT_EQ(back.user.last_appraisal->active, std::vector<int>{label_index("gratitude")});
  EXPECT_EQ(back.character.emotion(), chain.character().emotion());
  EXPECT_EQ(back.character.mood_variance(), chain.character().mood_variance());

  // A session resumed from the stored snapshot continues exactly like the live one.
  AffectChain resumed(AffectParams::from(Personality{.extraversion = 0.5f, .agreeableness = 0.7f}), AffectParams{});
  resumed.restore(back);
  chain.on_character_turn(label_appraisal("joy", 0.5f));
  resumed.on_character_turn(label_appraisal("joy", 0.5f));
  chain.on_user_turn(label_appraisal("amusement", 0.9f));
  resumed.on_user_turn(label_appraisal("amusement", 0.9f));
  EXPECT_TRUE(resumed.snapshot(4) == chain.snapshot(4));
}

TEST(AffectSnapshot, FreshChainHasNoLastAppraisal) {
  const AffectChain chain(AffectParams{}, AffectParams{});
  const json j = chain.snapshot(0).to_json();
  EXPECT_FALSE(j["character"].contains("last_appraisal"));
  EXPECT_TRUE(AffectSnapshot::from_json(j) == chain.snapshot(0));
}

TEST(AffectSnapshot, MalformedJsonIsRejectedNamingTheField) {
  const json good = played_chain().snapshot(3).to_json();
  auto broken = [&](auto&& edit) {
    json j = good;
    edit(j);
    return j;
  };
  auto rejects = [](const json& j, const std::string& field) {
    expect_rejects([&] { AffectSnapshot::from_json(j); }, field);
  };
  rejects(json::array(), "snapshot");
  rejects(broken([](json& j) { j.erase("version"); }), "snapshot.version");
  rejects(broken([](json& j) { j["version"] = 2; }), "snapshot.version");
  rejects(broken([](json& j) { j["turn"] = -1; }), "snapshot.turn");
  rejects(broken([](json& j) { j["turn"] = "3"; }), "snapshot.turn");
  rejects(broken([](json& j) { j.erase("user"); }), "snapshot.user");
  rejects(broken([](json& j) { j["character"]["emotion"] = json::array({0.1, 0.2}); }), "snapshot.character.emotion");
  rejects(broken([](json& j) { j["character"]["mood"][1] = "x"; }), "snapshot.character.mood[1]");
  rejects(broken([](json& j) { j["user"]["covariance"][2] = json::array({1, 2, 3}); }), "snapshot.user.covariance[2]");
  rejects(broken([](json& j) { j["user"]["covariance"][2][4] = nullptr; }), "snapshot.user.covariance[2][4]");
  rejects(broken([](json& j) { j["user"]["emotion_variance"][0] = 0.5; }), "snapshot.user.emotion_variance");
  rejects(broken([](json& j) { j["character"]["last_appraisal"]["labels"]["happiness"] = 0.5; }),
          "snapshot.character.last_appraisal.labels.happiness");
  rejects(broken([](json& j) { j["character"]["last_appraisal"]["active"][0] = "glee"; }),
          "snapshot.character.last_appraisal.active[0]");
  rejects(broken([](json& j) { j["character"]["last_appraisal"].erase("confidence"); }),
          "snapshot.character.last_appraisal.confidence");

  // Well-formed JSON whose values break the model is refused by restore, with the field named.
  AffectChain chain(AffectParams{}, AffectParams{});
  const AffectSnapshot before = chain.snapshot(0);
  auto restore_rejects = [&](const json& j, const std::string& field) {
    expect_rejects([&] { chain.restore(AffectSnapshot::from_json(j)); }, field);
    EXPECT_TRUE(chain.snapshot(0) == before);  // a refused snapshot leaves the chain untouched
  };
  expect_rejects([&] { chain.snapshot(-1); }, "turn");
  restore_rejects(broken([](json& j) { j["user"]["mood"][2] = 1.5; }), "snapshot.user.mood[2]");
  restore_rejects(broken([](json& j) {
                    j["character"]["covariance"][0][1] = 0.5;  // no longer symmetric
                  }),
                  "snapshot.character.covariance[0][1]");
  restore_rejects(broken([](json& j) { j["character"]["last_appraisal"]["confidence"] = 3; }),
                  "snapshot.character.last_appraisal.confidence");
}

TEST(AffectMixture, IsADistributionPeakingAtTheNearestAnchor) {
  const LabelProbs at_origin = emotion_mixture(Pad{});
  float sum = 0;
  for (float p : at_origin) sum += p;
  EXPECT_NEAR(sum, 1.0f, 1e-5);
  EXPECT_EQ(int(std::max_element(at_origin.begin(), at_origin.end()) - at_origin.begin()), kNeutral);
  const int sadness = label_index("sadness");
  const LabelProbs sad = emotion_mixture(label_anchor(sadness));
  EXPECT_EQ(int(std::max_element(sad.begin(), sad.end()) - sad.begin()), sadness);
  // Sharper → more mass on the nearest label.
  EXPECT_GT(emotion_mixture(label_anchor(sadness), 30.0f)[sadness], sad[sadness]);
  expect_rejects([] { emotion_mixture(Pad{}, 0.0f); }, "sharpness");
}

TEST(AffectMixture, IntensityIsTheCappedNormOfTheEmotion) {
  EXPECT_EQ(intensity(Pad{}), 0.0f);
  EXPECT_NEAR(intensity(Pad{0.3f, 0.4f, 0.0f}), 0.5f, 1e-6);
  EXPECT_EQ(intensity(Pad{1, 1, 1}), 1.0f);
  SpeakerAffect s(params_with_baseline({0.3f, 0.4f, 0.0f}));
  EXPECT_NEAR(intensity(s), 0.5f, 1e-6);
}

}  // namespace
}  // namespace kindred::affect
