#include "affect/intent.h"

#include "affect/datasets.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <numeric>
#include <set>
#include <sstream>
#include <stdexcept>

#include "affect/metrics.h"

namespace kindred::affect {
namespace {

std::string json_type(const nlohmann::json& j) { return j.type_name(); }

bool valid_name(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == ':' || c == '-';
  });
}

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

// A list of non-blank strings; `where` names the field for the message.
std::vector<std::string> string_list(const nlohmann::json& j, const std::string& where, bool allow_empty) {
  if (!j.is_array()) throw std::runtime_error(where + ": expected a list of strings, got " + json_type(j));
  if (j.empty() && !allow_empty) throw std::runtime_error(where + ": is empty (give at least one example)");
  std::vector<std::string> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    if (!j[i].is_string()) throw std::runtime_error(at + ": expected a string, got " + json_type(j[i]));
    std::string s = j[i].get<std::string>();
    if (blank(s)) throw std::runtime_error(at + ": is empty");
    out.push_back(std::move(s));
  }
  return out;
}

// "card_lost" → "card lost": the name often is the shortest paraphrase of the intent.
std::string name_as_text(std::string_view name) {
  std::string s(name);
  for (char& c : s) {
    if (c == '_' || c == '-' || c == '.' || c == ':') c = ' ';
  }
  return s;
}


}  // namespace

// ---- Inventory --------------------------------------------------------------------------------

int IntentInventory::index_of(std::string_view name) const {
  for (size_t i = 0; i < intents.size(); ++i) {
    if (intents[i].name == name) return int(i);
  }
  return -1;
}

std::vector<std::string> IntentInventory::names() const {
  std::vector<std::string> out;
  for (const auto& i : intents) out.push_back(i.name);
  return out;
}

IntentInventory parse_intent_inventory(const nlohmann::json& json, const std::string& source) {
  if (!json.is_object()) throw std::runtime_error(source + ": expected a JSON object, got " + json_type(json));
  // Unknown keys are typos ("out_of_scope_treshold") that would otherwise change nothing silently.
  for (const auto& [key, value] : json.items()) {
    if (key != "intents" && key != "out_of_scope_examples" && key != "out_of_scope_threshold" && key != "background") {
      throw std::runtime_error(source + ": unknown field \"" + key +
                               "\" (expected intents, out_of_scope_examples, out_of_scope_threshold, background)");
    }
  }
  if (!json.contains("intents")) throw std::runtime_error(source + ": missing field \"intents\"");
  const auto& list = json["intents"];
  if (!list.is_array()) throw std::runtime_error(source + ": \"intents\" must be a list, got " + json_type(list));
  if (list.size() < 2) throw std::runtime_error(source + ": \"intents\" needs at least 2 intents to tell apart");

  IntentInventory inv;
  std::map<std::string, size_t> names;
  std::map<std::string, std::string> example_owner;  // example text → "intents[i] (name)"
  for (size_t i = 0; i < list.size(); ++i) {
    const auto& item = list[i];
    std::string where = source + ": intents[" + std::to_string(i) + "]";
    if (!item.is_object()) throw std::runtime_error(where + ": expected an object, got " + json_type(item));
    for (const auto& [key, value] : item.items()) {
      if (key != "name" && key != "description" && key != "examples") {
        throw std::runtime_error(where + ": unknown field \"" + key + "\" (expected name, description, examples)");
      }
    }
    Intent intent;
    if (!item.contains("name")) throw std::runtime_error(where + ": missing field \"name\"");
    if (!item["name"].is_string()) {
      throw std::runtime_error(where + ".name: expected a string, got " + json_type(item["name"]));
    }
    intent.name = item["name"].get<std::string>();
    if (!valid_name(intent.name)) {
      throw std::runtime_error(where + ".name: \"" + intent.name + "\" must be non-empty letters, digits and _ . : -");
    }
    if (intent.name == kOutOfScope) {
      throw std::runtime_error(where + ".name: \"" + intent.name + "\" is reserved for rejected text");
    }
    if (auto [it, fresh] = names.emplace(intent.name, i); !fresh) {
      throw std::runtime_error(where + ".name: duplicate intent \"" + intent.name + "\" (also intents[" +
                               std::to_string(it->second) + "])");
    }
    where += " (" + intent.name + ")";
    if (item.contains("description")) {
      if (!item["description"].is_string()) {
        throw std::runtime_error(where + ".description: expected a string, got " + json_type(item["description"]));
      }
      intent.description = item["description"].get<std::string>();
    }
    if (!item.contains("examples")) throw std::runtime_error(where + ": missing field \"examples\"");
    intent.examples = string_list(item["examples"], where + ".examples", false);
    // One text under two intents teaches the classifier a contradiction.
    for (size_t e = 0; e < intent.examples.size(); ++e) {
      const std::string here = "intents[" + std::to_string(i) + "] (" + intent.name + ") examples[" + std::to_string(e) + "]";
      if (auto [it, fresh] = example_owner.emplace(intent.examples[e], here); !fresh) {
        throw std::runtime_error(source + ": " + here + ": duplicate example \"" + intent.examples[e] +
                                 "\" (also " + it->second + ")");
      }
    }
    inv.intents.push_back(std::move(intent));
  }
  if (json.contains("out_of_scope_examples")) {
    inv.out_of_scope_examples = string_list(json["out_of_scope_examples"], source + ": out_of_scope_examples", true);
    for (size_t e = 0; e < inv.out_of_scope_examples.size(); ++e) {
      if (auto it = example_owner.find(inv.out_of_scope_examples[e]); it != example_owner.end()) {
        throw std::runtime_error(source + ": out_of_scope_examples[" + std::to_string(e) + "]: \"" + it->first +
                                 "\" is also an example of " + it->second);
      }
    }
  }
  if (json.contains("out_of_scope_threshold")) {
    const auto& t = json["out_of_scope_threshold"];
    if (!t.is_number()) {
      throw std::runtime_error(source + ": out_of_scope_threshold: expected a number, got " + json_type(t));
    }
    const double v = t.get<double>();
    if (!(v >= 0 && v < 1)) {
      throw std::runtime_error(source + ": out_of_scope_threshold: " + std::to_string(v) + " is outside [0, 1)");
    }
    inv.out_of_scope_threshold = float(v);
  }
  if (json.contains("background")) {
    if (!json["background"].is_boolean()) {
      throw std::runtime_error(source + ": background: expected true or false, got " + json_type(json["background"]));
    }
    inv.background = json["background"].get<bool>();
  }
  return inv;
}

