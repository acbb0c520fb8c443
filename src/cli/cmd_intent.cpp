// `kindred intent train|eval|classify`: intent classifiers for a deployment's inventory, measured on
// the public benchmarks (BANKING77, CLINC150).
//   train    --inventory INV.json | --format banking77|clinc150|inventory --data FILE, --out FILE.kcls
//            [hyper-parameters] [--tune]: --tune searches the hyper-parameters one at a time on a
//            held-out part of train (BANKING77, inventories) or on val (CLINC150).
//   eval     --classifier FILE.kcls --format … --data FILE [--split test|val] [--json]
//   classify --classifier FILE.kcls [TEXT] [--jsonl] [--top-k K]: one JSON object per line.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "affect/intent.h"
#include "cli/commands.h"

namespace kindred::cli {
namespace {

using affect::IntentClassifier;
using affect::IntentDataset;
using affect::IntentTrainOptions;
using affect::LabeledUtterance;

struct IntentOptions {
  std::string inventory, format, data, out, classifier, split = "test", text, char_ngrams;
  bool json = false, jsonl = false, tune = false, no_cues = false, no_descriptions = false, no_background = false;
  int epochs = 0, hash_bits = 0, word_ngrams = 0, threads = 0, top_k = 3;
  float lr = 0, l2 = -1;
  std::optional<float> threshold;
  uint64_t seed = 1;
  double holdout = 0.1;
};

IntentDataset load_dataset(const std::string& format, const std::string& data) {
  if (format == "banking77") {
    // One CSV: train when training, test when evaluating; the caller puts it in `test`.
    IntentDataset ds;
    ds.test = affect::load_banking77_csv(data);
    return ds;
  }
  if (format == "clinc150") return affect::load_clinc150(data);
  if (format == "inventory") return affect::inventory_dataset(affect::load_intent_inventory(data));
  throw std::runtime_error("unknown --format \"" + format + "\" (expected banking77, clinc150 or inventory)");
}

// "2-5" or "2:5" → {2, 5}.
std::pair<int, int> parse_range(const std::string& s) {
  const size_t sep = s.find_first_of("-:");
  try {
    if (sep == std::string::npos) throw std::invalid_argument("no separator");
    size_t used = 0;
    const int a = std::stoi(s.substr(0, sep), &used);
    if (used != sep) throw std::invalid_argument("trailing text");
    const std::string rest = s.substr(sep + 1);
    const int b = std::stoi(rest, &used);
    if (used != rest.size()) throw std::invalid_argument("trailing text");
    if (a < 1 || b < a || b > 8) throw std::invalid_argument("out of range");
    return {a, b};
  } catch (const std::exception&) {
    throw std::runtime_error("--char-ngrams \"" + s + "\": expected MIN-MAX with 1 <= MIN <= MAX <= 8");
  }
}

IntentTrainOptions train_options(const IntentOptions& o) {
  IntentTrainOptions t;
  auto& f = t.train.features;
  if (o.epochs) t.train.epochs = o.epochs;
  if (o.lr > 0) t.train.learning_rate = o.lr;
  if (o.l2 >= 0) t.train.l2 = o.l2;
  if (o.hash_bits) f.hash_bits = o.hash_bits;
  if (o.word_ngrams) f.word_ngrams = o.word_ngrams;
  if (!o.char_ngrams.empty()) std::tie(f.char_min, f.char_max) = parse_range(o.char_ngrams);
  if (o.no_cues) f.cues = false;
  t.train.seed = o.seed;
  t.train.threads = o.threads;
  t.add_descriptions = !o.no_descriptions;
  t.background = !o.no_background;
  t.threshold = o.threshold;
  return t;
}

std::string describe(const IntentTrainOptions& t) {
  const auto& f = t.train.features;
  char buf[200];
  std::snprintf(buf, sizeof buf, "epochs=%d lr=%g l2=%g hash_bits=%d word_ngrams=%d char_ngrams=%d-%d", t.train.epochs,
                double(t.train.learning_rate), double(t.train.l2), f.hash_bits, f.word_ngrams, f.char_min, f.char_max);
  return buf;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Coordinate search: each hyper-parameter in turn takes the candidate value with the best score on
// `held`, the others fixed at the best so far. Far cheaper than a grid and, for these smooth
// knobs, close to it. Progress goes to stderr.
IntentTrainOptions tune(IntentTrainOptions best, const std::vector<std::string>& intents,
                        const std::vector<LabeledUtterance>& fit, const std::vector<LabeledUtterance>& held) {
  std::vector<LabeledUtterance> held_in;  // hyper-parameters are picked on in-scope accuracy
  for (const auto& u : held) {
    if (!u.intent.empty()) held_in.push_back(u);
  }
  const auto score = [&](const IntentTrainOptions& t) {
    const auto t0 = std::chrono::steady_clock::now();
    IntentTrainOptions closed = t;
    closed.threshold = 0.0f;  // the threshold is tuned afterwards on the final model
    const double acc = affect::evaluate_intents(IntentClassifier::train(intents, fit, {}, closed), held_in).accuracy;
    std::fprintf(stderr, "tune: %s -> held-out accuracy %.4f (%.1f s)\n", describe(t).c_str(), acc, seconds_since(t0));
    return acc;
  };
  double best_score = score(best);
  using Setter = std::function<void(IntentTrainOptions&, int)>;
  struct Knob {
    std::vector<int> values;
    Setter set;
  };
  const std::vector<Knob> knobs = {
      {{1, 2, 3}, [](IntentTrainOptions& t, int v) { t.train.features.word_ngrams = v; }},
      {{3, 4, 5, 6}, [](IntentTrainOptions& t, int v) { t.train.features.char_max = v; }},
      {{1, 2, 3}, [](IntentTrainOptions& t, int v) { t.train.features.char_min = std::min(v, t.train.features.char_max); }},
      {{5, 10, 20, 40}, [](IntentTrainOptions& t, int v) { t.train.epochs = v; }},
      {{6, 5, 4}, [](IntentTrainOptions& t, int v) { t.train.l2 = float(std::pow(10.0, -v)); }},
  };
  for (const Knob& knob : knobs) {
    for (int v : knob.values) {
      IntentTrainOptions cand = best;
      knob.set(cand, v);
      if (describe(cand) == describe(best)) continue;
      const double s = score(cand);
      if (s > best_score) best_score = s, best = cand;
    }
  }
  std::fprintf(stderr, "tune: best %s (held-out accuracy %.4f)\n", describe(best).c_str(), best_score);
  return best;
}

void train(const IntentOptions& o) {
  if (o.out.empty()) throw std::runtime_error("intent train: --out FILE.kcls is required");
  const auto t0 = std::chrono::steady_clock::now();
  IntentTrainOptions opts = train_options(o);
  std::optional<IntentClassifier> model;
  std::string format = o.format, data = o.data;
  if (!o.inventory.empty()) {
    if (!o.data.empty() || (!o.format.empty() && o.format != "inventory")) {
      throw std::runtime_error("intent train: give either --inventory or --format/--data, not both");
    }
    format = "inventory", data = o.inventory;
  }
  if (data.empty()) throw std::runtime_error("intent train: --inventory INV.json or --format F --data FILE is required");
  if (format.empty()) throw std::runtime_error("intent train: --format banking77|clinc150|inventory is required with --data");
  if (format == "inventory") {
    const affect::IntentInventory inv = affect::load_intent_inventory(data);
    if (o.tune) {
      std::vector<LabeledUtterance> all;
      for (const auto& i : inv.intents) {
        for (const auto& e : i.examples) all.push_back({e, i.name});
      }
      auto [fit, held] = affect::split_holdout(all, o.holdout, o.seed);
      opts = tune(opts, inv.names(), fit, held);
    }
    model.emplace(IntentClassifier::train(inv, opts));
  } else if (format == "banking77") {
    const std::vector<LabeledUtterance> all = affect::load_banking77_csv(data);
    std::vector<std::string> intents;
    for (const auto& u : all) {
      if (std::find(intents.begin(), intents.end(), u.intent) == intents.end()) intents.push_back(u.intent);
    }
    if (o.tune) {  // BANKING77 has no dev split: a held-out part of train stands in for it
      auto [fit, held] = affect::split_holdout(all, o.holdout, o.seed);
      opts = tune(opts, intents, fit, held);
    }
    model.emplace(IntentClassifier::train(intents, all, {}, opts));
  } else if (format == "clinc150") {
    const IntentDataset ds = affect::load_clinc150(data);
    if (o.tune) opts = tune(opts, ds.intents, ds.train, ds.dev);
    model.emplace(IntentClassifier::train(ds.intents, ds.train, ds.dev, opts));
  } else {
    throw std::runtime_error("unknown --format \"" + format + "\" (expected banking77, clinc150 or inventory)");
  }
  nlohmann::json meta = model->metadata();
  meta["data"] = {{"format", format}, {"path", data}};
  model->set_metadata(meta);
  model->save(o.out);
  nlohmann::ordered_json summary;
  summary["out"] = o.out;
  summary["intents"] = model->intents().size();
  summary["threshold"] = model->threshold();
  summary["threshold_source"] = meta.value("threshold_source", "");
  summary["options"] = describe(opts);
  summary["seconds"] = seconds_since(t0);
  std::printf("%s\n", summary.dump().c_str());
}

void eval(const IntentOptions& o) {
  if (o.format.empty() || o.data.empty()) throw std::runtime_error("intent eval: --format and --data are required");
  if (o.split != "test" && o.split != "val") throw std::runtime_error("intent eval: --split must be test or val");
  const IntentClassifier model = IntentClassifier::load(o.classifier);
  const IntentDataset ds = load_dataset(o.format, o.data);
  if (o.split == "val" && o.format != "clinc150") throw std::runtime_error("intent eval: --split val is for clinc150");
  const auto& examples = o.split == "val" ? ds.dev : ds.test;
  const auto t0 = std::chrono::steady_clock::now();
  const affect::IntentEvaluation ev = affect::evaluate_intents(model, examples);
  nlohmann::ordered_json j = affect::to_json(ev);
  j["threshold"] = model.threshold();
  j["seconds"] = seconds_since(t0);
  if (o.json) {
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("examples            %d (%d in scope, %d out of scope)\n", ev.n, ev.n_in_scope, ev.n_out_of_scope);
  std::printf("accuracy            %.4f\n", ev.accuracy);
  std::printf("macro_f1            %.4f\n", ev.macro_f1);
  if (ev.n_out_of_scope > 0) {
    std::printf("in_scope_accuracy   %.4f\n", ev.in_scope_accuracy);
    std::printf("out_of_scope_recall %.4f\n", ev.out_of_scope_recall);
  }
  std::printf("in_scope_rejected   %.4f (threshold %.4f)\n", ev.in_scope_rejected, double(model.threshold()));
}

void classify(const IntentOptions& o) {
  const IntentClassifier model = IntentClassifier::load(o.classifier);
  const auto emit = [&](const std::string& text) {
    nlohmann::ordered_json j;
    j["text"] = text;
    j.update(affect::to_json(model.classify(text, o.top_k)));
    std::printf("%s\n", j.dump().c_str());
    std::fflush(stdout);
  };
  if (!o.text.empty()) {
    emit(o.text);
    return;
  }
  std::string line;
  for (long n = 1; std::getline(std::cin, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!o.jsonl) {
      emit(line);
      continue;
    }
    if (line.empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error("stdin line " + std::to_string(n) + ": invalid JSON: " + e.what());
    }
    if (!j.is_string()) throw std::runtime_error("stdin line " + std::to_string(n) + ": expected a JSON string");
    emit(j.get<std::string>());
  }
}

void add_hyper_parameters(CLI::App* t, IntentOptions& o) {
  t->add_option("--epochs", o.epochs, "Training epochs")->check(CLI::Range(1, 1000));
  t->add_option("--lr", o.lr, "Learning rate")->check(CLI::PositiveNumber);
  t->add_option("--l2", o.l2, "L2 regularisation")->check(CLI::NonNegativeNumber);
  t->add_option("--hash-bits", o.hash_bits, "Feature hash bits (2^bits weight rows)")->check(CLI::Range(10, 24));
  t->add_option("--word-ngrams", o.word_ngrams, "Word 1..N-grams")->check(CLI::Range(1, 4));
  t->add_option("--char-ngrams", o.char_ngrams, "Character n-gram range MIN-MAX, e.g. 2-5");
  t->add_flag("--no-cues", o.no_cues, "Leave out the negation/emphasis/emoji cue features");
  t->add_flag("--no-descriptions", o.no_descriptions, "Do not add intent names and descriptions as examples");
  t->add_flag("--no-background", o.no_background, "Inventories: no hidden out-of-scope class on off-topic sentences");
  t->add_option("--threshold", o.threshold, "Out-of-scope threshold to use instead of tuning it")->check(CLI::Range(0.0, 0.999999));
  t->add_option("--seed", o.seed, "Shuffling and held-out split seed");
  t->add_option("--threads", o.threads, "Training threads (0: all)")->check(CLI::NonNegativeNumber);
  t->add_flag("--tune", o.tune, "Search the hyper-parameters on held-out data (val for clinc150)");
  t->add_option("--holdout", o.holdout, "Share of train held out by --tune")->check(CLI::Range(0.01, 0.5));
}

}  // namespace

void add_intent_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("intent", "Intent classifiers: train, evaluate, classify");
  cmd->require_subcommand(1);
  auto o = std::make_shared<IntentOptions>();
  const char* formats = "banking77 (a CSV file), clinc150 (data_full.json) or inventory (JSON)";

  CLI::App* t = cmd->add_subcommand("train", "Train an intent classifier from an inventory or a benchmark");
  t->add_option("--inventory", o->inventory, "Intent inventory JSON (same as --format inventory --data FILE)");
  t->add_option("--format", o->format, std::string("Data format: ") + formats);
  t->add_option("--data", o->data, "Training data (BANKING77: train.csv)");
  t->add_option("--out", o->out, "Where to write the classifier (.kcls)")->required();
  add_hyper_parameters(t, *o);
  t->callback([o] { train(*o); });

  CLI::App* e = cmd->add_subcommand("eval", "Accuracy, macro-F1 and out-of-scope recall on labelled data");
  e->add_option("--classifier", o->classifier, "Classifier file (.kcls)")->required();
  e->add_option("--format", o->format, std::string("Data format: ") + formats)->required();
  e->add_option("--data", o->data, "Evaluation data (BANKING77: test.csv)")->required();
  e->add_option("--split", o->split, "clinc150 split: test (default) or val");
  e->add_flag("--json", o->json, "Print one JSON object");
  e->callback([o] { eval(*o); });

  CLI::App* c = cmd->add_subcommand("classify", "Classify TEXT, or each stdin line; one JSON object per line");
  c->add_option("--classifier", o->classifier, "Classifier file (.kcls)")->required();
  c->add_option("text", o->text, "Text to classify (default: each line of stdin)");
  c->add_flag("--jsonl", o->jsonl, "Each stdin line is a JSON string");
  c->add_option("--top-k", o->top_k, "Alternatives to list")->check(CLI::Range(0, 1000));
  c->callback([o] { classify(*o); });
}

}  // namespace kindred::cli
