// `kindred card show|convert` run as a user would run them (the contract in shared/docs/DESIGN.md).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_data.h"

namespace kindred {
namespace {

struct Outcome {
  int exit_code;
  std::string out, err;
};

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

Outcome kindred(const std::vector<std::string>& args) {
  const auto dir = test::temp_dir();
  std::string cmd = "'" + std::string(KINDRED_BINARY) + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " > '" + (dir / "stdout").string() + "' 2> '" + (dir / "stderr").string() + "'";
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir / "stdout"), slurp(dir / "stderr")};
}

TEST(CardCli, ShowAndConvertKeepEveryField) {
  if (!std::filesystem::exists(KINDRED_BINARY)) GTEST_SKIP() << "build the kindred target first";
  const auto dir = test::temp_dir();
  const nlohmann::json card = {
      {"spec", "chara_card_v3"},
      {"spec_version", "3.0"},
      {"x_unknown_root", 1},
      {"data",
       {{"name", "Nova"}, {"description", "d"}, {"first_mes", "hi"}, {"group_only_greetings", nlohmann::json::array()},
        {"x_unknown", {{"nested", {1, 2}}}}, {"extensions", {{"app", true}}}}}};
  std::ofstream(dir / "nova.json") << card.dump();

  auto shown = kindred({"card", "show", (dir / "nova.json").string()});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(nlohmann::json::parse(shown.out), card);

  auto converted = kindred({"card", "convert", (dir / "nova.json").string(), (dir / "nova.png").string()});
  ASSERT_EQ(converted.exit_code, 0) << converted.err;
  shown = kindred({"card", "show", (dir / "nova.png").string()});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(nlohmann::json::parse(shown.out), card);

  std::ofstream(dir / "broken.png") << "not a png";
  const auto bad = kindred({"card", "show", (dir / "broken.png").string()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("not a PNG"), std::string::npos) << bad.err;
  EXPECT_EQ(bad.err.find('\n'), bad.err.size() - 1);  // one line
}

}  // namespace
}  // namespace kindred