IntentInventory load_intent_inventory(const std::filesystem::path& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path.string() + ": invalid JSON: " + e.what());
  }
  return parse_intent_inventory(j, path.string());
}

// ---- Classifier -------------------------------------------------------------------------------

std::vector<TrainExample> to_train_examples(const std::vector<LabeledUtterance>& data,
                                            const std::vector<std::string>& intents) {
  std::map<std::string_view, int> index;
  for (size_t i = 0; i < intents.size(); ++i) index.emplace(intents[i], int(i));
  std::vector<TrainExample> out;
  out.reserve(data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    TrainExample ex{data[i].text, {}};
    if (!data[i].intent.empty()) {
      auto it = index.find(data[i].intent);
      if (it == index.end()) {
        throw std::runtime_error("example " + std::to_string(i) + " (\"" + data[i].text + "\") has unknown intent \"" +
                                 data[i].intent + "\"");
      }
      ex.labels.push_back(it->second);
    }
    out.push_back(std::move(ex));
  }
  return out;
}

namespace {

TrainOptions multiclass(const IntentTrainOptions& options) {
  TrainOptions t = options.train;
  t.mode = ClassifierMode::MultiClass;
  return t;
}

// The index classify() reports for `probs` (-1: out of scope) and the top intent's probability.
// Out of scope: the hidden background class (the last label, when `background`) is on top, or the
// top intent is below `threshold`.
std::pair<int, float> decide_intent(std::span<const float> probs, bool background, float threshold) {
  const size_t n = background ? probs.size() - 1 : probs.size();
  const int top = int(std::max_element(probs.begin(), probs.begin() + long(n)) - probs.begin());
  const float p = probs[size_t(top)];
  if (background && probs.back() > p) return {-1, p};
  return {p >= threshold ? top : -1, p};
}

// With a background class the shared tune_thresholds (which knows no such class) does not apply:
// the same search it makes — the threshold in 0, 0.01 … 1 with the most dev examples right.
float tune_with_background(const TextClassifier& model, const std::vector<LabeledUtterance>& dev,
                           const std::vector<std::string>& intents) {
  std::vector<std::vector<float>> probs;
  for (const auto& u : dev) probs.push_back(model.predict(u.text));
  float best_t = 0;
  long best = -1;
  for (int step = 0; step <= 100; ++step) {
    const float t = float(step) / 100.0f;
    long correct = 0;
    for (size_t i = 0; i < dev.size(); ++i) {
      const int got = decide_intent(probs[i], true, t).first;
      correct += dev[i].intent.empty() ? got < 0 : (got >= 0 && intents[size_t(got)] == dev[i].intent);
    }
    if (correct > best) best = correct, best_t = t;
  }
  return best_t;
}

// The threshold for `model` from `dev`: tuned when dev holds out-of-scope examples (maximum
// accuracy over both kinds); otherwise the (1 − keep) quantile of the in-scope top probabilities,
// so about `keep` of in-scope text stays in scope.
IntentThreshold threshold_from_dev(const TextClassifier& model, const std::vector<LabeledUtterance>& dev,
                                   const std::vector<std::string>& intents, double keep) {
  if (dev.empty()) throw std::runtime_error("cannot tune the out-of-scope threshold: no held-out examples");
  const bool has_oos = std::any_of(dev.begin(), dev.end(), [](const auto& u) { return u.intent.empty(); });
  const bool has_in = std::any_of(dev.begin(), dev.end(), [](const auto& u) { return !u.intent.empty(); });
  const bool background = model.n_labels() > int(intents.size());
  if (has_oos && has_in) {
    if (background) return {tune_with_background(model, dev, intents), "dev"};
    const auto t = tune_thresholds(model, to_train_examples(dev, intents));
    return {t.empty() ? 0.0f : t[0], "dev"};
  }
  if (!has_in) throw std::runtime_error("cannot tune the out-of-scope threshold: no in-scope held-out examples");
  std::vector<float> tops;
  for (const auto& u : dev) tops.push_back(decide_intent(model.predict(u.text), background, 0).second);
  std::sort(tops.begin(), tops.end());
  const size_t k = size_t(std::floor((1.0 - keep) * double(tops.size())));
  // Just under the k-th smallest, so that example itself stays in scope.
  const float t = tops[std::min(k, tops.size() - 1)];
  return {std::max(0.0f, std::nextafter(t, 0.0f)), "holdout-quantile"};
}

nlohmann::json options_json(const IntentTrainOptions& o) {
  const auto& f = o.train.features;
  return {{"epochs", o.train.epochs},
          {"learning_rate", o.train.learning_rate},
          {"l2", o.train.l2},
          {"seed", o.train.seed},
          {"hash_bits", f.hash_bits},
          {"word_ngrams", f.word_ngrams},
          {"char_min", f.char_min},
          {"char_max", f.char_max},
          {"cjk_chars", f.cjk_chars},
          {"cues", f.cues},
          {"add_descriptions", o.add_descriptions},
          {"background", o.background}};
}

// Adds the intents' names (as text) to the training data: a free, always-correct example each.
std::vector<LabeledUtterance> with_names(std::vector<LabeledUtterance> data, const std::vector<std::string>& intents) {
  for (const auto& name : intents) data.push_back({name_as_text(name), name});
  return data;
}

}  // namespace

