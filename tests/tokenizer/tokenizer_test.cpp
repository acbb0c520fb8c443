// Tokenizer behaviour on small in-memory vocabularies: encoding, special tokens, decoding,
// streaming, and the errors bad metadata raises.
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include "tiny_vocabs.h"

namespace kindred {
namespace {

using test::build_gguf;
using test::tiny_bpe_spec;
using test::tiny_spm_spec;
using test::VocabSpec;

std::unique_ptr<Tokenizer> load(const VocabSpec& spec) { return Tokenizer::from_gguf(build_gguf(spec)); }

std::vector<int32_t> ids_of_bytes(std::string_view bytes) {
  std::vector<int32_t> ids;
  for (unsigned char b : bytes) ids.push_back(b);  // tiny BPE: id == byte
  return ids;
}

// Expects from_gguf to throw std::runtime_error whose message contains every fragment.
void expect_load_error(const VocabSpec& spec, std::initializer_list<std::string_view> fragments) {
  try {
    load(spec);
    ADD_FAILURE() << "expected from_gguf to throw";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    for (std::string_view f : fragments) {
      EXPECT_NE(message.find(f), std::string::npos) << "message \"" << message << "\" lacks \"" << f << "\"";
    }
  }
}

TEST(TinyBpe, MergesByRank) {
  const VocabSpec spec = tiny_bpe_spec();
  const auto tok = load(spec);
  EXPECT_EQ(tok->model_name(), "gpt2");
  EXPECT_EQ(tok->pre_name(), "gpt-2");
  EXPECT_EQ(tok->encode("hello world", false, false),
            (std::vector<int32_t>{spec.id_of("hello"), spec.id_of("Ġworld")}));
  // "hellx": no merge completes "hello", so the partial merges show.
  EXPECT_EQ(tok->encode("hellx", false, false), (std::vector<int32_t>{spec.id_of("hell"), 'x'}));
}

TEST(TinyBpe, SpecialTokensOnlyWhenParsingSpecials) {
  const VocabSpec spec = tiny_bpe_spec();
  const auto tok = load(spec);
  const int32_t end = spec.id_of("<|end|>");
  const int32_t tool = spec.id_of("<tool>");
  EXPECT_EQ(tok->encode("hello<|end|>", false, true), (std::vector<int32_t>{spec.id_of("hello"), end}));
  const std::vector<int32_t> plain = tok->encode("hello<|end|>", false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), end), 0);
  EXPECT_EQ(tok->decode(plain), "hello<|end|>");
  // User-defined tokens are matched as text either way, like Hugging Face added tokens.
  EXPECT_EQ(tok->encode("<tool>", false, false), (std::vector<int32_t>{tool}));
  EXPECT_EQ(tok->encode("<tool>", false, true), (std::vector<int32_t>{tool}));
}

TEST(TinyBpe, LongestSpecialTokenWinsAtTheLeftmostPosition) {
  VocabSpec spec = tiny_bpe_spec();
  spec.tokens.push_back("<tool");  // a shorter token sharing the prefix
  spec.types.push_back(4);
  const auto tok = load(spec);
  EXPECT_EQ(tok->encode("<tool>", false, false), (std::vector<int32_t>{spec.id_of("<tool>")}));
  EXPECT_EQ(tok->encode("<toolx", false, false), (std::vector<int32_t>{spec.id_of("<tool"), 'x'}));
}

TEST(TinyBpe, DecodeRoundTripsAnyBytes) {
  const auto tok = load(tiny_bpe_spec());
  for (std::string text : {"hello world", "", " ", "  hello\n\n\tworld  ", "caf\xC3\xA9 \xF0\x9F\xA6\x99",
                           "bad \xFF\xFE utf8 \xE2\x82", "<|end|> hello"}) {
    EXPECT_EQ(tok->decode(tok->encode(text, false, false)), text);
  }
}

TEST(TinyBpe, SpecialTokenPiecesAreHiddenUnlessRendered) {
  const VocabSpec spec = tiny_bpe_spec();
  const auto tok = load(spec);
  const int32_t end = spec.id_of("<|end|>");
  EXPECT_EQ(tok->token_to_piece(end), "");
  EXPECT_EQ(tok->token_to_piece(end, true), "<|end|>");
  EXPECT_EQ(tok->token_to_piece(spec.id_of("Ġworld")), " world");
  EXPECT_EQ(tok->token_to_piece(0x0A), "\n");
  EXPECT_EQ(tok->token_to_piece(spec.id_of("<tool>")), "<tool>");
  const std::vector<int32_t> ids = {spec.id_of("hello"), end};
  EXPECT_EQ(tok->decode(ids), "hello");
  EXPECT_EQ(tok->decode(ids, true), "hello<|end|>");
  EXPECT_EQ(tok->token_text(spec.id_of("Ġworld")), "Ġworld");
  EXPECT_THROW(tok->token_to_piece(-1), std::out_of_range);
  EXPECT_THROW(tok->token_to_piece(tok->n_vocab()), std::out_of_range);
}

