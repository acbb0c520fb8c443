// `kindred synth ARCH --shape k=v,... [--type q8_0] [--output-type q6_K] [--vocab gpt2|spm]
// [--seed S] -o OUT.gguf`: writes a random-weight model that both Kindred and llama.cpp load,
// for side-by-side benchmarks of shapes nobody has published weights for.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "cli/commands.h"
#include "model/synth.h"
#include "tensor/quants.h"
#include "tensor/thread_pool.h"

namespace kindred::cli {
namespace {

struct SynthOptions {
  std::string arch;
  std::string shape;
  std::string type = "q8_0";
  std::string output_type;  // empty: the same as --type
  std::string vocab = "gpt2";
  uint64_t seed = 1;
  int n_threads = 0;
  std::string output;
};

DType parse_type(const std::string& name, const char* option) {
  try {
    return dtype_from_name(name);
  } catch (const std::invalid_argument&) {
    throw std::runtime_error(std::string(option) + ": unknown tensor type '" + name + "'");
  }
}

void run_synth(const SynthOptions& o) {
  SynthSpec spec;
  spec.arch = o.arch;
  spec.vocab = o.vocab;
  spec.seed = o.seed;
  spec.type = parse_type(o.type, "--type");
  spec.output_type = o.output_type.empty() ? spec.type : parse_type(o.output_type, "--output-type");
  apply_synth_shape(spec, o.shape);
  const SynthSpec resolved = resolve_synth_spec(spec);  // fails before any file is created
  ThreadPool pool(o.n_threads);
  const auto start = std::chrono::steady_clock::now();
  const uint64_t bytes = write_synth_model(resolved, o.output, pool);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int64_t params = 0;
  for (const SynthTensor& t : synth_tensors(resolved)) {
    int64_t n = 1;
    for (int64_t d : t.ne) n *= d;
    params += n;
  }
  std::fprintf(stderr, "[kindred] wrote %s: %s, %.3f B parameters, %.1f MiB, %.1f s\n", o.output.c_str(),
               resolved.arch.c_str(), static_cast<double>(params) * 1e-9, static_cast<double>(bytes) / (1 << 20), secs);
}

}  // namespace

void add_synth_command(CLI::App& app) {
  auto opts = std::make_shared<SynthOptions>();
  CLI::App* cmd = app.add_subcommand("synth", "Write a random-weight model of any architecture and shape (llama.cpp names)");
  cmd->add_option("arch", opts->arch, "llama, qwen2, qwen3, qwen2moe, qwen3moe, olmoe, minimax-m2 (llama + experts = Mixtral)")
      ->required();
  cmd->add_option("--shape", opts->shape,
                  "k=v,... with keys vocab, embd, layers, heads, kv_heads, head_dim, ff, ctx, experts, experts_used, "
                  "ff_exp, ff_shexp, rope_dims, rope_base, tied");
  cmd->add_option("--type", opts->type, "Weight type of the matrices (any type with a quantizer: f32, f16, q8_0, q4_0, q4_K ...)");
  cmd->add_option("--output-type", opts->output_type, "Type of output.weight (default: --type)");
  cmd->add_option("--vocab", opts->vocab, "gpt2 (byte-level BPE) or spm");
  cmd->add_option("--seed", opts->seed, "Seed of the random weights");
  cmd->add_option("-t,--threads", opts->n_threads, "Threads (0: all cores)");
  cmd->add_option("-o,--output", opts->output, "Output GGUF file")->required();
  cmd->callback([opts] { run_synth(*opts); });
}

}  // namespace kindred::cli
