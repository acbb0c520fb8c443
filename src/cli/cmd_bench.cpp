// `kindred bench -m MODEL [-p 512] [-n 128] [-t N] [-r REPS] [--json]`: prompt-processing and
// generation speed measured the way llama-bench measures pp512 / tg128, so the two engines'
// figures compare directly: pp evaluates p random tokens in one call from an empty context; tg
// decodes n tokens one at a time, also from an empty context. Each is repeated REPS times after
// one warm-up run and the median, min and max tokens/s are reported, with peak resident memory.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

#include "cli/commands.h"
#include "cli/model_source.h"
#include "engine/context.h"
#include "model/kv_cache.h"
#include "tensor/quants.h"

namespace kindred::cli {
namespace {

struct BenchOptions {
  std::string model;
  int n_prompt = 512;
  int n_gen = 128;
  int n_threads = 0;
  int reps = 5;
  bool json = false;
  bool no_repack = false;
  int turn_history = 0;  // --turn: measure a chat turn after this many tokens of history
  int turn_new = 32;
};

struct Stats {
  double median = 0, min = 0, max = 0;
};

Stats summarize(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  const double median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  return {median, v.front(), v.back()};
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Peak resident set of this process: ru_maxrss is in KiB on Linux (VmHWM in /proc/self/status).
// The model path as a JSON string body (quotes, backslashes and control bytes escaped).
std::string json_escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

uint64_t peak_rss_bytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<uint64_t>(ru.ru_maxrss) * 1024;
}

void run_bench(const BenchOptions& o) {
  if (o.n_prompt < 0 || o.n_gen < 0) throw std::runtime_error("bench: -p and -n must not be negative");
  if (o.turn_history < 0 || o.turn_new < 1) throw std::runtime_error("bench: --turn must not be negative and --turn-new must be positive");
  if (o.n_prompt == 0 && o.n_gen == 0 && o.turn_history == 0) throw std::runtime_error("bench: nothing to measure (-p 0 -n 0)");
  if (o.reps < 1) throw std::runtime_error("bench: -r must be at least 1");
  if (o.n_threads < 0) throw std::runtime_error("bench: -t must not be negative");
  LoadedModel m = load_model(o.model, !o.no_repack);
  const ModelConfig& cfg = m.model->config();
  // Like llama-bench: the context holds the prompt and the generated tokens.
  const int n_ctx = std::max({o.n_prompt + o.n_gen, o.turn_history + o.turn_new + 1, 1});
  Context ctx(*m.model, {.n_ctx = n_ctx, .n_threads = o.n_threads});
  if (ctx.n_ctx() < std::max(o.n_prompt, o.n_gen)) {
    throw std::runtime_error("bench: the context holds only " + std::to_string(ctx.n_ctx()) + " tokens");
  }
  // The KV cache's size, whatever its element type, from a one-position cache.
  const uint64_t kv_bytes = static_cast<uint64_t>(KvCache(cfg, 1).bytes()) * static_cast<uint64_t>(ctx.n_ctx());

  std::mt19937 rng(42);
  std::uniform_int_distribution<int32_t> token(0, cfg.n_vocab - 1);
  std::vector<int32_t> prompt(static_cast<size_t>(o.n_prompt));
  auto run_pp = [&] {
    for (auto& t : prompt) t = token(rng);
    ctx.reset();
    const auto start = std::chrono::steady_clock::now();
    ctx.eval(prompt);
    return o.n_prompt / seconds_since(start);
  };
  auto run_tg = [&](int n) {
    ctx.reset();
    int32_t next = token(rng);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      ctx.eval(std::span<const int32_t>(&next, 1));
      next = token(rng);  // the logits are not sampled: speed does not depend on the token
    }
    return n / seconds_since(start);
  };

