// `kindred logits -m MODEL.gguf -p TEXT`: JSON {"tokens":[…],"logits":[…]} with the prompt's ids
// and the full logit vector after its last token.
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/model_source.h"
#include "engine/context.h"

namespace kindred::cli {
namespace {

struct LogitsOptions {
  std::string model;
  std::string prompt;
  int n_threads = 0;
  bool raw = false;
};

void logits(const LogitsOptions& o) {
  LoadedModel m = load_model(o.model);
  const std::vector<int32_t> tokens = m.tokenizer->encode(o.prompt, !o.raw, /*parse_special=*/true);
  if (tokens.empty()) throw std::runtime_error("the prompt has no tokens");
  const int n_ctx = std::max<int>(static_cast<int>(tokens.size()), 1);
  Context ctx(*m.model, {.n_ctx = n_ctx, .n_threads = o.n_threads});
  const auto values = ctx.eval(tokens);
  nlohmann::json out;
  out["tokens"] = tokens;
  out["logits"] = std::vector<float>(values.begin(), values.end());
  std::cout << out.dump() << '\n';
}

}  // namespace

void add_logits_command(CLI::App& app) {
  auto opts = std::make_shared<LogitsOptions>();
  CLI::App* cmd = app.add_subcommand("logits", "Print the prompt's token ids and the logits after its last token (JSON)");
  cmd->add_option("-m,--model", opts->model, "GGUF model (default: embedded stories260K)");
  cmd->add_option("-p,--prompt", opts->prompt, "Prompt text")->required();
  cmd->add_option("-t,--threads", opts->n_threads, "Threads (0: all cores)");
  cmd->add_flag("--raw", opts->raw, "Add no BOS/EOS");
  cmd->callback([opts] { logits(*opts); });
}

}  // namespace kindred::cli
