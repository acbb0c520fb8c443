#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

namespace kindred {
namespace {

using detail::Candidate;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kPosInf = std::numeric_limits<float>::infinity();
constexpr float kMaxFloat = std::numeric_limits<float>::max();
constexpr const char* kNothingToSample = "no token can be sampled: every logit is -inf or NaN";

// NaN can never be sampled, and +inf would make the softmax inf/inf, so it becomes the
// largest finite float instead.
float sanitize(float logit) {
  if (std::isnan(logit)) return kNegInf;
  if (logit == kPosInf) return kMaxFloat;
  return logit;
}

template <typename T>
std::string text(T value) {
  std::ostringstream os;
  os << value;
  return os.str();
}

[[noreturn]] void invalid(const char* field, const std::string& why) {
  throw std::invalid_argument(std::string("SamplerParams.") + field + " " + why);
}

void check_unit_interval(const char* field, float value) {
  if (!(value >= 0.0f && value <= 1.0f)) invalid(field, "must be in [0, 1], got " + text(value));
}

void check_finite(const char* field, float value) {
  if (!std::isfinite(value)) invalid(field, "must be finite, got " + text(value));
}

void validate(const SamplerParams& p, int32_t n_vocab) {
  if (n_vocab <= 0) throw std::invalid_argument("Sampler: n_vocab must be positive, got " + text(n_vocab));
  check_finite("temperature", p.temperature);
  check_unit_interval("top_p", p.top_p);
  check_unit_interval("min_p", p.min_p);
  check_unit_interval("typical_p", p.typical_p);
  check_finite("repeat_penalty", p.repeat_penalty);
  if (!(p.repeat_penalty > 0.0f)) invalid("repeat_penalty", "must be > 0, got " + text(p.repeat_penalty));
  check_finite("presence_penalty", p.presence_penalty);
  check_finite("frequency_penalty", p.frequency_penalty);
  if (p.penalty_last_n < -1) {
    invalid("penalty_last_n", "must be >= -1 (-1 = whole history, 0 = off), got " + text(p.penalty_last_n));
  }
  for (const auto& [id, bias] : p.logit_bias) {
    if (id < 0 || id >= n_vocab) {
      invalid("logit_bias", "token id " + text(id) + " is outside [0, " + text(n_vocab) + ")");
    }
    // -inf bans; +inf or NaN have no meaningful "added" value.
    if (std::isnan(bias) || bias == kPosInf) {
      invalid("logit_bias", "value for token " + text(id) + " must be finite or -inf, got " + text(bias));
    }
  }
}

// The canonical candidate order: larger logit first, then lower id. It is a strict total
// order, so every sort and selection below has one possible result on any standard library.
// Function objects rather than functions so that std::sort inlines them.
struct Before {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  }
};
constexpr Before before{};

struct ById {
  bool operator()(const Candidate& a, const Candidate& b) const { return a.id < b.id; }
};

// More typical (smaller |-log p - H|) first, then the canonical order.
struct MoreTypical {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.score < b.score || (a.score == b.score && before(a, b));
  }
};

// Sorts c by `less` only as far as needed to find the shortest prefix whose probability mass
// satisfies enough(mass), and returns its length (c.size() if none does). The prefix ends up
// sorted. Selecting in growing blocks costs O(n) per block instead of a full O(n log n) sort,
// which matters for top-p / typical-p over a whole vocabulary: the mass is usually reached
// within the first few dozen tokens. The result equals that of a full sort.
template <typename Less, typename Enough>
size_t sorted_prefix_reaching(std::vector<Candidate>& c, Less less, Enough enough) {
  double mass = 0.0;
  size_t done = 0;
  size_t block_end = std::min<size_t>(c.size(), 64);
  for (;;) {
    const auto first = c.begin() + static_cast<std::ptrdiff_t>(done);
    const auto last = c.begin() + static_cast<std::ptrdiff_t>(block_end);
    if (block_end < c.size()) std::nth_element(first, last, c.end(), less);
    std::sort(first, last, less);
    for (; done < block_end; ++done) {
      mass += c[done].p;
      if (enough(mass)) return done + 1;
    }
    if (block_end == c.size()) return block_end;
    block_end = std::min(c.size(), block_end * 4);
  }
}

