// `kindred template render -t TEMPLATE.jinja|MODEL.gguf|NAME --messages MSGS.json [--tools TOOLS.json]
// [--add-generation-prompt] [--bos S] [--eos S]`: prints exactly the rendered prompt. For a GGUF
// file the template is its tokenizer.chat_template (or the guessed known format) and BOS/EOS
// default to the vocabulary's tokens; NAME is one of the known formats (chatml, llama3, ...).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "gguf/gguf.h"
#include "template/chat_template.h"

namespace kindred::cli {
namespace {

struct TemplateOptions {
  std::string source;
  std::string messages, tools;
  bool add_generation_prompt = false;
  std::optional<std::string> bos, eos;
};

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

nlohmann::ordered_json read_json(const std::string& path) {
  try {
    return nlohmann::ordered_json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path + ": invalid JSON: " + e.what());
  }
}

// The vocabulary's token for `key` (tokenizer.ggml.bos_token_id / eos_token_id), or "".
std::string special_token(const gguf::File& file, const char* key) {
  const gguf::Value* id = file.find(key);
  const gguf::Value* tokens = file.find("tokenizer.ggml.tokens");
  if (!id || !id->is_integer() || !tokens || tokens->type() != gguf::ValueType::ARRAY) return "";
  const auto& items = tokens->as_array();
  const uint64_t i = id->as_u64();
  if (i >= items.size() || items[i].type() != gguf::ValueType::STRING) return "";
  return items[i].as_string();
}

void render(const TemplateOptions& o) {
  ChatTemplateInputs in;
  in.add_generation_prompt = o.add_generation_prompt;
  std::optional<ChatTemplate> tmpl;
  if (o.source.size() > 5 && o.source.substr(o.source.size() - 5) == ".gguf") {
    const gguf::File file = gguf::File::open(o.source);
    tmpl = chat_template_for(file);
    in.bos_token = special_token(file, "tokenizer.ggml.bos_token_id");
    in.eos_token = special_token(file, "tokenizer.ggml.eos_token_id");
  } else if (!std::filesystem::exists(o.source) && o.source.find('/') == std::string::npos &&
             o.source.find('.') == std::string::npos) {
    tmpl = known_chat_template(o.source);
  } else {
    tmpl = ChatTemplate::parse(read_file(o.source));
  }
  if (o.bos) in.bos_token = *o.bos;
  if (o.eos) in.eos_token = *o.eos;
  in.messages = read_json(o.messages);
  // A whole request object ({"messages": [...], "tools": [...]}) is accepted too.
  if (in.messages.is_object() && in.messages.contains("messages")) {
    if (in.messages.contains("tools")) in.tools = in.messages["tools"];
    in.messages = nlohmann::ordered_json(in.messages["messages"]);
  }
  if (!in.messages.is_array()) throw std::runtime_error(o.messages + ": expected a JSON array of messages");
  if (!o.tools.empty()) in.tools = read_json(o.tools);
  const std::string out = tmpl->render(in);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

void add_template_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("template", "Chat templates (Jinja) stored in GGUF files");
  cmd->require_subcommand(1);
  auto opts = std::make_shared<TemplateOptions>();
  CLI::App* r = cmd->add_subcommand("render", "Render a chat template for a conversation");
  r->add_option("-t,--template", opts->source, "Template file (.jinja), GGUF model, or a known format name")->required();
  r->add_option("--messages", opts->messages, "JSON file: an array of {role, content} messages")->required();
  r->add_option("--tools", opts->tools, "JSON file: an array of tool (function) schemas");
  r->add_flag("--add-generation-prompt", opts->add_generation_prompt, "End with the assistant turn's opening");
  r->add_option("--bos", opts->bos, "BOS token text (default: the model's, else undefined)");
  r->add_option("--eos", opts->eos, "EOS token text (default: the model's, else undefined)");
  r->callback([opts] { render(*opts); });
}

}  // namespace kindred::cli
