#include "engine/generate.h"

#include <algorithm>
#include <chrono>

#include "sampling/stop_strings.h"

namespace kindred {

const char* stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::Length: return "length";
    case StopReason::EndOfGeneration: return "eos";
    case StopReason::StopString: return "stop";
    case StopReason::ContextFull: return "context_full";
    case StopReason::Cancelled: return "cancelled";
  }
  return "unknown";
}

GenerateResult generate(Context& ctx, const Tokenizer& tokenizer, Sampler& sampler, std::span<const int32_t> prompt,
                        const GenerateParams& params, const TextCallback& on_text) {
  using Clock = std::chrono::steady_clock;
  GenerateResult result;
  result.n_prompt = static_cast<int>(prompt.size());
  if (prompt.empty()) throw ModelError("the prompt is empty: nothing to continue from");
  const int base = params.reuse_prefix ? 0 : ctx.n_past();
  if (base + static_cast<int>(prompt.size()) > ctx.n_ctx()) {
    throw ModelError("the prompt (" + std::to_string(prompt.size()) + " tokens) does not fit the context of " +
                     std::to_string(ctx.n_ctx()) + " tokens");
  }
  for (int32_t id : prompt) sampler.accept(id);

  const auto t0 = Clock::now();
  std::span<const float> logits = params.reuse_prefix ? ctx.eval_sequence(prompt) : ctx.eval(prompt);
  if (params.reuse_prefix) result.n_reused = ctx.last_reused();
  const auto t1 = Clock::now();
  result.prompt_seconds = std::chrono::duration<double>(t1 - t0).count();

  StreamDecoder decoder(tokenizer);
  StopMatcher stops(params.stop);
  auto emit = [&](const std::string& text) {
    if (text.empty()) return true;
    result.text += text;
    return on_text ? on_text(text) : true;
  };

  for (int i = 0; params.n_predict < 0 || i < params.n_predict; ++i) {
    const int32_t id = sampler.sample(logits);
    const bool is_stop_token = std::find(params.stop_tokens.begin(), params.stop_tokens.end(), id) != params.stop_tokens.end();
    if ((!params.ignore_eos && tokenizer.is_eog(id)) || is_stop_token) {
      result.reason = StopReason::EndOfGeneration;
      break;
    }
    sampler.accept(id);
    result.tokens.push_back(id);
    const StopMatcher::Result piece = stops.push(decoder.push(id));
    if (!emit(piece.emit)) {
      result.reason = StopReason::Cancelled;
      break;
    }
    if (piece.stopped) {
      result.reason = StopReason::StopString;
      break;
    }
    if (params.n_predict >= 0 && i + 1 == params.n_predict) break;
    if (ctx.n_past() >= ctx.n_ctx()) {
      result.reason = StopReason::ContextFull;
      break;
    }
    logits = ctx.eval(std::span<const int32_t>(&result.tokens.back(), 1));
  }
  if (result.reason != StopReason::StopString && result.reason != StopReason::Cancelled) {
    emit(stops.push(decoder.flush()).emit + stops.flush());
  }
  result.decode_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
  return result;
}

}  // namespace kindred
