// Golden conformance: every case of ../shared/data/chat-templates/*.json must render exactly
// as Python Jinja2 (HF settings) rendered it, or fail where Jinja2 raised.
#include <gtest/gtest.h>

#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "template/chat_template.h"
#include "test_data.h"

namespace kindred {
namespace {

struct Case {
  std::string file, id;
  std::string name() const {
    std::string n = file + "_" + id;
    for (char& c : n)
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    return n;
  }
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.file << ":" << c.id; }

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::filesystem::path fixture_dir() {
  const auto root = test::shared_data_dir();
  return root.empty() ? root : root / "chat-templates";
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  const auto dir = fixture_dir();
  if (dir.empty() || !std::filesystem::exists(dir)) return {{"none", "none"}};
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    const auto j = nlohmann::json::parse(slurp(f));
    for (const auto& c : j.at("cases")) cases.push_back({f.stem().string(), c.at("id").get<std::string>()});
  }
  return cases;
}

// The fixtures' frozen clock: 2026-11-26 12:00:00 local time.
std::chrono::system_clock::time_point frozen_now() {
  std::tm tm{};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 10;
  tm.tm_mday = 26;
  tm.tm_hour = 12;
  tm.tm_isdst = -1;
  return std::chrono::system_clock::from_time_t(std::mktime(&tm));
}

class Conformance : public ::testing::TestWithParam<Case> {};

TEST_P(Conformance, RendersLikeJinja2) {
  KINDRED_REQUIRE_SHARED_DATA(root);
  const Case& tc = GetParam();
  const auto dir = root / "chat-templates";
  const auto fixture = nlohmann::ordered_json::parse(slurp(dir / (tc.file + ".json")));
  const nlohmann::ordered_json* c = nullptr;
  for (const auto& x : fixture.at("cases"))
    if (x.at("id") == tc.id) c = &x;
  ASSERT_NE(c, nullptr);
  const std::string source = slurp(dir / c->at("template_file").get<std::string>());

  ChatTemplateInputs in;
  in.messages = c->at("messages");
  in.tools = c->at("tools");
  in.add_generation_prompt = c->at("add_generation_prompt").get<bool>();
  if (c->at("bos_token").is_string()) in.bos_token = c->at("bos_token").get<std::string>();
  if (c->at("eos_token").is_string()) in.eos_token = c->at("eos_token").get<std::string>();
  in.now = frozen_now();

  if (c->contains("expected_error")) {
    EXPECT_THROW(ChatTemplate::parse(source).render(in), TemplateError) << c->at("expected_error");
    return;
  }
  std::string got;
  try {
    got = ChatTemplate::parse(source).render(in);
  } catch (const TemplateError& e) {
    FAIL() << "raised: " << e.what();
  }
  const std::string want = c->at("expected").get<std::string>();
  if (got != want) {
    size_t at = 0;
    while (at < got.size() && at < want.size() && got[at] == want[at]) ++at;
    const size_t from = at > 80 ? at - 80 : 0;
    ADD_FAILURE() << "first difference at byte " << at << "\n--- want: " << want.substr(from, 200)
                  << "\n--- got:  " << got.substr(from, 200);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Conformance, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& i) { return i.param.name(); });

}  // namespace
}  // namespace kindred
