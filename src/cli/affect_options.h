// Which appraiser a `kindred affect` command uses, chosen in one place so new kinds (a GGUF
// model's hidden-state probe, zero-shot prompting) are added here and every subcommand gets them.
#pragma once
#include <memory>
#include <string>

#include "affect/emotion.h"

namespace CLI {
class App;
}

namespace kindred::cli {

struct AppraiserChoice {
  std::string classifier;        // a .kcls file; empty: the built-in English + Chinese classifiers
  float lexicon_weight = -1.0f;  // share of VADER valence in English pleasure; < 0: the default
};

// Registers --classifier (and --lexicon-weight) on `cmd`, writing into `choice`.
void add_appraiser_options(CLI::App& cmd, AppraiserChoice& choice);

// Opens the chosen appraiser; throws std::runtime_error naming the problem (unreadable file,
// a classifier without the 28 emotion labels).
std::unique_ptr<affect::Appraiser> open_appraiser(const AppraiserChoice& choice);

}  // namespace kindred::cli
