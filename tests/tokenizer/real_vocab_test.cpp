// Behaviour on the real vocabularies of the shared fixtures: special tokens, BOS/EOS, end of
// generation, round trips, streaming, load time.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "test_data.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace kindred {
namespace {

namespace fs = std::filesystem;

// Loads data/vocab/ggml-vocab-<name>.gguf, or skips the test when that file is absent.
#define LOAD_VOCAB_OR_SKIP(tok, name)                                                  \
  KINDRED_REQUIRE_SHARED_DATA(data_dir_##tok);                                         \
  const fs::path path_##tok = data_dir_##tok / "vocab" / ("ggml-vocab-" name ".gguf"); \
  if (!fs::exists(path_##tok)) GTEST_SKIP() << "no " << path_##tok;                    \
  const gguf::File file_##tok = gguf::File::open(path_##tok);                          \
  const std::unique_ptr<Tokenizer> tok = Tokenizer::from_gguf(file_##tok)

std::vector<std::string> fixture_inputs(const fs::path& inp) {
  std::ifstream in(inp, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  const std::string text = s.str();
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> inputs;
  for (size_t pos = 0, at; pos < text.size() && (at = text.find(sep, pos)) != std::string::npos;
       pos = at + sep.size()) {
    inputs.push_back(text.substr(pos, at - pos));
  }
  return inputs;
}

bool contains(const std::vector<int32_t>& ids, int32_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

TEST(Qwen2Vocab, SpecialTokenText) {
  LOAD_VOCAB_OR_SKIP(tok, "qwen2");
  EXPECT_EQ(tok->model_name(), "gpt2");
  EXPECT_EQ(tok->pre_name(), "qwen2");
  const std::string chat = "<|im_start|>user\nhi<|im_end|>";
  const std::vector<int32_t> parsed = tok->encode(chat, false, true);
  EXPECT_EQ(parsed.front(), 151644);
  EXPECT_EQ(parsed.back(), 151645);
  const std::vector<int32_t> plain = tok->encode(chat, false, false);
  EXPECT_FALSE(contains(plain, 151644));
  EXPECT_FALSE(contains(plain, 151645));
  EXPECT_EQ(tok->decode(plain), chat);
  EXPECT_EQ(tok->decode(parsed, true), chat);
  EXPECT_EQ(tok->decode(parsed, false), "user\nhi");
  // User-defined tokens (<think>) are matched even without parse_special.
  EXPECT_EQ(tok->encode("<think>", false, false), (std::vector<int32_t>{151667}));
  // "</s>" is an ordinary token here: never promoted to a special one.
  const std::vector<int32_t> s = tok->encode("</s>", false, true);
  EXPECT_GT(s.size(), 1u);
  EXPECT_FALSE(tok->is_eog(tok->encode("</s>", false, false).front()));
}

TEST(Qwen2Vocab, FlagsAndEndOfGeneration) {
  LOAD_VOCAB_OR_SKIP(tok, "qwen2");
  EXPECT_FALSE(tok->add_bos());
  EXPECT_FALSE(tok->add_eos());
  EXPECT_EQ(tok->bos(), 151643);
  EXPECT_EQ(tok->eos(), 151645);
  EXPECT_EQ(tok->encode("hi", true, false), tok->encode("hi", false, false));
  EXPECT_TRUE(tok->is_eog(151645));   // <|im_end|>
  EXPECT_TRUE(tok->is_eog(151643));   // <|endoftext|>
  EXPECT_FALSE(tok->is_eog(151644));  // <|im_start|>
  EXPECT_FALSE(tok->is_eog(9707));
}

TEST(Qwen2Vocab, NfcNormalisation) {
  LOAD_VOCAB_OR_SKIP(tok, "qwen2");
  EXPECT_EQ(tok->encode("cafe\xCC\x81", false, false), tok->encode("caf\xC3\xA9", false, false));
  EXPECT_EQ(tok->encode("\xE2\x84\xAB", false, false), tok->encode("\xC3\x85", false, false));  // Å sign
}

TEST(Llama3Vocab, BosAndEndOfGeneration) {
  LOAD_VOCAB_OR_SKIP(tok, "llama-bpe");
  EXPECT_TRUE(tok->add_bos());
  EXPECT_EQ(tok->bos(), 128000);
  EXPECT_EQ(tok->eos(), 128009);
  const std::vector<int32_t> ids = tok->encode("Hello", true, false);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], 128000);
  EXPECT_EQ(tok->decode(ids), "Hello");
  for (int32_t id : {128009, 128001}) EXPECT_TRUE(tok->is_eog(id)) << id;  // eot_id, end_of_text
  EXPECT_FALSE(tok->is_eog(128006));
  EXPECT_EQ(tok->encode("<|start_header_id|>", false, true), (std::vector<int32_t>{128006}));
  EXPECT_GT(tok->encode("<|start_header_id|>", false, false).size(), 1u);
}

TEST(LlamaSpmVocab, StreamingEmojiFromByteTokens) {
  LOAD_VOCAB_OR_SKIP(tok, "llama-spm");
  const std::string text = "Hi \xF0\x9F\xA6\x99 there";
  const std::vector<int32_t> ids = tok->encode(text, true, false);
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(tok->decode(ids), text);
  StreamDecoder stream(*tok);
  std::string streamed;
  size_t empty_pushes = 0;
  for (int32_t id : ids) {
    const std::string out = stream.push(id);
    empty_pushes += out.empty();
    streamed += out;
    EXPECT_EQ(tok::sanitize_utf8(out), out) << "a partial character was returned";
  }
  streamed += stream.flush();
  EXPECT_EQ(streamed, " " + text);  // the stream keeps SentencePiece's leading space
  EXPECT_GE(empty_pushes, 4u);      // BOS, and three of the four byte tokens of U+1F999
}

TEST(BertVocab, ClsAndSep) {
  LOAD_VOCAB_OR_SKIP(tok, "bert-bge");
  EXPECT_EQ(tok->model_name(), "bert");
  const std::vector<int32_t> ids = tok->encode("Hello, World!", true, false);
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids.front(), 101);
  EXPECT_EQ(ids.back(), 102);
  EXPECT_EQ(tok->decode(ids), "hello , world !");
  EXPECT_EQ(tok->encode("[CLS]", false, true), (std::vector<int32_t>{101}));
  EXPECT_EQ(tok->encode("\xC3\x89t\xC3\xA9", false, false),
            tok->encode("ete", false, false));  // accents stripped
}

// decode(encode(x)) == x for every base fixture input of every lossless vocab present.
TEST(AllVocabs, DecodeRoundTripsFixtureInputs) {
  KINDRED_REQUIRE_SHARED_DATA(data);
  size_t vocabs = 0;
  for (const auto& entry : fs::directory_iterator(data / "vocab")) {
    const fs::path path = entry.path();
    if (path.extension() != ".gguf" || !fs::exists(path.string() + ".inp")) continue;
    const gguf::File file = gguf::File::open(path);
    const auto tok = Tokenizer::from_gguf(file);
    if (tok->model_name() == "bert") continue;  // lower-cases and drops accents: not reversible
    ++vocabs;
    for (const std::string& input : fixture_inputs(path.string() + ".inp")) {
      EXPECT_EQ(tok->decode(tok->encode(input, false, false)), input) << path.filename();
      EXPECT_EQ(tok->decode(tok->encode(input, true, false)), input) << path.filename() << " with BOS";
    }
  }
  EXPECT_GT(vocabs, 0u);
}

// Random text (mostly UTF-8, some malformed): encoding never fails, and byte-level BPE and
// SentencePiece (with byte fallback) give well-formed text back exactly. (Malformed bytes
// survive BPE only where the vocab has a token for every byte; many lack 0xF5..0xFF.)
TEST(AllVocabs, RandomBytesRoundTrip) {
  KINDRED_REQUIRE_SHARED_DATA(data);
  std::mt19937 rng(1234);
  const std::vector<std::string> alphabet = {"a",
                                             "Z",
                                             " ",
                                             "  ",
                                             "\n",
                                             "\r\n",
                                             "\t",
                                             "7",
                                             "'s",
                                             "!",
                                             "\xC3\xA9",
                                             "\xE4\xB8\x96",
                                             "\xF0\x9F\xA6\x99",
                                             "\xCC\x81",
                                             "\xFF",
                                             "\xC3",
                                             "\xE2\x82",
                                             "<|",
                                             "|>",
                                             "\xE3\x80\x80",
                                             "\xC2\xA0",
                                             "\x00"};
  std::vector<std::string> inputs;
  for (int i = 0; i < 200; ++i) {
    std::string text;
    for (int n = static_cast<int>(rng() % 24); n > 0; --n) text += alphabet[rng() % alphabet.size()];
    inputs.push_back(text);
  }
  for (const auto& entry : fs::directory_iterator(data / "vocab")) {
    if (entry.path().extension() != ".gguf") continue;
    const gguf::File file = gguf::File::open(entry.path());
    const auto tok = Tokenizer::from_gguf(file);
    for (const std::string& text : inputs) {
      const std::vector<int32_t> ids = tok->encode(text, true, true);
      for (int32_t id : ids) ASSERT_TRUE(id >= 0 && id < tok->n_vocab()) << entry.path().filename();
      if (tok->model_name() == "bert") continue;
      // NFC vocabularies may change the text; compare against what they saw.
      const bool nfc = tok->pre_name() == "qwen2" || tok->pre_name() == "mpt";
      const std::string expected = nfc ? tok::nfc(text) : text;
      if (tok::sanitize_utf8(text) != text && tok->model_name() == "gpt2") continue;
      EXPECT_EQ(tok->decode(tok->encode(text, false, false)), expected) << entry.path().filename();
    }
  }
}

// The requirement is "well under a second" for a 128K-token, 280K-merge vocabulary; the bound
// here is loose because the test machines are shared.
TEST(Llama3Vocab, LoadsQuickly) {
  KINDRED_REQUIRE_SHARED_DATA(data);
  const fs::path path = data / "vocab" / "ggml-vocab-llama-bpe.gguf";
  if (!fs::exists(path)) GTEST_SKIP() << "no " << path;
  const gguf::File file = gguf::File::open(path);
  const auto start = std::chrono::steady_clock::now();
  const auto tok = Tokenizer::from_gguf(file);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[ timing   ] llama-bpe: Tokenizer::from_gguf " << ms << " ms\n";
  EXPECT_LT(ms, 3000.0);
}

}  // namespace
}  // namespace kindred
