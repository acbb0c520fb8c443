#include "affect/directive.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace kindred::affect {
namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

DirectiveState state(Pad emotion, Pad mood) {
  DirectiveState s;
  s.character_emotion = emotion;
  s.character_mood = mood;
  return s;
}

TEST(Directive, MoodWordForEachOctant) {
  struct Case {
    Pad mood;
    const char* word;
  };
  // Mehrabian (1996): the eight octants of PAD space.
  const Case cases[] = {
      {{0.3f, 0.3f, 0.3f}, "exuberant"},   {{-0.3f, -0.3f, -0.3f}, "bored"},
      {{0.3f, 0.3f, -0.3f}, "dependent"},  {{-0.3f, -0.3f, 0.3f}, "disdainful"},
      {{0.3f, -0.3f, 0.3f}, "relaxed"},    {{-0.3f, 0.3f, -0.3f}, "anxious"},
      {{0.3f, -0.3f, -0.3f}, "docile"},    {{-0.3f, 0.3f, 0.3f}, "hostile"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(mood_octant(c.mood), c.word);
    const std::string text = render_directive(state({}, c.mood));
    EXPECT_TRUE(contains(text, std::string("Mood: moderately ") + c.word + " (")) << text;
  }
}

TEST(Directive, MoodStrengthAndIntensityWords) {
  EXPECT_EQ(mood_strength({0.05f, 0, 0}), "neutral");
  EXPECT_EQ(mood_strength({0.2f, 0.1f, 0}), "slightly");
  EXPECT_EQ(mood_strength({0.5f, 0.2f, 0}), "moderately");
  EXPECT_EQ(mood_strength({0.8f, 0.5f, 0.3f}), "fully");
  EXPECT_EQ(intensity_word(0.1f), "faint");
  EXPECT_EQ(intensity_word(0.4f), "mild");
  EXPECT_EQ(intensity_word(0.6f), "moderate");
  EXPECT_EQ(intensity_word(0.9f), "strong");
}

TEST(Directive, RendersTheFullSentenceWithMacrosUnexpanded) {
  DirectiveState s = state(label_anchor(label_index("joy")), {0.42f, -0.10f, 0.20f});
  s.user_emotion = label_anchor(label_index("sadness"));
  EXPECT_EQ(render_directive(s),
            "[{{char}} feels: joy (mild). Mood: moderately relaxed (P +0.42, A -0.10, D +0.20). "
            "{{user}} seems: sad. Let this colour {{char}}'s next reply; do not name the emotions.]");
}

TEST(Directive, CalmStateWithoutUser) {
  EXPECT_EQ(render_directive(state({}, {})),
            "[{{char}} feels: calm. Mood: neutral (P +0.00, A +0.00, D +0.00). "
            "Let this colour {{char}}'s next reply; do not name the emotions.]");
}

TEST(Directive, NamesCloseRunnersUpUpToMaxLabels) {
  // Halfway between two anchors: both labels share the mixture almost equally.
  const Pad joy = label_anchor(label_index("joy")), curiosity = label_anchor(label_index("curiosity"));
  const Pad between{(joy.p + curiosity.p) / 2, (joy.a + curiosity.a) / 2, (joy.d + curiosity.d) / 2};
  DirectiveOptions o;
  o.include_numbers = false;  // its commas would blur the label list
  o.max_labels = 3;
  const std::string three = render_directive(state(between, {}), o);
  EXPECT_TRUE(contains(three, "{{char}} feels: ")) << three;
  EXPECT_TRUE(contains(three, ", ")) << three;
  o.max_labels = 1;
  const std::string one = render_directive(state(between, {}), o);
  EXPECT_FALSE(contains(one, ",")) << one;  // one label, no list
  EXPECT_GT(three.size(), one.size());
}

TEST(Directive, OptionsDropNumbersAndUser) {
  DirectiveState s = state(label_anchor(label_index("anger")), {-0.3f, 0.3f, 0.3f});
  s.user_emotion = label_anchor(label_index("fear"));
  DirectiveOptions o;
  o.include_numbers = false;
  o.include_user = false;
  const std::string text = render_directive(s, o);
  EXPECT_TRUE(contains(text, "{{char}} feels: anger (strong)")) << text;
  EXPECT_TRUE(contains(text, "Mood: moderately hostile.")) << text;
  EXPECT_FALSE(contains(text, "P ")) << text;
  EXPECT_FALSE(contains(text, "{{user}}")) << text;
  EXPECT_TRUE(contains(render_directive(s), "{{user}} seems: afraid")) << render_directive(s);
}

TEST(Directive, ExpressivenessSetsHowOpenlyTheReplyShowsIt) {
  DirectiveState s = state({}, {});
  s.expressiveness = 0.1f;
  EXPECT_TRUE(contains(render_directive(s), "subtly colour {{char}}'s next reply"));
  s.expressiveness = 0.9f;
  EXPECT_TRUE(contains(render_directive(s), "show clearly in {{char}}'s next reply"));
}

TEST(Directive, RejectsBadOptionsAndStates) {
  DirectiveOptions o;
  o.max_labels = 0;
  EXPECT_THROW(render_directive(state({}, {}), o), std::invalid_argument);
  EXPECT_THROW(render_directive(state({2, 0, 0}, {})), std::invalid_argument);
  DirectiveState s = state({}, {});
  s.expressiveness = 1.5f;
  EXPECT_THROW(render_directive(s), std::invalid_argument);
}

TEST(Directive, StateFromChainIncludesTheUserOnceAppraised) {
  AffectParams character = AffectParams::from(Personality{.agreeableness = 0.8f});
  character.expressiveness = 0.9f;
  AffectChain chain(character, AffectParams{});
  DirectiveState before = directive_state(chain);
  EXPECT_FALSE(before.user_emotion);
  EXPECT_EQ(before.character_mood, character.baseline);
  EXPECT_FLOAT_EQ(before.expressiveness, 0.9f);

  Appraisal sad;
  sad.pad = label_anchor(label_index("sadness"));
  sad.confidence = 1.0f;
  for (int i = 0; i < 3; ++i) chain.on_user_turn(sad);  // a run of sad messages
  const DirectiveState after = directive_state(chain);
  ASSERT_TRUE(after.user_emotion);
  EXPECT_LT(after.user_emotion->p, 0.0f);
  EXPECT_TRUE(contains(render_directive(after), "{{user}} seems: sad")) << render_directive(after);
}

}  // namespace
}  // namespace kindred::affect

namespace kindred::affect {
namespace {

TEST(Directive, TheUsersDetectedLabelsNameTheirEmotion) {
  DirectiveState s;
  s.user_emotion = Pad{-0.2f, 0.1f, 0.0f};  // a smoothed point near "confusion"
  s.user_labels = {label_index("sadness"), label_index("disappointment"), label_index("fear")};
  const std::string d = render_directive(s, DirectiveOptions{.max_labels = 2});
  EXPECT_NE(d.find("{{user}} seems: sad, disappointed."), std::string::npos) << d;
  s.user_labels = {99};
  EXPECT_THROW(render_directive(s), std::invalid_argument);
}

}  // namespace
}  // namespace kindred::affect
