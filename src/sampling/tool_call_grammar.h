// The grammar for a reply that must be a tool call (OpenAI tool_choice "required", or a named
// function): the call syntax of the model's chat-template family around a JSON call whose
// arguments match that function's `parameters` schema (json_schema.h).
//
// Per format (see template/tool_calls.h, whose parse_tool_calls() reads these back):
//  - Hermes: one or more `<tool_call>\n{"name": ..., "arguments": ...}\n</tool_call>`, joined
//    by a newline.
//  - MistralNemo: `[TOOL_CALLS][{"name": ..., "arguments": ...}, ...]` (an optional 9-character
//    "id" member after the arguments, as Nemo writes them) or one or more
//    `[TOOL_CALLS]name[ARGS]{...}` (Ministral 3, Devstral).
//  - Llama3: one `{"name": ..., "parameters": ...}`.
//  - FunctionaryOrGeneric: one `<function=name>{...}</function>` or `{"name": ..., "arguments": ...}`.
// With forced_name, exactly one call, to that function.
//
// Only the ToolCallFormat enum is taken from template/ (header only): kindred_sampling does
// not link kindred_template.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "template/tool_calls.h"

namespace kindred {

// tools: OpenAI's `tools` array ([{"type": "function", "function": {"name", "parameters"}}]);
// a function without `parameters` takes none (arguments `{}`). Throws std::invalid_argument
// for a malformed tools array, a forced name that is not among them, ToolCallFormat::None,
// or a parameters schema json_schema_to_gbnf() cannot express (the message names the function).
std::string tool_call_gbnf(const nlohmann::ordered_json& tools, ToolCallFormat format,
                           std::optional<std::string> forced_name);
std::string tool_call_gbnf(const nlohmann::json& tools, ToolCallFormat format, std::optional<std::string> forced_name);

}  // namespace kindred