IntentClassifier::IntentClassifier(TextClassifier model) : model_(std::move(model)) {
  if (model_.mode() != ClassifierMode::MultiClass) {
    throw std::invalid_argument("an intent classifier needs a multi-class model, got a multi-label one");
  }
  intents_ = model_.label_names();
  // A trailing "out_of_scope" label is the hidden background class; anywhere else it is a mistake.
  if (!intents_.empty() && intents_.back() == kOutOfScope) intents_.pop_back();
  if (std::find(intents_.begin(), intents_.end(), kOutOfScope) != intents_.end()) {
    throw std::invalid_argument("\"out_of_scope\" may only be the last label of an intent classifier");
  }
  if (intents_.size() < 2) throw std::invalid_argument("an intent classifier needs at least 2 intents");
}

IntentClassifier IntentClassifier::train(const IntentInventory& inventory, const IntentTrainOptions& options) {
  if (inventory.intents.size() < 2) throw std::invalid_argument("an intent inventory needs at least 2 intents");
  const std::vector<std::string> intents = inventory.names();
  const bool background = options.background && inventory.background;
  std::vector<std::string> labels = intents;
  if (background) labels.push_back(std::string(kOutOfScope));
  // Out-of-scope text ("" intent): the inventory's, plus the built-in sentences with a background
  // class. Split with the examples, so held-out ones tune the threshold.
  std::vector<LabeledUtterance> examples, extras;
  for (const Intent& intent : inventory.intents) {
    for (const auto& e : intent.examples) examples.push_back({e, intent.name});
    if (options.add_descriptions) {
      extras.push_back({name_as_text(intent.name), intent.name});
      if (!blank(intent.description)) extras.push_back({intent.description, intent.name});
    }
  }
  std::set<std::string> own;
  for (const auto& e : examples) own.insert(e.text);
  for (const auto& e : inventory.out_of_scope_examples) examples.push_back({e, ""});
  if (background) {
    for (const auto& e : background_utterances()) {
      if (!own.count(e)) examples.push_back({e, ""});  // the inventory's own word wins
    }
  }
  // Training data: out-of-scope text goes to the background class, or is left out without one.
  const auto training = [&](const std::vector<LabeledUtterance>& data) {
    std::vector<LabeledUtterance> out;
    for (const auto& u : data) {
      if (!u.intent.empty()) out.push_back(u);
      else if (background) out.push_back({u.text, std::string(kOutOfScope)});
    }
    out.insert(out.end(), extras.begin(), extras.end());
    return to_train_examples(out, labels);
  };
  const TrainOptions topt = multiclass(options);
  IntentThreshold threshold{0, "inventory"};
  if (options.threshold) {
    threshold = {*options.threshold, "option"};
  } else if (inventory.out_of_scope_threshold) {
    threshold.value = *inventory.out_of_scope_threshold;
  } else {
    auto [fit, held] = split_holdout(examples, options.holdout_fraction, options.train.seed);
    if (std::none_of(held.begin(), held.end(), [](const auto& u) { return !u.intent.empty(); })) {
      throw std::runtime_error(
          "cannot tune the out-of-scope threshold: no intent has 2 or more examples to hold out; add examples or "
          "set out_of_scope_threshold in the inventory");
    }
    if (!background) {  // without a background class out-of-scope text is never trained on: all of it tunes
      for (const auto& u : fit) {
        if (u.intent.empty()) held.push_back(u);
      }
    }
    const TextClassifier probe = train_text_classifier(training(fit), labels, topt);
    threshold = threshold_from_dev(probe, held, intents, options.in_scope_keep);
  }
  IntentClassifier out(train_text_classifier(training(examples), labels, topt));
  out.set_threshold(threshold.value);
  nlohmann::json meta{{"kind", "intent"},
                      {"threshold_source", threshold.source},
                      {"train_examples", examples.size()},
                      {"background", background},
                      {"options", options_json(options)}};
  nlohmann::json descriptions = nlohmann::json::object();
  for (const Intent& intent : inventory.intents) descriptions[intent.name] = intent.description;
  meta["descriptions"] = descriptions;
  out.set_metadata(meta);
  return out;
}

