// The public chat-template API: parse once, render many times with HF's variables and globals,
// and pick a template for a GGUF model.
#include "template/chat_template.h"

#include <algorithm>

#include "gguf/gguf.h"
#include "template/builtins.h"
#include "template/interpreter.h"
#include "template/parser.h"
#include "template/known_templates.h"

namespace kindred {

ChatTemplate ChatTemplate::parse(std::string_view source) {
  ChatTemplate t;
  t.source_ = std::string(source);
  t.program_ = std::make_shared<const tmpl::Program>(tmpl::parse_program(source));
  return t;
}

std::string ChatTemplate::render(const ChatTemplateInputs& in) const {
  using tmpl::Value;
  if (!program_) throw TemplateError("render of an empty ChatTemplate");
  tmpl::Dict globals;
  tmpl::add_globals(globals, in.now.value_or(std::chrono::system_clock::now()));
  // The variables transformers passes: messages, tools, documents (None), add_generation_prompt,
  // and the special tokens when the tokenizer has them (an empty token is left undefined).
  globals.set("messages", Value::from_json(in.messages));
  globals.set("tools", Value::from_json(in.tools));
  globals.set("documents", Value::none());
  globals.set("add_generation_prompt", Value::boolean(in.add_generation_prompt));
  if (!in.bos_token.empty()) globals.set("bos_token", Value::string(in.bos_token));
  if (!in.eos_token.empty()) globals.set("eos_token", Value::string(in.eos_token));
  if (in.extra_context.is_object())
    for (const auto& [k, v] : in.extra_context.items()) globals.set(k, Value::from_json(v));
  return tmpl::render_program(*program_, globals);
}

std::vector<std::string> known_chat_template_names() {
  std::vector<std::string> names;
  for (const auto& t : tmpl::known_templates()) names.emplace_back(t.name);
  return names;
}

ChatTemplate known_chat_template(std::string_view name) {
  for (const auto& t : tmpl::known_templates())
    if (t.name == name) return ChatTemplate::parse(t.source);
  std::string list;
  for (const auto& n : known_chat_template_names()) list += (list.empty() ? "" : ", ") + n;
  throw TemplateError("unknown chat template '" + std::string(name) + "' (known: " + list + ")");
}

ChatTemplate chat_template_for(const gguf::File& file) {
  if (const gguf::Value* v = file.find("tokenizer.chat_template"); v && v->type() == gguf::ValueType::STRING) {
    return ChatTemplate::parse(v->as_string());
  }
  return known_chat_template(tmpl::guess_template_name(file));
}

}  // namespace kindred
