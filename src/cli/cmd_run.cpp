// `kindred run -m MODEL.gguf -p TEXT -n N [--temp T] [--seed S] ...`: prints only the generated
// text, streamed as it is produced. Timings go to stderr with --verbose.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "cli/commands.h"
#include "cli/model_source.h"
#include "engine/generate.h"

namespace kindred::cli {
namespace {

struct RunOptions {
  std::string model;
  std::string prompt;
  std::string prompt_file;
  int n_predict = 128;
  int n_ctx = 0;
  int n_threads = 0;
  int64_t seed = -1;
  std::string kv_type = "f16";
  bool ignore_eos = false;
  bool verbose = false;
  std::vector<std::string> stop;
  std::vector<std::string> logit_bias;
  SamplerParams sampling;
};

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read prompt file " + path);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// "ID=BIAS" or "ID+BIAS"/"ID-BIAS" (llama.cpp's spelling); "-inf" bans the token.
std::pair<int32_t, float> parse_logit_bias(const std::string& text) {
  size_t split = text.find('=');
  size_t value_at = split + 1;
  if (split == std::string::npos) {
    split = text.find_first_of("+-", 1);
    value_at = split;
  }
  if (split == std::string::npos || split == 0) throw std::runtime_error("--logit-bias expects ID=BIAS, got '" + text + "'");
  try {
    size_t used = 0;
    const int id = std::stoi(text.substr(0, split), &used);
    if (used != split) throw std::invalid_argument("id");
    const std::string value = text.substr(value_at);
    const float bias = value == "-inf" ? -INFINITY : std::stof(value, &used);
    if (value != "-inf" && used != value.size()) throw std::invalid_argument("bias");
    return {id, bias};
  } catch (const std::logic_error&) {
    throw std::runtime_error("--logit-bias expects ID=BIAS, got '" + text + "'");
  }
}

void run(const RunOptions& o) {
  std::string prompt = o.prompt_file.empty() ? o.prompt : read_file(o.prompt_file);
  LoadedModel m = load_model(o.model);
  Context ctx(*m.model, {.n_ctx = o.n_ctx, .n_threads = o.n_threads, .kv_type = dtype_from_name(o.kv_type)});
  SamplerParams sp = o.sampling;
  sp.seed = o.seed >= 0 ? static_cast<uint64_t>(o.seed) : std::random_device{}();
  for (const auto& b : o.logit_bias) sp.logit_bias.push_back(parse_logit_bias(b));
  Sampler sampler(sp, m.model->config().n_vocab);

  const std::vector<int32_t> tokens = m.tokenizer->encode(prompt, /*add_special=*/true, /*parse_special=*/true);
  GenerateParams gp{.n_predict = o.n_predict, .stop = o.stop, .ignore_eos = o.ignore_eos};
  const GenerateResult r = generate(ctx, *m.tokenizer, sampler, tokens, gp, [](std::string_view piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    return true;
  });
  if (o.verbose) {
    const double pp = r.prompt_seconds > 0 ? r.n_prompt / r.prompt_seconds : 0;
    const double tg = r.decode_seconds > 0 ? static_cast<double>(r.tokens.size()) / r.decode_seconds : 0;
    std::fprintf(stderr, "\n[kindred] prompt %d tokens, %.1f tok/s; generated %zu tokens, %.1f tok/s; stop: %s; threads %d\n",
                 r.n_prompt, pp, r.tokens.size(), tg, stop_reason_name(r.reason), ctx.pool().size());
  }
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto opts = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Generate text from a prompt (prints only the generated text)");
  cmd->add_option("-m,--model", opts->model, "GGUF file or hf://OWNER/REPO/FILE.gguf (default: embedded stories260K)");
  auto* p = cmd->add_option("-p,--prompt", opts->prompt, "Prompt text");
  cmd->add_option("-f,--file", opts->prompt_file, "Read the prompt from a file")->excludes(p);
  cmd->add_option("-n,--n-predict", opts->n_predict, "Tokens to generate (-1: until end of text or full context)");
  cmd->add_option("-c,--ctx-size", opts->n_ctx, "Context length (0: the model's, at most 4096)");
  cmd->add_option("-t,--threads", opts->n_threads, "Threads (0: all cores)");
  cmd->add_option("--kv-type", opts->kv_type, "KV cache type: f16, q8_0 or f32");
  cmd->add_option("-s,--seed", opts->seed, "Random seed (-1: random)");
  cmd->add_option("--temp", opts->sampling.temperature, "Temperature (0: greedy)");
  cmd->add_option("--top-k", opts->sampling.top_k, "Top-k (0: off)");
  cmd->add_option("--top-p", opts->sampling.top_p, "Top-p (1: off)");
  cmd->add_option("--min-p", opts->sampling.min_p, "Min-p (0: off)");
  cmd->add_option("--typical", opts->sampling.typical_p, "Locally typical sampling p (1: off)");
  cmd->add_option("--repeat-penalty", opts->sampling.repeat_penalty, "Repetition penalty (1: off)");
  cmd->add_option("--repeat-last-n", opts->sampling.penalty_last_n, "Penalty window in tokens (0: off, -1: all)");
  cmd->add_option("--presence-penalty", opts->sampling.presence_penalty, "Presence penalty");
  cmd->add_option("--frequency-penalty", opts->sampling.frequency_penalty, "Frequency penalty");
  cmd->add_option("--logit-bias", opts->logit_bias, "Token bias ID=BIAS (repeatable; -inf bans)");
  cmd->add_option("--stop", opts->stop, "Stop string (repeatable; not printed)");
  cmd->add_flag("--ignore-eos", opts->ignore_eos, "Keep generating past end-of-text tokens");
  cmd->add_flag("-v,--verbose", opts->verbose, "Print timings to stderr");
  cmd->callback([opts] { run(*opts); });
}

}  // namespace kindred::cli
