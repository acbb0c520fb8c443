// `kindred intent train|classify|eval` run as a user would, on the example inventory.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "run_kindred.h"
#include "test_data.h"

namespace kindred {
namespace {

using test::Outcome;

const std::string kInventory = std::string(KINDRED_SOURCE_DIR) + "/examples/intents/shop_keeper.json";

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream s(out);
  for (std::string line; std::getline(s, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

void expect_one_line_error(const Outcome& o, const std::string& needle) {
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find(needle), std::string::npos) << o.err;
  EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
}

TEST(IntentCli, TrainClassifyEvalRoundTripOnTheExampleInventory) {
  const std::string model = (test::temp_dir() / "shop.kcls").string();
  const Outcome t = test::run_kindred({"intent", "train", "--inventory", kInventory, "--out", model, "--hash-bits",
                                       "16", "--epochs", "20"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  const auto summary = nlohmann::json::parse(t.out);
  EXPECT_EQ(summary["intents"], 10);
  EXPECT_EQ(summary["threshold_source"], "dev");
  EXPECT_GT(summary["threshold"].get<double>(), 0.0);

  const Outcome one = test::run_kindred({"intent", "classify", "--classifier", model, "how much is that shield?"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const auto r = nlohmann::json::parse(one.out);
  EXPECT_EQ(r["text"], "how much is that shield?");
  EXPECT_EQ(r["intent"], "ask_price");
  EXPECT_TRUE(r["in_scope"].get<bool>());
  EXPECT_EQ(r["alternatives"].size(), 3u);

  const Outcome lines = test::run_kindred({"intent", "classify", "--classifier", model, "--top-k", "1"},
                                          "please fix my dented armor\nwhat's the weather on Mars\n");
  ASSERT_EQ(lines.exit_code, 0) << lines.err;
  const auto rs = json_lines(lines.out);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0]["intent"], "repair_gear");
  EXPECT_EQ(rs[1]["intent"], "out_of_scope");
  EXPECT_FALSE(rs[1]["in_scope"].get<bool>());
  EXPECT_EQ(rs[1]["alternatives"].size(), 1u);

  const Outcome jl = test::run_kindred({"intent", "classify", "--classifier", model, "--jsonl"},
                                       "\"goodbye, see you\\ntomorrow\"\n");
  ASSERT_EQ(jl.exit_code, 0) << jl.err;
  EXPECT_EQ(json_lines(jl.out).at(0)["text"], "goodbye, see you\ntomorrow");
  expect_one_line_error(test::run_kindred({"intent", "classify", "--classifier", model, "--jsonl"}, "not json\n"),
                        "stdin line 1: invalid JSON");

  // The inventory's own examples: the model was trained on them, so nearly all come back.
  const Outcome e = test::run_kindred({"intent", "eval", "--classifier", model, "--format", "inventory", "--data",
                                       kInventory, "--json"});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  const auto ev = nlohmann::json::parse(e.out);
  EXPECT_EQ(ev["examples"], 88);
  EXPECT_EQ(ev["out_of_scope_examples"], 8);
  EXPECT_GE(ev["in_scope_accuracy"].get<double>(), 0.9);
  EXPECT_GE(ev["out_of_scope_recall"].get<double>(), 0.75);
  const Outcome text = test::run_kindred({"intent", "eval", "--classifier", model, "--format", "inventory", "--data",
                                          kInventory});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("macro_f1"), std::string::npos);
  EXPECT_NE(text.out.find("out_of_scope_recall"), std::string::npos);
}

TEST(IntentCli, ErrorsAreOneLineAndNameTheProblem) {
  const auto dir = test::temp_dir();
  const std::string out = (dir / "x.kcls").string();
  std::ofstream(dir / "dup.json") << R"({"intents":[{"name":"a","examples":["x"]},{"name":"a","examples":["y"]}]})";
  expect_one_line_error(test::run_kindred({"intent", "train", "--inventory", (dir / "dup.json").string(), "--out", out}),
                        "intents[1].name: duplicate intent \"a\"");
  expect_one_line_error(test::run_kindred({"intent", "train", "--format", "snips", "--data", kInventory, "--out", out}),
                        "unknown --format \"snips\"");
  expect_one_line_error(test::run_kindred({"intent", "train", "--out", out}), "--inventory INV.json or --format");
  expect_one_line_error(
      test::run_kindred({"intent", "train", "--inventory", kInventory, "--char-ngrams", "5-2", "--out", out}),
      "--char-ngrams \"5-2\"");
  expect_one_line_error(test::run_kindred({"intent", "classify", "--classifier", (dir / "none.kcls").string(), "hi"}),
                        "none.kcls");
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace kindred
