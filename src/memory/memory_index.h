// Long-term memory retrieval (memory level 3): hybrid BM25 + embedding search over memories.
//
// Each memory is a text with an int64 id and, optionally, an embedding (the model's pooled
// hidden state, computed elsewhere). search() ranks the memories two ways, BM25 over the text
// (bm25_index.h) and cosine similarity of embeddings (vector_index.h), and fuses the two
// rankings by reciprocal-rank fusion (Cormack et al. 2009):
//   score(d) = Σ_{rankings containing d} 1 / (60 + rank(d)),   rank starting at 1.
// Each ranking contributes its best max(k, 50) memories. Without a query embedding, or with no
// embedded memories, the ranking is BM25's alone. RRF needs no calibration between BM25 scores
// (unbounded) and cosines ([-1, 1]), which is why it is used rather than a weighted sum.
// Ties are broken by BM25 score, then cosine, then the smaller id. The embedding ranking is
// exact up to ~10k memories at 384 dims and approximate (sign-bit pre-filter) above: see
// vector_index.h.
//
// Thread safety: const members (search, size) may run concurrently from many threads; add,
// update and remove need external exclusion (e.g. a std::shared_mutex held exclusively).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "memory/bm25_index.h"
#include "memory/vector_index.h"

namespace kindred::memory {

struct MemoryHit {
  int64_t id = 0;
  double score = 0.0;   // the fused RRF score; higher is better
  double bm25 = 0.0;    // the memory's BM25 score for the query (0: no term matched)
  double cosine = 0.0;  // embedding similarity; 0 when the query or the memory has none
  std::string why;      // e.g. "matched 'sister', 'name' (bm25 7.1); similarity 0.62"
};

class MemoryIndex {
 public:
  static constexpr int kRrfK = 60;         // the RRF constant from the paper
  static constexpr size_t kMinDepth = 50;  // how deep each ranking is read

  // Adds a memory; throws std::invalid_argument if `id` exists, the text is not UTF-8, or the
  // embedding is zero, non-finite or of another size than earlier ones. On a throw the index is
  // unchanged.
  void add(int64_t id, std::string_view text, std::span<const float> embedding = {});
  // Replaces memory `id` (text and embedding), or adds it.
  void update(int64_t id, std::string_view text, std::span<const float> embedding = {});
  // Removes memory `id`; throws std::invalid_argument if there is none.
  void remove(int64_t id);

  size_t size() const { return bm25_.size(); }
  bool contains(int64_t id) const { return bm25_.contains(id); }
  size_t embedding_dim() const { return vectors_.dim(); }

  // The best `k` memories for `query`; `query_embedding` may be empty. k <= 0 gives none.
  // Throws std::invalid_argument for a query embedding that is zero, non-finite or of another
  // size than the stored ones.
  std::vector<MemoryHit> search(std::string_view query, std::span<const float> query_embedding,
                                int k) const;

 private:
  Bm25Index bm25_;
  VectorIndex vectors_;
};

}  // namespace kindred::memory
