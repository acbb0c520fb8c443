#include "affect/zero_shot.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace kindred::affect {
namespace {

// log-softmax of one logit row at `id`.
double log_prob(std::span<const float> logits, int32_t id) {
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(double(l - max));
  return double(logits[size_t(id)] - max) - std::log(sum);
}

}  // namespace

ZeroShotAppraiser::ZeroShotAppraiser(const Model& model, const Tokenizer& tokenizer, ZeroShotOptions options)
    : tokenizer_(tokenizer), options_(options), ctx_(model, ContextParams{.n_ctx = options.n_ctx, .n_threads = options.n_threads}) {
  for (int i = 0; i < kNumLabels; ++i) {
    label_tokens_.push_back(tokenizer_.encode(" " + label_name(i), false, false));
    if (label_tokens_.back().empty()) throw std::runtime_error("zero-shot: the vocabulary cannot spell the label " + label_name(i));
  }
}

std::string ZeroShotAppraiser::instruction(std::string_view text) {
  std::string labels;
  for (int i = 0; i < kNumLabels; ++i) labels += (i ? ", " : "") + label_name(i);
  return "Which emotion does the speaker express? Choose one of: " + labels + ".\n\nText: \"" + std::string(text) +
         "\"\nEmotion:";
}

Appraisal ZeroShotAppraiser::appraise(std::string_view text) {
  std::vector<int32_t> prompt = tokenizer_.encode(instruction(text), true, false);
  size_t longest_label = 0;
  for (const auto& l : label_tokens_) longest_label = std::max(longest_label, l.size());
  const size_t room = size_t(ctx_.n_ctx()) - longest_label - 1;
  if (prompt.size() > room) {
    // Keep the start (the instruction) and the end (the answer cue); the text's middle goes.
    const size_t keep_head = std::min<size_t>(48, room / 2);
    std::vector<int32_t> cut(prompt.begin(), prompt.begin() + long(keep_head));
    cut.insert(cut.end(), prompt.end() - long(room - keep_head), prompt.end());
    prompt = std::move(cut);
  }
  const std::span<const float> last = ctx_.eval_sequence(prompt);
  const std::vector<float> first(last.begin(), last.end());  // eval_all below reuses the buffer
  const int n_prompt = ctx_.n_past();
  const size_t n_vocab = first.size();

  std::array<double, kNumLabels> score{};
  for (int i = 0; i < kNumLabels; ++i) {
    const auto& toks = label_tokens_[i];
    double lp = log_prob(first, toks[0]);
    if (toks.size() > 1) {
      ctx_.truncate(n_prompt);
      const std::span<const float> rows = ctx_.eval_all(std::span(toks).first(toks.size() - 1));
      for (size_t k = 1; k < toks.size(); ++k) lp += log_prob(rows.subspan((k - 1) * n_vocab, n_vocab), toks[k]);
    }
    score[i] = lp;  // the answer's full probability: no length normalisation, so it stays a probability
  }
  ctx_.truncate(n_prompt);

  // Renormalised over the 28 answers (the model may spread mass elsewhere).
  const double t = std::max(1e-3f, options_.temperature);
  const double max = *std::max_element(score.begin(), score.end()) / t;
  double sum = 0;
  std::array<double, kNumLabels> p{};
  for (int i = 0; i < kNumLabels; ++i) sum += (p[i] = std::exp(score[i] / t - max));
  Appraisal out;
  for (int i = 0; i < kNumLabels; ++i) out.labels[i] = float(p[i] / sum);
  const int top = out.top();
  for (int i = 0; i < kNumLabels; ++i) {
    if (out.labels[i] >= options_.active_ratio * out.labels[top]) out.active.push_back(i);
  }
  std::sort(out.active.begin(), out.active.end(), [&](int a, int b) { return out.labels[a] > out.labels[b]; });
  out.pad = pad_of(out.labels);
  // Confidence: how peaked the answer is (1 − normalised entropy).
  double entropy = 0;
  for (float q : out.labels) {
    if (q > 0) entropy -= double(q) * std::log(double(q));
  }
  out.confidence = float(std::clamp(1.0 - entropy / std::log(double(kNumLabels)), 0.0, 1.0));
  return out;
}

}  // namespace kindred::affect
