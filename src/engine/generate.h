// Text generation for one sequence: prompt prefill, then sample / decode / stream until a stop
// token, a stop string or the token limit.
#pragma once
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/context.h"
#include "sampling/sampler.h"
#include "tokenizer/tokenizer.h"

namespace kindred {

struct GenerateParams {
  int n_predict = 128;              // < 0: until the context is full
  std::vector<std::string> stop;    // stop strings (not included in the output)
  std::vector<int32_t> stop_tokens; // extra stop token ids besides the vocabulary's end-of-generation ones
  bool ignore_eos = false;
  // The prompt is the whole sequence (a chat's full rendered context), not a continuation:
  // the context keeps what it already holds of it and computes only the rest.
  bool reuse_prefix = false;
};

enum class StopReason { Length, EndOfGeneration, StopString, ContextFull, Cancelled };
const char* stop_reason_name(StopReason r);

struct GenerateResult {
  std::string text;
  std::vector<int32_t> tokens;  // generated ids (the stop token excluded)
  StopReason reason = StopReason::Length;
  int n_prompt = 0;
  int n_reused = 0;             // prompt tokens taken from the cache (reuse_prefix)
  double prompt_seconds = 0;    // prefill time
  double decode_seconds = 0;    // time spent producing the generated tokens
};

// Called with each piece of text as soon as it is final; return false to cancel.
using TextCallback = std::function<bool(std::string_view piece)>;

// Continues the context with prompt (appended after whatever it holds, or as the whole
// sequence with reuse_prefix) and generates.
GenerateResult generate(Context& ctx, const Tokenizer& tokenizer, Sampler& sampler, std::span<const int32_t> prompt,
                        const GenerateParams& params, const TextCallback& on_text = {});

}  // namespace kindred
