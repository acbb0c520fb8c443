// Deterministic behaviour of the sampling chain: greedy, each filter, their order,
// penalties, bias, validation and non-finite logits.
#include "sampling/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>

#include "sampling/sampling_test_util.h"

namespace kindred {
namespace {

using test::ids_of;
using test::logits_from_probs;
using test::plain_params;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// The running example: p = {0.05, 0.40, 0.10, 0.25, 0.20} for ids 0..4.
// By probability: 1 (0.40), 3 (0.25), 4 (0.20), 2 (0.10), 0 (0.05).
const std::vector<double> kProbs = {0.05, 0.40, 0.10, 0.25, 0.20};

std::vector<int32_t> survivors(const SamplerParams& params, const std::vector<float>& logits) {
  return ids_of(Sampler(params, static_cast<int32_t>(logits.size())).distribution(logits));
}

std::vector<int32_t> survivors(const SamplerParams& params) { return survivors(params, logits_from_probs(kProbs)); }

// ---------------------------------------------------------------- greedy

TEST(SamplerGreedy, PicksArgmax) {
  const std::vector<float> logits = {0.5f, 2.5f, -1.0f, 2.4f, 1.0f};
  Sampler s({.temperature = 0.0f}, 5);
  EXPECT_EQ(s.sample(logits), 1);
  const auto dist = s.distribution(logits);
  ASSERT_EQ(dist.size(), 1u);
  EXPECT_EQ(dist[0].first, 1);
  EXPECT_EQ(dist[0].second, 1.0f);
}

TEST(SamplerGreedy, TiesGoToTheLowestIdAndNegativeTemperatureIsGreedy) {
  const std::vector<float> logits = {1.0f, 3.0f, 0.0f, 3.0f, 3.0f};
  EXPECT_EQ(Sampler({.temperature = 0.0f}, 5).sample(logits), 1);
  EXPECT_EQ(Sampler({.temperature = -2.0f}, 5).sample(logits), 1);
}

TEST(SamplerGreedy, MatchesMaxElementOnRandomLogits) {
  std::mt19937 gen(7);
  std::uniform_int_distribution<int> value(-20, 20);  // small integers: plenty of ties
  Sampler s({.temperature = 0.0f}, 64);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<float> logits(64);
    for (float& l : logits) l = static_cast<float>(value(gen));
    const auto expected = std::max_element(logits.begin(), logits.end()) - logits.begin();  // first max
    ASSERT_EQ(s.sample(logits), expected) << "trial " << trial;
  }
}

TEST(SamplerGreedy, TemperatureToZeroLimitEqualsGreedy) {
  std::mt19937 gen(11);
  std::vector<float> logits(50);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = 0.1f * static_cast<float>(i);  // gaps of 0.1
  for (int trial = 0; trial < 100; ++trial) {
    std::shuffle(logits.begin(), logits.end(), gen);
    SamplerParams cold = plain_params();
    cold.temperature = 1e-3f;  // exp(-0.1 / 1e-3) = exp(-100): below one ulp of 1
    cold.seed = static_cast<uint64_t>(trial);
    Sampler hot_path(cold, 50);
    const int32_t greedy = Sampler({.temperature = 0.0f}, 50).sample(logits);
    ASSERT_EQ(hot_path.sample(logits), greedy) << "trial " << trial;
    const auto dist = hot_path.distribution(logits);
    EXPECT_EQ(dist[0].first, greedy);
    EXPECT_EQ(dist[0].second, 1.0f);
  }
  // And the top probability rises monotonically towards 1 as the temperature falls.
  std::shuffle(logits.begin(), logits.end(), gen);
  float previous = 0.0f;
  for (float t : {2.0f, 1.0f, 0.3f, 0.1f, 0.03f, 0.01f}) {
    SamplerParams p = plain_params();
    p.temperature = t;
    const float top = Sampler(p, 50).distribution(logits)[0].second;
    EXPECT_GT(top, previous) << "temperature " << t;
    previous = top;
  }
  EXPECT_GT(previous, 0.999f);
}

// ---------------------------------------------------------------- filters alone

TEST(SamplerFilters, TopKKeepsTheKLargest) {
  SamplerParams p = plain_params();
  p.top_k = 2;
  const std::vector<float> logits = logits_from_probs(kProbs);
  const auto dist = Sampler(p, 5).distribution(logits);
  ASSERT_EQ(ids_of(dist), (std::vector<int32_t>{1, 3}));
  EXPECT_NEAR(dist[0].second, 0.40 / 0.65, 1e-6);  // renormalised over the two
  EXPECT_NEAR(dist[1].second, 0.25 / 0.65, 1e-6);
  p.top_k = 1;
  EXPECT_EQ(survivors(p), (std::vector<int32_t>{1}));
  for (int k : {0, -3, 5, 100}) {  // disabled or not binding
    p.top_k = k;
    EXPECT_EQ(survivors(p), (std::vector<int32_t>{1, 3, 4, 2, 0})) << "k = " << k;
  }
}

TEST(SamplerFilters, TopPKeepsTheShortestPrefixReachingP) {
  SamplerParams p = plain_params();
  // Cumulative mass in order 1, 3, 4, 2, 0: 0.40, 0.65, 0.85, 0.95, 1.00.
  p.top_p = 0.6f;
  const auto dist = Sampler(p, 5).distribution(logits_from_probs(kProbs));
  ASSERT_EQ(ids_of(dist), (std::vector<int32_t>{1, 3}));
  EXPECT_NEAR(dist[0].second, 0.40 / 0.65, 1e-6);
  p.top_p = 0.7f;
  EXPECT_EQ(survivors(p), (std::vector<int32_t>{1, 3, 4}));
  p.top_p = 0.86f;
  EXPECT_EQ(survivors(p), (std::vector<int32_t>{1, 3, 4, 2}));
  p.top_p = 0.3f;
  EXPECT_EQ(survivors(p), (std::vector<int32_t>{1}));
  p.top_p = 0.0f;  // keeps at least one token
  EXPECT_EQ(survivors(p), (std::vector<int32_t>{1}));
  p.top_p = 1.0f;
  EXPECT_EQ(survivors(p).size(), 5u);
}

TEST(SamplerFilters, MinPKeepsTokensAboveAFractionOfTheBest) {
  SamplerParams p = plain_params();
  p.min_p = 0.3f;  // threshold 0.12: drops 0.10 and 0.05
  EXPECT_EQ(survivors(p), (std::vector<int32_t>{1, 3, 4}));
  p.min_p = 0.55f;  // threshold 0.22
  const auto dist = Sampler(p, 5).distribution(logits_from_probs(kProbs));
  ASSERT_EQ(ids_of(dist), (std::vector<int32_t>{1, 3}));
  EXPECT_NEAR(dist[1].second, 0.25 / 0.65, 1e-6);
  p.min_p = 1.0f;
  EXPECT_EQ(survivors(p), (std::vector<int32_t>{1}));
  p.min_p = 0.1f;  // threshold 0.04: keeps everything
  EXPECT_EQ(survivors(p).size(), 5u);
}

TEST(SamplerFilters, TypicalPKeepsTheMostTypicalTokens) {
  // H = -sum p ln p = 1.41503. |-ln p - H|: id0 1.5807, id1 0.4987, id2 0.8876, id3 0.0287,
  // id4 0.1944. Typical order 3, 4, 1, 2, 0 with cumulative mass 0.25, 0.45, 0.85, 0.95, 1.
  SamplerParams p = plain_params();
  p.typical_p = 0.2f;
  EXPECT_EQ(survivors(p), (std::vector<int32_t>{3}));
  p.typical_p = 0.3f;  // note: the most likely token (1) is not typical and goes
  const auto dist = Sampler(p, 5).distribution(logits_from_probs(kProbs));
  ASSERT_EQ(ids_of(dist), (std::vector<int32_t>{3, 4}));
  EXPECT_NEAR(dist[0].second, 0.25 / 0.45, 1e-6);
  p.typical_p = 0.5f;
  EXPECT_EQ(survivors(p), (std::vector<int32_t>{1, 3, 4}));
  p.typical_p = 0.9f;
  EXPECT_EQ(survivors(p), (std::vector<int32_t>{1, 3, 4, 2}));
  p.typical_p = 1.0f;
  EXPECT_EQ(survivors(p).size(), 5u);
}

// ---------------------------------------------------------------- composition order

TEST(SamplerChainOrder, TopKRunsBeforeTopP) {
  // top-k 2 leaves {1: 0.615, 3: 0.385}; top-p 0.6 then stops after token 1.
  // The other order (top-p first: {1, 3}; then top-k 2) would keep both.
  SamplerParams p = plain_params();
  p.top_k = 2;
  p.top_p = 0.6f;
  EXPECT_EQ(survivors(p), (std::vector<int32_t>{1}));
}

TEST(SamplerChainOrder, TopKRunsBeforeTypicalP) {
  // top-k 3 leaves {1: 0.4706, 3: 0.2941, 4: 0.2353}, H = 1.0551, typical order 3, 1, 4;
  // mass 0.2941 is not > 0.3, 0.7647 is: {1, 3}. Typical first would give {3, 4}.
  SamplerParams p = plain_params();
  p.top_k = 3;
  p.typical_p = 0.3f;
  EXPECT_EQ(survivors(p), (std::vector<int32_t>{1, 3}));
}

TEST(SamplerChainOrder, TypicalPRunsBeforeTopP) {
  // typical 0.3 leaves {3: 0.556, 4: 0.444}; top-p 0.5 keeps {3}.
  // Top-p first ({1, 3}) then typical would keep {1}.
  SamplerParams p = plain_params();
  p.typical_p = 0.3f;
  p.top_p = 0.5f;
  EXPECT_EQ(survivors(p), (std::vector<int32_t>{3}));
}

TEST(SamplerChainOrder, TemperatureRunsAfterTheFilters) {
  // Filters see the temperature-1 distribution, so the set {1, 3} from top-p 0.6 survives
  // any temperature; only the final probabilities change (p ~ p_i^(1/T)).
  SamplerParams p = plain_params();
  p.top_p = 0.6f;
  p.temperature = 0.1f;
  auto dist = Sampler(p, 5).distribution(logits_from_probs(kProbs));
  ASSERT_EQ(ids_of(dist), (std::vector<int32_t>{1, 3}));
  const double r_cold = std::pow(0.625, 10.0);
  EXPECT_NEAR(dist[1].second, r_cold / (1.0 + r_cold), 1e-5);
  p.temperature = 10.0f;
  dist = Sampler(p, 5).distribution(logits_from_probs(kProbs));
  ASSERT_EQ(ids_of(dist), (std::vector<int32_t>{1, 3}));
  const double r_hot = std::pow(0.625, 0.1);
  EXPECT_NEAR(dist[1].second, r_hot / (1.0 + r_hot), 1e-5);
}

TEST(SamplerChainOrder, FullChainOnAHandComputedExample) {
  // top-k 4 drops id 0 -> {1 .4211, 3 .2632, 4 .2105, 2 .1053}; H = 1.2805; typical order
  // 3, 4, 1, 2 with mass .263, .474, .895 > .85 -> {1, 3, 4}; renormalised .4706, .2941,
  // .2353; top-p 0.7 -> {1, 3}; min-p 0.6 keeps 3 (ratio .625); temperature 0.5 squares:
  // p1 = .16 / .2225, p3 = .0625 / .2225.
  SamplerParams p = {.temperature = 0.5f, .top_k = 4, .top_p = 0.7f, .min_p = 0.6f, .typical_p = 0.85f};
  auto dist = Sampler(p, 5).distribution(logits_from_probs(kProbs));
  ASSERT_EQ(ids_of(dist), (std::vector<int32_t>{1, 3}));
  EXPECT_NEAR(dist[0].second, 0.16 / 0.2225, 1e-5);
  EXPECT_NEAR(dist[1].second, 0.0625 / 0.2225, 1e-5);
  p.min_p = 0.65f;  // now min-p binds too
  EXPECT_EQ(survivors(p), (std::vector<int32_t>{1}));
}

// ---------------------------------------------------------------- penalties and bias

// Logits for ids 0..5 and a history whose window (last 3) is {2, 2, 3}; 0 and 4 are older.
const std::vector<float> kPenaltyLogits = {1.0f, 2.0f, -1.0f, 0.5f, -2.0f, 3.0f};

Sampler with_history(SamplerParams p) {
  Sampler s(std::move(p), 6);
  for (int32_t t : {0, 4, 2, 2, 3}) s.accept(t);
  return s;
}

SamplerParams penalty_params(float repeat, float presence, float frequency, int last_n = 3) {
  SamplerParams p = plain_params();
  p.repeat_penalty = repeat;
  p.presence_penalty = presence;
  p.frequency_penalty = frequency;
  p.penalty_last_n = last_n;
  return p;
}

TEST(SamplerPenalties, RepeatPenaltyDividesPositiveAndMultipliesNegative) {
  const auto out = with_history(penalty_params(2.0f, 0.0f, 0.0f)).adjusted_logits(kPenaltyLogits);
  EXPECT_EQ(out, (std::vector<float>{1.0f, 2.0f, -2.0f, 0.25f, -2.0f, 3.0f}));
}

TEST(SamplerPenalties, PresencePenaltyIsSubtractedOncePerSeenToken) {
  const auto out = with_history(penalty_params(1.0f, 0.5f, 0.0f)).adjusted_logits(kPenaltyLogits);
  EXPECT_EQ(out, (std::vector<float>{1.0f, 2.0f, -1.5f, 0.0f, -2.0f, 3.0f}));
}

TEST(SamplerPenalties, FrequencyPenaltyIsSubtractedPerOccurrence) {
  const auto out = with_history(penalty_params(1.0f, 0.0f, 0.25f)).adjusted_logits(kPenaltyLogits);
  EXPECT_EQ(out, (std::vector<float>{1.0f, 2.0f, -1.5f, 0.25f, -2.0f, 3.0f}));
}

TEST(SamplerPenalties, CombinedRepeatThenFrequencyAndPresence) {
  // id2: -1 * 2 - (2 * 0.25 + 0.5) = -3;  id3: 0.5 / 2 - (0.25 + 0.5) = -0.5.
  const auto out = with_history(penalty_params(2.0f, 0.5f, 0.25f)).adjusted_logits(kPenaltyLogits);
  EXPECT_EQ(out, (std::vector<float>{1.0f, 2.0f, -3.0f, -0.5f, -2.0f, 3.0f}));
}

TEST(SamplerPenalties, WindowZeroDisablesAndMinusOneCoversTheWholeHistory) {
  EXPECT_EQ(with_history(penalty_params(2.0f, 0.5f, 0.25f, 0)).adjusted_logits(kPenaltyLogits), kPenaltyLogits);
  // Whole history: 0 and 4 seen once each as well.
  const auto out = with_history(penalty_params(2.0f, 0.5f, 0.25f, -1)).adjusted_logits(kPenaltyLogits);
  EXPECT_EQ(out, (std::vector<float>{-0.25f, 2.0f, -3.0f, -0.5f, -4.75f, 3.0f}));
}

TEST(SamplerPenalties, TokensSlideOutOfTheWindow) {
  Sampler s = with_history(penalty_params(2.0f, 0.0f, 0.0f));
  s.accept(5);  // window {2, 3, 5}: one 2 left
  s.accept(5);  // window {3, 5, 5}
  EXPECT_EQ(s.adjusted_logits(kPenaltyLogits), (std::vector<float>{1.0f, 2.0f, -1.0f, 0.25f, -2.0f, 1.5f}));
  s.accept(1);  // window {5, 5, 1}
  EXPECT_EQ(s.adjusted_logits(kPenaltyLogits), (std::vector<float>{1.0f, 1.0f, -1.0f, 0.5f, -2.0f, 1.5f}));
  s.reset();
  EXPECT_EQ(s.adjusted_logits(kPenaltyLogits), kPenaltyLogits);
}

TEST(SamplerPenalties, PenaltiesChangeWhatIsSampled) {
  SamplerParams p = penalty_params(1.0f, 2.0f, 0.0f, 8);
  p.temperature = 0.0f;
  Sampler s(p, 6);
  EXPECT_EQ(s.sample(kPenaltyLogits), 5);
  s.accept(5);  // 3 - 2 = 1 < 2: token 1 wins now
  EXPECT_EQ(s.sample(kPenaltyLogits), 1);
  s.accept(1);  // 1 drops to 0; 0 and 5 tie at 1: the lower id wins
  EXPECT_EQ(s.sample(kPenaltyLogits), 0);
}

TEST(SamplerPenalties, SampleDoesNotRecordTheToken) {
  SamplerParams p = penalty_params(1.0f, 2.0f, 0.0f, 8);
  p.temperature = 0.0f;
  Sampler s(p, 6);
  EXPECT_EQ(s.sample(kPenaltyLogits), 5);
  EXPECT_EQ(s.sample(kPenaltyLogits), 5);  // still 5: only accept() feeds the history
  EXPECT_EQ(s.adjusted_logits(kPenaltyLogits), kPenaltyLogits);
}

TEST(SamplerPenalties, TheChainSeesTheAdjustedLogits) {
  // sample() and distribution() adjust only the biased and recently seen ids; they must
  // agree with adjusted_logits(), which adjusts every id, for both kinds of window.
  for (int last_n : {3, -1}) {
    SamplerParams p = penalty_params(1.5f, 0.3f, 0.2f, last_n);
    p.logit_bias = {{5, -1.5f}, {2, 1.0f}};  // moves the argmax from 5 to 1
    Sampler s = with_history(p);
    const std::vector<double> expected = test::reference_softmax(s.adjusted_logits(kPenaltyLogits));
    const auto dist = s.distribution(kPenaltyLogits);
    ASSERT_EQ(dist.size(), 6u);
    for (const auto& [id, prob] : dist) {
      EXPECT_NEAR(prob, expected[static_cast<size_t>(id)], 1e-6) << "id " << id << ", last_n " << last_n;
    }
    p.temperature = 0.0f;
    Sampler greedy = with_history(p);
    const auto adjusted = greedy.adjusted_logits(kPenaltyLogits);
    EXPECT_EQ(greedy.sample(kPenaltyLogits), std::max_element(adjusted.begin(), adjusted.end()) - adjusted.begin());
  }
}

TEST(SamplerBias, BiasIsAddedBeforePenalties) {
  // Token 2: -1 + 2 = 1 (positive) then / 2 = 0.5. Penalising first would give -2 + 2 = 0.
  SamplerParams p = penalty_params(2.0f, 0.0f, 0.0f);
  p.logit_bias = {{2, 2.0f}, {0, 1.0f}, {0, 0.5f}};  // entries for one id add up
  const auto out = with_history(p).adjusted_logits(kPenaltyLogits);
  EXPECT_EQ(out[2], 0.5f);
  EXPECT_EQ(out[0], 2.5f);
  EXPECT_EQ(out[5], 3.0f);
}

TEST(SamplerBias, MinusInfinityBansEvenTheArgmax) {
  const std::vector<float> logits = {0.0f, 5.0f, 1.0f, -1.0f};
  SamplerParams p = plain_params();
  p.logit_bias = {{1, -kInf}};
  p.temperature = 0.0f;
  EXPECT_EQ(Sampler(p, 4).sample(logits), 2);
  p.temperature = 1.5f;
  Sampler s(p, 4);
  const auto ids = ids_of(s.distribution(logits));
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 1), 0);
  EXPECT_EQ(ids.size(), 3u);
  for (int i = 0; i < 2000; ++i) ASSERT_NE(s.sample(logits), 1);
}

