// Incremental Okapi BM25: postings per term, a running total length, dense score accumulation.
#include "memory/bm25_index.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "memory/text_terms.h"

namespace kindred::memory {

Bm25Index::Bm25Index(Bm25Params params) : params_(params) {
  if (!(params.k1 >= 0.0) || !(params.b >= 0.0 && params.b <= 1.0)) {
    throw std::invalid_argument("Bm25Index: need k1 >= 0 and 0 <= b <= 1");
  }
}

void Bm25Index::add(int64_t id, std::string_view text) {
  if (contains(id)) {
    throw std::invalid_argument("Bm25Index::add: id " + std::to_string(id) + " is already indexed");
  }
  // Build the document fully before touching the index, so a throw leaves it unchanged.
  const std::vector<std::string> terms = text_terms(text);
  if (terms.size() > std::numeric_limits<uint32_t>::max()) {
    throw std::invalid_argument("Bm25Index::add: text too long");
  }
  if (free_slots_.empty() && docs_.size() >= std::numeric_limits<uint32_t>::max()) {
    throw std::length_error("Bm25Index::add: too many documents");
  }
  Doc doc;
  doc.id = id;
  doc.live = true;
  doc.length = static_cast<uint32_t>(terms.size());
  for (const std::string& term : terms) {
    auto [it, inserted] = term_ids_.try_emplace(term, static_cast<uint32_t>(term_text_.size()));
    if (inserted) {
      term_text_.push_back(term);
      postings_.emplace_back();
    }
    doc.terms.emplace_back(it->second, 1);
  }
  // Merge duplicate terms into (term id, tf).
  std::sort(doc.terms.begin(), doc.terms.end());
  size_t out = 0;
  for (size_t i = 0; i < doc.terms.size(); ++i) {
    if (out > 0 && doc.terms[out - 1].first == doc.terms[i].first) {
      ++doc.terms[out - 1].second;
    } else {
      doc.terms[out++] = doc.terms[i];
    }
  }
  doc.terms.resize(out);
  doc.terms.shrink_to_fit();

  uint32_t slot = 0;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(docs_.size());
    docs_.emplace_back();
    slot_ids_.push_back(0);
  }
  for (const auto& [term, tf] : doc.terms) postings_[term].push_back({slot, tf, doc.length});
  slot_ids_[slot] = id;
  total_length_ += doc.length;
  docs_[slot] = std::move(doc);
  slot_of_.emplace(id, slot);
}

void Bm25Index::update(int64_t id, std::string_view text) {
  // Tokenise first so that invalid text leaves the old version in place.
  (void)text_terms(text);
  remove(id);
  add(id, text);
}

bool Bm25Index::remove(int64_t id) {
  const auto found = slot_of_.find(id);
  if (found == slot_of_.end()) return false;
  const uint32_t slot = found->second;
  Doc& doc = docs_[slot];
  for (const auto& [term, tf] : doc.terms) {
    std::vector<Posting>& list = postings_[term];
    // Postings are unordered, so removal is a swap with the last one.
    auto it = std::find_if(list.begin(), list.end(), [slot](const Posting& p) { return p.slot == slot; });
    *it = list.back();
    list.pop_back();
  }
  total_length_ -= doc.length;
  doc = Doc{};
  free_slots_.push_back(slot);
  slot_of_.erase(found);
  return true;
}

size_t Bm25Index::vocabulary_size() const {
  return static_cast<size_t>(std::count_if(postings_.begin(), postings_.end(),
                                           [](const auto& list) { return !list.empty(); }));
}

double Bm25Index::average_length() const {
  return slot_of_.empty() ? 0.0 : static_cast<double>(total_length_) / static_cast<double>(slot_of_.size());
}

double Bm25Index::idf(std::string_view term) const {
  const auto it = term_ids_.find(std::string(term));
  const double df = it == term_ids_.end() ? 0.0 : static_cast<double>(postings_[it->second].size());
  const double n = static_cast<double>(slot_of_.size());
  return std::log(1.0 + (n - df + 0.5) / (df + 0.5));
}