IntentClassifier IntentClassifier::train(const std::vector<std::string>& intents,
                                         const std::vector<LabeledUtterance>& train,
                                         const std::vector<LabeledUtterance>& dev, const IntentTrainOptions& options) {
  for (size_t i = 0; i < train.size(); ++i) {
    if (train[i].intent.empty()) {
      throw std::invalid_argument("training example " + std::to_string(i) +
                                  " is out of scope; out-of-scope examples belong in the dev split");
    }
  }
  const TrainOptions topt = multiclass(options);
  const auto data = [&](const std::vector<LabeledUtterance>& d) {
    return to_train_examples(options.add_descriptions ? with_names(d, intents) : d, intents);
  };
  IntentClassifier out(train_text_classifier(data(train), intents, topt));
  IntentThreshold threshold{0, "none"};
  const bool dev_has_oos = std::any_of(dev.begin(), dev.end(), [](const auto& u) { return u.intent.empty(); });
  if (options.threshold) {
    threshold = {*options.threshold, "option"};
  } else if (dev_has_oos) {
    threshold = threshold_from_dev(out.model(), dev, intents, options.in_scope_keep);
  }
  out.set_threshold(threshold.value);
  out.set_metadata({{"kind", "intent"},
                     {"threshold_source", threshold.source},
                     {"train_examples", train.size()},
                     {"dev_examples", dev.size()},
                     {"options", options_json(options)}});
  return out;
}

