// Macro expansion: names, legacy tags, random/pick/roll determinism, nesting, unknown macros.
#include "dialogue/macros.h"

#include <gtest/gtest.h>

#include <set>

namespace kindred::dialogue {
namespace {

MacroContext ctx(uint64_t seed = 1, uint64_t nonce = 0) { return {"Aria", "Sam", seed, nonce}; }

TEST(Macros, NamesAndLegacyTags) {
  EXPECT_EQ(expand_macros("{{char}} greets {{user}}.", ctx()), "Aria greets Sam.");
  EXPECT_EQ(expand_macros("{{CHAR}} / {{ User }}", ctx()), "Aria / Sam");
  EXPECT_EQ(expand_macros("<BOT> and <user>, <char>", ctx()), "Aria and Sam, Aria");
  EXPECT_EQ(expand_macros("a{{newline}}b", ctx()), "a\nb");
  EXPECT_EQ(expand_macros("a {{// hidden note}}b{{comment: c}}{{hidden_key:k}}{{noop}}", ctx()), "a b");
  EXPECT_EQ(expand_macros("{{reverse:abc}}", ctx()), "cba");
  EXPECT_EQ(expand_macros("line one  \n{{trim}}\n  line two", ctx()), "line oneline two");
}

TEST(Macros, UnknownAndUnclosedAreLeftAsWritten) {
  EXPECT_EQ(expand_macros("{{mystery}} {{weird:{{char}}}} {{unclosed", ctx()), "{{mystery}} {{weird:{{char}}}} {{unclosed");
  EXPECT_EQ(expand_macros("<b>bold</b> {{roll:abc}}", ctx()), "<b>bold</b> {{roll:abc}}");
  EXPECT_EQ(expand_macros("", ctx()), "");
  EXPECT_EQ(expand_macros("{{ {{char}}", ctx()), "{{ Aria");
}

TEST(Macros, HostileInputStaysCheap) {
  const std::string unclosed(200000, '{');
  EXPECT_EQ(expand_macros(unclosed, ctx()), unclosed);
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "{{random:";
  deep += "x";
  for (int i = 0; i < 100000; ++i) deep += "}}";
  const std::string out = expand_macros(deep, ctx());  // bounded recursion: no stack overflow
  EXPECT_FALSE(out.empty());
  EXPECT_EQ(expand_macros("{{random:{{random:{{char}}}}}}", ctx()), "Aria");
}

TEST(Macros, RandomIsDeterministicPerSeedAndNonce) {
  const std::string t = "{{random:a,b,c,d,e,f,g,h}}";
  EXPECT_EQ(expand_macros(t, ctx(7, 3)), expand_macros(t, ctx(7, 3)));
  std::set<std::string> seen;
  for (uint64_t n = 0; n < 64; ++n) seen.insert(expand_macros(t, ctx(7, n)));
  EXPECT_GT(seen.size(), 4u);  // a new nonce gives a new choice
  for (const auto& s : seen) EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(expand_macros("{{random:x\\,y}}", ctx()), "x,y");
  const auto colon = expand_macros("{{random::one, two::three}}", ctx());
  EXPECT_TRUE(colon == "one, two" || colon == "three") << colon;
  const auto nested = expand_macros("{{random:{{char}},{{user}}}}", ctx());
  EXPECT_TRUE(nested == "Aria" || nested == "Sam") << nested;
}

TEST(Macros, PickIsStableAcrossNoncesButDependsOnSeed) {
  const std::string t = "{{pick:a,b,c,d,e,f,g,h}} {{pick::1::2::3::4::5::6::7::8}}";
  const auto first = expand_macros(t, ctx(11, 0));
  for (uint64_t n = 1; n < 20; ++n) EXPECT_EQ(expand_macros(t, ctx(11, n)), first);
  std::set<std::string> per_seed;
  for (uint64_t s = 0; s < 32; ++s) per_seed.insert(expand_macros(t, ctx(s, 0)));
  EXPECT_GT(per_seed.size(), 4u);
}

TEST(Macros, Roll) {
  for (uint64_t n = 0; n < 50; ++n) {
    const int d20 = std::stoi(expand_macros("{{roll:1d20}}", ctx(3, n)));
    EXPECT_GE(d20, 1);
    EXPECT_LE(d20, 20);
    const int d6 = std::stoi(expand_macros("{{roll:d6+2}}", ctx(3, n)));
    EXPECT_GE(d6, 3);
    EXPECT_LE(d6, 8);
    const int plain = std::stoi(expand_macros("{{roll:6}}", ctx(3, n)));
    EXPECT_GE(plain, 1);
    EXPECT_LE(plain, 6);
    const int two = std::stoi(expand_macros("{{roll:2D6-1}}", ctx(3, n)));
    EXPECT_GE(two, 1);
    EXPECT_LE(two, 11);
  }
  EXPECT_EQ(expand_macros("{{roll:d20}}", ctx(9, 9)), expand_macros("{{roll:d20}}", ctx(9, 9)));
  EXPECT_EQ(expand_macros("{{roll:d0}}", ctx()), "{{roll:d0}}");
}

}  // namespace
}  // namespace kindred::dialogue
