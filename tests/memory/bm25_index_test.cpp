// Okapi BM25 index: hand-computed scores, add/remove/update, ranking and explanations.
#include "memory/bm25_index.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

namespace kindred::memory {
namespace {

// Corpus: D1 = {cat, chase, mice} (|D|=3), D2 = {dog, chase, cat, cat} (|D|=4, "and" is a stop
// word), D3 = {bird, sing} (|D|=2). N = 3, avgdl = 3, df(cat) = df(chase) = 2, so
//   idf = ln(1 + (3 − 2 + 0.5)/(2 + 0.5)) = ln 1.6 = 0.4700036292
//   D1, cat:   tf 1, |D|/avgdl 1   : idf·1·2.2/(1 + 1.2·1)                 = 0.4700036292
//   D2, cat:   tf 2, |D|/avgdl 4/3 : idf·2·2.2/(2 + 1.2·(0.25 + 0.75·4/3)) = idf·4.4/3.5 = 0.5908617053
//   D2, chase: tf 1                : idf·2.2/(1 + 1.2·1.25)               = idf·2.2/2.5 = 0.4136031937
class Bm25HandComputed : public ::testing::Test {
 protected:
  void SetUp() override {
    index.add(1, "Cats chase mice");
    index.add(2, "Dogs chase cats and cats");
    index.add(3, "Birds sing");
  }
  Bm25Index index;
};

constexpr double kTol = 1e-9;

TEST_F(Bm25HandComputed, SingleTermScores) {
  EXPECT_NEAR(index.idf("cat"), 0.4700036292457356, kTol);
  EXPECT_NEAR(index.average_length(), 3.0, kTol);
  const auto hits = index.search("cat", 10);
  ASSERT_EQ(hits.size(), 2u);  // D3 matches nothing and is not returned
  EXPECT_EQ(hits[0].id, 2);
  EXPECT_NEAR(hits[0].score, 0.5908617053374963, kTol);
  EXPECT_EQ(hits[1].id, 1);
  EXPECT_NEAR(hits[1].score, 0.4700036292457356, kTol);
}

TEST_F(Bm25HandComputed, TwoTermScoresAndContributions) {
  const auto hits = index.search("Which cats chase? cats!", 10);  // repeated term counts once
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].id, 2);
  EXPECT_NEAR(hits[0].score, 1.0044648990737437, kTol);
  ASSERT_EQ(hits[0].terms.size(), 2u);
  EXPECT_EQ(hits[0].terms[0].term, "cat");  // largest contribution first
  EXPECT_NEAR(hits[0].terms[0].score, 0.5908617053374963, kTol);
  EXPECT_EQ(hits[0].terms[1].term, "chase");
  EXPECT_NEAR(hits[0].terms[1].score, 0.4136031937362474, kTol);
  EXPECT_EQ(hits[1].id, 1);
  EXPECT_NEAR(hits[1].score, 0.9400072584914713, kTol);
  EXPECT_NEAR(index.score(1, "cats chase").score, 0.9400072584914713, kTol);
  EXPECT_EQ(index.score(3, "cats chase").score, 0.0);
}

TEST_F(Bm25HandComputed, TopKAndNoMatch) {
  EXPECT_EQ(index.search("cat", 1).size(), 1u);
  EXPECT_TRUE(index.search("cat", 0).empty());
  EXPECT_TRUE(index.search("zebra", 5).empty());
  EXPECT_TRUE(index.search("the of and", 5).empty());
}

TEST_F(Bm25HandComputed, RemoveUpdatesStatistics) {
  EXPECT_TRUE(index.remove(2));
  EXPECT_FALSE(index.remove(2));
  EXPECT_EQ(index.size(), 2u);
  EXPECT_NEAR(index.average_length(), 2.5, kTol);
  // N = 2, df(cat) = 1: idf = ln(1 + 1.5/1.5) = ln 2; D1: tf 1, |D|/avgdl = 1.2.
  const auto hits = index.search("cat", 10);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].id, 1);
  EXPECT_NEAR(hits[0].score, std::log(2.0) * 2.2 / (1.0 + 1.2 * (0.25 + 0.75 * 1.2)), kTol);
  // The freed slot is reused by a new document.
  index.add(7, "cat");
  EXPECT_EQ(index.search("cat", 10).size(), 2u);
}

TEST_F(Bm25HandComputed, UpdateReplacesText) {
  index.update(3, "a cat sings");
  index.update(9, "new memory about cats");  // update of an absent id adds it
  EXPECT_EQ(index.size(), 4u);
  EXPECT_EQ(index.search("bird", 10).size(), 0u);
  EXPECT_EQ(index.search("cat", 10).size(), 4u);
  EXPECT_EQ(index.search("sing", 10).at(0).id, 3);
}

TEST_F(Bm25HandComputed, DuplicateIdThrowsAndLeavesIndexUnchanged) {
  EXPECT_THROW(index.add(1, "other"), std::invalid_argument);
  EXPECT_THROW(index.add(5, "bad \xc3"), std::invalid_argument);
  EXPECT_THROW(index.update(1, "bad \xc3"), std::invalid_argument);
  EXPECT_EQ(index.size(), 3u);
  EXPECT_EQ(index.search("mice", 10).at(0).id, 1);
}

TEST(Bm25Index, TiesGoToTheSmallerId) {
  Bm25Index index;
  index.add(30, "apple pie");
  index.add(10, "apple pie");
  index.add(20, "apple pie");
  const auto hits = index.search("apple", 3);
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0].id, 10);
  EXPECT_EQ(hits[1].id, 20);
  EXPECT_EQ(hits[2].id, 30);
}

TEST(Bm25Index, EmptyTextIsIndexedButNeverMatches) {
  Bm25Index index;
  index.add(1, "");
  index.add(2, "hello");
  EXPECT_EQ(index.size(), 2u);
  EXPECT_EQ(index.search("hello", 5).size(), 1u);
}

TEST(Bm25Index, RejectsBadParameters) {
  EXPECT_THROW(Bm25Index(Bm25Params{.k1 = -1.0}), std::invalid_argument);
  EXPECT_THROW(Bm25Index(Bm25Params{.b = 1.5}), std::invalid_argument);
}

}  // namespace
}  // namespace kindred::memory
