// Parsing and validation of OpenAI-style (and llama.cpp-style) generation requests. Everything a
// client sends is checked here, before any work: wrong types, out-of-range numbers and unknown
// roles become ApiError 400 naming the field (`param`), so the handlers see only sane values.
// The fuzz target fuzz/request_fuzz.cpp drives these functions with arbitrary bytes.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/generate.h"
#include "sampling/sampler.h"

namespace kindred::server {

struct RequestLimits {
  int n_ctx = 4096;          // max_tokens may not exceed it
  int max_n = 8;             // choices per request
  int max_stop = 16;         // stop strings
  int max_logit_bias = 1024; // entries
  int n_vocab = 0;           // logit_bias ids must be below it (0: unchecked)
  size_t max_messages = 4096;
};

// What shapes the output (shared by chat and text completions).
struct OutputFormat {
  bool json_object = false;                 // response_format {"type": "json_object"}
  std::optional<nlohmann::json> json_schema;  // response_format {"type": "json_schema", ...}.schema
  std::string grammar;                      // llama.cpp's "grammar" (GBNF), when given
};

struct GenerationSettings {
  SamplerParams sampling;
  int max_tokens = -1;                  // -1: until the context is full
  std::vector<std::string> stop;
  int n = 1;
  bool logprobs = false;
  int top_logprobs = 0;
  bool seed_given = false;
  bool ignore_eos = false;
  OutputFormat format;
};

struct ChatCompletionRequest {
  std::string model;
  // Messages for the chat template: {"role", "content" (string)} plus tool fields, with MiniMax's
  // role-play roles already folded into system text (see fold_minimax_roles).
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  bool stream = false;
  bool include_usage = false;
  GenerationSettings settings;
  nlohmann::ordered_json tools = nullptr;   // null or a non-empty array of {"type":"function","function":{...}}
  std::string tool_choice = "auto";         // auto | none | required | <function name>
  bool parallel_tool_calls = true;
};

struct CompletionRequest {
  std::string model;
  std::vector<std::string> prompts;         // one choice set per prompt
  std::vector<std::vector<int32_t>> token_prompts;  // prompts given as token ids (same count, or empty)
  bool stream = false;
  bool include_usage = false;
  bool echo = false;
  GenerationSettings settings;
};

// OpenAI's POST /v1/chat/completions body.
ChatCompletionRequest parse_chat_completion_request(const nlohmann::json& body, const RequestLimits& limits);
// OpenAI's POST /v1/completions body.
CompletionRequest parse_completion_request(const nlohmann::json& body, const RequestLimits& limits);
// llama.cpp's POST /completion body (n_predict, top_k, min_p, repeat_penalty, grammar, json_schema,
// prompt as a string or token ids); SillyTavern's text-completion connection sends this.
CompletionRequest parse_llama_completion_request(const nlohmann::json& body, const RequestLimits& limits);

// MiniMax's role-play roles, folded into what any chat template understands: `user_system` (the
// user's persona) and `group` (the scene) become system text, `sample_message_user` /
// `sample_message_ai` become an example dialogue in the system message. Other roles pass through.
nlohmann::ordered_json fold_minimax_roles(const nlohmann::ordered_json& messages);

// Parses a request body as JSON, or throws ApiError 400 with the parser's position.
nlohmann::json parse_json_body(const std::string& body);

}  // namespace kindred::server
