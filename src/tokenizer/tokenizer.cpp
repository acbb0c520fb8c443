#include "tokenizer/tokenizer.h"

#include <stdexcept>

#include "tokenizer/bpe.h"
#include "tokenizer/model.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/special_tokens.h"
#include "tokenizer/spm.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab.h"
#include "tokenizer/wordpiece.h"

namespace kindred {

struct Tokenizer::State {
  std::unique_ptr<tok::Vocab> vocab;
  tok::VocabSettings settings;
  std::unique_ptr<tok::SpecialTokenMatcher> matcher;
  std::unique_ptr<tok::TokenModel> model;
  std::vector<std::string> pieces;  // decoded bytes of every normal / byte / user-defined token
};

namespace {

std::string decode_byte_level(const std::string& text) {
  std::string bytes;
  bytes.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const size_t len = tok::utf8_sequence_length(text, pos);
    if (len == 0) {  // not a stand-in character: keep the byte
      bytes += text[pos++];
      continue;
    }
    const int byte = tok::char_to_byte(tok::utf8_decode_at(text, pos, len));
    if (byte >= 0) {
      bytes += static_cast<char>(byte);
    } else {
      bytes.append(text, pos, len);
    }
    pos += len;
  }
  return bytes;
}

std::string replace_space_marks(const std::string& text) {
  static constexpr std::string_view kMark = "\xE2\x96\x81";
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    if (text.compare(pos, kMark.size(), kMark) == 0) {
      out += ' ';
      pos += kMark.size();
    } else {
      out += text[pos++];
    }
  }
  return out;
}

// What a token decodes to when special rendering is off ("" for control-like tokens).
std::string plain_piece(const tok::Vocab& vocab, tok::ModelKind kind, int32_t id) {
  const std::string& text = vocab.text(id);
  switch (vocab.type(id)) {
    case tok::TokenType::Normal:
      return kind == tok::ModelKind::BytePairBytes ? decode_byte_level(text) : replace_space_marks(text);
    case tok::TokenType::Byte:
      return std::string(1, static_cast<char>(std::stoi(text.substr(3, 2), nullptr, 16)));
    case tok::TokenType::UserDefined:
      return text;
    default:
      return {};
  }
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<State> state) : state_(std::move(state)) {}
Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const gguf::File& file) {
  if (!file.has("tokenizer.ggml.model")) {
    throw std::runtime_error("tokenizer: missing metadata key 'tokenizer.ggml.model'");
  }
  const std::string model_name = file.get_string("tokenizer.ggml.model");
  const tok::ModelKind kind = tok::model_kind_of(model_name);
  const tok::PreTokenizerRecipe* recipe = nullptr;
  if (kind == tok::ModelKind::BytePairBytes) {
    const std::string pre = file.get_string_or("tokenizer.ggml.pre", "default");
    recipe = tok::find_pre_tokenizer(pre);
    if (!recipe) throw std::runtime_error("tokenizer: unknown tokenizer.ggml.pre '" + pre + "'");
  }

  auto state = std::make_unique<State>();
  state->vocab = tok::read_vocab(file);
  state->settings = tok::read_settings(file, *state->vocab, recipe && recipe->add_bos);
  const tok::Vocab& vocab = *state->vocab;
  state->matcher = std::make_unique<tok::SpecialTokenMatcher>(vocab, state->settings);
  switch (kind) {
    case tok::ModelKind::SentencePiece:
      state->model = std::make_unique<tok::SentencePieceModel>(vocab, state->settings);
      break;
    case tok::ModelKind::BytePairBytes:
      state->model = std::make_unique<tok::BytePairModel>(file, vocab, *recipe, state->settings.unk);
      break;
    case tok::ModelKind::WordPiece:
      state->model = std::make_unique<tok::WordPieceModel>(vocab, state->settings);
      break;
  }
  state->pieces.reserve(static_cast<size_t>(vocab.size()));
  for (int32_t id = 0; id < vocab.size(); ++id) state->pieces.push_back(plain_piece(vocab, kind, id));
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(state)));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  const tok::VocabSettings& s = state_->settings;
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  if (add_special && s.add_bos) ids.push_back(s.bos);
  bool follows_special = true;
  tok::WordCache cache;
  for (const tok::Fragment& fragment : state_->matcher->split(text, parse_special)) {
    if (fragment.token >= 0) {
      ids.push_back(fragment.token);
      follows_special = true;
    } else {
      state_->model->encode(fragment.text, follows_special, cache, ids);
      follows_special = false;
    }
  }
  if (add_special && s.add_sep) ids.push_back(s.sep);
  if (add_special && s.add_eos) ids.push_back(s.eos);
  return ids;
}

void Tokenizer::check_id(int32_t id) const {
  if (!state_->vocab->contains(id)) {
    throw std::out_of_range("tokenizer: token id " + std::to_string(id) + " is outside the vocabulary (" +
                            std::to_string(state_->vocab->size()) + " tokens)");
  }
}

std::string Tokenizer::token_to_piece(int32_t id, bool render_special) const {
  check_id(id);
  const tok::TokenType type = state_->vocab->type(id);
  const bool plain =
      type == tok::TokenType::Normal || type == tok::TokenType::Byte || type == tok::TokenType::UserDefined;
  if (!plain) return render_special ? state_->vocab->text(id) : std::string();
  return state_->pieces[static_cast<size_t>(id)];
}

bool Tokenizer::strips_leading_space() const {
  const tok::VocabSettings& s = state_->settings;
  return (s.kind == tok::ModelKind::SentencePiece && s.add_space_prefix) ||
         s.kind == tok::ModelKind::WordPiece;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
  std::string text;
  bool at_start = strips_leading_space();
  for (const int32_t id : ids) {
    std::string piece = token_to_piece(id, render_special);
    if (at_start && !piece.empty()) {
      if (piece[0] == ' ') piece.erase(0, 1);
      at_start = false;
    }
    text += piece;
  }
  return text;
}

int32_t Tokenizer::n_vocab() const { return state_->vocab->size(); }
int32_t Tokenizer::bos() const { return state_->settings.bos; }
int32_t Tokenizer::eos() const { return state_->settings.eos; }
bool Tokenizer::is_eog(int32_t id) const { return state_->settings.end_of_generation.contains(id); }
bool Tokenizer::add_bos() const { return state_->settings.add_bos; }
bool Tokenizer::add_eos() const { return state_->settings.add_eos; }

const std::string& Tokenizer::token_text(int32_t id) const {
  check_id(id);
  return state_->vocab->text(id);
}

std::string_view Tokenizer::model_name() const { return state_->settings.model_name; }
std::string_view Tokenizer::pre_name() const { return state_->settings.pre_name; }

StreamDecoder::StreamDecoder(const Tokenizer& tok, bool render_special)
    : tokenizer_(tok), render_special_(render_special) {}

std::string StreamDecoder::push(int32_t id) {
  pending_ += tokenizer_.token_to_piece(id, render_special_);
  // Return everything up to a trailing sequence that later bytes could still complete;
  // bytes that can never become valid UTF-8 are replaced now.
  const size_t complete = pending_.size() - tok::incomplete_utf8_tail(pending_);
  std::string ready = tok::sanitize_utf8(std::string_view(pending_).substr(0, complete));
  pending_.erase(0, complete);
  return ready;
}

std::string StreamDecoder::flush() {
  std::string rest = tok::sanitize_utf8(pending_);
  pending_.clear();
  return rest;
}

}  // namespace kindred
