// `kindred convert FORMAT ...`: other model formats to GGUF. Prints the written path on stdout.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "model/llama2c.h"

namespace kindred::cli {

void add_convert_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("convert", "Convert a model from another format to GGUF");
  cmd->require_subcommand(1);

  struct Llama2cArgs {
    std::string checkpoint, tokenizer, output;
    model::Llama2cOptions opts;
  };
  auto args = std::make_shared<Llama2cArgs>();
  auto* l2c =
      cmd->add_subcommand("llama2c", "llama2.c checkpoint (.bin) and tokenizer.bin to GGUF");
  l2c->add_option("checkpoint", args->checkpoint, "llama2.c model checkpoint (.bin)")->required();
  l2c->add_option("tokenizer", args->tokenizer, "llama2.c tokenizer (tokenizer.bin)")->required();
  l2c->add_option("-o,--output", args->output, "GGUF file to write")->required();
  l2c->add_option("--context-length", args->opts.context_length,
                  "llama.context_length to record (default: the checkpoint's seq_len)");
  l2c->add_option("--name", args->opts.name, "general.name to record")->capture_default_str();
  l2c->callback([args] {
    model::convert_llama2c_to_gguf(std::filesystem::path(args->checkpoint),
                                   std::filesystem::path(args->tokenizer),
                                   std::filesystem::path(args->output), args->opts);
    std::printf("%s\n", args->output.c_str());
    std::fflush(stdout);
  });
}

}  // namespace kindred::cli