TEST(SamplerBias, BanningEveryTokenThrows) {
  SamplerParams p = plain_params();
  p.logit_bias = {{0, -kInf}, {1, -kInf}};
  Sampler s(p, 2);
  EXPECT_THROW(s.sample(std::vector<float>{1.0f, 2.0f}), std::runtime_error);
}

// ---------------------------------------------------------------- validation

struct BadParam {
  const char* field;
  std::function<void(SamplerParams&)> set;
};

TEST(SamplerValidation, InvalidParamsNameTheField) {
  const std::vector<BadParam> cases = {
      {"temperature", [](SamplerParams& p) { p.temperature = kNaN; }},
      {"temperature", [](SamplerParams& p) { p.temperature = kInf; }},
      {"top_p", [](SamplerParams& p) { p.top_p = 1.5f; }},
      {"top_p", [](SamplerParams& p) { p.top_p = -0.1f; }},
      {"top_p", [](SamplerParams& p) { p.top_p = kNaN; }},
      {"min_p", [](SamplerParams& p) { p.min_p = 2.0f; }},
      {"min_p", [](SamplerParams& p) { p.min_p = kNaN; }},
      {"typical_p", [](SamplerParams& p) { p.typical_p = -1.0f; }},
      {"repeat_penalty", [](SamplerParams& p) { p.repeat_penalty = 0.0f; }},
      {"repeat_penalty", [](SamplerParams& p) { p.repeat_penalty = kNaN; }},
      {"presence_penalty", [](SamplerParams& p) { p.presence_penalty = kInf; }},
      {"frequency_penalty", [](SamplerParams& p) { p.frequency_penalty = kNaN; }},
      {"penalty_last_n", [](SamplerParams& p) { p.penalty_last_n = -2; }},
      {"logit_bias", [](SamplerParams& p) { p.logit_bias = {{10, 1.0f}}; }},
      {"logit_bias", [](SamplerParams& p) { p.logit_bias = {{-1, 1.0f}}; }},
      {"logit_bias", [](SamplerParams& p) { p.logit_bias = {{3, kNaN}}; }},
      {"logit_bias", [](SamplerParams& p) { p.logit_bias = {{3, kInf}}; }},
  };
  for (const BadParam& c : cases) {
    SamplerParams p;
    c.set(p);
    try {
      Sampler s(p, 10);
      ADD_FAILURE() << "accepted a bad " << c.field;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(c.field), std::string::npos) << e.what();
    }
  }
}

