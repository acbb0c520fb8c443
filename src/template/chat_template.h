// Chat templates: the Jinja2 programs stored in GGUF files (`tokenizer.chat_template`) that turn
// a conversation into the model's prompt text. Rendering matches Python Jinja2 configured as
// Hugging Face transformers configures it (trim_blocks, lstrip_blocks, immutable sandbox,
// `tojson` = json.dumps, `raise_exception`, `strftime_now`).
// A parsed ChatTemplate is immutable: render() may be called from many threads at once.
#pragma once
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kindred {

namespace gguf {
class File;
}

class TemplateError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// JSON values are ordered_json because object key order shows in the output (`tojson`, dict
// iteration), as in Python; a plain nlohmann::json converts implicitly (with its keys sorted).
// An empty bos_token / eos_token leaves that variable undefined, as transformers does for a
// tokenizer without one.
struct ChatTemplateInputs {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools = nullptr;  // null or array
  bool add_generation_prompt = true;
  std::string bos_token, eos_token;
  nlohmann::ordered_json extra_context = nlohmann::ordered_json::object();  // more globals (e.g. enable_thinking)
  // The clock strftime_now() reads; the system clock when unset (tests freeze it).
  std::optional<std::chrono::system_clock::time_point> now;
};

namespace tmpl {
struct Program;
}

class ChatTemplate {
 public:
  // Throws TemplateError "line L, column C: ..." for a syntax error.
  static ChatTemplate parse(std::string_view source);
  // Throws TemplateError for raise_exception(), undefined-value misuse and other runtime errors,
  // and when a limit is hit (output size, loop iterations, recursion depth).
  std::string render(const ChatTemplateInputs& in) const;
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::shared_ptr<const tmpl::Program> program_;
};

// Kindred's own templates for well-known formats: chatml, llama2, llama3, mistral, gemma, phi3,
// zephyr, alpaca, vicuna, deepseek. Throws TemplateError listing the names for an unknown one.
ChatTemplate known_chat_template(std::string_view name);
std::vector<std::string> known_chat_template_names();

// The file's `tokenizer.chat_template`, else a known format guessed from the vocabulary's
// special tokens, else chatml.
ChatTemplate chat_template_for(const gguf::File& file);

}  // namespace kindred
