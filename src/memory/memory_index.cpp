// Hybrid memory search: BM25 and cosine rankings fused by reciprocal-rank fusion.
#include "memory/memory_index.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <unordered_map>

namespace kindred::memory {
namespace {

std::string format_number(const char* fmt, double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, value);
  return buf;
}

std::string explain(const Bm25Hit& bm25, bool has_cosine, double cosine) {
  std::string why;
  if (!bm25.terms.empty()) {
    why = "matched ";
    for (size_t i = 0; i < bm25.terms.size(); ++i) {
      if (i > 0) why += ", ";
      why += "'" + bm25.terms[i].term + "'";
    }
    why += " (bm25 " + format_number("%.1f", bm25.score) + ")";
  }
  if (has_cosine) {
    if (!why.empty()) why += "; ";
    why += "similarity " + format_number("%.2f", cosine);
  }
  return why.empty() ? "no matching words" : why;
}

}  // namespace

void MemoryIndex::add(int64_t id, std::string_view text, std::span<const float> embedding) {
  if (bm25_.contains(id)) {
    throw std::invalid_argument("MemoryIndex::add: memory " + std::to_string(id) + " already exists");
  }
  // The vector is validated first (it can throw), then the text; undo on a throw.
  if (!embedding.empty()) vectors_.add(id, embedding);
  try {
    bm25_.add(id, text);
  } catch (...) {
    vectors_.remove(id);
    throw;
  }
}

void MemoryIndex::update(int64_t id, std::string_view text, std::span<const float> embedding) {
  // Validate the new memory in scratch indexes, so a throw keeps the old one.
  {
    Bm25Index check_text;
    check_text.add(id, text);
    if (!embedding.empty()) {
      VectorIndex check_vector(vectors_.dim());
      check_vector.add(id, embedding);
    }
  }
  if (bm25_.contains(id)) remove(id);
  add(id, text, embedding);
}

void MemoryIndex::remove(int64_t id) {
  if (!bm25_.remove(id)) {
    throw std::invalid_argument("MemoryIndex::remove: no memory " + std::to_string(id));
  }
  vectors_.remove(id);
}

std::vector<MemoryHit> MemoryIndex::search(std::string_view query, std::span<const float> query_embedding,
                                           int k) const {
  if (k <= 0 || size() == 0) return {};
  const size_t depth = std::max(static_cast<size_t>(k), kMinDepth);
  const bool use_vectors = !query_embedding.empty() && vectors_.size() > 0;

  struct Fused {
    double rrf = 0.0;
    Bm25Hit bm25;
    bool has_cosine = false;
    double cosine = 0.0;
  };
  std::unordered_map<int64_t, Fused> fused;
  const std::vector<Bm25Hit> text_hits = bm25_.search(query, depth);
  for (size_t rank = 0; rank < text_hits.size(); ++rank) {
    Fused& f = fused[text_hits[rank].id];
    f.rrf += 1.0 / (kRrfK + static_cast<double>(rank + 1));
    f.bm25 = text_hits[rank];
  }
  if (use_vectors) {
    const std::vector<VectorHit> vector_hits = vectors_.search(query_embedding, depth);
    std::vector<int64_t> vector_only;  // need a BM25 score for the explanation
    for (size_t rank = 0; rank < vector_hits.size(); ++rank) {
      const auto [it, inserted] = fused.try_emplace(vector_hits[rank].id);
      Fused& f = it->second;
      f.rrf += 1.0 / (kRrfK + static_cast<double>(rank + 1));
      f.has_cosine = true;
      f.cosine = vector_hits[rank].cosine;
      if (inserted) vector_only.push_back(vector_hits[rank].id);
    }
    for (Bm25Hit& hit : bm25_.score(vector_only, query)) fused.at(hit.id).bm25 = std::move(hit);
    // BM25-only hits still get their similarity, when they have a vector.
    std::vector<int64_t> text_only;
    for (const auto& [id, f] : fused) {
      if (!f.has_cosine && vectors_.contains(id)) text_only.push_back(id);
    }
    const std::vector<double> cosines = vectors_.cosines(text_only, query_embedding);
    for (size_t i = 0; i < text_only.size(); ++i) {
      Fused& f = fused.at(text_only[i]);
      f.has_cosine = true;
      f.cosine = cosines[i];
    }
  }

  std::vector<MemoryHit> hits;
  hits.reserve(fused.size());
  for (const auto& [id, f] : fused) {
    hits.push_back({.id = id, .score = f.rrf, .bm25 = f.bm25.score, .cosine = f.cosine});
  }
  const auto better = [](const MemoryHit& a, const MemoryHit& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.bm25 != b.bm25) return a.bm25 > b.bm25;
    if (a.cosine != b.cosine) return a.cosine > b.cosine;
    return a.id < b.id;
  };
  const size_t n = std::min(static_cast<size_t>(k), hits.size());
  std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(n), hits.end(), better);
  hits.resize(n);
  // Explanations only for what is returned.
  for (MemoryHit& hit : hits) {
    const Fused& f = fused.at(hit.id);
    hit.why = explain(f.bm25, f.has_cosine, f.cosine);
  }
  return hits;
}

}  // namespace kindred::memory
