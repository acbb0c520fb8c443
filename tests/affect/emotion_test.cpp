#include "affect/emotion.h"

#include <gtest/gtest.h>

namespace kindred::affect {
namespace {

TEST(Emotion, LabelsAreGoEmotionsOrderWithAnAnchorAndSourceEach) {
  ASSERT_EQ(label_names().size(), 28u);
  EXPECT_EQ(label_name(0), "admiration");
  EXPECT_EQ(label_name(kNeutral), "neutral");
  EXPECT_EQ(label_index("joy"), 17);
  EXPECT_EQ(label_index("happiness"), -1);
  for (int i = 0; i < kNumLabels; ++i) {
    EXPECT_FALSE(label_anchor_source(i).empty()) << label_name(i);
    for (int k = 0; k < 3; ++k) {
      EXPECT_GE(label_anchor(i)[k], -1.0f);
      EXPECT_LE(label_anchor(i)[k], 1.0f);
    }
  }
  EXPECT_THROW(label_name(28), std::out_of_range);
}

TEST(Emotion, PadOfAMixtureIsTheWeightedMeanOfAnchors) {
  LabelProbs probs{};
  probs[label_index("joy")] = 0.75f;
  probs[label_index("anger")] = 0.25f;
  const Pad joy = label_anchor(label_index("joy")), anger = label_anchor(label_index("anger"));
  const Pad pad = pad_of(probs);
  EXPECT_NEAR(pad.p, 0.75f * joy.p + 0.25f * anger.p, 1e-6);
  EXPECT_NEAR(pad.a, 0.75f * joy.a + 0.25f * anger.a, 1e-6);
  EXPECT_NEAR(pad.d, 0.75f * joy.d + 0.25f * anger.d, 1e-6);
  EXPECT_EQ(pad_of(LabelProbs{}), Pad{});
}

TEST(Emotion, AppraisalJsonFollowsTheCliContract) {
  Appraisal a;
  a.labels[label_index("joy")] = 0.71f;
  a.labels[label_index("gratitude")] = 0.4f;
  a.active = {label_index("joy"), label_index("gratitude")};
  a.pad = {0.4f, 0.2f, 0.1f};
  a.confidence = 0.8f;
  const auto j = to_json(a);
  EXPECT_EQ(j["top"], "joy");
  EXPECT_EQ(j["active"].size(), 2u);
  EXPECT_EQ(j["labels"].size(), 28u);
  EXPECT_FLOAT_EQ(j["labels"]["joy"].get<float>(), 0.71f);
  EXPECT_EQ(j["pad"].size(), 3u);
  EXPECT_FLOAT_EQ(j["confidence"].get<float>(), 0.8f);
  EXPECT_EQ(j.begin().key(), "top");
}

}  // namespace
}  // namespace kindred::affect
