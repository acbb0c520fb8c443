// The LLM-free appraiser: a 28-label TextClassifier (GoEmotions labels) read as an Appraisal.
//   labels     = the classifier's probabilities
//   active     = decide() (per-label thresholds tuned on dev)
//   pad        = pad_of(labels); for English the pleasure axis is blended with the VADER lexicon's
//                compound valence (lexicon_weight), which adds valence the 28 labels miss in text
//                that is not about feelings (news, essays: EmoBank r rises, see docs/AFFECT.md)
//   confidence = max(top probability, 1 - H(q)/ln 28), q the probabilities normalised to sum 1:
//                high when one label dominates either in absolute terms or relative to the rest,
//                low when the reading is spread over many labels.
// Text that is mostly Han characters goes to the Chinese model when there is one.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "affect/emotion.h"
#include "affect/text_classifier.h"

namespace kindred::affect {

enum class Language { English, Chinese };
std::string_view language_code(Language language);  // "en", "zh"

// Chinese when at least half of the letters (Unicode L*) are Han characters and there is at
// least one; English otherwise (Kana/Hangul text is not Chinese).
Language detect_language(std::string_view text);

struct ClassifierAppraiserOptions {
  // Share of the VADER valence in English pleasure; 0 = labels only. 0.2 was the best of
  // {0, 0.2, 0.3, 0.5, 1} on EmoBank's dev split (valence r 0.45 → 0.53); only this one number is
  // chosen on EmoBank, no weights are trained on it.
  float lexicon_weight = 0.2f;
};

class ClassifierAppraiser : public Appraiser {
 public:
  // Borrows the classifiers (they must outlive the appraiser; the shipped ones do). `chinese`
  // may be null: all text then goes to `english`. Throws std::invalid_argument when a classifier
  // does not have the 28 GoEmotions labels in order.
  ClassifierAppraiser(const TextClassifier& english, const TextClassifier* chinese,
                      ClassifierAppraiserOptions options = {});
  // Owns one classifier used for all text (e.g. `--classifier FILE.kcls`).
  explicit ClassifierAppraiser(TextClassifier classifier, ClassifierAppraiserOptions options = {});

  Appraisal appraise(std::string_view text) override;
  std::string name() const override;

  // The appraisal from given probabilities (what appraise does after predicting).
  Appraisal appraise_probs(const TextClassifier& classifier, std::span<const float> probs, float lexicon_valence) const;
  const TextClassifier& classifier_for(std::string_view text) const;

 private:
  std::optional<TextClassifier> owned_;
  const TextClassifier* english_ = nullptr;
  const TextClassifier* chinese_ = nullptr;
  ClassifierAppraiserOptions options_;
};

}  // namespace kindred::affect
