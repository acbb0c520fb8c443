// `kindred pull hf://OWNER/REPO/FILE.gguf[@REVISION]`: prints the cached file's path on stdout.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/pull.h"

namespace kindred::cli {

void add_pull_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("pull", "Download a GGUF model from Hugging Face into the cache");
  auto opts = std::make_shared<PullOptions>();
  cmd->add_option("model", opts->uri, "hf://OWNER/REPO/FILE.gguf, optionally with @REVISION")
      ->required();
  cmd->add_option("--cache-dir", opts->cache_dir,
                  "Cache folder (default $KINDRED_CACHE_DIR, $XDG_CACHE_HOME/kindred or "
                  "~/.cache/kindred)");
  cmd->add_option("--token", opts->token, "Hugging Face access token (default $HF_TOKEN)");
  cmd->add_flag("--force", opts->force, "Download again even if the file is cached");
  cmd->callback([opts] {
    const PullResult r = pull_model(*opts);
    if (!r.downloaded) {
      std::fprintf(stderr, "kindred pull: already cached (use --force to download again)\n");
    }
    std::printf("%s\n", r.path.c_str());
    std::fflush(stdout);
  });
}

}  // namespace kindred::cli
