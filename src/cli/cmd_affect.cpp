// `kindred affect`: appraise, train, eval (placeholder registration until the classifier lands).
#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace kindred::cli {

CLI::App* add_affect_command(CLI::App& app) {
  CLI::App* affect = app.add_subcommand("affect", "Appraise emotion in text; train and evaluate appraisers");
  affect->require_subcommand(1);
  return affect;
}

}  // namespace kindred::cli
