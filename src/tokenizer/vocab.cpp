#include "tokenizer/vocab.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <memory>
#include <stdexcept>

#include "gguf/gguf.h"

namespace kindred::tok {

namespace {
constexpr std::string_view kTokensKey = "tokenizer.ggml.tokens";
constexpr std::string_view kTypesKey = "tokenizer.ggml.token_type";
constexpr std::string_view kScoresKey = "tokenizer.ggml.scores";

[[noreturn]] void fail(const std::string& message) { throw std::runtime_error("tokenizer: " + message); }

// Token texts llama.cpp treats as ending generation when they are control or user-defined
// tokens (GGUF has no per-token flag for it).
constexpr std::array<std::string_view, 22> kEndOfGenerationTexts = {
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<｜end▁of▁sentence｜>",
    "<eos>",
    // fill-in-the-middle padding / repository / file separators end a completion too
    "<|fim_pad|>",
    "<fim-pad>",
    "<fim_pad>",
    "<|fim_repo|>",
    "<|repo_name|>",
    "<reponame>",
    "<|file_sep|>",
};

bool is_special_type(TokenType t) {
  return t == TokenType::Control || t == TokenType::UserDefined || t == TokenType::Unknown;
}
}  // namespace

Vocab::Vocab(std::vector<std::string> texts, std::vector<float> scores, std::vector<TokenType> types)
    : texts_(std::move(texts)), scores_(std::move(scores)), types_(std::move(types)) {
  index_.build(texts_);
  for (const std::string& t : texts_) max_token_bytes_ = std::max(max_token_bytes_, t.size());
}

ModelKind model_kind_of(std::string_view model_name) {
  if (model_name == "llama") return ModelKind::SentencePiece;
  if (model_name == "gpt2") return ModelKind::BytePairBytes;
  if (model_name == "bert") return ModelKind::WordPiece;
  fail("unknown tokenizer.ggml.model '" + std::string(model_name) + "' (supported: llama, gpt2, bert)");
}

std::unique_ptr<Vocab> read_vocab(const gguf::File& file) {
  if (!file.has(kTokensKey)) fail("missing metadata key '" + std::string(kTokensKey) + "'");
  std::vector<std::string> texts = file.get_string_array(kTokensKey);
  if (texts.empty()) fail(std::string(kTokensKey) + " is empty");
  if (texts.size() > static_cast<size_t>(INT32_MAX)) fail(std::string(kTokensKey) + " is too long");
  const size_t n = texts.size();

  std::vector<TokenType> types(n, TokenType::Normal);
  if (file.has(kTypesKey)) {
    const std::vector<int32_t> raw = file.get_i32_array(kTypesKey);
    if (raw.size() != n) {
      fail(std::string(kTypesKey) + " has " + std::to_string(raw.size()) + " entries but " +
           std::string(kTokensKey) + " has " + std::to_string(n));
    }
    for (size_t i = 0; i < n; ++i) {
      if (raw[i] < 0 || raw[i] > static_cast<int32_t>(TokenType::Byte)) {
        fail(std::string(kTypesKey) + "[" + std::to_string(i) + "] = " + std::to_string(raw[i]) +
             " is not a token type (0..6)");
      }
      types[i] = static_cast<TokenType>(raw[i]);
    }
  }

  std::vector<float> scores(n, 0.0f);
  if (file.has(kScoresKey)) {
    scores = file.get_f32_array(kScoresKey);
    if (scores.size() != n) {
      fail(std::string(kScoresKey) + " has " + std::to_string(scores.size()) + " entries but " +
           std::string(kTokensKey) + " has " + std::to_string(n));
    }
  }

  for (size_t i = 0; i < n; ++i) {
    if (types[i] != TokenType::Byte) continue;
    const std::string& t = texts[i];
    const bool well_formed = t.size() == 6 && t.starts_with("<0x") && t.back() == '>' &&
                             std::isxdigit(static_cast<unsigned char>(t[3])) &&
                             std::isxdigit(static_cast<unsigned char>(t[4]));
    if (!well_formed) {
      fail(std::string(kTokensKey) + "[" + std::to_string(i) + "] '" + t +
           "' has type byte but is not spelled <0xXX>");
    }
  }
  return std::make_unique<Vocab>(std::move(texts), std::move(scores), std::move(types));
}

namespace {

// Reads an optional token id key. llama.cpp's converters write 0xFFFFFFFF (or -1) for "none";
// other ids outside the vocabulary are an error for BOS/EOS, which encoding and generation
// rely on, and are ignored for the rest, as llama.cpp does.
void read_id(const gguf::File& file, std::string_view key, const Vocab& vocab, int32_t& id,
             bool required_in_range = false) {
  const gguf::Value* value = file.find(key);
  if (!value) {
    if (!vocab.contains(id)) id = -1;  // a default that does not fit this vocab
    return;
  }
  if (!value->is_integer()) {
    fail(std::string(key) + " is a " + std::string(gguf::value_type_name(value->type())) +
         ", not an integer");
  }
  const int64_t raw = value->type() == gguf::ValueType::UINT64
                          ? static_cast<int64_t>(std::min<uint64_t>(value->as_u64(), INT64_MAX))
                          : value->as_i64();
  if (raw < 0 || raw == 0xFFFFFFFF) {
    id = -1;
    return;
  }
  if (raw >= vocab.size()) {
    if (required_in_range) {
      fail(std::string(key) + " = " + std::to_string(raw) + " is outside the vocabulary (" +
           std::to_string(vocab.size()) + " tokens)");
    }
    id = -1;
    return;
  }
  id = static_cast<int32_t>(raw);
}

void collect_end_of_generation(const Vocab& vocab, VocabSettings& s) {
  for (int32_t id : {s.eos, s.eot, s.eom}) {
    if (id >= 0) s.end_of_generation.insert(id);
  }
  for (std::string_view text : kEndOfGenerationTexts) {
    const int32_t id = vocab.find(text);
    if (id >= 0 && (vocab.type(id) == TokenType::Control || vocab.type(id) == TokenType::UserDefined)) {
      s.end_of_generation.insert(id);
    }
  }
  // gpt-oss (harmony): "<|end|>" closes a message, not the generation, when the vocab has
  // "<|return|>" and "<|call|>".
  const int32_t end = vocab.find("<|end|>");
  if (end >= 0 && end != s.eos && vocab.find("<|return|>") >= 0 && vocab.find("<|call|>") >= 0) {
    s.end_of_generation.erase(end);
  }
}

// llama.cpp's per-model whitespace stripping around special tokens (from the HF added-token
// lstrip/rstrip flags, which GGUF does not carry).
void set_strip_attributes(const gguf::File& file, const Vocab& vocab, VocabSettings& s) {
  std::string name = file.get_string_or("general.name", "");
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (s.pre_name.starts_with("jina-v2-")) {
    if (const int32_t mask = vocab.find("<mask>"); mask >= 0) s.lstrip.insert(mask);
  } else if (name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos) {
    for (int32_t id = 0; id < vocab.size(); ++id) {
      if (is_special_type(vocab.type(id))) s.rstrip.insert(id);
    }
    if (const int32_t id = vocab.find("</s>"); id >= 0) s.rstrip.insert(id);
    for (std::string_view keep : {"<unk>", "<s>", "<|endoftext|>"}) {
      if (const int32_t id = vocab.find(keep); id >= 0) s.rstrip.erase(id);
    }
  }
}

}  // namespace

VocabSettings read_settings(const gguf::File& file, const Vocab& vocab, bool default_add_bos) {
  VocabSettings s;
  s.model_name = file.get_string("tokenizer.ggml.model");
  s.kind = model_kind_of(s.model_name);
  s.pre_name = file.get_string_or("tokenizer.ggml.pre", "default");

  switch (s.kind) {  // llama.cpp's defaults for each model kind
    case ModelKind::SentencePiece:
      s.bos = 1, s.eos = 2, s.unk = 0;
      s.add_bos = true;
      s.add_space_prefix = true;
      break;
    case ModelKind::WordPiece:
      s.bos = 101, s.unk = 100, s.sep = 102, s.pad = 0;  // [CLS] opens, [SEP] closes
      s.add_bos = true;
      s.add_sep = true;
      break;
    case ModelKind::BytePairBytes:
      s.add_bos = default_add_bos;
      break;
  }
  if (s.kind == ModelKind::WordPiece && !file.has("tokenizer.ggml.bos_token_id")) {
    read_id(file, "tokenizer.ggml.cls_token_id", vocab, s.bos, true);
  }
  read_id(file, "tokenizer.ggml.bos_token_id", vocab, s.bos, true);
  read_id(file, "tokenizer.ggml.eos_token_id", vocab, s.eos, true);
  read_id(file, "tokenizer.ggml.eot_token_id", vocab, s.eot);
  read_id(file, "tokenizer.ggml.eom_token_id", vocab, s.eom);
  read_id(file, "tokenizer.ggml.unknown_token_id", vocab, s.unk);
  read_id(file, "tokenizer.ggml.seperator_token_id", vocab, s.sep);  // sic: llama.cpp's key
  read_id(file, "tokenizer.ggml.padding_token_id", vocab, s.pad);

  s.add_bos = file.get_bool_or("tokenizer.ggml.add_bos_token", s.add_bos);
  s.add_eos = file.get_bool_or("tokenizer.ggml.add_eos_token", s.add_eos);
  s.add_sep = file.get_bool_or("tokenizer.ggml.add_sep_token", s.add_sep);
  s.add_space_prefix = file.get_bool_or("tokenizer.ggml.add_space_prefix", s.add_space_prefix);
  if (s.add_bos && s.bos < 0) fail("tokenizer.ggml.add_bos_token is true but there is no BOS token");
  if (s.add_eos && s.eos < 0) fail("tokenizer.ggml.add_eos_token is true but there is no EOS token");
  if (s.add_sep && s.sep < 0) fail("tokenizer.ggml.add_sep_token is true but there is no SEP token");

  s.lowercase = file.get_bool_or("tokenizer.ggml.normalizer.lowercase", true);
  s.strip_accents = file.get_bool_or("tokenizer.ggml.normalizer.strip_accents", s.lowercase);

  collect_end_of_generation(vocab, s);
  set_strip_attributes(file, vocab, s);
  return s;
}

}  // namespace kindred::tok
