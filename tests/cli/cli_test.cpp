// The `kindred` command's contracts (../shared/docs/DESIGN.md), run as a user would run it.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/embedded_model.h"
#include "gguf/gguf.h"
#include "model/llama2c.h"
#include "run_kindred.h"
#include "test_data.h"
#include "tokenizer/tokenizer.h"

namespace kindred {
namespace {

using test::Outcome;
using test::slurp;

Outcome kindred(const std::vector<std::string>& args, const std::string& input = "") {
  return test::run_kindred(args, input);
}

std::unique_ptr<Tokenizer> embedded_tokenizer() {
  static const gguf::File file = gguf::File::from_bytes(
      model::convert_llama2c_to_gguf(cli::embedded_llama2c_checkpoint(), cli::embedded_llama2c_tokenizer()));
  return Tokenizer::from_gguf(file);
}

void expect_one_line_error(const Outcome& o, const std::string& needle) {
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find(needle), std::string::npos) << o.err;
  EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
}

TEST(Cli, RunPrintsOnlyTheGeneratedTextOfTheEmbeddedModel) {
  const Outcome o = kindred({"run", "-p", "Once upon a time", "-n", "24", "--temp", "0"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_TRUE(o.err.empty()) << o.err;
  // llama2.c's greedy continuation of the prompt (the golden ids after BOS + 4 prompt tokens).
  const std::vector<int32_t> golden = {432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338,
                                       401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282};
  const auto tok = embedded_tokenizer();
  std::string expected;
  for (int32_t id : golden) expected += tok->token_to_piece(id);
  EXPECT_EQ(o.out, expected);
}

TEST(Cli, RunIsReproducibleWithASeed) {
  const auto a = kindred({"run", "-p", "Once", "-n", "30", "--temp", "1", "--seed", "7"});
  const auto b = kindred({"run", "-p", "Once", "-n", "30", "--temp", "1", "--seed", "7"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_FALSE(a.out.empty());
}

TEST(Cli, TokenizeContract) {
  const auto tok = embedded_tokenizer();
  Outcome o = kindred({"tokenize", "-p", "Once upon a time"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(nlohmann::json::parse(o.out), nlohmann::json(std::vector<int>{1, 403, 407, 261, 378}));
  o = kindred({"tokenize", "-p", "Once upon a time", "--raw"});
  EXPECT_EQ(nlohmann::json::parse(o.out), nlohmann::json(std::vector<int>{403, 407, 261, 378}));
  o = kindred({"tokenize", "--jsonl", "--raw"}, "\"Once\"\n\"upon a time\"\n");
  ASSERT_EQ(o.exit_code, 0) << o.err;
  std::istringstream lines(o.out);
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_EQ(nlohmann::json::parse(first), nlohmann::json(tok->encode("Once", false, false)));
  EXPECT_EQ(nlohmann::json::parse(second), nlohmann::json(tok->encode("upon a time", false, false)));
  expect_one_line_error(kindred({"tokenize", "--jsonl"}, "not json\n"), "not valid JSON");
}

TEST(Cli, TokenizeParseSpecialOnARealVocabulary) {
  KINDRED_REQUIRE_SHARED_DATA(data);
  const std::string vocab = (data / "vocab/ggml-vocab-qwen2.gguf").string();
  const Outcome plain = kindred({"tokenize", "-m", vocab, "-p", "hi<|im_end|>", "--raw"});
  const Outcome special = kindred({"tokenize", "-m", vocab, "-p", "hi<|im_end|>", "--raw", "--parse-special"});
  ASSERT_EQ(special.exit_code, 0) << special.err;
  const auto ids = nlohmann::json::parse(special.out);
  EXPECT_EQ(ids.back(), 151645);
  EXPECT_GT(nlohmann::json::parse(plain.out).size(), ids.size());
}

TEST(Cli, LogitsContract) {
  const Outcome o = kindred({"logits", "-p", "Once upon a time"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const auto j = nlohmann::json::parse(o.out);
  EXPECT_EQ(j["tokens"], nlohmann::json(std::vector<int>{1, 403, 407, 261, 378}));
  ASSERT_EQ(j["logits"].size(), 512u);
  // The greedy next token after the prompt is llama2.c's (432).
  const auto& l = j["logits"];
  size_t best = 0;
  for (size_t i = 1; i < l.size(); ++i) {
    if (l[i].get<float>() > l[best].get<float>()) best = i;
  }
  EXPECT_EQ(best, 432u);
}

TEST(Cli, InfoShowsMetadataAndTensors) {
  const Outcome o = kindred({"info"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("general.architecture"), std::string::npos);
  EXPECT_NE(o.out.find("blk.4.ffn_down.weight"), std::string::npos);
  const Outcome j = kindred({"info", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const auto info = nlohmann::json::parse(j.out);
  EXPECT_EQ(info["tensors"].size(), 48u);
  EXPECT_EQ(info["model"]["n_layer"], 5);
}

TEST(Cli, MalformedFilesGiveOneLineAndExitCodeOne) {
  const auto dir = test::temp_dir();
  const auto garbage = dir / "garbage.gguf";
  std::ofstream(garbage) << "this is not a model file at all";
  for (const char* cmd : {"run", "tokenize", "logits", "info"}) {
    std::vector<std::string> args = {cmd, "-m", garbage.string(), "-p", "x"};
    if (std::string(cmd) == "info") args.resize(3);
    expect_one_line_error(kindred(args), "magic");
  }
  // A real model cut short: the reader names the tensor whose data is missing.
  const auto bytes = model::convert_llama2c_to_gguf(cli::embedded_llama2c_checkpoint(), cli::embedded_llama2c_tokenizer());
  const auto cut = dir / "cut.gguf";
  std::ofstream(cut, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<long>(bytes.size() / 2));
  expect_one_line_error(kindred({"run", "-m", cut.string(), "-p", "x"}), "tensor '");
  expect_one_line_error(kindred({"info", "-m", (dir / "missing.gguf").string()}), "cannot open");
  expect_one_line_error(kindred({"run", "--bogus-flag"}), "bogus");
  expect_one_line_error(kindred({"run", "-p", "x", "--top-p", "7"}), "top_p");
}

}  // namespace
}  // namespace kindred
