// Intent tracking for a deployment (a shop keeper, a support desk): the intent inventory the
// deployment declares, a multi-class classifier trained on it by the LLM-free TextClassifier with
// an out-of-scope threshold on the top probability, and the per-session intent history. Loaders
// for the public benchmarks used to measure it (BANKING77, CLINC150) live here too, in
// intent_datasets.cpp.
#pragma once
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "affect/text_classifier.h"

namespace kindred::affect {

// The name classify() reports for text no intent covers.
inline constexpr std::string_view kOutOfScope = "out_of_scope";

// ---- Inventory --------------------------------------------------------------------------------

struct Intent {
  std::string name;         // [A-Za-z0-9_.:-]+, unique, not "out_of_scope"
  std::string description;  // optional; also a training example when the options say so
  std::vector<std::string> examples;  // at least one, each non-empty
};

// {"intents":[{"name":…,"description":…,"examples":[…]},…],
//  "out_of_scope_examples":[…] (optional: text the deployment must reject),
//  "out_of_scope_threshold": t (optional, in [0, 1): used as is instead of a tuned threshold),
//  "background": true|false (optional, default true: train a hidden out-of-scope class on
//  out_of_scope_examples plus Kindred's built-in off-topic sentences; turn it off when the
//  deployment's own domain is general chat, weather, music …)}
struct IntentInventory {
  std::vector<Intent> intents;
  std::vector<std::string> out_of_scope_examples;
  std::optional<float> out_of_scope_threshold;
  bool background = true;

  int index_of(std::string_view name) const;  // -1 when absent
  std::vector<std::string> names() const;
};

// Throws std::runtime_error naming `source`, the intent (index and name) and the field at fault.
IntentInventory parse_intent_inventory(const nlohmann::json& json, const std::string& source = "inventory");
IntentInventory load_intent_inventory(const std::filesystem::path& path);

// ---- Labelled data (inventories and public benchmarks) ----------------------------------------

struct LabeledUtterance {
  std::string text;
  std::string intent;  // empty: out of scope
};

// A benchmark split three ways; `intents` is the label set in a fixed order (first appearance in
// train). `dev` is empty when the benchmark has none (BANKING77).
struct IntentDataset {
  std::vector<std::string> intents;
  std::vector<LabeledUtterance> train, dev, test;
};

// BANKING77 (PolyAI, CC BY 4.0): header "text,category", one utterance per row, RFC 4180 quoting
// (parse_csv in datasets.h); surrounding whitespace is trimmed. Errors name the file and line.
std::vector<LabeledUtterance> load_banking77_csv(const std::filesystem::path& path);
// train.csv and test.csv in `dir` (or beside a given train.csv / test.csv); no dev split.
IntentDataset load_banking77(const std::filesystem::path& dir_or_file);
// CLINC150 (Larson et al. 2019, CC BY 3.0) data_full.json: train/val/test and
// oos_train/oos_val/oos_test lists of [utterance, intent]; the oos lists become out-of-scope
// examples of the matching split (oos_train is left out of training: it tunes nothing).
IntentDataset load_clinc150(const std::filesystem::path& path);
// Off-topic sentences (weather, trivia, music, maths …) that no customer-service or character
// inventory is expected to cover: the default training data of the hidden out-of-scope class.
const std::vector<std::string>& background_utterances();

// An inventory as a dataset: every example (and out_of_scope_examples) in `test`.
IntentDataset inventory_dataset(const IntentInventory& inventory);

// A deterministic stratified split: about `fraction` of each intent's examples (at least one
// when it has two or more) go to the second list. Out-of-scope examples split the same way.
std::pair<std::vector<LabeledUtterance>, std::vector<LabeledUtterance>> split_holdout(
    const std::vector<LabeledUtterance>& data, double fraction, uint64_t seed);

// ---- Classifier -------------------------------------------------------------------------------

struct IntentTrainOptions {
  // Picked on a held-out 10% of BANKING77 train (docs/INTENTS.md): stronger L2 than the emotion
  // model's 1e-6 and more epochs (8 epochs, 1e-6: 0.9055 there; 20 epochs, 1e-4: 0.9164).
  TrainOptions train{.mode = ClassifierMode::MultiClass,
                     .features = {.hash_bits = 18, .word_ngrams = 2, .char_min = 2, .char_max = 5},
                     .epochs = 20,
                     .l2 = 1e-4f};
  // Inventories: train a hidden out-of-scope class (see IntentInventory::background); false
  // overrides the inventory. Text whose top class is that one is out of scope at any threshold.
  bool background = true;
  bool add_descriptions = true;    // the name ("card_lost" → "card lost") and description as examples
  double holdout_fraction = 0.2;   // of the examples, to tune the threshold when no dev set exists
  // With no out-of-scope dev examples the threshold keeps this share of held-out in-scope
  // examples in scope (a quantile of their top probability).
  double in_scope_keep = 0.95;
  // Set: used as is (it overrides the inventory's and any tuning).
  std::optional<float> threshold;
};

struct IntentAlternative {
  std::string name;
  float confidence = 0;
};

struct IntentResult {
  std::string name;          // an intent, or kOutOfScope
  float confidence = 0;      // the top intent's probability (also when out of scope)
  bool in_scope = false;
  std::vector<IntentAlternative> alternatives;  // the top k intents, strongest first
};
nlohmann::ordered_json to_json(const IntentResult& result);

// How the threshold was set, kept in the model file.
struct IntentThreshold {
  float value = 0;
  std::string source;  // "inventory", "dev", "holdout-quantile", "none"
};

class IntentClassifier {
 public:
  // Wraps a trained multi-class model; throws std::invalid_argument for a multi-label one.
  explicit IntentClassifier(TextClassifier model);

