// `kindred affect steer-build -m M.gguf [-o OUT.steer.gguf] [--pairs FILE] [-t THREADS]`: builds the
// emotion steering library of a model from contrastive prompt pairs (the embedded set unless
// --pairs names a JSON file) and writes it beside the model. Progress goes to stderr, a JSON
// summary to stdout.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "affect/steering.h"
#include "cli/commands.h"
#include "cli/model_source.h"

namespace kindred::cli {
namespace {

struct SteerBuildOptions {
  std::string model;
  std::string output;
  std::string pairs;
  int n_threads = 0;
};

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read steering pairs file " + path);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

void steer_build(const SteerBuildOptions& o) {
  std::filesystem::path out = o.output;
  if (out.empty()) {
    if (o.model.empty() || !std::filesystem::is_regular_file(o.model)) {
      throw std::runtime_error("steer-build: give -o OUT.steer.gguf when the model is not a local GGUF file");
    }
    out = affect::SteeringLibrary::default_path(o.model);
  }
  const affect::SteeringPairs pairs =
      o.pairs.empty() ? affect::default_steering_pairs() : affect::parse_steering_pairs(read_text(o.pairs));
  const auto t0 = std::chrono::steady_clock::now();
  LoadedModel m = load_model(o.model);
  // Prompts are one or two sentences; 256 positions hold any of them with room to spare.
  Context ctx(*m.model, {.n_ctx = 256, .n_threads = o.n_threads});
  affect::SteeringBuildOptions build;
  build.progress = [](int done, int total) {
    std::fprintf(stderr, "\r[kindred] steer-build: %d/%d pairs", done, total);
    if (done == total) std::fprintf(stderr, "\n");
  };
  const affect::SteeringLibrary lib = affect::SteeringLibrary::build(ctx, *m.tokenizer, pairs, build);
  lib.save(out);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  nlohmann::ordered_json j;
  j["output"] = out.string();
  j["n_layer"] = lib.n_layer();
  j["n_embd"] = lib.n_embd();
  nlohmann::ordered_json labels = nlohmann::ordered_json::object();
  for (int k = 0; k < affect::kNumLabels; ++k) {
    if (lib.has(k)) labels[affect::label_name(k)] = lib.pair_count(k);
  }
  j["pairs"] = labels;
  j["suggested_layers"] = {lib.suggested_first(), lib.suggested_last()};
  j["seconds"] = seconds;
  std::printf("%s\n", j.dump(2).c_str());
}

}  // namespace

void add_affect_steer_command(CLI::App& affect) {
  auto opts = std::make_shared<SteerBuildOptions>();
  CLI::App* cmd = affect.add_subcommand("steer-build", "Build emotion steering vectors for a model from contrastive prompt pairs");
  cmd->add_option("-m,--model", opts->model, "GGUF file or hf://OWNER/REPO/FILE.gguf (default: embedded stories260K)");
  cmd->add_option("-o,--output", opts->output, "Output side file (default: beside the model, M.gguf -> M.steer.gguf)");
  cmd->add_option("--pairs", opts->pairs, "JSON file of prompt pairs (default: the embedded data/affect/steering_pairs.json)");
  cmd->add_option("-t,--threads", opts->n_threads, "Threads (0: all cores)");
  cmd->callback([opts] { steer_build(*opts); });
}

}  // namespace kindred::cli
