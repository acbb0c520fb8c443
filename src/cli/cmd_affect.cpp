// `kindred affect appraise | train | eval`: the LLM-free emotion appraiser from the command line.
//   appraise [TEXT] [--jsonl] [--classifier F]  one to_json(appraisal) line per input
//   train --data F --format goemotions|cped --out M.kcls [--dev F | --holdout X] [--test F] …
//   eval  --data F --format goemotions|cped|emobank|dailydialog [--classifier M] [--json]
#include <CLI/CLI.hpp>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "affect/classifier_appraiser.h"
#include "affect/datasets.h"
#include "affect/metrics.h"
#include "affect/probe.h"
#include "affect/zero_shot.h"
#include "affect/shipped_classifiers.h"
#include "affect/text_features_detail.h"
#include "cli/affect_options.h"
#include "cli/commands.h"
#include "cli/model_source.h"

namespace kindred::cli {

using namespace kindred::affect;

namespace {

// A probe with its own context: it reads the model's hidden states for each text.
class ProbeOnModel : public Appraiser {
 public:
  ProbeOnModel(const Model& model, const Tokenizer& tokenizer, ProbeModel probe, int n_threads)
      : ctx_(std::make_unique<Context>(model, ContextParams{.n_ctx = probe.max_tokens + 8, .n_threads = n_threads})),
        inner_(*ctx_, tokenizer, std::move(probe)) {}
  Appraisal appraise(std::string_view text) override { return inner_.appraise(text); }
  std::string name() const override { return inner_.name(); }

 private:
  std::unique_ptr<Context> ctx_;
  ProbeAppraiser inner_;
};

// A model-reading appraiser that also owns the model it reads (for `kindred affect …`).
class OwningModelAppraiser : public Appraiser {
 public:
  OwningModelAppraiser(LoadedModel model, const std::string& kind, const std::string& path, int n_threads)
      : model_(std::move(model)),
        inner_(make_model_appraiser(kind, *model_.model, *model_.tokenizer, path, n_threads)) {}
  Appraisal appraise(std::string_view text) override { return inner_->appraise(text); }
  std::string name() const override { return inner_->name(); }

