// The emotion classifiers built into the binary (models/affect/*.kcls, assembled with .incbin):
// English trained on GoEmotions train (thresholds from dev), Chinese trained on CPED's valid
// split (thresholds from a held-out fifth of its dialogues). Each file's metadata records the
// data, options and measured test scores (`kindred affect eval` reproduces them).
#pragma once
#include <memory>

#include "affect/classifier_appraiser.h"
#include "affect/text_classifier.h"

namespace kindred::affect {

// Parsed once on first use (thread-safe); throws std::runtime_error if the embedded bytes are
// not a valid classifier (a packaging bug).
const TextClassifier& shipped_emotion_classifier(Language language);

// The default appraiser: the shipped classifiers, Chinese text to the Chinese one.
std::unique_ptr<Appraiser> make_default_appraiser();

}  // namespace kindred::affect