// Fills c with (id, logit) for every token above -inf (NaN never is), with +inf clamped to
// the largest float. With k > 0 it applies top-k on the way, keeping a heap of the k best so
// far (its front is the worst of them): once the heap is full most tokens cost one
// comparison, where selecting from a list of the whole vocabulary would move every token.
// c is then left as a heap.
void load_candidates(std::span<const float> logits, size_t k, std::vector<Candidate>& c) {
  const auto n = static_cast<int32_t>(logits.size());
  const auto at = [&](int32_t id) { return std::min(logits[static_cast<size_t>(id)], kMaxFloat); };
  if (k == 0) {
    for (int32_t id = 0; id < n; ++id) {
      const float l = at(id);
      if (l > kNegInf) c.push_back({.id = id, .logit = l, .p = 0.0, .score = 0.0});
    }
    return;
  }
  int32_t id = 0;
  for (; id < n && c.size() < k; ++id) {
    const float l = at(id);
    if (l > kNegInf) {
      c.push_back({.id = id, .logit = l, .p = 0.0, .score = 0.0});
      std::push_heap(c.begin(), c.end(), before);
    }
  }
  float worst = c.empty() ? kNegInf : c.front().logit;
  for (; id < n; ++id) {
    const float l = at(id);
    // Ids ascend, so a tie with the worst kept token never displaces it.
    if (l > worst) {
      std::pop_heap(c.begin(), c.end(), before);
      c.back() = {.id = id, .logit = l, .p = 0.0, .score = 0.0};
      std::push_heap(c.begin(), c.end(), before);
      worst = c.front().logit;
    }
  }
}

float max_logit(const std::vector<Candidate>& c) {
  float m = kNegInf;
  for (const Candidate& x : c) m = std::max(m, x.logit);
  return m;
}

// p = softmax(logit / temperature) over c, temperature > 0. Computed as exp((l - max) / T)
// in double so huge logits or tiny temperatures neither overflow nor lose the maximum.
void softmax(std::vector<Candidate>& c, double temperature) {
  const double top = max_logit(c);
  double sum = 0.0;
  for (Candidate& x : c) {
    x.p = std::exp((static_cast<double>(x.logit) - top) / temperature);
    sum += x.p;
  }
  // sum >= 1: the maximum contributes exp(0).
  for (Candidate& x : c) x.p /= sum;
}

void typical(std::vector<Candidate>& c, float typical_p) {
  if (typical_p >= 1.0f) return;
  softmax(c, 1.0);
  double entropy = 0.0;
  for (const Candidate& x : c) {
    if (x.p > 0.0) entropy -= x.p * std::log(x.p);
  }
  for (Candidate& x : c) {
    x.score = x.p > 0.0 ? std::abs(-std::log(x.p) - entropy) : std::numeric_limits<double>::infinity();
  }
  const size_t keep = sorted_prefix_reaching(c, MoreTypical{}, [=](double mass) { return mass > typical_p; });
  c.erase(c.begin() + static_cast<std::ptrdiff_t>(keep), c.end());
}

void top_p(std::vector<Candidate>& c, float top_p) {
  if (top_p >= 1.0f) return;
  softmax(c, 1.0);
  const size_t keep = sorted_prefix_reaching(c, before, [=](double mass) { return mass >= top_p; });
  c.erase(c.begin() + static_cast<std::ptrdiff_t>(keep), c.end());
}

// p_i >= min_p * p_max  <=>  logit_i >= logit_max + log(min_p); no softmax needed. The
// maximum always passes since log(min_p) <= 0. erase_if keeps the order.
void min_p(std::vector<Candidate>& c, float min_p) {
  if (min_p <= 0.0f) return;
  const double threshold = static_cast<double>(max_logit(c)) + std::log(static_cast<double>(min_p));
  std::erase_if(c, [threshold](const Candidate& x) { return static_cast<double>(x.logit) < threshold; });
}

