// Cosine search: an int8 pre-filter with rigorous error bounds (exact) or a sign-bit Hamming
// pre-filter (approximate, large indexes), then float rescoring.
#include "memory/vector_index.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <queue>
#include <stdexcept>
#include <string>

#include "memory/vector_kernels.h"

namespace kindred::memory {
namespace {

// Covers float rounding in the scores themselves (≈ dim · 2^-24 for unit vectors at 2048 dims).
constexpr float kRoundingSlack = 2e-4f;

bool better(const VectorHit& a, const VectorHit& b) {
  return a.cosine != b.cosine ? a.cosine > b.cosine : a.id < b.id;
}

}  // namespace

VectorIndex::Encoded VectorIndex::encode(std::span<const float> v, const char* what) const {
  if (v.empty()) throw std::invalid_argument(std::string(what) + ": empty vector");
  // Hamming distances are uint16 and int8 dot products int32 (see vector_kernels.h).
  if (v.size() > 65535) throw std::invalid_argument(std::string(what) + ": more than 65535 dimensions");
  if (dim_ != 0 && v.size() != dim_) {
    throw std::invalid_argument(std::string(what) + ": vector has " + std::to_string(v.size()) +
                                " dimensions, the index has " + std::to_string(dim_));
  }
  double norm2 = 0.0;
  for (float x : v) {
    if (!std::isfinite(x)) throw std::invalid_argument(std::string(what) + ": non-finite component");
    norm2 += static_cast<double>(x) * x;
  }
  if (!(norm2 > 0.0) || !std::isfinite(norm2)) {
    throw std::invalid_argument(std::string(what) + ": zero or overflowing vector has no direction");
  }
  Encoded e;
  const double inv = 1.0 / std::sqrt(norm2);
  e.unit.resize(v.size());
  float max_abs = 0.0f;
  for (size_t j = 0; j < v.size(); ++j) {
    e.unit[j] = static_cast<float>(v[j] * inv);
    max_abs = std::max(max_abs, std::fabs(e.unit[j]));
  }
  e.scale = max_abs / 127.0f;
  e.codes.resize(v.size());
  double res2 = 0.0;
  for (size_t j = 0; j < v.size(); ++j) {
    const float c = std::clamp(std::nearbyint(e.unit[j] / e.scale), -127.0f, 127.0f);
    e.codes[j] = static_cast<int8_t>(c);
    const double d = static_cast<double>(e.unit[j]) - static_cast<double>(c) * e.scale;
    res2 += d * d;
  }
  // Round the residual up a little so that float storage never understates it.
  e.residual = static_cast<float>(std::sqrt(res2) * (1.0 + 1e-6));
  e.signs.assign((v.size() + 63) / 64, 0);
  for (size_t j = 0; j < v.size(); ++j) {
    if (e.unit[j] < 0.0f) e.signs[j / 64] |= uint64_t{1} << (j % 64);
  }
  return e;
}

void VectorIndex::add(int64_t id, std::span<const float> embedding) {
  if (contains(id)) {
    throw std::invalid_argument("VectorIndex::add: id " + std::to_string(id) + " is already indexed");
  }
  Encoded e = encode(embedding, "VectorIndex::add");
  dim_ = embedding.size();
  unit_.insert(unit_.end(), e.unit.begin(), e.unit.end());
  codes_.insert(codes_.end(), e.codes.begin(), e.codes.end());
  scales_.push_back(e.scale);
  residuals_.push_back(e.residual);
  signs_.insert(signs_.end(), e.signs.begin(), e.signs.end());
  ids_.push_back(id);
  row_of_.emplace(id, ids_.size() - 1);
}

void VectorIndex::update(int64_t id, std::span<const float> embedding) {
  (void)encode(embedding, "VectorIndex::update");  // validate before removing the old one
  remove(id);
  add(id, embedding);
}

bool VectorIndex::remove(int64_t id) {
  const auto found = row_of_.find(id);
  if (found == row_of_.end()) return false;
  const size_t row = found->second;
  const size_t last = ids_.size() - 1;
  // Keep rows contiguous: the last row moves into the hole.
  if (row != last) {
    std::copy_n(unit_.begin() + static_cast<std::ptrdiff_t>(last * dim_), dim_,
                unit_.begin() + static_cast<std::ptrdiff_t>(row * dim_));
    std::copy_n(codes_.begin() + static_cast<std::ptrdiff_t>(last * dim_), dim_,
                codes_.begin() + static_cast<std::ptrdiff_t>(row * dim_));
    scales_[row] = scales_[last];
    residuals_[row] = residuals_[last];
    std::copy_n(signs_.begin() + static_cast<std::ptrdiff_t>(last * sign_words()), sign_words(),
                signs_.begin() + static_cast<std::ptrdiff_t>(row * sign_words()));
    ids_[row] = ids_[last];
    row_of_[ids_[row]] = row;
  }
  unit_.resize(last * dim_);
  codes_.resize(last * dim_);
  scales_.pop_back();
  residuals_.pop_back();
  signs_.resize(last * sign_words());
  ids_.pop_back();
  row_of_.erase(id);
  return true;
}

void VectorIndex::clear() {
  *this = VectorIndex(0, options_);
}

double VectorIndex::cosine(int64_t id, std::span<const float> query) const {
  return cosines(std::span<const int64_t>(&id, 1), query).front();
}

std::vector<double> VectorIndex::cosines(std::span<const int64_t> ids, std::span<const float> query) const {
  const Encoded q = encode(query, "VectorIndex::cosine");
  std::vector<double> out;
  out.reserve(ids.size());
  for (int64_t id : ids) {
    const auto found = row_of_.find(id);
    if (found == row_of_.end()) {
      throw std::out_of_range("VectorIndex::cosine: id " + std::to_string(id) + " has no vector");
    }
    out.push_back(dot_f32(q.unit.data(), unit_.data() + found->second * dim_, dim_));
  }
  return out;
}

std::vector<VectorHit> VectorIndex::search_exhaustive(std::span<const float> query, size_t k) const {
  if (ids_.empty() || k == 0) return {};
  const Encoded q = encode(query, "VectorIndex::search");
  std::vector<VectorHit> all(ids_.size());
  for (size_t r = 0; r < ids_.size(); ++r) {
    all[r] = {ids_[r], dot_f32(q.unit.data(), unit_.data() + r * dim_, dim_)};
  }
  const size_t n = std::min(k, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(), better);
  all.resize(n);
  return all;
}

std::vector<VectorHit> VectorIndex::search(std::span<const float> query, size_t k) const {
  return ids_.size() * dim_ <= options_.exact_up_to ? search_exact(query, k) : search_binary(query, k);
}

std::vector<VectorHit> VectorIndex::search_binary(std::span<const float> query, size_t k) const {
  if (ids_.empty() || k == 0) return {};
  const Encoded q = encode(query, "VectorIndex::search");
  const size_t n_rows = ids_.size();
  const size_t n_candidates =
      std::min(n_rows, std::max(options_.min_candidates, options_.candidates_per_k * k));
  // Keep the n_candidates rows nearest in Hamming distance (ties at the cut-off distance go to
  // the earliest rows). Distances take at most dim + 1 values, so a histogram finds the
  // cut-off without sorting.
  std::vector<uint16_t> distance(n_rows);
  hamming_rows(q.signs.data(), signs_.data(), n_rows, sign_words(), distance.data());
  std::vector<size_t> histogram(dim_ + 2, 0);
  for (uint16_t d : distance) ++histogram[d];
  size_t cut = 0;
  for (size_t taken = 0; cut <= dim_ && taken + histogram[cut] < n_candidates; ++cut) taken += histogram[cut];
  // Rows at distance < cut all go in; rows at distance == cut fill up to n_candidates.
  size_t room_at_cut = n_candidates;
  for (size_t d = 0; d < cut; ++d) room_at_cut -= histogram[d];
  std::vector<VectorHit> candidates;
  candidates.reserve(n_candidates);
  for (size_t r = 0; r < n_rows; ++r) {
    if (distance[r] < cut || (distance[r] == cut && room_at_cut-- > 0)) {
      candidates.push_back({ids_[r], dot_f32(q.unit.data(), unit_.data() + r * dim_, dim_)});
    }
  }
  const size_t n = std::min(k, candidates.size());
  std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(n),
                    candidates.end(), better);
  candidates.resize(n);
  return candidates;
}