IntentClassifier IntentClassifier::load(const std::filesystem::path& path) {
  TextClassifier model = TextClassifier::load(path);
  if (model.mode() != ClassifierMode::MultiClass) {
    throw std::runtime_error(path.string() + ": a multi-label classifier, not an intent classifier");
  }
  return IntentClassifier(std::move(model));
}

void IntentClassifier::save(const std::filesystem::path& path) const { model_.save(path); }

IntentResult IntentClassifier::classify(std::string_view text, int top_k) const {
  const std::vector<float> probs = model_.predict(text);
  std::vector<int> order(intents_.size());
  std::iota(order.begin(), order.end(), 0);
  const size_t k = std::min(order.size(), size_t(std::max(top_k, 0)));
  std::partial_sort(order.begin(), order.begin() + long(std::max<size_t>(k, 1)), order.end(),
                    [&](int a, int b) { return probs[size_t(a)] > probs[size_t(b)] || (probs[size_t(a)] == probs[size_t(b)] && a < b); });
  const auto [decided, confidence] = decide_intent(probs, has_background_class(), threshold());
  IntentResult r;
  r.in_scope = decided >= 0;
  r.confidence = confidence;
  r.name = r.in_scope ? intents_[size_t(decided)] : std::string(kOutOfScope);
  for (size_t i = 0; i < k; ++i) r.alternatives.push_back({intents_[size_t(order[i])], probs[size_t(order[i])]});
  return r;
}

int IntentClassifier::predict_index(std::string_view text) const {
  return decide_intent(model_.predict(text), has_background_class(), threshold()).first;
}

int IntentClassifier::index_of(std::string_view name) const {
  auto it = std::find(intents_.begin(), intents_.end(), name);
  return it == intents_.end() ? -1 : int(it - intents_.begin());
}

float IntentClassifier::threshold() const { return model_.thresholds().empty() ? 0.0f : model_.thresholds()[0]; }

void IntentClassifier::set_threshold(float threshold) {
  if (!(threshold >= 0 && threshold < 1)) {
    throw std::invalid_argument("out-of-scope threshold " + std::to_string(threshold) + " is outside [0, 1)");
  }
  model_.set_thresholds({threshold});
}

nlohmann::json IntentClassifier::metadata() const {
  if (model_.metadata().empty()) return nlohmann::json::object();
  try {
    return nlohmann::json::parse(model_.metadata());
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(std::string("intent classifier metadata is not JSON: ") + e.what());
  }
}

void IntentClassifier::set_metadata(const nlohmann::json& metadata) { model_.set_metadata(metadata.dump()); }

nlohmann::ordered_json to_json(const IntentResult& result) {
  nlohmann::ordered_json j;
  j["intent"] = result.name;
  j["confidence"] = result.confidence;
  j["in_scope"] = result.in_scope;
  auto& alts = j["alternatives"] = nlohmann::ordered_json::array();
  for (const auto& a : result.alternatives) alts.push_back({{"intent", a.name}, {"confidence", a.confidence}});
  return j;
}

// ---- Evaluation -------------------------------------------------------------------------------

