// Incremental Okapi BM25 inverted index over short texts keyed by int64 id.
//
// Scoring (Robertson & Zaragoza 2009, with the Lucene non-negative idf):
//   score(D, Q) = Σ_{t ∈ Q, unique} idf(t) · tf(t,D)·(k1+1) / (tf(t,D) + k1·(1 − b + b·|D|/avgdl))
//   idf(t)      = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))
// with N the number of documents, df(t) how many contain t, |D| the document's term count
// and avgdl the mean |D| over the index (kept as a running total, so adds are incremental).
// Defaults k1 = 1.2 (tf saturation) and b = 0.75 (length normalisation) are the usual ones.
// A term repeated in the query counts once. Terms come from text_terms() (text_terms.h).
//
// Ranking is by score descending, ties to the smaller id, so results are deterministic.
// Thread safety: const members may run concurrently; writes need external exclusion.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kindred::memory {

struct Bm25Params {
  double k1 = 1.2;
  double b = 0.75;
};

// One query term's share of a document's score, for explaining a hit.
struct TermContribution {
  std::string term;
  double score = 0.0;
};

struct Bm25Hit {
  int64_t id = 0;
  double score = 0.0;
  std::vector<TermContribution> terms;  // matched terms, largest contribution first
};

class Bm25Index {
 public:
  explicit Bm25Index(Bm25Params params = {});

  // Indexes `text` under `id`; throws std::invalid_argument if `id` is already present.
  void add(int64_t id, std::string_view text);
  // Replaces the text of `id`, or adds it if absent.
  void update(int64_t id, std::string_view text);
  // Removes `id`; returns false if it was not present.
  bool remove(int64_t id);

  bool contains(int64_t id) const { return slot_of_.count(id) != 0; }
  size_t size() const { return slot_of_.size(); }
  size_t vocabulary_size() const;  // terms with at least one document
  double average_length() const;

  // The best `k` documents with a positive score for `query`.
  std::vector<Bm25Hit> search(std::string_view query, size_t k) const;
  // The score of one document for `query` (0 if absent or nothing matches), with its terms.
  Bm25Hit score(int64_t id, std::string_view query) const;
  // The same for many documents, parsing the query once.
  std::vector<Bm25Hit> score(std::span<const int64_t> ids, std::string_view query) const;
  // idf of an already-normalised term (see text_terms), 0-df terms included.
  double idf(std::string_view term) const;

 private:
  struct Posting {
    uint32_t slot;    // index into docs_
    uint32_t tf;
    uint32_t length;  // the document's, copied here so that scoring reads postings only
  };
  struct Doc {
    int64_t id = 0;
    uint32_t length = 0;  // term count; 0 with no terms is a valid (never matching) doc
    bool live = false;
    std::vector<std::pair<uint32_t, uint32_t>> terms;  // (term id, tf), sorted by term id
  };
  struct QueryTerm {
    uint32_t term;
    double idf;
  };

  std::vector<QueryTerm> query_terms(std::string_view query) const;
  double term_score(double idf, uint32_t tf, uint32_t length, double avgdl) const;
  Bm25Hit explain(uint32_t slot, const std::vector<QueryTerm>& query) const;

  Bm25Params params_;
  std::unordered_map<std::string, uint32_t> term_ids_;
  std::vector<std::string> term_text_;          // by term id
  std::vector<std::vector<Posting>> postings_;  // by term id, unordered
  std::vector<Doc> docs_;                       // by slot; dead slots are reused
  std::vector<int64_t> slot_ids_;               // docs_[slot].id, compact for ranking
  std::vector<uint32_t> free_slots_;
  std::unordered_map<int64_t, uint32_t> slot_of_;
  uint64_t total_length_ = 0;
};

}  // namespace kindred::memory
