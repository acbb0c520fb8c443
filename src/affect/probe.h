// The hidden-state probe appraiser: the affective stream reading the semantic stream. A text's
// residual stream after one layer, mean-pooled over its tokens and standardised, feeds a
// multi-label logistic-regression head over the 28 GoEmotions labels with per-label thresholds.
// The layer, the head and the thresholds are chosen on a dev set (train_probe); the result is a
// small file stored beside the model and keyed by its fingerprint.
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "affect/emotion.h"
#include "affect/text_classifier.h"
#include "engine/context.h"
#include "tokenizer/tokenizer.h"

namespace kindred::affect {

// A text with its GoEmotions label indices (datasets.h reads the corpus).
using LabeledText = TrainExample;

struct ProbeModel {
  uint64_t fingerprint = 0;  // Model::fingerprint() of the model it reads
  int layer = 0;             // residual after this layer; n_layer means the final normalised state
  int n_layer = 0;
  int n_embd = 0;
  int max_tokens = 128;      // texts are read up to this many tokens (BOS included), in training and use
  std::vector<float> mean, inv_std;            // n_embd: standardisation
  std::vector<float> weights;                  // kNumLabels × n_embd
  std::array<float, kNumLabels> bias{};
  std::array<float, kNumLabels> thresholds{};  // a label is asserted when its probability reaches this
  double dev_macro_f1 = 0;                     // of the chosen layer, on the dev set it was tuned on

  // Per-label probabilities (independent sigmoids) of one pooled feature vector of n_embd.
  LabelProbs predict(std::span<const float> features) const;
  // The labels at or over their thresholds, strongest first; when none is, the one closest to
  // its threshold (largest p / threshold), since every utterance carries some emotion or neutral.
  std::vector<int> decide(const LabelProbs& probs) const;
  // "probe:L12", or "probe:final" for the final normalised state.
  std::string name() const;

  // Binary file: magic "KNDPROBE", version, fingerprint, sizes, the arrays, then an FNV-1a 64
  // checksum of everything before it. Written atomically (temporary file, then rename).
  void save(const std::filesystem::path& path) const;
  // Throws std::runtime_error naming the problem: not a probe file, unknown version, truncated,
  // checksum mismatch, sizes out of bounds, or built for another model (fingerprint, sizes).
  static ProbeModel load(const std::filesystem::path& path, const Model& model);
  // Where a model's probe lives: `<model path>.probe-<16 hex digits of fingerprint>.bin`.
  static std::filesystem::path path_for(const std::filesystem::path& model_path, uint64_t fingerprint);
};

struct ProbeOptions {
  // Layers to try (n_layer means the final normalised state). Empty: the last layer and every
  // layer_stride-th below it, plus the final normalised state.
  std::vector<int> candidate_layers;
  int layer_stride = 2;
  int max_tokens = 128;
  int epochs = 60;
  int batch_size = 32;
  float learning_rate = 2e-3f;  // Adam
  float l2 = 1e-3f;             // weight decay on the weights (not the biases), per step
  uint64_t seed = 1234;         // shuffling; training is deterministic for a given seed
  std::function<void(const std::string&)> log;  // progress lines; may be empty
};

struct ProbeTrainReport {
  struct Candidate {
    int layer = 0;
    double dev_macro_f1 = 0;
  };
  std::vector<Candidate> candidates;
  int chosen_layer = 0;
  int n_train = 0, n_dev = 0;
  int truncated_texts = 0;  // texts longer than max_tokens (read up to it)
  double extract_seconds = 0, train_seconds = 0;
};

// Pooled residuals of `texts` at the given layers: result[c] is texts.size() × n_embd for
// layers[c]. Uses (and empties) ctx's cache; a steered ctx is refused (the probe reads
// unsteered states). Texts longer than max_tokens are read up to it, counted in *truncated.
std::vector<std::vector<float>> extract_probe_features(Context& ctx, const Tokenizer& tokenizer,
                                                       std::span<const LabeledText> texts, std::span<const int> layers,
                                                       int max_tokens, int* truncated = nullptr);

// Trains one head per candidate layer on `train`, tunes per-label thresholds on `dev` (F1), and
// keeps the layer with the best dev macro-F1. Throws std::runtime_error on empty sets or bad layers.
ProbeModel train_probe(Context& ctx, const Tokenizer& tokenizer, std::span<const LabeledText> train,
                       std::span<const LabeledText> dev, const ProbeOptions& options,
                       ProbeTrainReport* report = nullptr);

// Macro-F1 (over the 28 labels) of a probe on labelled texts.
double probe_macro_f1(const ProbeModel& probe, Context& ctx, const Tokenizer& tokenizer,
                      std::span<const LabeledText> texts);

// The probe as an Appraiser. It evaluates texts in `ctx`, whose cache it empties each time: give
// it a Context of its own (n_ctx >= probe.max_tokens), not the chat's.
// confidence = the top label's probability × min(1, dev_macro_f1 / 0.5): the head's certainty,
// discounted for a probe that scored under 0.5 macro-F1 on its dev set.
class ProbeAppraiser : public Appraiser {
 public:
  ProbeAppraiser(Context& ctx, const Tokenizer& tokenizer, ProbeModel probe);
  Appraisal appraise(std::string_view text) override;
  std::string name() const override { return probe_.name(); }
  const ProbeModel& probe() const { return probe_; }

 private:
  Context& ctx_;
  const Tokenizer& tokenizer_;
  ProbeModel probe_;
};

// Everything `kindred affect train --model M.gguf` does: load the model (a local GGUF path),
// read GoEmotions train/dev (and test when evaluate_test) from data_dir, extract, choose the
// layer, train, tune, write the probe file (output, or ProbeModel::path_for the model) and return
// a JSON summary (dev macro-F1 per candidate layer, chosen layer, test macro-F1, timings).
struct ProbeTrainRequest {
  std::filesystem::path model_path;
  std::filesystem::path data_dir;  // holds train.tsv, dev.tsv, test.tsv
  size_t train_limit = 1000;       // 0: all rows
  size_t dev_limit = 300;
  bool evaluate_test = false;      // also report test macro-F1
  size_t test_limit = 300;         // 0: all rows
  int n_threads = 0;
  std::filesystem::path output;    // empty: ProbeModel::path_for(model_path, fingerprint)
  ProbeOptions options;
  std::ostream* progress = nullptr;  // progress lines; null for none
};
nlohmann::ordered_json run_probe_training(const ProbeTrainRequest& request);

}  // namespace kindred::affect