std::vector<VectorHit> VectorIndex::search_exact(std::span<const float> query, size_t k) const {
  if (ids_.empty() || k == 0) return {};
  const Encoded q = encode(query, "VectorIndex::search");
  const size_t n_rows = ids_.size();
  k = std::min(k, n_rows);

  // Pass 1: approximate scores over the int8 rows, in blocks that stay in cache.
  std::vector<float> approx(n_rows);
  std::vector<int32_t> dots(std::min<size_t>(n_rows, 1024));
  for (size_t start = 0; start < n_rows; start += dots.size()) {
    const size_t n = std::min(dots.size(), n_rows - start);
    dot_i8_rows(q.codes.data(), codes_.data() + start * dim_, n, dim_, dots.data());
    for (size_t i = 0; i < n; ++i) {
      approx[start + i] = static_cast<float>(dots[i]) * q.scale * scales_[start + i];
    }
  }
  // |q·v − q̃·ṽ| ≤ ‖q‖·r_v + ‖ṽ‖·r_q, with ‖q‖ = 1 and ‖ṽ‖ ≤ 1 + r_v.
  const auto error = [&](size_t r) {
    return residuals_[r] + (1.0f + residuals_[r]) * q.residual + kRoundingSlack;
  };
  // T: the k-th largest lower bound, from a size-k min-heap.
  std::priority_queue<float, std::vector<float>, std::greater<float>> lows;
  for (size_t r = 0; r < n_rows; ++r) {
    const float low = approx[r] - error(r);
    if (lows.size() < k) {
      lows.push(low);
    } else if (low > lows.top()) {
      lows.pop();
      lows.push(low);
    }
  }
  const float threshold = lows.top();

  // Pass 2: exact float scores for the rows that could still be in the top k.
  std::vector<VectorHit> candidates;
  for (size_t r = 0; r < n_rows; ++r) {
    if (approx[r] + error(r) >= threshold) {
      candidates.push_back({ids_[r], dot_f32(q.unit.data(), unit_.data() + r * dim_, dim_)});
    }
  }
  const size_t n = std::min(k, candidates.size());
  std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(n),
                    candidates.end(), better);
  candidates.resize(n);
  return candidates;
}

}  // namespace kindred::memory
