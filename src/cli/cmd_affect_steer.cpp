// `kindred affect steer-build` (registration only until steering lands).
#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace kindred::cli {

void add_affect_steer_command(CLI::App&) {}

}  // namespace kindred::cli
