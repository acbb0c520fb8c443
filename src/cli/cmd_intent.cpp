// `kindred intent` (registration only until the intent tracker lands).
#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace kindred::cli {

void add_intent_command(CLI::App&) {}

}  // namespace kindred::cli
