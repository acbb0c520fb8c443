// Token sampling: turns one row of logits into a token id.
//
// The subsystem sees logits and token ids only (no model, no tokenizer). The chain, in
// llama.cpp's common default order, is:
//
//   1. logit bias    logit += bias[id]; a bias of -inf bans the token.
//   2. penalties     for every token seen c > 0 times in the penalty window (the last
//                    penalty_last_n accepted tokens): CTRL repeat penalty (logit /= r when
//                    logit > 0, logit *= r otherwise), then OpenAI frequency and presence
//                    penalties (logit -= c * frequency_penalty + presence_penalty).
//   3. top-k         keep the k largest logits.
//   4. typical-p     locally typical sampling (Meister et al. 2022): order by
//                    |-log p - H| ascending, keep the shortest prefix whose mass exceeds
//                    typical_p.
//   5. top-p         nucleus: order by p descending, keep the shortest prefix whose mass is
//                    >= top_p.
//   6. min-p         keep tokens with p >= min_p * p_max.
//   7. temperature   logits / temperature; temperature <= 0 keeps only the best survivor
//                    (greedy).
//   8. softmax       over the survivors, in double precision.
//   9. draw          see "Random draw" below.
//
// Filters 4-6 each renormalise over the survivors of the previous step, and all of them
// see the temperature-1 distribution: temperature shapes the draw, not the candidate set.
// Every filter keeps at least one token. Ties anywhere are broken towards the lower id, so
// the result is a function of the logits alone.
//
// Greedy (temperature <= 0) runs the same chain and returns the best surviving logit, ties
// to the lowest id. With typical_p = 1 (the default) that is the argmax of the biased,
// penalised logits, because top-k, top-p and min-p always keep the argmax.
//
// Non-finite logits: NaN counts as -inf (never sampled); +inf counts as the largest finite
// float, so +inf tokens share the mass equally. If no token is left above -inf after bias and
// penalties, sample() and distribution() throw std::runtime_error.
//
// Random draw: the RNG is std::mt19937_64 seeded with SamplerParams::seed, whose output
// sequence the C++ standard fixes, and no std:: distribution is used (their output is
// implementation-defined). Every non-greedy sample() takes exactly one 64-bit output x and
// forms u = (x >> 11) * 2^-53, a double in [0, 1). It walks the survivors in ascending token
// id, summing their probabilities, and returns the first token whose running sum exceeds
// u * (total sum). Greedy calls take nothing from the RNG. All sorting uses a strict total
// order and every sum has a fixed order, so results agree across standard libraries as far
// as their exp/log agree.
//
// Cost per call: one pass over the vocabulary (top-k is selected during it with a k-heap),
// plus, when top-p or typical-p run without top-k, a softmax over all tokens and a partial
// sort that stops once the mass is reached. sample() is not thread-safe; the const members
// are.
#pragma once
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <utility>
#include <vector>

namespace kindred {

struct SamplerParams {
  float temperature = 0.8f;        // <= 0 means greedy (argmax, ties -> lowest id); must be finite
  int top_k = 40;                  // <= 0 disables
  float top_p = 0.95f;             // in [0, 1]; 1 disables
  float min_p = 0.05f;             // in [0, 1]; 0 disables
  float typical_p = 1.0f;          // in [0, 1]; 1 disables (locally typical sampling)
  float repeat_penalty = 1.0f;     // > 0; CTRL-style, 1 disables
  float presence_penalty = 0.0f;   // OpenAI semantics: subtracted once from every seen token
  float frequency_penalty = 0.0f;  // OpenAI semantics: subtracted once per occurrence
  int penalty_last_n = 64;         // window of recent tokens the penalties look at; 0 disables, -1 = whole history
  // Added before everything else; -inf bans a token; entries for the same id add up. The
  // explicit {} keeps g++'s -Wmissing-field-initializers quiet for designated initialisers.
  std::vector<std::pair<int32_t, float>> logit_bias = {};
  uint64_t seed = 0;               // RNG is seeded from this; same seed + same logits => same tokens
};

namespace detail {
// One token under consideration. p is a probability (or scratch) in double so the cumulative
// sums of the filters and the draw do not lose mass over large vocabularies.
struct Candidate {
  int32_t id;
  float logit;
  double p;
  double score;  // typical-p ordering key
};
}  // namespace detail

class Sampler {
 public:
  // Throws std::invalid_argument naming the offending field (e.g. "SamplerParams.top_p ...").
  Sampler(SamplerParams params, int32_t n_vocab);

  // Applies the chain to logits (exactly n_vocab values) and draws a token. Does not record
  // it: call accept() for that. Allocates nothing once constructed.
  int32_t sample(std::span<const float> logits);

  // Records a token (prompt or generated) into the penalty history. Throws
  // std::out_of_range for an id outside [0, n_vocab). Allocates nothing unless
  // penalty_last_n > 65536 (the window's storage is reserved up to that size).
  void accept(int32_t token);

  // Forgets the history and re-seeds the RNG, so the next draws repeat the first ones.
  void reset();

  // Probabilities after the full chain, for tests and logprobs: (id, p) sorted by p
  // descending (ties: lower id first), only survivors with non-zero probability.
  std::vector<std::pair<int32_t, float>> distribution(std::span<const float> logits) const;

  // The logits after steps 1-2 (bias and penalties) with NaN mapped to -inf and +inf to the
  // largest float; for tests and debugging.
  std::vector<float> adjusted_logits(std::span<const float> logits) const;

  const SamplerParams& params() const { return params_; }
  int32_t n_vocab() const { return n_vocab_; }

 private:
  // Steps 1-2 for one token.
  float adjust(int32_t id, float logit) const;
  // Runs steps 1-8 into c: survivors with p set; exactly one with p = 1 when greedy.
  // scratch holds the adjusted logits when there is a bias or a penalty.
  void run_chain(std::span<const float> logits, std::vector<detail::Candidate>& c,
                 std::vector<float>& scratch) const;

  SamplerParams params_;
  int32_t n_vocab_;
  bool penalties_active_;
  std::vector<float> bias_;        // dense per-id bias; empty when there is none
  std::vector<int32_t> bias_ids_;  // the distinct ids in bias_ that have an entry
  std::vector<int32_t> counts_;    // occurrences of each id in the penalty window
  std::vector<int32_t> window_;    // the last penalty_last_n accepted ids, as a ring once full
  size_t window_next_ = 0;         // oldest slot of the full ring (next to overwrite)
  std::vector<int32_t> seen_;      // distinct accepted ids, when the window is the whole history
  std::mt19937_64 rng_;
  std::vector<detail::Candidate> cands_;  // reused by sample() so it does not allocate
  std::vector<float> scratch_;            // likewise
};

}  // namespace kindred