std::vector<Bm25Index::QueryTerm> Bm25Index::query_terms(std::string_view query) const {
  std::vector<QueryTerm> out;
  for (const std::string& term : text_terms(query)) {
    const auto it = term_ids_.find(term);
    if (it == term_ids_.end() || postings_[it->second].empty()) continue;  // matches nothing
    if (std::any_of(out.begin(), out.end(), [&](const QueryTerm& q) { return q.term == it->second; })) {
      continue;  // a repeated query term counts once
    }
    out.push_back({it->second, idf(term)});
  }
  return out;
}

double Bm25Index::term_score(double idf, uint32_t tf, uint32_t length, double avgdl) const {
  const double norm = avgdl > 0.0 ? static_cast<double>(length) / avgdl : 0.0;
  const double f = static_cast<double>(tf);
  return idf * f * (params_.k1 + 1.0) / (f + params_.k1 * (1.0 - params_.b + params_.b * norm));
}

Bm25Hit Bm25Index::explain(uint32_t slot, const std::vector<QueryTerm>& query) const {
  const Doc& doc = docs_[slot];
  Bm25Hit hit{.id = doc.id};
  for (const QueryTerm& q : query) {
    const auto it = std::lower_bound(doc.terms.begin(), doc.terms.end(), std::make_pair(q.term, 0u));
    if (it == doc.terms.end() || it->first != q.term) continue;
    const double s = term_score(q.idf, it->second, doc.length, average_length());
    hit.score += s;
    hit.terms.push_back({term_text_[q.term], s});
  }
  std::stable_sort(hit.terms.begin(), hit.terms.end(),
                   [](const TermContribution& a, const TermContribution& b) { return a.score > b.score; });
  return hit;
}

Bm25Hit Bm25Index::score(int64_t id, std::string_view query) const {
  return score(std::span<const int64_t>(&id, 1), query).front();
}

std::vector<Bm25Hit> Bm25Index::score(std::span<const int64_t> ids, std::string_view query) const {
  const std::vector<QueryTerm> terms = query_terms(query);
  std::vector<Bm25Hit> hits;
  hits.reserve(ids.size());
  for (int64_t id : ids) {
    const auto found = slot_of_.find(id);
    hits.push_back(found == slot_of_.end() ? Bm25Hit{.id = id} : explain(found->second, terms));
  }
  return hits;
}

std::vector<Bm25Hit> Bm25Index::search(std::string_view text, size_t k) const {
  const std::vector<QueryTerm> query = query_terms(text);
  const double avgdl = average_length();
  if (query.empty() || k == 0) return {};
  // Dense accumulation: one pass over each matched term's postings.
  std::vector<double> acc(docs_.size(), 0.0);
  std::vector<uint32_t> touched;
  for (const QueryTerm& q : query) {
    for (const Posting& p : postings_[q.term]) {
      if (acc[p.slot] == 0.0) touched.push_back(p.slot);
      acc[p.slot] += term_score(q.idf, p.tf, p.length, avgdl);
    }
  }
  // idf > 0 and tf > 0 make every touched score positive, so `touched` has no duplicates.
  // Select on (score, id) pairs held together: cheaper than comparing through two lookups.
  struct Ranked {
    double score;
    int64_t id;
    uint32_t slot;
  };
  std::vector<Ranked> ranked;
  ranked.reserve(touched.size());
  for (uint32_t slot : touched) ranked.push_back({acc[slot], slot_ids_[slot], slot});
  const auto better = [](const Ranked& a, const Ranked& b) { return a.score != b.score ? a.score > b.score : a.id < b.id; };
  const size_t n = std::min(k, ranked.size());
  const auto nth = ranked.begin() + static_cast<std::ptrdiff_t>(n);
  if (n < ranked.size()) std::nth_element(ranked.begin(), nth, ranked.end(), better);
  std::sort(ranked.begin(), nth, better);
  std::vector<Bm25Hit> hits;
  hits.reserve(n);
  for (size_t i = 0; i < n; ++i) hits.push_back(explain(ranked[i].slot, query));
  return hits;
}

}  // namespace kindred::memory