  // Trains on the inventory's examples (and the hidden out-of-scope class, when on). Threshold:
  // the inventory's explicit one; else tuned on held-out examples plus held-out
  // out_of_scope_examples when it has some; else the in-scope quantile on held-out examples. The
  // final model is retrained on every example.
  static IntentClassifier train(const IntentInventory& inventory, const IntentTrainOptions& options = {});
  // Trains on labelled data (no out-of-scope examples in `train`: throws). The threshold is tuned
  // on `dev` when it holds out-of-scope examples; otherwise it is 0 (a closed-set benchmark such as
  // BANKING77 has nothing to reject) unless options.threshold sets it.
  static IntentClassifier train(const std::vector<std::string>& intents, const std::vector<LabeledUtterance>& train,
                                const std::vector<LabeledUtterance>& dev, const IntentTrainOptions& options = {});

  static IntentClassifier load(const std::filesystem::path& path);  // throws naming the path
  void save(const std::filesystem::path& path) const;

  IntentResult classify(std::string_view text, int top_k = 3) const;
  // The label index classify() would report, -1 out of scope (for metrics).
  int predict_index(std::string_view text) const;

  // The intents, without the hidden out-of-scope class.
  const std::vector<std::string>& intents() const { return intents_; }
  bool has_background_class() const { return int(intents_.size()) < model_.n_labels(); }
  int index_of(std::string_view name) const;  // -1 when absent
  float threshold() const;
  void set_threshold(float threshold);  // in [0, 1); throws otherwise
  const TextClassifier& model() const { return model_; }
  // Metadata JSON kept in the model file ({"kind":"intent", "threshold_source":…, …}).
  nlohmann::json metadata() const;
  void set_metadata(const nlohmann::json& metadata);

 private:
  TextClassifier model_;
  std::vector<std::string> intents_;
};

// Converts labelled utterances to trainer examples (out of scope: no label); throws naming the
// utterance index for an intent not in `intents`.
std::vector<TrainExample> to_train_examples(const std::vector<LabeledUtterance>& data,
                                            const std::vector<std::string>& intents);

// ---- Evaluation -------------------------------------------------------------------------------

struct IntentEvaluation {
  int n = 0, n_in_scope = 0, n_out_of_scope = 0;
  double accuracy = 0;            // over every example; out of scope counts as a class
  double macro_f1 = 0;            // over the classifier's intents (out of scope counts for none)
  double in_scope_accuracy = 0;   // in-scope examples labelled with their intent
  double out_of_scope_recall = 0; // out-of-scope examples rejected (0 when there are none)
  double in_scope_rejected = 0;   // share of in-scope examples wrongly called out of scope
};
// Throws naming the example index when a label is not one of the classifier's intents.
IntentEvaluation evaluate_intents(const IntentClassifier& classifier, const std::vector<LabeledUtterance>& data);
nlohmann::ordered_json to_json(const IntentEvaluation& evaluation);

// ---- Session history --------------------------------------------------------------------------

struct IntentTurn {
  int turn = 0;           // the session's turn index
  std::string intent;     // an intent or kOutOfScope
  float confidence = 0;
  friend bool operator==(const IntentTurn&, const IntentTurn&) = default;
};

// What a session's user asked for, turn by turn (stored with the session as JSON).
class IntentHistory {
 public:
  // Turn indices must increase; throws std::invalid_argument otherwise.
  void record(int turn, const IntentResult& result);
  void add(IntentTurn turn);
  const std::vector<IntentTurn>& turns() const { return turns_; }
  bool empty() const { return turns_.empty(); }
  // The latest in-scope turn whose confidence is at least `min_confidence`: the intent the
  // conversation is about now (an out-of-scope aside does not replace it).
  std::optional<IntentTurn> current(float min_confidence = 0) const;

  // {"turns":[{"turn":0,"intent":"card_lost","confidence":0.91},…]}
  nlohmann::ordered_json to_json() const;
  // Throws std::runtime_error naming the turn index and field at fault.
  static IntentHistory from_json(const nlohmann::json& json);

 private:
  std::vector<IntentTurn> turns_;
};

}  // namespace kindred::affect
