// The shipped weights and lexicons are assembled into read-only data with .incbin (as
// src/cli/embedded_model.cpp does), so the classifier works offline with no files beside it.
#include "affect/shipped_classifiers.h"

#include <stdexcept>

#include "affect/text_features_detail.h"
#include "util/incbin.h"

KINDRED_INCBIN(kindred_affect_goemotions_en, KINDRED_MODELS_DIR "/affect/goemotions-en.kcls");
KINDRED_INCBIN(kindred_affect_cped_zh, KINDRED_MODELS_DIR "/affect/cped-zh.kcls");
KINDRED_INCBIN(kindred_affect_emoji, KINDRED_MODELS_DIR "/affect/emoji-descriptions.tsv");
KINDRED_INCBIN(kindred_affect_emoticons, KINDRED_MODELS_DIR "/affect/afinn-emoticon-8.txt");
KINDRED_INCBIN(kindred_affect_vader, KINDRED_MODELS_DIR "/affect/vader-valence.tsv");

extern "C" const uint8_t kindred_affect_goemotions_en[], kindred_affect_goemotions_en_end[];
extern "C" const uint8_t kindred_affect_cped_zh[], kindred_affect_cped_zh_end[];
extern "C" const uint8_t kindred_affect_emoji[], kindred_affect_emoji_end[];
extern "C" const uint8_t kindred_affect_emoticons[], kindred_affect_emoticons_end[];
extern "C" const uint8_t kindred_affect_vader[], kindred_affect_vader_end[];

namespace kindred::affect {

namespace detail {
std::span<const uint8_t> embedded_emoji_table() { return {kindred_affect_emoji, kindred_affect_emoji_end}; }
std::span<const uint8_t> embedded_emoticon_table() { return {kindred_affect_emoticons, kindred_affect_emoticons_end}; }
std::span<const uint8_t> embedded_vader_lexicon() { return {kindred_affect_vader, kindred_affect_vader_end}; }
}  // namespace detail

namespace {

TextClassifier load_embedded(std::span<const uint8_t> bytes, const char* name) {
  try {
    return TextClassifier::from_bytes(bytes);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("the built-in classifier ") + name + " is unusable: " + e.what());
  }
}

}  // namespace

const TextClassifier& shipped_emotion_classifier(Language language) {
  if (language == Language::Chinese) {
    static const TextClassifier zh =
        load_embedded({kindred_affect_cped_zh, kindred_affect_cped_zh_end}, "models/affect/cped-zh.kcls");
    return zh;
  }
  static const TextClassifier en =
      load_embedded({kindred_affect_goemotions_en, kindred_affect_goemotions_en_end}, "models/affect/goemotions-en.kcls");
  return en;
}

std::unique_ptr<Appraiser> make_default_appraiser() {
  return std::make_unique<ClassifierAppraiser>(shipped_emotion_classifier(Language::English),
                                               &shipped_emotion_classifier(Language::Chinese));
}

}  // namespace kindred::affect
