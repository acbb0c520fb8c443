// The LLM-free text classifier behind the classifier appraiser and the intent tracker: hashed
// word and character n-grams plus the cues lexicon methods (VADER) use — negation scope,
// intensifiers, contrast ("but"), emphasis (capitals, "!!!", elongation) and emoji — into a
// linear model. Two modes: multi-label (one sigmoid per label, per-label thresholds tuned on dev:
// emotions) and multi-class (softmax, an out-of-scope threshold on the top probability: intents).
// Models are trained by train_text_classifier and saved in a small binary file that carries its
// own feature settings, so a file always reads text the way it was trained.
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kindred::affect {

struct FeatureOptions {
  int hash_bits = 18;          // 2^hash_bits weight rows
  int word_ngrams = 2;         // word 1..n-grams
  int char_min = 2, char_max = 5;  // character n-grams inside words (with boundary marks)
  bool cjk_chars = true;       // Han/Kana/Hangul runs: character 1..3-grams instead of words
  bool cues = true;            // negation, intensifiers, contrast, emphasis, emoji
};

// A sparse feature vector: hashed indices with values (L2-normalised).
struct SparseFeatures {
  std::vector<uint32_t> index;
  std::vector<float> value;
};

class FeatureExtractor {
 public:
  explicit FeatureExtractor(FeatureOptions options = {});
  const FeatureOptions& options() const { return options_; }
  SparseFeatures extract(std::string_view text) const;
  // The features of `text` before hashing, as "kind:string" (e.g. "w1:good", "neg:good",
  // "c:<go", "h:开心", "flag:<!2>"): for tests and for explaining a prediction.
  std::vector<std::string> describe(std::string_view text) const;

 private:
  FeatureOptions options_;
};

enum class ClassifierMode : uint8_t { MultiLabel = 0, MultiClass = 1 };

struct TrainExample {
  std::string text;
  std::vector<int> labels;  // multi-label: any number (none is allowed); multi-class: exactly one
};

struct TrainOptions {
  ClassifierMode mode = ClassifierMode::MultiLabel;
  FeatureOptions features;
  int epochs = 8;
  float learning_rate = 0.5f;
  float l2 = 1e-6f;
  uint64_t seed = 1;           // shuffling: the same seed and data give the same model
  int threads = 0;             // 0: all hardware threads (results do not depend on it)
  // Added for the emotion model. Multi-label only: a label's positives weigh
  // min(max_positive_weight, sqrt(negatives / positives)) in the loss, so rare labels (grief,
  // pride: <0.3% of GoEmotions) still move their weights; 1 turns weighting off.
  float max_positive_weight = 4.0f;
  // Return the average of the weights over all updates (Polyak averaging) rather than the last
  // ones: steadier models from plain SGD at no cost to prediction time.
  bool average = true;
};

class TextClassifier {
 public:
  TextClassifier() = default;
  // Throws std::runtime_error naming the problem (not a classifier file, wrong version,
  // truncated, checksum mismatch, inconsistent sizes).
  static TextClassifier load(const std::filesystem::path& path);
  static TextClassifier from_bytes(std::span<const uint8_t> bytes);
  void save(const std::filesystem::path& path) const;  // atomic
  std::vector<uint8_t> to_bytes() const;

  ClassifierMode mode() const { return mode_; }
  int n_labels() const { return int(label_names_.size()); }
  const std::vector<std::string>& label_names() const { return label_names_; }
  const FeatureExtractor& features() const { return features_; }

  // Per-label probabilities: sigmoids (multi-label) or a softmax (multi-class).
  std::vector<float> predict(std::string_view text) const;
  std::vector<float> predict(const SparseFeatures& features) const;
  // Decision thresholds: per label (multi-label), or one out-of-scope threshold on the top
  // probability (multi-class, thresholds()[0]; 0 = never out of scope).
  const std::vector<float>& thresholds() const { return thresholds_; }
  void set_thresholds(std::vector<float> thresholds);
  // Labels asserted for `probs` after the thresholds, strongest first. Multi-class: the top label,
  // or none when it is below the out-of-scope threshold. Multi-label: every label at or over its
  // threshold, or the top one when none is.
  std::vector<int> decide(std::span<const float> probs) const;

  // Free-form metadata kept in the file (training data, measured scores), as JSON text.
  const std::string& metadata() const { return metadata_; }
  void set_metadata(std::string json) { metadata_ = std::move(json); }

 private:
  friend TextClassifier train_text_classifier(const std::vector<TrainExample>&, std::vector<std::string>,
                                              const TrainOptions&);
  ClassifierMode mode_ = ClassifierMode::MultiLabel;
  FeatureExtractor features_;
  std::vector<std::string> label_names_;
  std::vector<float> weights_;  // (2^hash_bits) × n_labels, row per feature
  std::vector<float> bias_;     // n_labels
  std::vector<float> thresholds_;
  std::string metadata_;
};

// Trains a classifier; throws std::invalid_argument on empty data or labels out of range.
TextClassifier train_text_classifier(const std::vector<TrainExample>& train, std::vector<std::string> label_names,
                                     const TrainOptions& options);

// Multi-label: per label, the threshold in [0.05, 0.95] that maximises F1 on `dev`.
// Multi-class: the out-of-scope threshold that maximises accuracy over in-scope and out-of-scope
// dev examples (out-of-scope ones have no label); 0 when dev has no out-of-scope examples.
std::vector<float> tune_thresholds(const TextClassifier& classifier, const std::vector<TrainExample>& dev);

}  // namespace kindred::affect
