// The `kindred` subcommands. Each add_* registers one subcommand (its options and the callback
// that runs it) on the top-level app. Callbacks throw on failure; main() turns any exception into
// a one-line message on stderr and exit code 1.
#pragma once

namespace CLI {
class App;
}

namespace kindred::cli {

void add_run_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_logits_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_pull_command(CLI::App& app);
void add_synth_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_template_command(CLI::App& app);
void add_card_command(CLI::App& app);
void add_chat_command(CLI::App& app);
// `kindred serve`: the HTTP server (docs/SERVER_API.md).
void add_serve_command(CLI::App& app);
// `kindred affect …` (appraise, train, eval); returns the subcommand so others can add to it.
CLI::App* add_affect_command(CLI::App& app);
// `kindred affect steer-build`: steering vectors from contrastive prompt pairs.
void add_affect_steer_command(CLI::App& affect);
// `kindred intent train|eval`.
void add_intent_command(CLI::App& app);

}  // namespace kindred::cli
