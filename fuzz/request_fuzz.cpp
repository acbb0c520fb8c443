// libFuzzer target for the server's request parsing: any body must either parse into a request
// whose values are in range, or raise ApiError (a 4xx for the client). Anything else escaping —
// another exception, a crash, a hang or a sanitizer report — is a bug.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "server/api_error.h"
#include "server/openai_request.h"

namespace {

void check(const kindred::server::GenerationSettings& s, const kindred::server::RequestLimits& limits) {
  const auto& p = s.sampling;
  if (!(p.temperature >= 0 && p.temperature <= 10) || !(p.top_p >= 0 && p.top_p <= 1)) std::abort();
  if (s.n < 1 || s.n > limits.max_n || s.max_tokens > limits.n_ctx) std::abort();
  if (static_cast<int>(s.stop.size()) > limits.max_stop) std::abort();
  for (const auto& [id, bias] : p.logit_bias) {
    if (id < 0 || id >= limits.n_vocab || std::isnan(bias)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kindred::server;
  const std::string body(reinterpret_cast<const char*>(data), size);
  RequestLimits limits;
  limits.n_vocab = 32000;
  try {
    const nlohmann::json j = parse_json_body(body);
    try {
      check(parse_chat_completion_request(j, limits).settings, limits);
    } catch (const ApiError&) {
    }
    try {
      check(parse_completion_request(j, limits).settings, limits);
    } catch (const ApiError&) {
    }
    try {
      check(parse_llama_completion_request(j, limits).settings, limits);
    } catch (const ApiError&) {
    }
  } catch (const ApiError&) {
  }
  return 0;
}
