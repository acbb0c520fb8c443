// `kindred affect appraise | train | eval` as a user runs them: the JSON contract, batches, and
// one-line errors with exit code 1.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "run_kindred.h"

namespace kindred::test {
namespace {

void expect_appraisal(const std::string& line) {
  const auto j = nlohmann::json::parse(line);
  ASSERT_TRUE(j.contains("top"));
  ASSERT_TRUE(j["active"].is_array());
  ASSERT_EQ(j["labels"].size(), 28u);
  ASSERT_EQ(j["pad"].size(), 3u);
  for (const auto& v : j["pad"]) {
    EXPECT_GE(v.get<double>(), -1.0);
    EXPECT_LE(v.get<double>(), 1.0);
  }
  EXPECT_GE(j["confidence"].get<double>(), 0.0);
  EXPECT_LE(j["confidence"].get<double>(), 1.0);
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(AffectCli, AppraiseTextPrintsOneJsonLine) {
  const auto r = run_kindred({"affect", "appraise", "Thank you so much for your help!"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 1u);
  expect_appraisal(lines[0]);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["top"], "gratitude");
}

TEST(AffectCli, AppraiseBatchesFromStdin) {
  const auto r = run_kindred({"affect", "appraise", "--jsonl"}, "\"I am so happy\"\n\"这太让人生气了\"\n\n\"why?\"\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& l : lines) expect_appraisal(l);
  const auto raw = run_kindred({"affect", "appraise"}, "plain text one\nplain \"two\"\n");
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  EXPECT_EQ(lines_of(raw.out).size(), 2u);
}

TEST(AffectCli, BadInputFailsWithOneLine) {
  const auto bad_json = run_kindred({"affect", "appraise", "--jsonl"}, "\"ok\"\nnot json\n");
  EXPECT_EQ(bad_json.exit_code, 1);
  EXPECT_NE(bad_json.err.find("stdin line 2"), std::string::npos) << bad_json.err;
  const auto not_string = run_kindred({"affect", "appraise", "--jsonl"}, "42\n");
  EXPECT_EQ(not_string.exit_code, 1);
  EXPECT_NE(not_string.err.find("not a JSON string"), std::string::npos);
  const auto missing = run_kindred({"affect", "appraise", "hi", "--classifier", "/nonexistent/x.kcls"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("/nonexistent/x.kcls"), std::string::npos);
  const auto garbage_path = temp_dir() / "garbage.kcls";
  std::ofstream(garbage_path) << "hello";
  const auto garbage = run_kindred({"affect", "appraise", "hi", "--classifier", garbage_path.string()});
  EXPECT_EQ(garbage.exit_code, 1);
  EXPECT_NE(garbage.err.find("KCLS"), std::string::npos) << garbage.err;
  EXPECT_EQ(run_kindred({"affect", "appraise", "x", "--jsonl"}).exit_code, 1);
}

TEST(AffectCli, TrainThenEvalThenAppraiseWithTheFile) {
  const auto dir = temp_dir();
  std::ofstream train(dir / "train.tsv");
  const char* happy[] = {"I am so happy", "what a joy", "this is great fun", "happy happy day"};
  const char* sad[] = {"I am so sad", "this is terrible", "I miss her so much", "such a sad day"};
  for (int i = 0; i < 20; ++i) train << happy[i % 4] << " " << i << "\t17\tid\n" << sad[i % 4] << " " << i << "\t25\tid\n";
  train.close();
  const auto model = (dir / "m.kcls").string();
  const auto t = run_kindred({"affect", "train", "--data", (dir / "train.tsv").string(), "--dev",
                              (dir / "train.tsv").string(), "--format", "goemotions", "--out", model, "--hash-bits",
                              "12", "--epochs", "3"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("dev macro-F1"), std::string::npos);
  const auto e = run_kindred({"affect", "eval", "--data", (dir / "train.tsv").string(), "--format", "goemotions",
                              "--classifier", model, "--json"});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  const auto j = nlohmann::json::parse(e.out);
  EXPECT_GT(j["macro_f1_present"].get<double>(), 0.9);
  EXPECT_EQ(j["labels"].size(), 28u);
  const auto a = run_kindred({"affect", "appraise", "such a happy day", "--classifier", model});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(nlohmann::json::parse(a.out)["top"], "joy");
  const auto bad = run_kindred({"affect", "eval", "--data", (dir / "nope.tsv").string(), "--format", "goemotions"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("nope.tsv"), std::string::npos);
}

}  // namespace
}  // namespace kindred::test
