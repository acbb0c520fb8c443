// Tool calls in generated assistant text, per chat-template family: which syntax a template
// teaches its model (detect_tool_call_format), and the calls taken back out of a reply
// (parse_tool_calls) as OpenAI's API returns them.
//
// Syntaxes:
//  - Hermes (Hermes 2 Pro/3, Qwen2.5, Qwen3, QwQ, Granite 4, ...): <tool_call>{"name": ...,
//    "arguments": {...}}</tool_call>, one block per call; a JSON array inside one block is
//    several calls; a missing closing tag at the end of the text is tolerated.
//  - MistralNemo: [TOOL_CALLS][{"name": ..., "arguments": ...}, ...] (Nemo), and
//    [TOOL_CALLS]name[ARGS]{...} (Ministral 3, Devstral).
//  - Llama3: a JSON object {"name": ..., "parameters": {...}} (Llama 3.1-3.3 custom tools;
//    several may be separated by ';'), or <|python_tag|> followed by such an object or by a
//    built-in call `brave_search.call(query="...")`.
//  - FunctionaryOrGeneric: <function=name>{...}</function> (Functionary v3.1), and a bare JSON
//    object {"name": ..., "arguments": {...}} anywhere in the text.
// In every format "arguments" may be an object or a string holding a JSON object, and
// "parameters" is accepted for "arguments".
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace kindred {

enum class ToolCallFormat {
  None,                 // the template teaches no tool-call syntax Kindred can parse
  Hermes,               // <tool_call>{json}</tool_call>
  MistralNemo,          // [TOOL_CALLS][{...}] or [TOOL_CALLS]name[ARGS]{...}
  Llama3,               // {"name": ..., "parameters": {...}} or <|python_tag|>
  FunctionaryOrGeneric  // <function=name>{...}</function> or a bare {"name", "arguments"} object
};

const char* tool_call_format_name(ToolCallFormat format);

// From markers in the template's Jinja source. Templates whose calls carry arguments as XML
// (Qwen3-Coder/Qwen3.5 <parameter=...>, GLM and Laguna <arg_key>, MiniMax, Apriel's
// <tool_calls>) and templates with no tool syntax give None.
ToolCallFormat detect_tool_call_format(std::string_view template_source);

struct ToolCall {
  std::string id;              // "call_<n>", n counting from first_id in the reply's order
  std::string name;
  std::string arguments_json;  // compact JSON text of an object, key order as generated
};

struct ParsedReply {
  std::string content;  // the text outside the calls, trimmed at both ends
  std::vector<ToolCall> tool_calls;
};

// Never throws on model output: a call marker followed by malformed JSON (or JSON that is
// not a call) stays in content as written. Separators between two calls (whitespace, ';',
// ',') are dropped. With ToolCallFormat::None the whole text is content.
ParsedReply parse_tool_calls(std::string_view text, ToolCallFormat format, int first_id = 0);

}  // namespace kindred
