// Jinja sources for well-known chat formats, written for Kindred from the formats' published
// descriptions. Non-string content (e.g. a list of parts) is printed with `~`/`string`.
#include "template/known_templates.h"

#include <algorithm>

#include "gguf/gguf.h"

namespace kindred::tmpl {
namespace {

constexpr std::string_view kChatml =
    "{% for message in messages %}"
    "{{ '<|im_start|>' ~ message['role'] ~ '\\n' ~ message['content'] ~ '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

constexpr std::string_view kLlama2 =
    "{% if messages and messages[0]['role'] == 'system' %}"
    "{% set system = '<<SYS>>\\n' ~ messages[0]['content'] ~ '\\n<</SYS>>\\n\\n' %}{% set rest = messages[1:] %}"
    "{% else %}{% set system = '' %}{% set rest = messages %}{% endif %}"
    "{% for message in rest %}"
    "{% if message['role'] == 'user' %}"
    "{{ bos_token ~ '[INST] ' ~ (system if loop.first else '') ~ message['content'] | trim ~ ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' ' ~ message['content'] | trim ~ ' ' ~ eos_token }}"
    "{% endif %}"
    "{% endfor %}";

constexpr std::string_view kLlama3 =
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|start_header_id|>' ~ message['role'] ~ '<|end_header_id|>\\n\\n' ~ message['content'] | trim ~ '<|eot_id|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

constexpr std::string_view kMistral =
    "{% if messages and messages[0]['role'] == 'system' %}"
    "{% set system = messages[0]['content'] ~ '\\n\\n' %}{% set rest = messages[1:] %}"
    "{% else %}{% set system = '' %}{% set rest = messages %}{% endif %}"
    "{{ bos_token }}"
    "{% for message in rest %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' ~ (system if loop.first else '') ~ message['content'] ~ '[/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] ~ eos_token }}"
    "{% endif %}"
    "{% endfor %}";

constexpr std::string_view kGemma =
    "{{ bos_token }}"
    "{% if messages and messages[0]['role'] == 'system' %}"
    "{% set system = messages[0]['content'] ~ '\\n\\n' %}{% set rest = messages[1:] %}"
    "{% else %}{% set system = '' %}{% set rest = messages %}{% endif %}"
    "{% for message in rest %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{ '<start_of_turn>' ~ role ~ '\\n' ~ (system if loop.first else '') ~ message['content'] | trim ~ '<end_of_turn>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}";

constexpr std::string_view kPhi3 =
    "{% for message in messages %}"
    "{{ '<|' ~ message['role'] ~ '|>\\n' ~ message['content'] ~ '<|end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}";

constexpr std::string_view kZephyr =
    "{% for message in messages %}"
    "{{ '<|' ~ message['role'] ~ '|>\\n' ~ message['content'] ~ eos_token ~ '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}";

constexpr std::string_view kAlpaca =
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] ~ '\\n\\n' }}"
    "{% elif message['role'] == 'user' %}{{ '### Instruction:\\n' ~ message['content'] ~ '\\n\\n' }}"
    "{% elif message['role'] == 'assistant' %}{{ '### Response:\\n' ~ message['content'] ~ eos_token ~ '\\n\\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '### Response:\\n' }}{% endif %}";

constexpr std::string_view kVicuna =
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] ~ '\\n\\n' }}"
    "{% elif message['role'] == 'user' %}{{ 'USER: ' ~ message['content'] ~ '\\n' }}"
    "{% elif message['role'] == 'assistant' %}{{ 'ASSISTANT: ' ~ message['content'] ~ eos_token ~ '\\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}";

constexpr std::string_view kDeepseek =
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] }}"
    "{% elif message['role'] == 'user' %}{{ '<｜User｜>' ~ message['content'] }}"
    "{% elif message['role'] == 'assistant' %}{{ '<｜Assistant｜>' ~ message['content'] ~ eos_token }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<｜Assistant｜>' }}{% endif %}";

}  // namespace

const std::vector<KnownTemplate>& known_templates() {
  static const std::vector<KnownTemplate> all = {
      {"chatml", kChatml}, {"llama2", kLlama2}, {"llama3", kLlama3}, {"mistral", kMistral},
      {"gemma", kGemma},   {"phi3", kPhi3},     {"zephyr", kZephyr}, {"alpaca", kAlpaca},
      {"vicuna", kVicuna}, {"deepseek", kDeepseek}};
  return all;
}

std::string guess_template_name(const gguf::File& file) {
  const gguf::Value* v = file.find("tokenizer.ggml.tokens");
  if (!v || v->type() != gguf::ValueType::ARRAY) return "chatml";
  // Markers in order of specificity: the first one present in the vocabulary decides.
  static const std::pair<std::string_view, std::string_view> markers[] = {
      {"<|im_start|>", "chatml"},      {"<|start_header_id|>", "llama3"}, {"<start_of_turn>", "gemma"},
      {"<｜User｜>", "deepseek"},      {"<|assistant|>", "phi3"},          {"[INST]", "mistral"},
  };
  std::vector<bool> seen(std::size(markers), false);
  for (const auto& tok : v->as_array()) {
    if (tok.type() != gguf::ValueType::STRING) continue;
    const std::string& s = tok.as_string();
    if (s.empty() || (s[0] != '<' && s[0] != '[')) continue;
    for (size_t k = 0; k < std::size(markers); ++k)
      if (s == markers[k].first) seen[k] = true;
  }
  for (size_t k = 0; k < std::size(markers); ++k)
    if (seen[k]) return std::string(markers[k].second);
  return "chatml";
}

}  // namespace kindred::tmpl
