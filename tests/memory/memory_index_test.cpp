// Hybrid memory search: RRF fusion, explanations, writes, concurrent reads.
#include "memory/memory_index.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>
#include <vector>

namespace kindred::memory {
namespace {

using Vec = std::vector<float>;

double rrf(int rank) { return 1.0 / (MemoryIndex::kRrfK + rank); }

TEST(MemoryIndex, Bm25AloneWithoutEmbeddings) {
  MemoryIndex index;
  index.add(1, "My sister's name is Ayesha.");
  index.add(2, "My sister called me yesterday.");
  index.add(3, "The weather is lovely.");
  EXPECT_EQ(index.size(), 3u);
  const auto hits = index.search("What is my sister's name?", {}, 8);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].id, 1);
  EXPECT_DOUBLE_EQ(hits[0].score, rrf(1));
  EXPECT_GT(hits[0].bm25, hits[1].bm25);
  EXPECT_EQ(hits[0].cosine, 0.0);
  EXPECT_EQ(hits[0].why.rfind("matched 'name', 'sister' (bm25 ", 0), 0u) << hits[0].why;
  EXPECT_EQ(hits[1].id, 2);
  EXPECT_DOUBLE_EQ(hits[1].score, rrf(2));
  EXPECT_EQ(hits[1].why.rfind("matched 'sister' (bm25 ", 0), 0u) << hits[1].why;
}

TEST(MemoryIndex, FusionRewardsAgreementAndFindsWordlessMatches) {
  MemoryIndex index;
  // A: best words, no embedding. B: no shared words, closest vector. C: second on both.
  index.add(1, "peanut peanut allergy");
  index.add(2, "I react badly to groundnuts", Vec{1, 0, 0});
  index.add(3, "peanut butter sandwiches are tasty", Vec{1, 1, 0});
  index.add(4, "the weather today", Vec{0, 0, 1});
  const Vec query{1, 0.2f, 0};
  const auto hits = index.search("peanut allergy", query, 3);
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0].id, 3);  // rank 2 in both rankings
  EXPECT_DOUBLE_EQ(hits[0].score, rrf(2) + rrf(2));
  EXPECT_EQ(hits[1].id, 1);  // rank 1 in BM25 only; ties with B, more BM25
  EXPECT_DOUBLE_EQ(hits[1].score, rrf(1));
  EXPECT_EQ(hits[1].cosine, 0.0);
  EXPECT_EQ(hits[2].id, 2);  // rank 1 by vector only
  EXPECT_DOUBLE_EQ(hits[2].score, rrf(1));
  EXPECT_EQ(hits[2].bm25, 0.0);
  EXPECT_NEAR(hits[2].cosine, 0.9806, 1e-4);
  EXPECT_EQ(hits[2].why, "similarity 0.98") << hits[2].why;
  EXPECT_NE(hits[0].why.find("matched 'peanut' (bm25 "), std::string::npos) << hits[0].why;
  EXPECT_NE(hits[0].why.find("; similarity 0.83"), std::string::npos) << hits[0].why;
  // Without a query embedding, only BM25 counts.
  const auto text_only = index.search("peanut allergy", {}, 3);
  ASSERT_EQ(text_only.size(), 2u);
  EXPECT_EQ(text_only[0].id, 1);
  EXPECT_EQ(text_only[1].id, 3);
}

TEST(MemoryIndex, WritesAndErrors) {
  MemoryIndex index;
  index.add(1, "old text about tennis", Vec{1, 0});
  EXPECT_THROW(index.add(1, "again"), std::invalid_argument);
  EXPECT_THROW(index.add(2, "wrong size", Vec{1, 0, 0}), std::invalid_argument);
  EXPECT_THROW(index.add(3, "bad \xff"), std::invalid_argument);
  EXPECT_EQ(index.size(), 1u);
  EXPECT_FALSE(index.contains(2));

  index.update(1, "new text about chess", Vec{0, 1});
  EXPECT_TRUE(index.search("tennis", {}, 5).empty());
  EXPECT_EQ(index.search("chess", Vec{0, 1}, 5).at(0).id, 1);
  EXPECT_THROW(index.update(1, "bad \xff"), std::invalid_argument);
  EXPECT_EQ(index.search("chess", {}, 5).size(), 1u);  // the failed update kept the old memory
  EXPECT_THROW(index.search("chess", Vec{1, 0, 0}, 5), std::invalid_argument);

  index.remove(1);
  EXPECT_THROW(index.remove(1), std::invalid_argument);
  EXPECT_EQ(index.size(), 0u);
  EXPECT_TRUE(index.search("chess", Vec{0, 1}, 5).empty());
  EXPECT_TRUE(index.search("anything", {}, 0).empty());
}

TEST(MemoryIndex, ConcurrentSearchesAgree) {
  MemoryIndex index;
  for (int i = 0; i < 500; ++i) {
    index.add(i, "memory number " + std::to_string(i) + " about topic " + std::to_string(i % 17),
              Vec{static_cast<float>(i % 7) + 1.0f, static_cast<float>(i % 11), 1.0f});
  }
  const Vec q{1, 2, 3};
  const auto expected = index.search("topic 5", q, 8);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < 50; ++n) {
        const auto got = index.search("topic 5", q, 8);
        for (size_t r = 0; r < got.size(); ++r) mismatches[t] += got[r].id != expected[r].id || got[r].why != expected[r].why;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

}  // namespace
}  // namespace kindred::memory
