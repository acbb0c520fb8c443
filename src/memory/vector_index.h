// Cosine-similarity search over embeddings keyed by int64 id.
//
// Vectors are normalised on entry and stored contiguously (row-major floats). A plain float
// scan at 100k × 384 dims reads 150 MB, about 17 ms of CPU on the development box, so:
//
// Exact path (search_exact; what search() uses up to VectorSearchOptions::exact_up_to floats):
//   1. A pre-filter over int8 copies (each row quantised with its own scale, 4× less memory
//      traffic) gives an approximate score a_i and a rigorous error bound e_i, from the norm
//      r of each side's quantisation residual:  |q·v − q̃·ṽ| ≤ ‖q‖·r_v + ‖ṽ‖·r_q.
//      T is the k-th largest lower bound a_i − e_i.
//   2. Only rows whose upper bound a_i + e_i reaches T are rescored with the float vectors.
//   Every row of the true top-k passes step 2, so results equal a full float scan (up to float
//   rounding, covered by a small slack).
// Large indexes (search_binary): the int8 pass is memory-bound (38 MB at 100k × 384, ~6 ms
// measured), over budget, so search() first keeps the max(min_candidates, candidates_per_k·k)
// rows whose sign bits are nearest in Hamming distance (48 bytes a row at 384 dims), then
// scores those exactly. This is approximate: a true neighbour whose signs disagree a lot can be
// missed. Tests measure its recall against the exact path.
//
// Ranking is by cosine descending, ties to the smaller id.
// The dimension is given to the constructor or, if 0, fixed by the first vector added; only
// clear() forgets it. Zero, non-finite or wrongly sized vectors throw std::invalid_argument.
// Thread safety: const members may run concurrently; writes need external exclusion.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

namespace kindred::memory {

struct VectorHit {
  int64_t id = 0;
  double cosine = 0.0;
};

struct VectorSearchOptions {
  size_t exact_up_to = 4'000'000;  // rows × dim up to which search() is exact (~10k × 384)
  size_t min_candidates = 2000;    // sign-bit candidates rescored exactly, at least
  size_t candidates_per_k = 40;    // ... and at least this many per requested hit
};

class VectorIndex {
 public:
  explicit VectorIndex(size_t dim = 0, VectorSearchOptions options = {}) : dim_(dim), options_(options) {}

  // Adds `id`; throws std::invalid_argument if it is already present or the vector is bad.
  void add(int64_t id, std::span<const float> embedding);
  // Replaces the vector of `id`, or adds it.
  void update(int64_t id, std::span<const float> embedding);
  // Removes `id`; returns false if it was not present.
  bool remove(int64_t id);
  // Drops everything, including the dimension.
  void clear();

  bool contains(int64_t id) const { return row_of_.count(id) != 0; }
  size_t size() const { return ids_.size(); }
  size_t dim() const { return dim_; }

  // The `k` most similar vectors to `query` (any non-zero length-dim() vector): search_exact
  // for indexes up to options.exact_up_to floats, search_binary above.
  std::vector<VectorHit> search(std::span<const float> query, size_t k) const;
  std::vector<VectorHit> search_exact(std::span<const float> query, size_t k) const;
  std::vector<VectorHit> search_binary(std::span<const float> query, size_t k) const;
  // Cosine between `query` and the vector of `id`; throws std::out_of_range if absent.
  double cosine(int64_t id, std::span<const float> query) const;
  // The same for many ids, normalising the query once.
  std::vector<double> cosines(std::span<const int64_t> ids, std::span<const float> query) const;
  // The plain float scan that search() must agree with (tests and benchmarks).
  std::vector<VectorHit> search_exhaustive(std::span<const float> query, size_t k) const;

 private:
  // A vector normalised and quantised: the stored form of a row or a query.
  struct Encoded {
    std::vector<float> unit;
    std::vector<int8_t> codes;
    float scale = 0.0f;     // unit[j] ≈ codes[j] * scale
    float residual = 0.0f;  // ‖unit − codes·scale‖
    std::vector<uint64_t> signs;  // bit j set when unit[j] < 0
  };
  Encoded encode(std::span<const float> v, const char* what) const;

  size_t sign_words() const { return (dim_ + 63) / 64; }

  size_t dim_ = 0;
  VectorSearchOptions options_;
  std::vector<float> unit_;     // size() × dim_, normalised rows
  std::vector<int8_t> codes_;   // size() × dim_
  std::vector<float> scales_;   // per row
  std::vector<float> residuals_;  // per row
  std::vector<uint64_t> signs_;   // size() × sign_words()
  std::vector<int64_t> ids_;    // per row
  std::unordered_map<int64_t, size_t> row_of_;
};

}  // namespace kindred::memory
