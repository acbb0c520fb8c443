// Which appraiser a `kindred affect` command uses, chosen in one place so new kinds (a GGUF
// model's hidden-state probe, zero-shot prompting) are added here and every subcommand gets them.
#pragma once
#include <memory>
#include <string>

#include "affect/emotion.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace CLI {
class App;
}

namespace kindred::cli {

struct AppraiserChoice {
  std::string kind = "classifier";  // classifier | zero-shot | probe
  std::string model;             // the GGUF the zero-shot and probe appraisers read
  int n_threads = 0;
  std::string classifier;        // a .kcls file; empty: the built-in English + Chinese classifiers
  float lexicon_weight = -1.0f;  // share of VADER valence in English pleasure; < 0: the default
};

// An appraiser that reads a loaded model: "zero-shot" (the model answers an instruction) or
// "probe" (the head `kindred affect train --model` stored beside `model_path`, which must be a
// local GGUF). The model and tokenizer must outlive it.
std::unique_ptr<affect::Appraiser> make_model_appraiser(const std::string& kind, const Model& model,
                                                        const Tokenizer& tokenizer, const std::string& model_path,
                                                        int n_threads);

// Registers --appraiser, -m/--model, --classifier (and --lexicon-weight) on `cmd`, writing into `choice`.
void add_appraiser_options(CLI::App& cmd, AppraiserChoice& choice);

// Opens the chosen appraiser; throws std::runtime_error naming the problem (unreadable file,
// a classifier without the 28 emotion labels).
std::unique_ptr<affect::Appraiser> open_appraiser(const AppraiserChoice& choice);

}  // namespace kindred::cli
