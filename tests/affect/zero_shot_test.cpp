// The zero-shot appraiser on a tiny random model: its label probabilities must equal the
// brute-force answer (each label's tokens evaluated after the instruction from scratch).
#include "affect/zero_shot.h"

#include <gtest/gtest.h>

#include <cmath>

#include "model/tiny_model.h"

namespace kindred::affect {
namespace {

struct TinyWorld {
  std::shared_ptr<const gguf::File> file;
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  TinyWorld() {
    test::TinyModelSpec spec;
    spec.arch = "qwen3";
    spec.n_ctx = 1024;
    file = std::make_shared<const gguf::File>(gguf::File::from_bytes(test::make_tiny_model(spec)));
    model = Model::load(file);
    tokenizer = Tokenizer::from_gguf(*file);
  }
};

double brute_force_log_prob(const Model& model, const std::vector<int32_t>& prompt, const std::vector<int32_t>& answer) {
  Context ctx(model, ContextParams{.n_ctx = 1024, .n_threads = 1, .kv_type = DType::F32});
  std::vector<int32_t> all = prompt;
  all.insert(all.end(), answer.begin(), answer.end());
  const auto logits = ctx.eval_all(all);
  const size_t n_vocab = size_t(model.config().n_vocab);
  double lp = 0;
  for (size_t k = 0; k < answer.size(); ++k) {
    auto row = logits.subspan((prompt.size() - 1 + k) * n_vocab, n_vocab);
    const float max = *std::max_element(row.begin(), row.end());
    double sum = 0;
    for (float l : row) sum += std::exp(double(l - max));
    lp += double(row[size_t(answer[k])] - max) - std::log(sum);
  }
  return lp;
}

TEST(ZeroShot, LabelProbabilitiesEqualTheBruteForceAnswerScores) {
  TinyWorld w;
  ZeroShotAppraiser zs(*w.model, *w.tokenizer, ZeroShotOptions{.n_threads = 1});
  const std::string text = "thank you so much, this made my day";
  const Appraisal a = zs.appraise(text);
  float sum = 0;
  for (float p : a.labels) sum += p;
  EXPECT_NEAR(sum, 1.0f, 1e-5f);

  const auto prompt = w.tokenizer->encode(ZeroShotAppraiser::instruction(text), true, false);
  std::array<double, kNumLabels> lp{};
  double max = -1e300;
  for (int i = 0; i < kNumLabels; ++i) {
    lp[i] = brute_force_log_prob(*w.model, prompt, w.tokenizer->encode(" " + label_name(i), false, false));
    max = std::max(max, lp[i]);
  }
  double z = 0;
  for (double v : lp) z += std::exp(v - max);
  for (int i = 0; i < kNumLabels; ++i) {
    // The appraiser's cache is F16 (the brute force F32): agreement to ~1e-3 relative.
    EXPECT_NEAR(a.labels[i], std::exp(lp[i] - max) / z, 2e-3) << label_name(i);
  }
  ASSERT_FALSE(a.active.empty());
  EXPECT_EQ(a.active.front(), a.top());
  EXPECT_GE(a.confidence, 0.0f);
  EXPECT_LE(a.confidence, 1.0f);
}

TEST(ZeroShot, ASecondTextReusesTheInstructionAndGivesTheSameAnswerAsAFreshAppraiser) {
  TinyWorld w;
  ZeroShotAppraiser warm(*w.model, *w.tokenizer, ZeroShotOptions{.n_threads = 1});
  warm.appraise("first message, unrelated");
  const Appraisal again = warm.appraise("I am furious about this");
  ZeroShotAppraiser fresh(*w.model, *w.tokenizer, ZeroShotOptions{.n_threads = 1});
  const Appraisal once = fresh.appraise("I am furious about this");
  for (int i = 0; i < kNumLabels; ++i) EXPECT_NEAR(again.labels[i], once.labels[i], 1e-4) << label_name(i);
}

TEST(ZeroShot, LongTextIsCutToFitTheContext) {
  TinyWorld w;
  ZeroShotAppraiser zs(*w.model, *w.tokenizer, ZeroShotOptions{.n_threads = 1, .n_ctx = 256});
  std::string long_text;
  for (int i = 0; i < 200; ++i) long_text += "on and on ";
  const Appraisal a = zs.appraise(long_text);
  float sum = 0;
  for (float p : a.labels) sum += p;
  EXPECT_NEAR(sum, 1.0f, 1e-5f);
}

}  // namespace
}  // namespace kindred::affect
