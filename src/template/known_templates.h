// Kindred's own Jinja sources for well-known prompt formats, used when a GGUF file carries no
// `tokenizer.chat_template`, and the guess of which one a vocabulary wants.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace kindred::gguf {
class File;
}

namespace kindred::tmpl {

struct KnownTemplate {
  std::string_view name;
  std::string_view source;
};

const std::vector<KnownTemplate>& known_templates();

// From the vocabulary's special tokens (tokenizer.ggml.tokens); "chatml" when nothing matches.
std::string guess_template_name(const gguf::File& file);

}  // namespace kindred::tmpl
