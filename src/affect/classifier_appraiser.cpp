// The classifier appraiser (see classifier_appraiser.h for how each field is derived).
#include "affect/classifier_appraiser.h"

#include <utf8proc.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "affect/text_features_detail.h"

namespace kindred::affect {
namespace {

bool is_han(int32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF);
}

void check_labels(const TextClassifier& c, const char* which) {
  const auto names = label_names();
  if (c.n_labels() != kNumLabels) {
    throw std::invalid_argument(std::string(which) + " classifier has " + std::to_string(c.n_labels()) +
                                " labels; an emotion appraiser needs the 28 GoEmotions labels");
  }
  for (int i = 0; i < kNumLabels; ++i) {
    if (c.label_names()[size_t(i)] != names[size_t(i)]) {
      throw std::invalid_argument(std::string(which) + " classifier's label " + std::to_string(i) + " is '" +
                                  c.label_names()[size_t(i)] + "', expected '" + std::string(names[size_t(i)]) + "'");
    }
  }
}

}  // namespace

std::string_view language_code(Language language) { return language == Language::Chinese ? "zh" : "en"; }

Language detect_language(std::string_view text) {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  size_t pos = 0;
  int han = 0, letters = 0;
  while (pos < text.size()) {
    utf8proc_int32_t cp = 0;
    const auto n = utf8proc_iterate(p + pos, utf8proc_ssize_t(text.size() - pos), &cp);
    if (n <= 0) {
      ++pos;
      continue;
    }
    pos += size_t(n);
    const auto cat = utf8proc_category(cp);
    if (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) {
      ++letters;
      han += is_han(cp);
    }
  }
  return han > 0 && 2 * han >= letters ? Language::Chinese : Language::English;
}

ClassifierAppraiser::ClassifierAppraiser(const TextClassifier& english, const TextClassifier* chinese,
                                         ClassifierAppraiserOptions options)
    : english_(&english), chinese_(chinese), options_(options) {
  check_labels(english, "the English");
  if (chinese) check_labels(*chinese, "the Chinese");
  if (!(options_.lexicon_weight >= 0 && options_.lexicon_weight <= 1)) {
    throw std::invalid_argument("lexicon_weight must be in [0, 1]");
  }
}

ClassifierAppraiser::ClassifierAppraiser(TextClassifier classifier, ClassifierAppraiserOptions options)
    : owned_(std::move(classifier)), options_(options) {
  check_labels(*owned_, "the");
  english_ = &*owned_;
  if (!(options_.lexicon_weight >= 0 && options_.lexicon_weight <= 1)) {
    throw std::invalid_argument("lexicon_weight must be in [0, 1]");
  }
}

const TextClassifier& ClassifierAppraiser::classifier_for(std::string_view text) const {
  if (chinese_ && detect_language(text) == Language::Chinese) return *chinese_;
  return *english_;
}

Appraisal ClassifierAppraiser::appraise_probs(const TextClassifier& classifier, std::span<const float> probs,
                                              float lexicon_valence) const {
  if (probs.size() != size_t(kNumLabels)) throw std::invalid_argument("appraise_probs: expected 28 probabilities");
  Appraisal a;
  double sum = 0;
  for (int i = 0; i < kNumLabels; ++i) {
    a.labels[size_t(i)] = std::clamp(probs[size_t(i)], 0.0f, 1.0f);
    sum += a.labels[size_t(i)];
  }
  a.active = classifier.decide(probs);
  a.pad = pad_of(a.labels);
  if (&classifier != chinese_ && options_.lexicon_weight > 0) {
    a.pad.p = (1 - options_.lexicon_weight) * a.pad.p + options_.lexicon_weight * lexicon_valence;
  }
  a.pad = clamp(a.pad);
  double entropy = 0;
  if (sum > 0) {
    for (float p : a.labels) {
      const double q = p / sum;
      if (q > 0) entropy -= q * std::log(q);
    }
  }
  const double certainty = sum > 0 ? 1.0 - entropy / std::log(double(kNumLabels)) : 0.0;
  a.confidence = float(std::clamp(std::max(double(a.labels[size_t(a.top())]), certainty), 0.0, 1.0));
  return a;
}

Appraisal ClassifierAppraiser::appraise(std::string_view text) {
  const TextClassifier& c = classifier_for(text);
  const auto probs = c.predict(text);
  const bool english = &c != chinese_;
  const float valence = english && options_.lexicon_weight > 0 ? detail::lexicon_valence(text) : 0.0f;
  return appraise_probs(c, probs, valence);
}

std::string ClassifierAppraiser::name() const {
  if (owned_) return "classifier:file";
  return chinese_ ? "classifier:en+zh" : "classifier:en";
}

}  // namespace kindred::affect