// The documented uniform double in [0, 1): the top 53 bits of one 64-bit output.
double uniform01(uint64_t bits) { return static_cast<double>(bits >> 11) * 0x1.0p-53; }

}  // namespace

Sampler::Sampler(SamplerParams params, int32_t n_vocab) : params_(std::move(params)), n_vocab_(n_vocab) {
  validate(params_, n_vocab_);
  penalties_active_ = params_.penalty_last_n != 0 &&
                      (params_.repeat_penalty != 1.0f || params_.presence_penalty != 0.0f ||
                       params_.frequency_penalty != 0.0f);
  if (!params_.logit_bias.empty()) {
    bias_.assign(static_cast<size_t>(n_vocab_), 0.0f);
    for (const auto& [id, bias] : params_.logit_bias) bias_[static_cast<size_t>(id)] += bias;
    for (const auto& [id, bias] : params_.logit_bias) bias_ids_.push_back(id);
    std::sort(bias_ids_.begin(), bias_ids_.end());
    bias_ids_.erase(std::unique(bias_ids_.begin(), bias_ids_.end()), bias_ids_.end());
  }
  if (penalties_active_) {
    counts_.assign(static_cast<size_t>(n_vocab_), 0);
    // The ring grows on accept() until full; reserve all of it unless absurdly large.
    if (params_.penalty_last_n > 0) {
      window_.reserve(std::min<size_t>(static_cast<size_t>(params_.penalty_last_n), 1u << 16));
    } else {
      seen_.reserve(static_cast<size_t>(n_vocab_));
    }
  }
  if (!bias_ids_.empty() || penalties_active_) scratch_.reserve(static_cast<size_t>(n_vocab_));
  rng_.seed(params_.seed);
  cands_.reserve(static_cast<size_t>(n_vocab_));
}

float Sampler::adjust(int32_t id, float logit) const {
  float l = sanitize(logit);
  if (!bias_.empty()) l += bias_[static_cast<size_t>(id)];
  if (penalties_active_) {
    const int32_t count = counts_[static_cast<size_t>(id)];
    if (count > 0) {
      l = l <= 0.0f ? l * params_.repeat_penalty : l / params_.repeat_penalty;
      l -= static_cast<float>(count) * params_.frequency_penalty + params_.presence_penalty;
    }
  }
  // Bias and penalties can overflow a huge logit to +inf or turn -inf into NaN.
  return sanitize(l);
}

void Sampler::run_chain(std::span<const float> logits, std::vector<Candidate>& c,
                        std::vector<float>& scratch) const {
  if (logits.size() != static_cast<size_t>(n_vocab_)) {
    throw std::invalid_argument("Sampler: got " + text(logits.size()) + " logits, expected n_vocab = " +
                                text(n_vocab_));
  }
  // Steps 1-2 touch only the biased ids and the ids in the penalty window, so they are
  // applied to a copy at those ids alone instead of testing every token. The other ids keep
  // their raw logits, which the loops below sanitise (NaN fails "> -inf", +inf is clamped).
  std::span<const float> source = logits;
  if (!bias_ids_.empty() || penalties_active_) {
    scratch.assign(logits.begin(), logits.end());
    const auto touch = [&](int32_t id) {
      scratch[static_cast<size_t>(id)] = adjust(id, logits[static_cast<size_t>(id)]);
    };
    for (int32_t id : bias_ids_) touch(id);
    for (int32_t id : params_.penalty_last_n < 0 ? seen_ : window_) touch(id);  // repeats are harmless
    source = scratch;
  }

  c.clear();
  const bool greedy = params_.temperature <= 0.0f;
  if (greedy && params_.typical_p >= 1.0f) {
    // Top-k, top-p and min-p always keep the canonical best, so greedy without typical-p
    // is one pass: the first maximum wins.
    int32_t best = -1;
    float best_logit = kNegInf;
    for (int32_t id = 0; id < n_vocab_; ++id) {
      const float l = std::min(source[static_cast<size_t>(id)], kMaxFloat);
      if (l > best_logit) {
        best = id;
        best_logit = l;
      }
    }
    if (best < 0) throw std::runtime_error(kNothingToSample);
    c.push_back({.id = best, .logit = best_logit, .p = 1.0, .score = 0.0});
    return;
  }

  const size_t k = params_.top_k > 0 && params_.top_k < n_vocab_ ? static_cast<size_t>(params_.top_k) : 0;
  load_candidates(source, k, c);
  if (c.empty()) throw std::runtime_error(kNothingToSample);

  // Top-k has been applied by load_candidates. The heap's layout is implementation-defined;
  // sorting it gives every later floating-point sum one order on every standard library.
  if (k != 0) std::sort_heap(c.begin(), c.end(), before);
  typical(c, params_.typical_p);
  top_p(c, params_.top_p);
  min_p(c, params_.min_p);

  if (greedy) {
    const Candidate best = *std::min_element(c.begin(), c.end(), before);
    c.clear();
    c.push_back(best);
    c.front().p = 1.0;
  } else {
    softmax(c, params_.temperature);
  }
}

