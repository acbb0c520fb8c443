// Emotion steering vectors: per GoEmotions label and per layer, the mean difference of pooled
// residual activations between an emotional prompt and its neutral twin (contrastive activation
// addition). A library is built once per model (`kindred affect steer-build`), stored as a GGUF
// side file keyed by the model's fingerprint, and blended per turn into the SteeringVectors a
// Context adds to its residual stream.
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "affect/emotion.h"
#include "engine/context.h"
#include "tokenizer/tokenizer.h"

namespace kindred::affect {

struct SteeringPair {
  std::string emotional;  // a prompt that expresses the label
  std::string neutral;    // the same content said without the emotion
};
// Pairs per label in GoEmotions order; a label may have none (neutral always does).
using SteeringPairs = std::array<std::vector<SteeringPair>, kNumLabels>;

// Parses {"labels": {"<label>": [{"emotional": "...", "neutral": "..."}, ...], ...}}. Throws
// std::runtime_error naming the unknown label or malformed entry.
SteeringPairs parse_steering_pairs(std::string_view json);
// data/affect/steering_pairs.json, assembled into the binary.
std::string_view embedded_steering_pairs_json();
// The embedded pairs, parsed.
const SteeringPairs& default_steering_pairs();

struct SteeringBuildOptions {
  // Called after each pair with (pairs done, pairs in all), for progress output; may be empty.
  std::function<void(int, int)> progress;
};

class SteeringLibrary {
 public:
  // Runs every pair through ctx (its cache is used and emptied; a steered ctx is refused) and
  // stores, per label with pairs, mean(pooled(emotional) − pooled(neutral)) for every layer.
  // Texts are tokenized with the model's BOS and truncated to the context (throws if a text is empty).
  static SteeringLibrary build(Context& ctx, const Tokenizer& tokenizer, const SteeringPairs& pairs,
                               const SteeringBuildOptions& options = {});
  // Reads a side file written by save; throws std::runtime_error when it is not one, belongs to
  // another model (fingerprint) or its sizes disagree with the model.
  static SteeringLibrary load(const std::filesystem::path& path, const Model& model);
  // Writes the GGUF side file atomically.
  void save(const std::filesystem::path& path) const;
  // Where steer-build puts the file by default: M.gguf → M.steer.gguf.
  static std::filesystem::path default_path(const std::filesystem::path& model_path);

  int n_layer() const { return n_layer_; }
  int n_embd() const { return n_embd_; }
  uint64_t fingerprint() const { return fingerprint_; }
  bool has(int label) const;
  int pair_count(int label) const;
  // The raw mean difference for one label at one layer (n_embd values); throws if the label has none.
  std::span<const float> vector(int label, int layer) const;
  // Mean L2 norm of one token's residual after each layer, over every prompt (position 0 excluded).
  const std::vector<float>& residual_norm() const { return residual_norm_; }
  // Suggested steering layers [first, last] (inclusive): the middle half of the stack, where
  // contrastive steering usually moves style without breaking the text.
  int suggested_first() const { return suggested_first_; }
  int suggested_last() const { return suggested_last_; }

  // The vectors to hand to Context::set_steering: for the n_steer layers in [layer_from, layer_to]
  // (inclusive)
  //   v_l = intensity · strength · (kStrengthFraction / n_steer) · residual_norm[l] · Σ_k mixture[k] · u_{k,l}
  // where u_{k,l} is label k's direction at layer l scaled to unit length; other layers are empty.
  // Because each addition stays in the residual stream, strength 1 with a one-hot mixture and
  // intensity 1 adds in all about kStrengthFraction (half) of a typical token's residual norm, however
  // wide the range: enough to colour the text, well short of drowning it (raise strength to push
  // harder). Linear in the mixture. Neutral (and any label of weight 0) contributes nothing; weight
  // on another label the library has no vector for throws std::runtime_error, as does a range
  // outside [0, n_layer).
  std::shared_ptr<SteeringVectors> blend(const LabelProbs& mixture, float intensity, float strength, int layer_from,
                                         int layer_to) const;
  // The same over the suggested layers.
  std::shared_ptr<SteeringVectors> blend(const LabelProbs& mixture, float intensity, float strength) const {
    return blend(mixture, intensity, strength, suggested_first_, suggested_last_);
  }
  static constexpr float kStrengthFraction = 0.5f;

 private:
  int n_layer_ = 0, n_embd_ = 0;
  uint64_t fingerprint_ = 0;
  std::array<std::vector<float>, kNumLabels> vectors_;  // n_layer × n_embd, or empty
  std::array<int, kNumLabels> pair_counts_{};
  std::vector<float> residual_norm_;
  int suggested_first_ = 0, suggested_last_ = 0;
};

}  // namespace kindred::affect
