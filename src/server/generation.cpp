#include "server/generation.h"

#include <chrono>
#include <random>

#include "sampling/json_schema.h"
#include "server/api_error.h"
#include "server/server_state.h"

namespace kindred::server {

std::shared_ptr<const Grammar> output_grammar(const OutputFormat& format) {
  std::string gbnf;
  std::string param = "response_format";
  try {
    if (format.json_schema) {
      gbnf = json_schema_to_gbnf(*format.json_schema);
    } else if (format.json_object) {
      gbnf = json_object_gbnf();
    } else if (!format.grammar.empty()) {
      gbnf = format.grammar;
      param = "grammar";
    } else {
      return nullptr;
    }
    return Grammar::parse(gbnf);
  } catch (const std::exception& e) {
    throw bad_request("'" + param + "' cannot be enforced: " + e.what(), param);
  }
}

GenerationRequest make_generation_request(const GenerationSettings& s, std::vector<int32_t> prompt, int index,
                                          std::shared_ptr<const Grammar> grammar) {
  GenerationRequest r;
  r.prompt = std::move(prompt);
  r.sampling = s.sampling;
  if (s.seed_given) {
    r.sampling.seed = s.sampling.seed + static_cast<uint64_t>(index);
  } else {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    r.sampling.seed = rng();
  }
  r.params.n_predict = s.max_tokens;
  r.params.stop = s.stop;
  r.params.ignore_eos = s.ignore_eos;
  r.grammar = std::move(grammar);
  r.want_logprobs = s.logprobs;
  r.top_logprobs = s.top_logprobs;
  return r;
}

std::string finish_reason(StopReason reason) {
  switch (reason) {
    case StopReason::Length:
    case StopReason::ContextFull: return "length";
    case StopReason::Cancelled: return "cancelled";
    default: return "stop";
  }
}

nlohmann::ordered_json token_logprob_json(const std::string& piece, float logprob) {
  nlohmann::ordered_json bytes = nlohmann::ordered_json::array();
  for (unsigned char c : piece) bytes.push_back(static_cast<int>(c));
  return {{"token", piece}, {"logprob", logprob}, {"bytes", bytes}};
}

nlohmann::ordered_json chat_logprob_entry(const TokenEvent& ev) {
  nlohmann::ordered_json e = token_logprob_json(ev.piece, ev.logprob);
  nlohmann::ordered_json top = nlohmann::ordered_json::array();
  for (const TokenAlternative& alt : ev.top) top.push_back(token_logprob_json(alt.piece, alt.logprob));
  e["top_logprobs"] = top;
  return e;
}

const GenerationOutcome& wait_ok(Job& job) {
  const GenerationOutcome& out = job.wait();
  if (out.error) {
    const bool shutdown = out.error->find("shutting down") != std::string::npos;
    throw ApiError(shutdown ? 503 : 500, *out.error);
  }
  return out;
}

void record_generation(ServerState& state, const GenerationOutcome& o) {
  state.metrics.record_generation(o.result.n_prompt - o.result.n_reused, static_cast<int64_t>(o.result.tokens.size()),
                                  o.result.decode_seconds, o.first_token_seconds);
}

std::string random_id(const std::string& prefix) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string id = prefix;
  uint64_t x = rng();
  for (int i = 0; i < 16; ++i, x >>= 4) id += hex[x & 15];
  return id;
}

int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace kindred::server
