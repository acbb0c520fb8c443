#include "tiny_vocabs.h"

#include <cstdio>
#include <stdexcept>

#include "tokenizer/unicode.h"

namespace kindred::test {

int32_t VocabSpec::id_of(const std::string& text) const {
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] == text) return static_cast<int32_t>(i);
  }
  throw std::runtime_error("tiny vocab has no token '" + text + "'");
}

gguf::File build_gguf(const VocabSpec& spec) {
  gguf::Writer w;
  w.set("general.architecture", gguf::Value::string("llama"));
  w.set("tokenizer.ggml.model", gguf::Value::string(spec.model));
  if (!spec.pre.empty()) w.set("tokenizer.ggml.pre", gguf::Value::string(spec.pre));
  w.set("tokenizer.ggml.tokens", gguf::Value::string_array(spec.tokens));
  if (!spec.types.empty()) w.set("tokenizer.ggml.token_type", gguf::Value::i32_array(spec.types));
  if (!spec.scores.empty()) w.set("tokenizer.ggml.scores", gguf::Value::f32_array(spec.scores));
  if (!spec.merges.empty()) w.set("tokenizer.ggml.merges", gguf::Value::string_array(spec.merges));
  for (const auto& [key, id] : spec.ids) w.set(key, gguf::Value::u32(id));
  for (const auto& [key, value] : spec.flags) w.set(key, gguf::Value::boolean(value));
  return gguf::File::from_bytes(w.to_bytes());
}

VocabSpec tiny_bpe_spec() {
  VocabSpec s;
  s.model = "gpt2";
  s.pre = "gpt-2";
  for (int b = 0; b < 256; ++b) s.tokens.push_back(tok::utf8_of(tok::byte_to_char(static_cast<uint8_t>(b))));
  s.types.assign(256, 1);
  const auto merge = [&](const std::string& left, const std::string& right) {
    s.merges.push_back(left + " " + right);
    s.tokens.push_back(left + right);
    s.types.push_back(1);
  };
  merge("h", "e");
  merge("l", "l");
  merge("he", "ll");
  merge("hell", "o");
  merge("Ġ", "w");
  merge("o", "r");
  merge("Ġw", "or");
  merge("Ġwor", "l");
  merge("Ġworl", "d");
  s.tokens.push_back("<|end|>");
  s.types.push_back(3);
  s.tokens.push_back("<tool>");
  s.types.push_back(4);
  s.ids.push_back({"tokenizer.ggml.eos_token_id", static_cast<uint32_t>(s.id_of("<|end|>"))});
  return s;
}

VocabSpec tiny_spm_spec() {
  VocabSpec s;
  s.model = "llama";
  s.tokens = {"<unk>", "<s>", "</s>"};
  s.types = {2, 3, 3};
  s.scores = {0, 0, 0};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    s.tokens.push_back(name);
    s.types.push_back(6);
    s.scores.push_back(0);
  }
  const std::vector<std::pair<std::string, float>> pieces = {
      {"\xE2\x96\x81", -1.0f},
      {"h", -2.0f},
      {"i", -2.0f},
      {"t", -2.0f},
      {"e", -2.0f},
      {"\xE2\x96\x81h", -3.0f},
      {"\xE2\x96\x81hi", -0.5f},
      {"\xE2\x96\x81t", -3.0f},
      {"he", -3.0f},
      {"\xE2\x96\x81the", -0.25f},
      {"\xE2\x96\x81th", -4.0f},
  };
  for (const auto& [text, score] : pieces) {
    s.tokens.push_back(text);
    s.types.push_back(1);
    s.scores.push_back(score);
  }
  return s;
}

}  // namespace kindred::test
