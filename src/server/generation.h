// Shared by the routes that generate (OpenAI, llama.cpp, Kindred): turning validated settings into
// scheduler requests, output grammars, finish reasons and logprob bodies.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/batch_scheduler.h"
#include "server/openai_request.h"

namespace kindred::server {

class ServerState;

// The grammar that enforces the requested output (response_format, json_schema, a GBNF
// "grammar"), or null. Throws ApiError 400 naming the field for a schema or grammar it cannot use.
std::shared_ptr<const Grammar> output_grammar(const OutputFormat& format);

// A scheduler request for choice `index` of a generation; without a seed each request draws a
// fresh one, with a seed choice i uses seed + i so n > 1 choices differ.
GenerationRequest make_generation_request(const GenerationSettings& settings, std::vector<int32_t> prompt,
                                          int index, std::shared_ptr<const Grammar> grammar);

// OpenAI's finish_reason for a stop reason.
std::string finish_reason(StopReason reason);

// Token text as OpenAI reports it, with its UTF-8 bytes.
nlohmann::ordered_json token_logprob_json(const std::string& piece, float logprob);
// One entry of chat logprobs.content.
nlohmann::ordered_json chat_logprob_entry(const TokenEvent& ev);

// Waits for the job and turns a failed one into an exception (ApiError 500, or 503 at shutdown).
const GenerationOutcome& wait_ok(Job& job);

// Records a finished generation in the metrics.
void record_generation(ServerState& state, const GenerationOutcome& outcome);

// A random id suffix ("chatcmpl-…").
std::string random_id(const std::string& prefix);
int64_t unix_seconds();

}  // namespace kindred::server
