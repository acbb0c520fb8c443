// Entry point of the `kindred` command: parses the subcommand and reports any failure as one
// line on stderr with exit code 1, never a crash.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Kindred: conversational AI engine for GGUF models"};
  app.require_subcommand(1);
  kindred::cli::add_run_command(app);
  kindred::cli::add_tokenize_command(app);
  kindred::cli::add_logits_command(app);
  kindred::cli::add_info_command(app);
  kindred::cli::add_convert_command(app);
  kindred::cli::add_pull_command(app);
  kindred::cli::add_synth_command(app);
  kindred::cli::add_bench_command(app);
  kindred::cli::add_chat_command(app);
  kindred::cli::add_serve_command(app);
  kindred::cli::add_template_command(app);
  kindred::cli::add_card_command(app);
  kindred::cli::add_affect_steer_command(*kindred::cli::add_affect_command(app));
  kindred::cli::add_intent_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "kindred: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kindred: %s\n", e.what());
    return 1;
  }
  return 0;
}
