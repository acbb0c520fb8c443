// The classifier appraiser: script detection, the Appraisal it builds from the shipped models,
// and rejection of classifiers that are not 28-label emotion models.
#include "affect/classifier_appraiser.h"

#include <gtest/gtest.h>


#include "affect/shipped_classifiers.h"
#include "affect/text_features_detail.h"

namespace kindred::affect {
namespace {

TEST(DetectLanguage, PicksChineseForMostlyHanText) {
  EXPECT_EQ(detect_language("今天天气很好，我很开心"), Language::Chinese);
  EXPECT_EQ(detect_language("我爱北京 NYC"), Language::Chinese);  // 4 of 7 letters are Han
  EXPECT_EQ(detect_language("I really love visiting 北京"), Language::English);
  EXPECT_EQ(detect_language("hello there"), Language::English);
  EXPECT_EQ(detect_language("こんにちは"), Language::English);  // Kana is not Chinese
  EXPECT_EQ(detect_language(""), Language::English);
  EXPECT_EQ(detect_language("\xff\xfe"), Language::English);
}

void expect_well_formed(const Appraisal& a) {
  for (float p : a.labels) {
    EXPECT_GE(p, 0.0f);
    EXPECT_LE(p, 1.0f);
  }
  ASSERT_FALSE(a.active.empty());
  for (size_t i = 1; i < a.active.size(); ++i) EXPECT_GE(a.labels[size_t(a.active[i - 1])], a.labels[size_t(a.active[i])]);
  for (int d = 0; d < 3; ++d) {
    EXPECT_GE(a.pad[d], -1.0f);
    EXPECT_LE(a.pad[d], 1.0f);
  }
  EXPECT_GE(a.confidence, 0.0f);
  EXPECT_LE(a.confidence, 1.0f);
}

TEST(ClassifierAppraiser, ReadsObviousEmotions) {
  auto appraiser = make_default_appraiser();
  EXPECT_EQ(appraiser->name(), "classifier:en+zh");
  const auto thanks = appraiser->appraise("Thank you so much, this is wonderful!");
  expect_well_formed(thanks);
  EXPECT_EQ(label_name(thanks.top()), "gratitude");
  EXPECT_GT(thanks.pad.p, 0.1f);
  const auto bad = appraiser->appraise("I hate this, it is disgusting and awful.");
  expect_well_formed(bad);
  EXPECT_LT(bad.pad.p, -0.1f);
  expect_well_formed(appraiser->appraise(""));
  expect_well_formed(appraiser->appraise("\xff\xfe\xfd"));
}

TEST(ClassifierAppraiser, RoutesChineseTextToTheChineseModel) {
  const auto& en = shipped_emotion_classifier(Language::English);
  const auto& zh = shipped_emotion_classifier(Language::Chinese);
  ClassifierAppraiser appraiser(en, &zh);
  EXPECT_EQ(&appraiser.classifier_for("我真的很生气"), &zh);
  EXPECT_EQ(&appraiser.classifier_for("I am angry"), &en);
  expect_well_formed(appraiser.appraise("谢谢你哦，我很开心"));
  ClassifierAppraiser english_only(en, nullptr);
  EXPECT_EQ(&english_only.classifier_for("我真的很生气"), &en);
}

TEST(ClassifierAppraiser, ConfidenceFollowsCertainty) {
  const auto& en = shipped_emotion_classifier(Language::English);
  ClassifierAppraiser appraiser(en, nullptr);
  std::vector<float> peaked(kNumLabels, 0.01f), flat(kNumLabels, 0.3f);
  peaked[15] = 0.95f;
  EXPECT_GT(appraiser.appraise_probs(en, peaked, 0).confidence, appraiser.appraise_probs(en, flat, 0).confidence);
  EXPECT_THROW(appraiser.appraise_probs(en, std::vector<float>(3, 0.1f), 0), std::invalid_argument);
}

TEST(ClassifierAppraiser, RejectsClassifiersWithoutTheEmotionLabels) {
  std::vector<TrainExample> data = {{"good", {0}}, {"bad", {1}}};
  TrainOptions o;
  o.features.hash_bits = 10;
  auto two = train_text_classifier(data, {"good", "bad"}, o);
  EXPECT_THROW(ClassifierAppraiser{std::move(two)}, std::invalid_argument);
}

TEST(LexiconValence, FollowsVaderCues) {
  EXPECT_GT(detail::lexicon_valence("This is good"), 0.2f);
  EXPECT_LT(detail::lexicon_valence("This is not good"), 0.0f);
  EXPECT_GT(detail::lexicon_valence("This is very good"), detail::lexicon_valence("This is good"));
  EXPECT_LT(detail::lexicon_valence("It was good but the end was terrible"), 0.0f);
  EXPECT_EQ(detail::lexicon_valence("the table"), 0.0f);
}

// Latency is measured in bench/kindred_affect_bench.cpp, not asserted here (timed tests flake on
// shared machines).

}  // namespace
}  // namespace kindred::affect