int32_t Sampler::sample(std::span<const float> logits) {
  run_chain(logits, cands_, scratch_);
  if (params_.temperature <= 0.0f) return cands_.front().id;

  // Id order makes the draw depend on the surviving set and its probabilities only, not on
  // how the filters happened to arrange it. Without a filter, c is already in id order.
  if (!std::is_sorted(cands_.begin(), cands_.end(), ById{})) std::sort(cands_.begin(), cands_.end(), ById{});
  double total = 0.0;
  for (const Candidate& x : cands_) total += x.p;
  const double target = uniform01(rng_()) * total;
  double running = 0.0;
  for (const Candidate& x : cands_) {
    running += x.p;
    if (target < running) return x.id;
  }
  // Only reachable when rounding puts target at the very top: take the last token with mass.
  for (auto it = cands_.rbegin(); it != cands_.rend(); ++it) {
    if (it->p > 0.0) return it->id;
  }
  return cands_.back().id;  // unreachable: softmax gives the maximum a non-zero mass
}

void Sampler::accept(int32_t token) {
  if (token < 0 || token >= n_vocab_) {
    throw std::out_of_range("Sampler::accept: token id " + text(token) + " is outside [0, " + text(n_vocab_) + ")");
  }
  if (!penalties_active_) return;
  if (params_.penalty_last_n < 0) {  // whole history: nothing ever leaves the window
    if (counts_[static_cast<size_t>(token)]++ == 0) seen_.push_back(token);
    return;
  }
  const size_t capacity = static_cast<size_t>(params_.penalty_last_n);
  if (window_.size() < capacity) {
    window_.push_back(token);
  } else {
    --counts_[static_cast<size_t>(window_[window_next_])];
    window_[window_next_] = token;
    window_next_ = (window_next_ + 1) % capacity;
  }
  ++counts_[static_cast<size_t>(token)];
}

void Sampler::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  window_.clear();
  window_next_ = 0;
  seen_.clear();
  rng_.seed(params_.seed);
}

std::vector<std::pair<int32_t, float>> Sampler::distribution(std::span<const float> logits) const {
  std::vector<Candidate> c;
  std::vector<float> scratch;
  c.reserve(static_cast<size_t>(n_vocab_));
  run_chain(logits, c, scratch);
  std::sort(c.begin(), c.end(), [](const Candidate& a, const Candidate& b) {
    return a.p > b.p || (a.p == b.p && a.id < b.id);
  });
  std::vector<std::pair<int32_t, float>> out;
  out.reserve(c.size());
  for (const Candidate& x : c) {
    if (x.p > 0.0) out.emplace_back(x.id, static_cast<float>(x.p));
  }
  return out;
}

std::vector<float> Sampler::adjusted_logits(std::span<const float> logits) const {
  if (logits.size() != static_cast<size_t>(n_vocab_)) {
    throw std::invalid_argument("Sampler: got " + text(logits.size()) + " logits, expected n_vocab = " +
                                text(n_vocab_));
  }
  std::vector<float> out(logits.size());
  for (int32_t id = 0; id < n_vocab_; ++id) out[static_cast<size_t>(id)] = adjust(id, logits[static_cast<size_t>(id)]);
  return out;
}

}  // namespace kindred