IntentEvaluation evaluate_intents(const IntentClassifier& classifier, const std::vector<LabeledUtterance>& data) {
  std::vector<int> truth, predicted;
  truth.reserve(data.size());
  predicted.reserve(data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    int t = -1;
    if (!data[i].intent.empty()) {
      t = classifier.index_of(data[i].intent);
      if (t < 0) {
        throw std::runtime_error("example " + std::to_string(i) + " (\"" + data[i].text + "\") has intent \"" +
                                 data[i].intent + "\", which the classifier does not know");
      }
    }
    truth.push_back(t);
    predicted.push_back(classifier.predict_index(data[i].text));
  }
  IntentEvaluation ev;
  ev.n = int(data.size());
  int correct = 0, in_correct = 0, in_rejected = 0, oos_rejected = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    correct += truth[i] == predicted[i];
    if (truth[i] >= 0) {
      ++ev.n_in_scope;
      in_correct += truth[i] == predicted[i];
      in_rejected += predicted[i] < 0;
    } else {
      ++ev.n_out_of_scope;
      oos_rejected += predicted[i] < 0;
    }
  }
  const auto share = [](int a, int b) { return b ? double(a) / double(b) : 0.0; };
  ev.accuracy = share(correct, ev.n);
  ev.in_scope_accuracy = share(in_correct, ev.n_in_scope);
  ev.in_scope_rejected = share(in_rejected, ev.n_in_scope);
  ev.out_of_scope_recall = share(oos_rejected, ev.n_out_of_scope);
  ev.macro_f1 = evaluate_single_label(truth, predicted, int(classifier.intents().size())).macro_f1;
  return ev;
}

nlohmann::ordered_json to_json(const IntentEvaluation& e) {
  nlohmann::ordered_json j;
  j["examples"] = e.n;
  j["in_scope_examples"] = e.n_in_scope;
  j["out_of_scope_examples"] = e.n_out_of_scope;
  j["accuracy"] = e.accuracy;
  j["macro_f1"] = e.macro_f1;
  j["in_scope_accuracy"] = e.in_scope_accuracy;
  j["in_scope_rejected"] = e.in_scope_rejected;
  if (e.n_out_of_scope > 0) j["out_of_scope_recall"] = e.out_of_scope_recall;
  return j;
}

// ---- Session history --------------------------------------------------------------------------

void IntentHistory::record(int turn, const IntentResult& result) { add({turn, result.name, result.confidence}); }

void IntentHistory::add(IntentTurn turn) {
  if (turn.turn < 0) throw std::invalid_argument("intent history: negative turn index " + std::to_string(turn.turn));
  if (!turns_.empty() && turn.turn <= turns_.back().turn) {
    throw std::invalid_argument("intent history: turn " + std::to_string(turn.turn) + " does not follow turn " +
                                std::to_string(turns_.back().turn));
  }
  if (turn.intent.empty()) throw std::invalid_argument("intent history: turn " + std::to_string(turn.turn) + " has no intent");
  if (!(turn.confidence >= 0 && turn.confidence <= 1)) {
    throw std::invalid_argument("intent history: turn " + std::to_string(turn.turn) + " confidence " +
                                std::to_string(turn.confidence) + " is outside [0, 1]");
  }
  turns_.push_back(std::move(turn));
}

std::optional<IntentTurn> IntentHistory::current(float min_confidence) const {
  for (auto it = turns_.rbegin(); it != turns_.rend(); ++it) {
    if (it->intent != kOutOfScope && it->confidence >= min_confidence) return *it;
  }
  return std::nullopt;
}

nlohmann::ordered_json IntentHistory::to_json() const {
  nlohmann::ordered_json j;
  auto& list = j["turns"] = nlohmann::ordered_json::array();
  for (const auto& t : turns_) list.push_back({{"turn", t.turn}, {"intent", t.intent}, {"confidence", t.confidence}});
  return j;
}

IntentHistory IntentHistory::from_json(const nlohmann::json& json) {
  if (!json.is_object() || !json.contains("turns") || !json["turns"].is_array()) {
    throw std::runtime_error("intent history: expected {\"turns\": [...]}");
  }
  IntentHistory h;
  const auto& list = json["turns"];
  for (size_t i = 0; i < list.size(); ++i) {
    const auto& t = list[i];
    const std::string where = "intent history: turns[" + std::to_string(i) + "]";
    if (!t.is_object()) throw std::runtime_error(where + ": expected an object, got " + json_type(t));
    if (!t.contains("turn") || !t["turn"].is_number_integer()) {
      throw std::runtime_error(where + ".turn: expected an integer");
    }
    if (!t.contains("intent") || !t["intent"].is_string()) throw std::runtime_error(where + ".intent: expected a string");
    if (!t.contains("confidence") || !t["confidence"].is_number()) {
      throw std::runtime_error(where + ".confidence: expected a number");
    }
    try {
      h.add({t["turn"].get<int>(), t["intent"].get<std::string>(), t["confidence"].get<float>()});
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(where + ": " + e.what());
    }
  }
  return h;
}

}  // namespace kindred::affect