 private:
  LoadedModel model_;
  std::unique_ptr<Appraiser> inner_;
};

}  // namespace

std::unique_ptr<Appraiser> make_model_appraiser(const std::string& kind, const Model& model, const Tokenizer& tokenizer,
                                                const std::string& model_path, int n_threads) {
  if (kind == "zero-shot") {
    return std::make_unique<ZeroShotAppraiser>(model, tokenizer, ZeroShotOptions{.n_threads = n_threads});
  }
  if (kind == "probe") {
    if (model_path.empty() || model_path.rfind("hf://", 0) == 0) {
      throw std::runtime_error("the probe appraiser needs a local GGUF file (-m PATH): the probe is stored beside it");
    }
    const auto path = ProbeModel::path_for(model_path, model.fingerprint());
    if (!std::filesystem::exists(path)) {
      throw std::runtime_error("no probe for this model at " + path.string() + ": train one with `kindred affect train --model " +
                               model_path + " --data GOEMOTIONS_DIR`");
    }
    return std::make_unique<ProbeOnModel>(model, tokenizer, ProbeModel::load(path, model), n_threads);
  }
  throw std::runtime_error("unknown model appraiser '" + kind + "' (zero-shot or probe)");
}

void add_appraiser_options(CLI::App& cmd, AppraiserChoice& choice) {
  cmd.add_option("--appraiser", choice.kind, "classifier (built in, default), zero-shot or probe (these read -m MODEL)")
      ->check(CLI::IsMember({"classifier", "zero-shot", "probe"}));
  cmd.add_option("-m,--model", choice.model, "GGUF model for the zero-shot and probe appraisers");
  cmd.add_option("-t,--threads", choice.n_threads, "Threads for the model appraisers (0: all cores)");
  cmd.add_option("--classifier", choice.classifier, "A .kcls emotion classifier (default: the built-in ones)");
  cmd.add_option("--lexicon-weight", choice.lexicon_weight, "Share of VADER lexicon valence in English pleasure [0, 1]")
      ->check(CLI::Range(0.0f, 1.0f));
}

std::unique_ptr<Appraiser> open_appraiser(const AppraiserChoice& choice) {
  if (choice.kind != "classifier") {
    if (!choice.classifier.empty()) throw std::runtime_error("--classifier goes with --appraiser classifier only");
    return std::make_unique<OwningModelAppraiser>(load_model(choice.model), choice.kind, choice.model, choice.n_threads);
  }
  ClassifierAppraiserOptions options;
  if (choice.lexicon_weight >= 0) options.lexicon_weight = choice.lexicon_weight;
  try {
    if (!choice.classifier.empty()) {
      return std::make_unique<ClassifierAppraiser>(TextClassifier::load(choice.classifier), options);
    }
    return std::make_unique<ClassifierAppraiser>(shipped_emotion_classifier(Language::English),
                                                 &shipped_emotion_classifier(Language::Chinese), options);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(choice.classifier + ": " + e.what());
  }
}

namespace {

// ---- appraise ------------------------------------------------------------------------------

struct AppraiseOptions {
  std::string text;
  bool jsonl = false;
  AppraiserChoice appraiser;
};

void run_appraise(const AppraiseOptions& o, bool text_given) {
  if (text_given && o.jsonl) throw std::runtime_error("give TEXT or --jsonl, not both");
  auto appraiser = open_appraiser(o.appraiser);
  auto emit = [&](std::string_view text) { std::cout << to_json(appraiser->appraise(text)).dump() << '\n'; };
  if (text_given) {
    emit(o.text);
    return;
  }
  std::string line;
  for (size_t n = 1; std::getline(std::cin, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (!o.jsonl) {
      emit(line);
      continue;
    }
    nlohmann::json value;
    try {
      value = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error&) {
      throw std::runtime_error("stdin line " + std::to_string(n) + " is not valid JSON");
    }
    if (!value.is_string()) throw std::runtime_error("stdin line " + std::to_string(n) + " is not a JSON string");
    emit(value.get<std::string>());
  }
}

// ---- data ----------------------------------------------------------------------------------

// Deterministic dialogue-level holdout: a dialogue is held out when its id hashes below `fraction`.
bool held_out(std::string_view key, double fraction) {
  const uint64_t h = detail::hash_bytes(key, 7);
  return double(h >> 11) / double(1ULL << 53) < fraction;
}

struct LabelledData {
  std::vector<TrainExample> examples;
  std::vector<std::string> groups;  // dialogue ids (CPED) for holdout; example index otherwise
};

LabelledData load_labelled(const std::string& path, const std::string& format) {
  LabelledData d;
  if (format == "goemotions") {
    d.examples = load_goemotions(path);
    for (size_t i = 0; i < d.examples.size(); ++i) d.groups.push_back(std::to_string(i));
  } else if (format == "cped") {
    for (auto& ex : load_cped(path)) {
      d.examples.push_back(std::move(ex.example));
      d.groups.push_back(std::move(ex.dialogue_id));
    }
  } else {
    throw std::runtime_error("format '" + format + "' has no emotion labels to train on (use goemotions or cped)");
  }
  return d;
}

nlohmann::ordered_json report_json(const ClassificationReport& r, const std::vector<std::string>& names) {
  nlohmann::ordered_json labels = nlohmann::ordered_json::object();
  for (size_t k = 0; k < r.labels.size(); ++k) {
    const auto& s = r.labels[k];
    labels[names[k]] = {{"precision", s.precision}, {"recall", s.recall}, {"f1", s.f1}, {"support", s.support}};
  }
  return {{"macro_f1", r.macro_f1},
          {"macro_f1_present", macro_f1_present(r)},
          {"micro_f1", r.micro_f1},
          {"weighted_f1", r.weighted_f1},
          {"accuracy", r.accuracy},
          {"labels", labels}};
}

void print_report(const ClassificationReport& r, const std::vector<std::string>& names) {
  std::cout << std::left << std::setw(16) << "label" << std::right << std::setw(10) << "precision" << std::setw(10)
            << "recall" << std::setw(10) << "f1" << std::setw(10) << "support" << '\n'
            << std::fixed << std::setprecision(4);
  for (size_t k = 0; k < r.labels.size(); ++k) {
    const auto& s = r.labels[k];
    std::cout << std::left << std::setw(16) << names[k] << std::right << std::setw(10) << s.precision << std::setw(10)
              << s.recall << std::setw(10) << s.f1 << std::setw(10) << s.support << '\n';
  }
  std::cout << "macro-F1 " << r.macro_f1 << "  macro-F1 (labels present) " << macro_f1_present(r) << "  micro-F1 "
            << r.micro_f1 << "  weighted-F1 " << r.weighted_f1 << "  exact-match " << r.accuracy << '\n';
}

// ---- train ---------------------------------------------------------------------------------

// The defaults are the settings of the shipped English model, chosen on GoEmotions dev: strong
// L2 (1e-2; dev macro-F1 0.42 at 1e-6 → 0.50), positives weighted up to 8×, AdaGrad rate 1.
struct TrainCliOptions {
  std::string data, dev, test, format = "goemotions", out;
  // --model: train the hidden-state probe of that GGUF instead (GoEmotions files beside --data).
  std::string model;
  size_t limit = 1000, dev_limit = 300, test_limit = 300;
  int n_threads = 0;
  double holdout = 0.2;
  TrainOptions train = [] {
    TrainOptions t;
    t.epochs = 5;
    t.learning_rate = 1.0f;
    t.l2 = 1e-2f;
    t.max_positive_weight = 8.0f;
    return t;
  }();
};

void run_probe_train(const TrainCliOptions& o) {
  if (o.format != "goemotions") throw std::runtime_error("the probe trains on GoEmotions (--format goemotions)");
  ProbeTrainRequest r;
  r.model_path = o.model;
  const std::filesystem::path data = o.data;
  r.data_dir = std::filesystem::is_directory(data) ? data : data.parent_path();
  r.train_limit = o.limit;
  r.dev_limit = o.dev_limit;
  r.evaluate_test = !o.test.empty();
  r.test_limit = o.test_limit;
  r.n_threads = o.n_threads;
  if (!o.out.empty()) r.output = o.out;
  r.progress = &std::cerr;
  std::cout << run_probe_training(r).dump(2) << '\n';
}

void run_train(TrainCliOptions o) {
  if (!o.model.empty()) return run_probe_train(o);
  if (o.out.empty()) throw std::runtime_error("--out is required (where to write the .kcls)");
  auto data = load_labelled(o.data, o.format);
  std::vector<TrainExample> train, dev;
  if (!o.dev.empty()) {
    train = std::move(data.examples);
    dev = load_labelled(o.dev, o.format).examples;
  } else {
    if (!(o.holdout > 0 && o.holdout < 1)) throw std::runtime_error("--holdout must be in (0, 1) when --dev is not given");
    for (size_t i = 0; i < data.examples.size(); ++i) {
      (held_out(data.groups[i], o.holdout) ? dev : train).push_back(std::move(data.examples[i]));
    }
    if (train.empty() || dev.empty()) throw std::runtime_error("the holdout left no training or no dev examples");
  }
  std::vector<std::string> names(affect::label_names().begin(), affect::label_names().end());
  auto model = train_text_classifier(train, names, o.train);
  model.set_thresholds(tune_thresholds(model, dev));
  const auto dev_report = evaluate_classifier(model, dev);
  const auto& f = o.train.features;
  nlohmann::ordered_json meta = {
      {"task", "emotion (28 GoEmotions labels)"},
      {"format", o.format},
      {"train_data", std::filesystem::path(o.data).filename().string()},
      {"dev_data", o.dev.empty() ? "held out " + std::to_string(o.holdout) + " of train_data by dialogue/example"
                                 : std::filesystem::path(o.dev).filename().string()},
      {"train_examples", train.size()},
      {"dev_examples", dev.size()},
      {"features", {{"hash_bits", f.hash_bits}, {"word_ngrams", f.word_ngrams}, {"char_min", f.char_min},
                    {"char_max", f.char_max}, {"cjk_chars", f.cjk_chars}, {"cues", f.cues}}},
      {"training", {{"epochs", o.train.epochs}, {"learning_rate", o.train.learning_rate}, {"l2", o.train.l2},
                    {"seed", o.train.seed}, {"max_positive_weight", o.train.max_positive_weight},
                    {"average", o.train.average}, {"optimizer", "AdaGrad"}}},
      {"dev_macro_f1", dev_report.macro_f1},
      {"dev_macro_f1_present", macro_f1_present(dev_report)},
  };
  std::cout << std::fixed << std::setprecision(4) << "dev macro-F1 " << dev_report.macro_f1 << " (labels present "
            << macro_f1_present(dev_report) << ", micro " << dev_report.micro_f1 << ") on " << dev.size()
            << " examples\n";
  if (!o.test.empty()) {
    const auto test = load_labelled(o.test, o.format).examples;
    const auto r = evaluate_classifier(model, test);
    meta["test_data"] = std::filesystem::path(o.test).filename().string();
    meta["test_examples"] = test.size();
    meta["test_macro_f1"] = r.macro_f1;
    meta["test_macro_f1_present"] = macro_f1_present(r);
    meta["test_micro_f1"] = r.micro_f1;
    meta["test_weighted_f1"] = r.weighted_f1;
    std::cout << "test macro-F1 " << r.macro_f1 << " (labels present " << macro_f1_present(r) << ", micro "
              << r.micro_f1 << ") on " << test.size() << " examples\n";
  }
  model.set_metadata(meta.dump());
  model.save(o.out);
}

// ---- eval ----------------------------------------------------------------------------------

struct EvalOptions {
  std::string data, format, split = "test";
  bool json = false;
  AppraiserChoice appraiser;
};

void run_eval(const EvalOptions& o) {
  nlohmann::ordered_json out = {{"data", o.data}, {"format", o.format}};
  if (o.format == "goemotions" || o.format == "cped") {
    const auto data = load_labelled(o.data, o.format).examples;
    const TextClassifier* model = nullptr;
    TextClassifier loaded;
    if (!o.appraiser.classifier.empty()) {
      loaded = TextClassifier::load(o.appraiser.classifier);
      model = &loaded;
    } else {
      model = &shipped_emotion_classifier(o.format == "cped" ? Language::Chinese : Language::English);
    }
    const auto r = evaluate_classifier(*model, data);
    if (o.json) {
      out["examples"] = data.size();
      out.update(report_json(r, model->label_names()));
      std::cout << out.dump() << '\n';
    } else {
      print_report(r, model->label_names());
    }
    return;
  }
  auto appraiser = open_appraiser(o.appraiser);
  if (o.format == "emobank") {
    std::vector<double> truth[3], pred[3];
    size_t n = 0;
    for (const auto& ex : load_emobank(o.data)) {
      if (o.split != "all" && ex.split != o.split) continue;
      const auto a = appraiser->appraise(ex.text);
      for (int d = 0; d < 3; ++d) {
        truth[d].push_back(ex.vad[d]);
        pred[d].push_back(a.pad[d]);
      }
      ++n;
    }
    if (n < 2) throw std::runtime_error(o.data + ": fewer than two examples in split '" + o.split + "'");
    const double rp = pearson(pred[0], truth[0]), ra = pearson(pred[1], truth[1]), rd = pearson(pred[2], truth[2]);
    if (o.json) {
      out.update({{"split", o.split}, {"examples", n}, {"pearson_p", rp}, {"pearson_a", ra}, {"pearson_d", rd}});
      std::cout << out.dump() << '\n';
    } else {
      std::cout << std::fixed << std::setprecision(4) << "EmoBank " << o.split << " (" << n
                << " sentences): Pearson r pleasure/valence " << rp << "  arousal " << ra << "  dominance " << rd << '\n';
    }
    return;
  }
  if (o.format == "dailydialog") {
    std::vector<int> truth, pred;
    for (const auto& ex : load_dailydialog(o.data)) {
      const auto a = appraiser->appraise(ex.text);
      truth.push_back(ex.emotion);
      pred.push_back(goemotions_to_dailydialog(a.active.empty() ? a.top() : a.active.front()));
    }
    const auto r = evaluate_single_label(truth, pred, kDailyDialogClasses);
    // Weighted F1 over the six emotions alone, as DailyDialog papers usually report it.
    double w = 0, support = 0;
    for (size_t k = 1; k < r.labels.size(); ++k) {
      w += r.labels[k].f1 * r.labels[k].support;
      support += r.labels[k].support;
    }
    const double weighted_emotions = support > 0 ? w / support : 0.0;
    std::vector<std::string> names(dailydialog_classes().begin(), dailydialog_classes().end());
    if (o.json) {
      out["examples"] = truth.size();
      out.update(report_json(r, names));
      out["weighted_f1_without_none"] = weighted_emotions;
      std::cout << out.dump() << '\n';
    } else {
      print_report(r, names);
      std::cout << "weighted-F1 without 'none' " << weighted_emotions << '\n';
    }
    return;
  }
  throw std::runtime_error("unknown --format '" + o.format + "' (goemotions, cped, emobank, dailydialog)");
}

}  // namespace

CLI::App* add_affect_command(CLI::App& app) {
  CLI::App* affect = app.add_subcommand("affect", "Appraise emotion in text; train and evaluate appraisers");
  affect->require_subcommand(1);

  auto ao = std::make_shared<AppraiseOptions>();
  CLI::App* appraise = affect->add_subcommand("appraise", "Appraise TEXT (or each stdin line) as one JSON line");
  appraise->add_option("text", ao->text, "The text (omit to read one text per stdin line)");
  appraise->add_flag("--jsonl", ao->jsonl, "Read one JSON string per stdin line");
  add_appraiser_options(*appraise, ao->appraiser);
  appraise->callback([ao, appraise] { run_appraise(*ao, appraise->count("text") > 0); });

  auto to = std::make_shared<TrainCliOptions>();
  CLI::App* train = affect->add_subcommand(
      "train", "Train a 28-label emotion classifier (.kcls), or with --model the hidden-state probe of a GGUF");
  train->add_option("--data", to->data, "Training data (--model: GoEmotions train.tsv or its folder)")->required();
  train->add_option("-m,--model", to->model, "Train the probe on this GGUF's hidden states (stored beside it)");
  train->add_option("--limit", to->limit, "--model: training texts (0: all; ~100 tokens/s prefill on 2 cores)");
  train->add_option("--dev-limit", to->dev_limit, "--model: dev texts (layer choice and thresholds)");
  train->add_option("--test-limit", to->test_limit, "--model: test texts scored when --test is given");
  train->add_option("-t,--threads", to->n_threads, "--model: threads (0: all cores)");
  train->add_option("--dev", to->dev, "Dev data for the thresholds (default: hold out --holdout of --data)");
  train->add_option("--holdout", to->holdout, "Fraction held out by dialogue (CPED) or example when --dev is absent");
  train->add_option("--test", to->test, "Test data: scored and recorded in the file's metadata");
  train->add_option("--format", to->format, "goemotions or cped")->check(CLI::IsMember({"goemotions", "cped"}));
  train->add_option("--out", to->out, "Output file (.kcls; --model: default beside the model)");
  train->add_option("--epochs", to->train.epochs, "Passes over the data")->check(CLI::Range(1, 1000));
  train->add_option("--hash-bits", to->train.features.hash_bits, "log2 of the hashed feature rows")->check(CLI::Range(8, 26));
  train->add_option("--word-ngrams", to->train.features.word_ngrams, "Word 1..N-grams")->check(CLI::Range(1, 4));
  train->add_option("--char-min", to->train.features.char_min, "Shortest character n-gram (0: none)");
  train->add_option("--char-max", to->train.features.char_max, "Longest character n-gram");
  train->add_option("--lr", to->train.learning_rate, "AdaGrad learning rate");
  train->add_option("--l2", to->train.l2, "L2 penalty");
  train->add_option("--seed", to->train.seed, "Shuffling seed");
  train->add_option("--max-positive-weight", to->train.max_positive_weight, "Cap of the positive-class weight (1: off)");
  train->add_flag("!--no-cues", to->train.features.cues, "Leave out negation/intensifier/contrast/emphasis cues");
  train->add_flag("!--no-average", to->train.average, "Keep the last weights instead of their average");
  train->callback([to] { run_train(*to); });

  auto eo = std::make_shared<EvalOptions>();
  CLI::App* eval = affect->add_subcommand("eval", "Score an appraiser on a labelled corpus");
  eval->add_option("--data", eo->data, "The corpus file (DailyDialog: dialogues_X.txt)")->required();
  eval->add_option("--format", eo->format, "goemotions, cped, emobank or dailydialog")
      ->required()
      ->check(CLI::IsMember({"goemotions", "cped", "emobank", "dailydialog"}));
  eval->add_option("--split", eo->split, "EmoBank split: train, dev, test or all");
  eval->add_flag("--json", eo->json, "One JSON object instead of a table");
  add_appraiser_options(*eval, eo->appraiser);
  eval->callback([eo] { run_eval(*eo); });
  return affect;
}

}  // namespace kindred::cli
