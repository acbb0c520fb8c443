// Exact cosine search: hand-made rankings, agreement with a double-precision brute force.
#include "memory/vector_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

namespace kindred::memory {
namespace {

using Vec = std::vector<float>;

TEST(VectorIndex, RanksByCosine) {
  VectorIndex index;
  index.add(1, Vec{1, 1, 0});
  index.add(2, Vec{2, 0, 0});
  index.add(3, Vec{0, 0, 5});
  index.add(4, Vec{-1, 0, 0});
  const auto hits = index.search(Vec{3, 0, 0}, 10);
  ASSERT_EQ(hits.size(), 4u);
  EXPECT_EQ(hits[0].id, 2);
  EXPECT_NEAR(hits[0].cosine, 1.0, 1e-6);
  EXPECT_EQ(hits[1].id, 1);
  EXPECT_NEAR(hits[1].cosine, std::sqrt(0.5), 1e-6);
  EXPECT_EQ(hits[2].id, 3);
  EXPECT_NEAR(hits[2].cosine, 0.0, 1e-6);
  EXPECT_EQ(hits[3].id, 4);
  EXPECT_NEAR(hits[3].cosine, -1.0, 1e-6);
  EXPECT_EQ(index.search(Vec{3, 0, 0}, 2).size(), 2u);
  EXPECT_NEAR(index.cosine(1, Vec{0, 1, 0}), std::sqrt(0.5), 1e-6);
}

TEST(VectorIndex, RemoveAndUpdateKeepRowsConsistent) {
  VectorIndex index;
  for (int i = 0; i < 5; ++i) index.add(i, Vec{1.0f, static_cast<float>(i), 0.0f});
  EXPECT_TRUE(index.remove(0));  // the last row moves into row 0
  EXPECT_FALSE(index.remove(0));
  EXPECT_EQ(index.size(), 4u);
  EXPECT_NEAR(index.cosine(4, Vec{1, 4, 0}), 1.0, 1e-6);
  index.update(2, Vec{0, 0, 1});
  EXPECT_EQ(index.search(Vec{0, 0, 1}, 1).at(0).id, 2);
  EXPECT_THROW(index.cosine(0, Vec{1, 0, 0}), std::out_of_range);
}

TEST(VectorIndex, RejectsBadVectors) {
  VectorIndex index;
  index.add(1, Vec{1, 0, 0});
  EXPECT_THROW(index.add(1, Vec{0, 1, 0}), std::invalid_argument);     // duplicate id
  EXPECT_THROW(index.add(2, Vec{1, 0}), std::invalid_argument);        // wrong size
  EXPECT_THROW(index.add(3, Vec{0, 0, 0}), std::invalid_argument);     // no direction
  EXPECT_THROW(index.add(4, Vec{1, std::numeric_limits<float>::quiet_NaN(), 0}), std::invalid_argument);
  EXPECT_THROW(index.update(1, Vec{1, 0}), std::invalid_argument);
  EXPECT_THROW(index.search(Vec{1, 0}, 1), std::invalid_argument);
  EXPECT_EQ(index.size(), 1u);
  EXPECT_EQ(index.dim(), 3u);
  index.clear();
  index.add(5, Vec{1, 2});  // clear() forgets the dimension
  EXPECT_EQ(index.dim(), 2u);
}

// The pre-filtered search must give exactly the top k of a brute-force scan in double.
void check_against_brute_force(size_t n, size_t dim, bool clustered, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto unit = [&] { return static_cast<float>(static_cast<double>(rng() >> 11) * 0x1.0p-53 - 0.5); };
  Vec centre(dim);
  for (float& x : centre) x = unit();
  auto make = [&] {
    Vec v(dim);
    for (size_t j = 0; j < dim; ++j) v[j] = (clustered ? 2.0f * centre[j] : 0.0f) + unit();
    return v;
  };
  VectorIndex index;
  std::vector<Vec> rows;
  for (size_t i = 0; i < n; ++i) {
    rows.push_back(make());
    index.add(static_cast<int64_t>(i), rows.back());
  }
  for (int trial = 0; trial < 5; ++trial) {
    const Vec q = make();
    std::vector<std::pair<double, int64_t>> truth;
    for (size_t i = 0; i < n; ++i) {
      double dot = 0, nq = 0, nv = 0;
      for (size_t j = 0; j < dim; ++j) {
        dot += double(q[j]) * rows[i][j];
        nq += double(q[j]) * q[j];
        nv += double(rows[i][j]) * rows[i][j];
      }
      truth.emplace_back(-dot / std::sqrt(nq * nv), static_cast<int64_t>(i));
    }
    std::sort(truth.begin(), truth.end());
    for (size_t k : {size_t{1}, size_t{8}, size_t{50}}) {
      const auto hits = index.search_exact(q, k);
      const auto scan = index.search_exhaustive(q, k);
      ASSERT_EQ(hits.size(), k);
      for (size_t r = 0; r < k; ++r) {
        EXPECT_EQ(hits[r].id, scan[r].id) << "rank " << r;
        EXPECT_NEAR(hits[r].cosine, -truth[r].first, 1e-5) << "rank " << r;
      }
    }
  }
}

// Recall of the sign-bit pre-filter against the exact path, on clustered vectors like real
// sentence embeddings (a shared direction + one of 64 topics + noise) and on plain noise.
double binary_recall(bool clustered, size_t k) {
  constexpr size_t kN = 20000, kDim = 384;
  std::mt19937_64 rng(11);
  auto gauss = [&] {
    double s = 0;
    for (int i = 0; i < 4; ++i) s += static_cast<double>(rng() >> 11) * 0x1.0p-53 - 0.5;
    return static_cast<float>(s * std::sqrt(3.0));
  };
  std::vector<Vec> topics(64, Vec(kDim));
  Vec shared(kDim);
  for (auto& t : topics) for (float& x : t) x = gauss();
  for (float& x : shared) x = gauss();
  auto make = [&] {
    const Vec& t = topics[rng() % topics.size()];
    Vec v(kDim);
    for (size_t j = 0; j < kDim; ++j) v[j] = clustered ? 0.6f * shared[j] + t[j] + 0.8f * gauss() : gauss();
    return v;
  };
  VectorIndex index(0, VectorSearchOptions{.exact_up_to = 0});  // search() is the binary path
  for (size_t i = 0; i < kN; ++i) index.add(static_cast<int64_t>(i), make());
  size_t found = 0, total = 0;
  for (int trial = 0; trial < 20; ++trial) {
    const Vec q = make();
    const auto exact = index.search_exact(q, k);
    const auto fast = index.search(q, k);
    for (const auto& e : exact) {
      ++total;
      found += std::any_of(fast.begin(), fast.end(), [&](const VectorHit& h) { return h.id == e.id; });
    }
  }
  return static_cast<double>(found) / static_cast<double>(total);
}

TEST(VectorIndex, BinaryPrefilterRecall) {
  const double clustered8 = binary_recall(true, 8), clustered50 = binary_recall(true, 50);
  const double noise8 = binary_recall(false, 8);
  std::printf("[binary prefilter] recall vs exact, 20k x 384: clustered @8 %.3f @50 %.3f, noise @8 %.3f\n",
              clustered8, clustered50, noise8);
  EXPECT_GE(clustered8, 0.95);
  EXPECT_GE(clustered50, 0.95);
  EXPECT_GE(noise8, 0.5);  // neighbours of pure noise are barely closer than anything else
}

TEST(VectorIndex, SearchPicksThePathBySize) {
  VectorIndex small(0, VectorSearchOptions{.exact_up_to = 1000});
  for (int i = 0; i < 100; ++i) small.add(i, Vec{1.0f, static_cast<float>(i % 10), static_cast<float>(i % 7)});
  const Vec q{1, 2, 3};
  const auto exact = small.search_exact(q, 5);
  const auto chosen = small.search(q, 5);  // 300 floats: exact
  ASSERT_EQ(exact.size(), chosen.size());
  for (size_t r = 0; r < exact.size(); ++r) EXPECT_EQ(exact[r].id, chosen[r].id);
  // Fewer rows than the minimum candidates: the binary path rescored everything, so is exact.
  const auto binary = small.search_binary(q, 5);
  for (size_t r = 0; r < exact.size(); ++r) EXPECT_EQ(exact[r].id, binary[r].id);
}

TEST(VectorIndex, PrefilterIsExactOnRandomVectors) { check_against_brute_force(2000, 64, false, 1); }
TEST(VectorIndex, PrefilterIsExactOnClusteredVectors) { check_against_brute_force(2000, 384, true, 2); }
TEST(VectorIndex, PrefilterIsExactWithOddDimension) { check_against_brute_force(500, 13, true, 3); }

}  // namespace
}  // namespace kindred::memory
