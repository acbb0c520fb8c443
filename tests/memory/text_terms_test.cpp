// Text to BM25 terms: folding, splitting, stop words, stemming, numbers.
#include "memory/text_terms.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace kindred::memory {
namespace {

using Terms = std::vector<std::string>;

TEST(SplitWords, FoldsCaseIncludingNonAscii) {
  EXPECT_EQ(split_words("HELLO World"), (Terms{"hello", "world"}));
  EXPECT_EQ(split_words("ÉCOLE Kraków"), (Terms{"école", "kraków"}));
  EXPECT_EQ(split_words("Straße"), (Terms{"strasse"}));        // full case folding
  EXPECT_EQ(split_words("ΣΊΣΥΦΟΣ σίσυφος"), (Terms{"σίσυφοσ", "σίσυφοσ"}));  // final sigma
  EXPECT_EQ(split_words("ﬁne"), (Terms{"fine"}));               // NFKC ligature
  // Composed and decomposed "é" give the same word.
  EXPECT_EQ(split_words("caf\u00e9"), split_words("cafe\u0301"));
}

TEST(SplitWords, PunctuationSeparates) {
  EXPECT_EQ(split_words("hello,world!! (test) -- a/b"), (Terms{"hello", "world", "test", "a", "b"}));
  EXPECT_EQ(split_words("  \t\n "), Terms{});
  EXPECT_EQ(split_words(""), Terms{});
}

TEST(SplitWords, ApostrophesStayInsideWords) {
  EXPECT_EQ(split_words("sister's don't 'quoted' parents'"),
            (Terms{"sister's", "don't", "quoted'", "parents'"}));
  EXPECT_EQ(split_words("Ayesha\u2019s"), (Terms{"ayesha's"}));  // typographic apostrophe
}

TEST(SplitWords, NumbersAreKept) {
  EXPECT_EQ(split_words("on the 14th, at 10,000 ft and 3.5 km in 2019."),
            (Terms{"on", "the", "14th", "at", "10000", "ft", "and", "3.5", "km", "in", "2019"}));
}

TEST(SplitWords, IdeographsAreOneTermEach) {
  EXPECT_EQ(split_words("我喜欢猫 cat"), (Terms{"我", "喜", "欢", "猫", "cat"}));
}

TEST(SplitWords, InvalidUtf8Throws) {
  EXPECT_THROW(split_words("bad \xff byte"), std::invalid_argument);
}

TEST(StopWords, CommonWordsAndContractions) {
  for (const char* w : {"the", "what", "is", "my", "i'm", "don't", "you're"}) EXPECT_TRUE(is_stop_word(w)) << w;
  for (const char* w : {"sister", "name", "peanut", "lisbon", "14"}) EXPECT_FALSE(is_stop_word(w)) << w;
}

TEST(LightStem, PluralsAndPossessives) {
  EXPECT_EQ(light_stem("peanuts"), "peanut");
  EXPECT_EQ(light_stem("sister's"), "sister");
  EXPECT_EQ(light_stem("parents'"), "parent");
  EXPECT_EQ(light_stem("flies"), "fly");
  EXPECT_EQ(light_stem("houses"), "house");
  EXPECT_EQ(light_stem("toes"), "toe");
  EXPECT_EQ(light_stem("glass"), "glass");
  EXPECT_EQ(light_stem("status"), "status");
  EXPECT_EQ(light_stem("bus"), "bus");       // too short to touch
  EXPECT_EQ(light_stem("called"), "called");  // only -s endings are stemmed
  EXPECT_EQ(light_stem("école"), "école");    // English letters only
  EXPECT_EQ(light_stem("2019s"), "2019s");
}

TEST(TextTerms, WholePipeline) {
  EXPECT_EQ(text_terms("What is the name of my sister?"), (Terms{"name", "sister"}));
  EXPECT_EQ(text_terms("My sister's name is Ayesha."), (Terms{"sister", "name", "ayesha"}));
  EXPECT_EQ(text_terms("I'm allergic to PEANUTS!"), (Terms{"allergic", "peanut"}));
  EXPECT_EQ(text_terms("It's leaving on the 14th"), (Terms{"leaving", "14th"}));
  EXPECT_EQ(text_terms("the the the"), Terms{});
}

}  // namespace
}  // namespace kindred::memory