  std::vector<double> pp, tg;
  if (o.n_prompt > 0) {
    run_pp();  // warm-up: page in the weights, grow the buffers
    for (int r = 0; r < o.reps; ++r) pp.push_back(run_pp());
  }
  if (o.n_gen > 0) {
    run_tg(1);
    for (int r = 0; r < o.reps; ++r) tg.push_back(run_tg(o.n_gen));
  }
  // A chat's next turn: the history is cached, so only the new message's tokens are computed
  // (Context::eval_sequence), against evaluating the whole conversation from scratch.
  std::vector<double> turn_cached, turn_scratch, state_save, state_load;
  int turn_reused = 0;
  uint64_t state_bytes = 0;
  if (o.turn_history > 0) {
    std::vector<int32_t> conversation(static_cast<size_t>(o.turn_history + o.turn_new));
    for (int r = 0; r <= o.reps; ++r) {  // the first round warms up
      for (auto& t : conversation) t = token(rng);
      ctx.reset();
      ctx.eval_sequence(std::span<const int32_t>(conversation).first(static_cast<size_t>(o.turn_history)));
      // Resuming: the history's state goes to a file and comes back into an emptied context.
      const std::filesystem::path state = std::filesystem::temp_directory_path() /
                                          ("kindred-bench-" + std::to_string(::getpid()) + ".kv");
      auto start = std::chrono::steady_clock::now();
      ctx.save_state(state);
      const double saved = seconds_since(start);
      ctx.reset();
      start = std::chrono::steady_clock::now();
      ctx.load_state(state);
      const double loaded = seconds_since(start);
      state_bytes = std::filesystem::file_size(state);
      std::filesystem::remove(state);
      start = std::chrono::steady_clock::now();
      ctx.eval_sequence(conversation);
      const double cached = seconds_since(start);
      turn_reused = ctx.last_reused();
      ctx.reset();
      start = std::chrono::steady_clock::now();
      ctx.eval_sequence(conversation);
      const double scratch = seconds_since(start);
      if (r > 0) {
        turn_cached.push_back(cached);
        turn_scratch.push_back(scratch);
        state_save.push_back(saved);
        state_load.push_back(loaded);
      }
    }
  }
  const Stats p = summarize(pp), g = summarize(tg);
  const Stats tc = summarize(turn_cached), ts = summarize(turn_scratch);
  const uint64_t file_bytes = m.file->file_size();
  const uint64_t rss = peak_rss_bytes();
  if (o.json) {
    std::printf(
        "{\"model\": \"%s\", \"arch\": \"%s\", \"model_bytes\": %llu, \"isa\": \"%s\", \"threads\": %d, "
        "\"n_prompt\": %d, \"n_gen\": %d, \"reps\": %d, \"n_ctx\": %d, "
        "\"pp_tps\": %.3f, \"pp_tps_min\": %.3f, \"pp_tps_max\": %.3f, "
        "\"tg_tps\": %.3f, \"tg_tps_min\": %.3f, \"tg_tps_max\": %.3f, "
        "\"turn_history\": %d, \"turn_new\": %d, \"turn_reused\": %d, \"turn_cached_s\": %.6f, \"turn_scratch_s\": %.6f, "
        "\"kv_cache_bytes\": %llu, \"peak_rss_bytes\": %llu}\n",
        o.model.empty() ? "(embedded)" : json_escape(o.model).c_str(), cfg.arch.c_str(), static_cast<unsigned long long>(file_bytes),
        isa_name(active_isa()), ctx.pool().size(), o.n_prompt, o.n_gen, o.reps, ctx.n_ctx(), p.median, p.min, p.max,
        g.median, g.min, g.max, o.turn_history, o.turn_new, turn_reused, tc.median, ts.median,
        static_cast<unsigned long long>(kv_bytes), static_cast<unsigned long long>(rss));
    return;
  }
  std::printf("model %s (%s, %.1f MiB), %d threads, %s, %d reps\n", o.model.empty() ? "(embedded)" : o.model.c_str(),
              cfg.arch.c_str(), static_cast<double>(file_bytes) / (1 << 20), ctx.pool().size(), isa_name(active_isa()), o.reps);
  std::printf("%-8s %12s %12s %12s\n", "test", "t/s median", "min", "max");
  if (!pp.empty()) std::printf("pp%-6d %12.2f %12.2f %12.2f\n", o.n_prompt, p.median, p.min, p.max);
  if (!tg.empty()) std::printf("tg%-6d %12.2f %12.2f %12.2f\n", o.n_gen, g.median, g.min, g.max);
  if (!turn_cached.empty()) {
    std::printf("turn after %d tokens of history, %d new: %d reused, %.4f s (median); from scratch %.4f s: %.1fx\n",
                o.turn_history, o.turn_new, turn_reused, tc.median, ts.median, ts.median / tc.median);
    std::printf("resume: state file %.1f MiB saved in %.4f s, loaded in %.4f s (median)\n",
                static_cast<double>(state_bytes) / (1 << 20), summarize(state_save).median, summarize(state_load).median);
  }
  std::printf("KV cache %.1f MiB (%d positions), peak resident %.1f MiB\n", static_cast<double>(kv_bytes) / (1 << 20),
              ctx.n_ctx(), static_cast<double>(rss) / (1 << 20));
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto opts = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure prompt (pp) and generation (tg) tokens/s like llama-bench");
  cmd->add_option("-m,--model", opts->model, "GGUF file or hf://OWNER/REPO/FILE.gguf (default: embedded stories260K)");
  cmd->add_option("-p,--n-prompt", opts->n_prompt, "Prompt tokens evaluated in one call (0: skip pp)");
  cmd->add_option("-n,--n-gen", opts->n_gen, "Tokens decoded one at a time (0: skip tg)");
  cmd->add_option("-t,--threads", opts->n_threads, "Threads (0: all cores)");
  cmd->add_option("-r,--repetitions", opts->reps, "Repetitions of each test (median reported)");
  cmd->add_flag("--json", opts->json, "Print one JSON object");
  cmd->add_option("--turn", opts->turn_history, "Also time a chat turn of --turn-new tokens after this much cached history");
  cmd->add_option("--turn-new", opts->turn_new, "New tokens in that turn");
  cmd->add_flag("--no-repack", opts->no_repack, "Keep weights in GGUF layout (measures what load-time repacking gains)");
  cmd->callback([opts] { run_bench(*opts); });
}

}  // namespace kindred::cli