TEST(TinyBpe, SpecialIdsAndFlags) {
  const VocabSpec spec = tiny_bpe_spec();
  const auto tok = load(spec);
  EXPECT_EQ(tok->n_vocab(), static_cast<int32_t>(spec.tokens.size()));
  EXPECT_EQ(tok->bos(), -1);
  EXPECT_EQ(tok->eos(), spec.id_of("<|end|>"));
  EXPECT_TRUE(tok->is_eog(spec.id_of("<|end|>")));
  EXPECT_FALSE(tok->is_eog(spec.id_of("hello")));
  EXPECT_FALSE(tok->add_bos());  // gpt-2's default
  EXPECT_FALSE(tok->add_eos());
  EXPECT_EQ(tok->encode("hello", true, false), (std::vector<int32_t>{spec.id_of("hello")}));

  VocabSpec with_eos = spec;
  with_eos.flags.push_back({"tokenizer.ggml.add_eos_token", true});
  const auto tok2 = load(with_eos);
  EXPECT_TRUE(tok2->add_eos());
  EXPECT_EQ(tok2->encode("hello", true, false),
            (std::vector<int32_t>{spec.id_of("hello"), spec.id_of("<|end|>")}));
  EXPECT_EQ(tok2->encode("hello", false, false), (std::vector<int32_t>{spec.id_of("hello")}));
}

TEST(TinyBpe, StreamingHoldsBackSplitCharacters) {
  const auto tok = load(tiny_bpe_spec());
  const std::string llama = "\xF0\x9F\xA6\x99";  // U+1F999, four byte tokens here
  const std::vector<int32_t> ids = tok->encode("a" + llama + "b", false, false);
  ASSERT_EQ(ids, ids_of_bytes("a" + llama + "b"));
  StreamDecoder stream(*tok);
  EXPECT_EQ(stream.push(ids[0]), "a");
  EXPECT_EQ(stream.push(ids[1]), "");
  EXPECT_EQ(stream.push(ids[2]), "");
  EXPECT_EQ(stream.push(ids[3]), "");
  EXPECT_EQ(stream.push(ids[4]), llama);
  EXPECT_EQ(stream.push(ids[5]), "b");
  EXPECT_EQ(stream.flush(), "");
}

