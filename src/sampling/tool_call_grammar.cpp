// Tool-call grammars: the template family's call syntax around schema-checked arguments.
#include "sampling/tool_call_grammar.h"

#include <stdexcept>
#include <vector>

#include "sampling/grammar.h"
#include "sampling/json_schema.h"

namespace kindred {

namespace {

using J = nlohmann::ordered_json;

struct Function {
  std::string name;
  std::string arguments_rule;
};

}  // namespace

std::string tool_call_gbnf(const nlohmann::ordered_json& tools, ToolCallFormat format,
                           std::optional<std::string> forced_name) {
  if (format == ToolCallFormat::None) throw std::invalid_argument("tool_call_gbnf: the template has no tool-call syntax");
  if (!tools.is_array() || tools.empty()) throw std::invalid_argument("tool_call_gbnf: 'tools' must be a non-empty array");
  GbnfBuilder b;
  const std::string w = b.ws();
  std::vector<Function> functions;
  for (size_t i = 0; i < tools.size(); ++i) {
    const J& tool = tools[i];
    const std::string where = "tools[" + std::to_string(i) + "]";
    if (!tool.is_object() || tool.value("type", "") != "function" || !tool.contains("function") ||
        !tool["function"].is_object())
      throw std::invalid_argument("tool_call_gbnf: " + where + " is not {\"type\": \"function\", \"function\": {...}}");
    const J& fn = tool["function"];
    if (!fn.contains("name") || !fn["name"].is_string() || fn["name"].get<std::string>().empty())
      throw std::invalid_argument("tool_call_gbnf: " + where + ".function has no name");
    const std::string name = fn["name"].get<std::string>();
    if (forced_name && *forced_name != name) continue;
    // No parameters: a function with an empty parameter list, as OpenAI defines it.
    const J params = fn.contains("parameters") ? fn["parameters"] : J::parse(R"({"type":"object","additionalProperties":false})");
    try {
      functions.push_back({name, b.add_schema(params, name + "-args")});
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("tool_call_gbnf: parameters of function '" + name + "': " + e.what());
    }
  }
  if (functions.empty()) throw std::invalid_argument("tool_call_gbnf: no function named '" + forced_name.value_or("") + "' in tools");

  const bool one_call = forced_name.has_value();
  auto alternatives = [&](auto&& make) {
    std::string body;
    for (const Function& f : functions) body += (body.empty() ? "" : " | ") + make(f);
    return body;
  };
  // {"name": "fn", "<key>": args}, plus Nemo's optional id.
  auto json_call = [&](const char* args_key, bool with_id) {
    const std::string id = with_id ? " ( " + w + " \",\" " + w + " \"\\\"id\\\"\" " + w + " \":\" " + w + " \"\\\"\" [a-zA-Z0-9]{9} \"\\\"\" )?" : "";
    return b.add_rule("call", alternatives([&](const Function& f) {
      return "\"{\" " + w + " \"\\\"name\\\"\" " + w + " \":\" " + w + " " + GbnfBuilder::literal(J(f.name).dump()) + " " + w +
             " \",\" " + w + " " + GbnfBuilder::literal(std::string("\"") + args_key + "\"") + " " + w + " \":\" " + w + " " +
             f.arguments_rule + id + " " + w + " \"}\"";
    }));
  };
  std::string root;
  switch (format) {
    case ToolCallFormat::Hermes: {
      const std::string block = b.add_rule("tool-call-block", "\"<tool_call>\\n\" " + json_call("arguments", false) + " \"\\n</tool_call>\"");
      root = one_call ? block : block + " ( \"\\n\" " + block + " )*";
      break;
    }
    case ToolCallFormat::MistralNemo: {
      const std::string call = json_call("arguments", true);
      const std::string list = "\"[TOOL_CALLS][\" " + call + (one_call ? "" : " ( \",\" " + w + " " + call + " )*") + " \"]\"";
      const std::string named = b.add_rule("tool-call-args", alternatives([&](const Function& f) {
        return "\"[TOOL_CALLS]\" " + GbnfBuilder::literal(f.name) + " \"[ARGS]\" " + f.arguments_rule;
      }));
      root = list + " | " + named + (one_call ? "" : " " + named + "*");
      break;
    }
    case ToolCallFormat::Llama3: root = json_call("parameters", false); break;
    case ToolCallFormat::FunctionaryOrGeneric: {
      const std::string tagged = b.add_rule("function-tag", alternatives([&](const Function& f) {
        return "\"<function=\" " + GbnfBuilder::literal(f.name) + " \">\" " + f.arguments_rule + " \"</function>\"";
      }));
      root = tagged + " | " + json_call("arguments", false);
      break;
    }
    case ToolCallFormat::None: break;
  }
  std::string text = b.gbnf(root);
  try {
    Grammar::parse(text);
  } catch (const GrammarError& e) {
    throw std::invalid_argument(std::string("tool_call_gbnf: the grammar is not usable: ") + e.what());
  }
  return text;
}

std::string tool_call_gbnf(const nlohmann::json& tools, ToolCallFormat format, std::optional<std::string> forced_name) {
  return tool_call_gbnf(nlohmann::ordered_json(tools), format, std::move(forced_name));
}

}  // namespace kindred