TEST(SamplerValidation, BoundaryValuesAreAccepted) {
  SamplerParams p = {.temperature = -1.0f, .top_k = -5, .top_p = 0.0f, .min_p = 1.0f, .typical_p = 0.0f,
                     .penalty_last_n = -1, .logit_bias = {{0, -kInf}, {9, 100.0f}}};
  EXPECT_NO_THROW(Sampler(p, 10));
  EXPECT_THROW(Sampler({}, 0), std::invalid_argument);
}

TEST(SamplerValidation, WrongLogitCountAndBadAcceptedTokenThrow) {
  Sampler s({}, 4);
  EXPECT_THROW(s.sample(std::vector<float>{1.0f, 2.0f, 3.0f}), std::invalid_argument);
  EXPECT_THROW((void)s.distribution(std::vector<float>(5, 0.0f)), std::invalid_argument);
  EXPECT_THROW(s.accept(4), std::out_of_range);
  EXPECT_THROW(s.accept(-1), std::out_of_range);
}

// ---------------------------------------------------------------- non-finite logits

TEST(SamplerNonFinite, AllNaNThrowsWithTheDocumentedMessage) {
  Sampler s({}, 3);
  const std::vector<float> nans(3, kNaN);
  try {
    s.sample(nans);
    FAIL() << "sampled from all-NaN logits";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "no token can be sampled: every logit is -inf or NaN");
  }
  EXPECT_THROW((void)s.distribution(std::vector<float>{kNaN, -kInf, kNaN}), std::runtime_error);
}

TEST(SamplerNonFinite, NaNIsNeverSampledAndPlusInfDominates) {
  SamplerParams p = plain_params();
  Sampler s(p, 4);
  const std::vector<float> some_nan = {kNaN, 0.0f, kNaN, std::log(3.0f)};
  const auto dist = s.distribution(some_nan);
  ASSERT_EQ(ids_of(dist), (std::vector<int32_t>{3, 1}));
  EXPECT_NEAR(dist[0].second, 0.75f, 1e-6f);
  for (int i = 0; i < 1000; ++i) {
    const int32_t t = s.sample(some_nan);
    ASSERT_TRUE(t == 1 || t == 3) << t;
  }
  const std::vector<float> with_inf = {0.0f, kInf, 1e30f, kInf};
  const auto inf_dist = s.distribution(with_inf);  // the two +inf tokens share the mass
  ASSERT_EQ(ids_of(inf_dist), (std::vector<int32_t>{1, 3}));
  EXPECT_FLOAT_EQ(inf_dist[0].second, 0.5f);
  EXPECT_EQ(Sampler({.temperature = 0.0f}, 4).sample(with_inf), 1);
}

}  // namespace
}  // namespace kindred
