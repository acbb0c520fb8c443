// Pre-tokenizer splits per family. Expected pieces come from the family's Hugging Face regexes
// run through a reference regex engine; the scanners must agree exactly.
#include "tokenizer/pretokenizer.h"

#include <gtest/gtest.h>

#include "tokenizer/unicode.h"

namespace kindred::tok {
namespace {

struct SplitCase {
  std::string_view family;
  std::string input;
  std::vector<std::string> pieces;
};

std::vector<std::string> split(std::string_view family, const std::string& input) {
  const PreTokenizerRecipe* recipe = find_pre_tokenizer(family);
  if (!recipe) throw std::runtime_error("no recipe");
  const std::string text = recipe->nfc ? nfc(input) : input;
  std::vector<std::string> pieces;
  for (const auto& [begin, end] : pre_tokenize(*recipe, text))
    pieces.push_back(text.substr(begin, end - begin));
  return pieces;
}

TEST(PreTokenizer, FamiliesSplitLikeTheirRegexes) {
  const std::vector<SplitCase> cases = {
      {"gpt-2", "Hello world  123 I'm  \n\n x", {"Hello", " world", " ", " 123", " I", "'m", "  \n\n", " x"}},
      {"gpt-2", "don't DON'T 'RE", {"don", "'t", " DON", "'", "T", " '", "RE"}},
      {"llama-bpe",
       "Hello world  1234567\n\n  x",
       {"Hello", " world", " ", " ", "123", "456", "7", "\n\n", " ", " x"}},
      {"llama-bpe",
       "I'M we'VE \xC5\xBF"
       "'\xC5\xBF"
       " 'Ll",
       {"I", "'M", " we", "'VE",
        " \xC5\xBF"
        "",
        "'\xC5\xBF"
        "",
        " '", "Ll"}},
      {"llama-bpe", "\tHello!!\n\n ok", {"\tHello", "!!\n\n", " ok"}},
      {"llama-bpe", "  \r\n  \n y", {"  \r\n  \n", " y"}},
      {"qwen2", "abc 12345 de", {"abc", " ", "1", "2", "3", "4", "5", " de"}},
      {"qwen2",
       "a\xC2\xA0"
       "b\xE3\x80\x80"
       "c",
       {"a",
        "\xC2\xA0"
        "b",
        "\xE3\x80\x80"
        "c"}},
      {"gpt-4o", "HelloWorld CamelCase ABCdef I'M", {"Hello", "World", " Camel", "Case", " ABCdef", " I'M"}},
      {"gpt-4o",
       "hi\xCC\x81"
       "x \xCA\xB0"
       "ab 12345/\n//",
       {"hi\xCC\x81"
        "x",
        " \xCA\xB0"
        "ab",
        " ", "123", "45", "/\n//"}},
      {"tekken", "HelloWorld I'M 12345", {"Hello", "World", " I", "'M", " ", "1", "2", "3", "4", "5"}},
      {"tekken", "xyz/\n/a ABC", {"xyz", "/\n/", "a", " ABC"}},
      {"starcoder", "abc123 4 five55", {"abc", "1", "2", "3", " ", "4", " five", "5", "5"}},
      {"deepseek-llm",
       "Hello, \xE4\xB8\x96"
       "\xE7\x95\x8C"
       "! 12345\n  x  ",
       {"Hello", ",", " ",
        "\xE4\xB8\x96"
        "\xE7\x95\x8C"
        "",
        "!", " ", "12345", "\n", " ", " x", "  "}},
      {"deepseek-llm",
       "\xCE\xA9"
       "K \xC2\xB5"
       " test\xE3\x80\x82"
       "\xE3\x80\x82"
       "",
       {"\xCE\xA9"
        "",
        "K",
        " \xC2\xB5"
        "",
        " test",
        "\xE3\x80\x82"
        "\xE3\x80\x82"
        ""}},
      {"deepseek-coder",
       "Hello, \xE4\xB8\x96"
       "\xE7\x95\x8C"
       "! 12345\n  x",
       {"Hello", ",", " ",
        "\xE4\xB8\x96"
        "\xE7\x95\x8C"
        "",
        "!", " ", "1", "2", "3", "4", "5", "\n", " ", " x"}},
      {"deepseek-coder", "a!!b ,,c", {"a", "!!", "b", " ,,", "c"}},
      {"deepseek-v3",
       "Hello, \xE4\xB8\x96"
       "\xE7\x95\x8C"
       "! 12345 \xE3\x81\xB2"
       "\xE3\x82\x89"
       "\xE3\x81\x8C"
       "\xE3\x81\xAA"
       " .net",
       {"Hello", ",", " ",
        "\xE4\xB8\x96"
        "\xE7\x95\x8C"
        "",
        "!", " ", "123", "45", " ",
        "\xE3\x81\xB2"
        "\xE3\x82\x89"
        "\xE3\x81\x8C"
        "\xE3\x81\xAA"
        "",
        " .", "net"}},
      {"deepseek-v3",
       "a\xCC\x81"
       "b  \n\nc",
       {"a\xCC\x81"
        "b",
        "  \n\n", "c"}},
      {"bloom",
       "Hello, world! (yes)|no\xE2\x80\xA6"
       "",
       {"Hello", ",", " world", "! (", "yes", ")|", "no",
        "\xE2\x80\xA6"
        ""}},
      {"bloom", " a  b", {" a", " ", " b"}},
      {"chameleon",
       "<sentinel:12>IMGIMGABZ x\t  y    z 12",
       {"<", "sentinel", ":", "1", "2", ">", "IMGIMGABZ", " x", "\t", "  ", "y", "    ", "z", " ", "1", "2"}},
      {"chameleon", "a.b,c", {"a", ".", "b", ",", "c"}},
      {"default",
       "Hello, world! 1234567 a$b",
       {"Hello", ",", " world", "!", " ", "123", "456", "7", " a", "$", "b"}},
      {"default", "x``y", {"x", "``", "y"}},
  };
  for (const SplitCase& c : cases) {
    EXPECT_EQ(split(c.family, c.input), c.pieces) << c.family << ": \"" << c.input << "\"";
  }
}

// Falcon's digit splits run after the byte-level step and so see byte stand-ins: "½" (C2 BD)
// becomes "Â" and "½", the second being a number.
TEST(PreTokenizer, FalconSplitsDigitsAmongByteStandIns) {
  EXPECT_EQ(split("falcon", "ied 4 \xC2\xBD months 1234567"),
            (std::vector<std::string>{"ied", " ", "4", " \xC2", "\xBD", " months", " ", "123", "456", "7"}));
}

TEST(PreTokenizer, AliasesShareRecipesAndUnknownNamesHaveNone) {
  EXPECT_EQ(find_pre_tokenizer("llama3"), find_pre_tokenizer("llama-bpe"));
  EXPECT_EQ(find_pre_tokenizer("deepseek-r1-qwen"), find_pre_tokenizer("qwen2"));
  EXPECT_EQ(find_pre_tokenizer("phi-2"), find_pre_tokenizer("gpt-2"));
  EXPECT_EQ(find_pre_tokenizer("smollm"), find_pre_tokenizer("starcoder"));
  EXPECT_TRUE(find_pre_tokenizer("qwen2")->nfc);
  EXPECT_TRUE(find_pre_tokenizer("llama-bpe")->ignore_merges);
  EXPECT_EQ(find_pre_tokenizer("no-such-family"), nullptr);
}

TEST(PreTokenizer, MalformedUtf8IsKeptByteForByte) {
  const std::string text = "ab\xFF\xFE cd \xE2\x82";
  std::string joined;
  for (const std::string& piece : split("llama-bpe", text)) joined += piece;
  EXPECT_EQ(joined, text);
  EXPECT_TRUE(split("gpt-2", "").empty());
}

}  // namespace
}  // namespace kindred::tok