TEST(TinyBpe, StreamingReplacesInvalidBytes) {
  const auto tok = load(tiny_bpe_spec());
  StreamDecoder stream(*tok);
  EXPECT_EQ(stream.push(0xFF), "\xEF\xBF\xBD");  // can never start a character: replaced now
  EXPECT_EQ(stream.push(0xE2), "");              // could still become a character
  EXPECT_EQ(stream.push('x'), "\xEF\xBF\xBDx");  // ... but did not
  EXPECT_EQ(stream.push(0xF0), "");
  EXPECT_EQ(stream.push(0x9F), "");
  EXPECT_EQ(stream.flush(), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(TinySpm, SpacePrefixScoresAndByteFallback) {
  const VocabSpec spec = tiny_spm_spec();
  const auto tok = load(spec);
  EXPECT_EQ(tok->model_name(), "llama");
  EXPECT_EQ(tok->pre_name(), "default");
  EXPECT_TRUE(tok->add_bos());
  EXPECT_EQ(tok->bos(), 1);
  EXPECT_EQ(tok->eos(), 2);
  const int32_t space = spec.id_of("\xE2\x96\x81");
  EXPECT_EQ(tok->encode("hi the", true, false),
            (std::vector<int32_t>{1, spec.id_of("\xE2\x96\x81hi"), spec.id_of("\xE2\x96\x81the")}));
  // U+1F999 is not a piece: its four bytes fall back to <0xF0> <0x9F> <0xA6> <0x99>.
  EXPECT_EQ(
      tok->encode("hi \xF0\x9F\xA6\x99", false, false),
      (std::vector<int32_t>{spec.id_of("\xE2\x96\x81hi"), space, 3 + 0xF0, 3 + 0x9F, 3 + 0xA6, 3 + 0x99}));
}

TEST(TinySpm, DecodeDropsTheSpacePrefix) {
  const auto tok = load(tiny_spm_spec());
  for (std::string text : {"hi", "hi the", " hi", "  the hi ", "\xF0\x9F\xA6\x99 hi\n"}) {
    EXPECT_EQ(tok->decode(tok->encode(text, false, false)), text);
    EXPECT_EQ(tok->decode(tok->encode(text, true, false)), text);  // with BOS in front
  }
  EXPECT_EQ(tok->token_to_piece(3 + 0x0A), "\n");
  EXPECT_EQ(tok->token_to_piece(1), "");
  EXPECT_EQ(tok->token_to_piece(1, true), "<s>");
}

TEST(TinySpm, StreamingEmojiSplitAcrossByteTokens) {
  const auto tok = load(tiny_spm_spec());
  const std::vector<int32_t> ids = tok->encode("hi \xF0\x9F\xA6\x99!", true, false);
  StreamDecoder stream(*tok);
  std::vector<std::string> outputs;
  for (int32_t id : ids) outputs.push_back(stream.push(id));
  outputs.push_back(stream.flush());
  // BOS, "▁hi" (a continuation keeps its space), "▁", four byte tokens, then "!" as a byte token.
  EXPECT_EQ(outputs, (std::vector<std::string>{"", " hi", " ", "", "", "", "\xF0\x9F\xA6\x99", "!", ""}));
}

TEST(TinySpm, SpecialTextAndSpacePrefixAfterSpecialTokens) {
  const VocabSpec spec = tiny_spm_spec();
  const auto tok = load(spec);
  // As llama.cpp: text after a special token gets the space prefix again.
  EXPECT_EQ(tok->encode("hi</s>hi", false, true),
            (std::vector<int32_t>{spec.id_of("\xE2\x96\x81hi"), 2, spec.id_of("\xE2\x96\x81hi")}));
  const std::vector<int32_t> plain = tok->encode("hi</s>", false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 2), 0);
}

TEST(BadMetadata, TokenTypeLengthMismatch) {
  VocabSpec spec = tiny_bpe_spec();
  spec.types.pop_back();
  expect_load_error(spec, {"tokenizer.ggml.token_type", "tokenizer.ggml.tokens"});
}

TEST(BadMetadata, ScoresLengthMismatch) {
  VocabSpec spec = tiny_spm_spec();
  spec.scores.resize(5);
  expect_load_error(spec, {"tokenizer.ggml.scores"});
}

TEST(BadMetadata, UnknownModel) {
  VocabSpec spec = tiny_bpe_spec();
  spec.model = "sentencepiece-unigram-v9";
  expect_load_error(spec, {"tokenizer.ggml.model", "sentencepiece-unigram-v9"});
}

TEST(BadMetadata, UnknownPreTokenizer) {
  VocabSpec spec = tiny_bpe_spec();
  spec.pre = "no-such-family";
  expect_load_error(spec, {"tokenizer.ggml.pre", "no-such-family"});
}

TEST(BadMetadata, MergeNamingUnknownToken) {
  VocabSpec spec = tiny_bpe_spec();
  spec.merges.push_back("hello zzz");
  expect_load_error(spec, {"tokenizer.ggml.merges", "zzz"});
}

TEST(BadMetadata, MergeWithoutSeparator) {
  VocabSpec spec = tiny_bpe_spec();
  spec.merges.push_back("hello");
  expect_load_error(spec, {"tokenizer.ggml.merges"});
}

TEST(BadMetadata, MissingMerges) {
  VocabSpec spec = tiny_bpe_spec();
  spec.merges.clear();
  expect_load_error(spec, {"tokenizer.ggml.merges"});
}

TEST(BadMetadata, MissingTokens) {
  gguf::Writer w;
  w.set("tokenizer.ggml.model", gguf::Value::string("llama"));
  try {
    Tokenizer::from_gguf(gguf::File::from_bytes(w.to_bytes()));
    ADD_FAILURE() << "expected from_gguf to throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.ggml.tokens"), std::string::npos) << e.what();
  }
}

TEST(BadMetadata, MissingModel) {
  gguf::Writer w;
  w.set("tokenizer.ggml.tokens", gguf::Value::string_array({"a"}));
  try {
    Tokenizer::from_gguf(gguf::File::from_bytes(w.to_bytes()));
    ADD_FAILURE() << "expected from_gguf to throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.ggml.model"), std::string::npos) << e.what();
  }
}

TEST(BadMetadata, SpecialIdOutOfRange) {
  VocabSpec spec = tiny_bpe_spec();
  spec.ids.push_back({"tokenizer.ggml.bos_token_id", 100000});
  expect_load_error(spec, {"tokenizer.ggml.bos_token_id", "100000"});
}

TEST(BadMetadata, TokenTypeOutOfRange) {
  VocabSpec spec = tiny_bpe_spec();
  spec.types[7] = 42;
  expect_load_error(spec, {"tokenizer.ggml.token_type[7]", "42"});
}

TEST(BadMetadata, MalformedByteToken) {
  VocabSpec spec = tiny_spm_spec();
  spec.tokens[3] = "<0xZZ>";
  expect_load_error(spec, {"tokenizer.ggml.tokens[3]", "<0xZZ>"});
}

TEST(Metadata, NoneSpelledAsAllOnesOrMinusOne) {
  VocabSpec spec = tiny_bpe_spec();
  spec.ids.push_back({"tokenizer.ggml.padding_token_id", 0xFFFFFFFFu});
  spec.ids.push_back({"tokenizer.ggml.seperator_token_id", 0xFFFFFFFFu});
  spec.ids.push_back({"tokenizer.ggml.bos_token_id", 0xFFFFFFFFu});
  EXPECT_EQ(load(spec)->bos(), -1);
}

TEST(BadMetadata, AddBosWithoutBos) {
  VocabSpec spec = tiny_bpe_spec();
  spec.flags.push_back({"tokenizer.ggml.add_bos_token", true});
  expect_load_error(spec, {"tokenizer.ggml.add_bos_token"});
}

}  // namespace
}  // namespace kindred
