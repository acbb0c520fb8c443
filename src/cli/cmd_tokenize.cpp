// `kindred tokenize -m MODEL_OR_VOCAB.gguf (-p TEXT | -f FILE | --jsonl) [--raw] [--parse-special]`
// prints token ids as a JSON array; with --jsonl, one JSON string per stdin line in, one array out.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "cli/model_source.h"

namespace kindred::cli {
namespace {

struct TokenizeOptions {
  std::string model;
  std::string prompt;
  std::string file;
  bool jsonl = false;
  bool raw = false;
  bool parse_special = false;
  bool prompt_given = false;
};

void tokenize(const TokenizeOptions& o) {
  if (!o.jsonl && !o.prompt_given && o.file.empty()) throw std::runtime_error("give the text with -p, -f or --jsonl");
  const auto file = open_model_file(o.model);
  const auto tok = Tokenizer::from_gguf(*file);
  auto encode = [&](const std::string& text) {
    return nlohmann::json(tok->encode(text, !o.raw, o.parse_special)).dump();
  };
  if (o.jsonl) {
    std::string line;
    for (size_t n = 1; std::getline(std::cin, line); ++n) {
      if (line.empty()) continue;
      nlohmann::json text;
      try {
        text = nlohmann::json::parse(line);
      } catch (const nlohmann::json::parse_error&) {
        throw std::runtime_error("stdin line " + std::to_string(n) + " is not valid JSON");
      }
      if (!text.is_string()) throw std::runtime_error("stdin line " + std::to_string(n) + " is not a JSON string");
      std::cout << encode(text.get<std::string>()) << '\n';
    }
    return;
  }
  std::string text = o.prompt;
  if (!o.file.empty()) {
    std::ifstream f(o.file, std::ios::binary);
    if (!f) throw std::runtime_error("cannot read " + o.file);
    std::ostringstream s;
    s << f.rdbuf();
    text = s.str();
  }
  std::cout << encode(text) << '\n';
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto opts = std::make_shared<TokenizeOptions>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Print the token ids of a text as a JSON array");
  cmd->add_option("-m,--model", opts->model, "GGUF model or vocabulary file (default: embedded stories260K)");
  auto* p = cmd->add_option("-p,--prompt", opts->prompt, "Text to tokenize");
  auto* f = cmd->add_option("-f,--file", opts->file, "Read the text from a file")->excludes(p);
  cmd->add_flag("--jsonl", opts->jsonl, "Each stdin line is a JSON string; print one array per line")->excludes(p)->excludes(f);
  cmd->add_flag("--raw", opts->raw, "Add no BOS/EOS");
  cmd->add_flag("--parse-special", opts->parse_special, "Turn special-token text into its id");
  cmd->callback([opts, p] {
    opts->prompt_given = p->count() > 0;
    tokenize(*opts);
  });
}

}  // namespace kindred::cli
