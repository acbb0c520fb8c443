// The zero-shot appraiser: the loaded language model itself names the emotion. The text goes
// into an instruction, and each label's log-probability as the answer is read from the model
// (all of the label's tokens, the instruction evaluated once and kept in the cache while the
// 28 answers are scored). Needs no training, only a model that follows the instruction; slower
// than the classifier (one prefill of the text plus a few tokens per label).
#pragma once
#include <memory>
#include <string>

#include "affect/emotion.h"
#include "engine/context.h"
#include "tokenizer/tokenizer.h"

namespace kindred::affect {

struct ZeroShotOptions {
  int n_threads = 0;
  int n_ctx = 1024;              // the instruction and the text must fit; longer text is cut from the front
  float temperature = 1.0f;      // softens the label distribution
  float active_ratio = 0.5f;     // labels within this fraction of the top probability are asserted too
};

class ZeroShotAppraiser : public Appraiser {
 public:
  ZeroShotAppraiser(const Model& model, const Tokenizer& tokenizer, ZeroShotOptions options = {});
  Appraisal appraise(std::string_view text) override;
  std::string name() const override { return "zero-shot"; }

  // The instruction the model completes (the answer follows it directly).
  static std::string instruction(std::string_view text);

 private:
  const Tokenizer& tokenizer_;
  ZeroShotOptions options_;
  Context ctx_;
  std::vector<std::vector<int32_t>> label_tokens_;  // " admiration", … as the model spells them
};

}  // namespace kindred::affect
