// Tool-call grammars: the syntax of each template family around arguments checked against
// each function's parameters schema. The accepted texts are the ones the real templates
// render for a call (see tests/template/tool_calls_test.cpp, which parses them back).
#include "sampling/tool_call_grammar.h"

#include <gtest/gtest.h>

#include "sampling/grammar.h"

namespace kindred {
namespace {

using J = nlohmann::ordered_json;

const J& tools() {
  static const J kTools = J::parse(R"([
    {"type":"function","function":{"name":"get_weather","description":"Weather by city",
      "parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},
                    "required":["city"],"additionalProperties":false}}},
    {"type":"function","function":{"name":"now","description":"The time; no parameters"}}])");
  return kTools;
}

bool complete(const std::string& gbnf, std::string_view text) {
  GrammarMatcher m(Grammar::parse(gbnf));
  return m.accept_bytes(text) && m.can_end();
}

TEST(ToolCallGrammar, Hermes) {
  const std::string g = tool_call_gbnf(tools(), ToolCallFormat::Hermes, std::nullopt);
  EXPECT_TRUE(complete(g, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 2}}\n</tool_call>"));
  EXPECT_TRUE(complete(g, "<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>\n"
                          "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>"));
  EXPECT_FALSE(complete(g, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"days\": 2}}\n</tool_call>"));  // city required
  EXPECT_FALSE(complete(g, "<tool_call>\n{\"name\": \"now\", \"arguments\": {\"x\": 1}}\n</tool_call>"));
  EXPECT_FALSE(complete(g, "<tool_call>\n{\"name\": \"delete_all\", \"arguments\": {}}\n</tool_call>"));
  EXPECT_FALSE(complete(g, "Sure! <tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>"));
  EXPECT_FALSE(complete(g, ""));  // required: at least one call
}

TEST(ToolCallGrammar, ForcedNameAllowsOnlyThatFunctionOnce) {
  const std::string g = tool_call_gbnf(tools(), ToolCallFormat::Hermes, "get_weather");
  EXPECT_TRUE(complete(g, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}\n</tool_call>"));
  EXPECT_FALSE(complete(g, "<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>"));
  EXPECT_FALSE(complete(g, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}\n</tool_call>\n"
                           "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}\n</tool_call>"));
}

TEST(ToolCallGrammar, MistralNemoBothSyntaxes) {
  const std::string g = tool_call_gbnf(tools(), ToolCallFormat::MistralNemo, std::nullopt);
  EXPECT_TRUE(complete(g, "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Z\xc3\xbcrich\"}}]"));
  EXPECT_TRUE(complete(g, "[TOOL_CALLS][{\"name\": \"now\", \"arguments\": {}, \"id\": \"abcDEF123\"}, "
                          "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"x\", \"days\": 1}}]"));
  EXPECT_TRUE(complete(g, "[TOOL_CALLS]get_weather[ARGS]{\"city\": \"x\"}[TOOL_CALLS]now[ARGS]{}"));
  EXPECT_FALSE(complete(g, "[TOOL_CALLS][{\"name\": \"now\", \"arguments\": {}, \"id\": \"short\"}]"));
  EXPECT_FALSE(complete(g, "[TOOL_CALLS][]"));
  EXPECT_FALSE(complete(g, "[TOOL_CALLS]get_weather[ARGS]{\"town\": \"x\"}"));
}

TEST(ToolCallGrammar, Llama3AndFunctionary) {
  const std::string llama = tool_call_gbnf(tools(), ToolCallFormat::Llama3, std::nullopt);
  EXPECT_TRUE(complete(llama, "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Lima\"}}"));
  EXPECT_FALSE(complete(llama, "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Lima\"}}"));
  const std::string fn = tool_call_gbnf(tools(), ToolCallFormat::FunctionaryOrGeneric, "now");
  EXPECT_TRUE(complete(fn, "<function=now>{}</function>"));
  EXPECT_TRUE(complete(fn, "{\"name\": \"now\", \"arguments\": {}}"));
  EXPECT_FALSE(complete(fn, "<function=get_weather>{\"city\": \"Lima\"}</function>"));
}

TEST(ToolCallGrammar, ErrorsSayWhatIsWrong) {
  auto error_of = [](const J& t, ToolCallFormat f, std::optional<std::string> name) -> std::string {
    try {
      tool_call_gbnf(t, f, std::move(name));
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "no exception";
  };
  EXPECT_NE(error_of(tools(), ToolCallFormat::None, std::nullopt).find("no tool-call syntax"), std::string::npos);
  EXPECT_NE(error_of(tools(), ToolCallFormat::Hermes, "missing").find("no function named 'missing'"), std::string::npos);
  EXPECT_NE(error_of(J::array(), ToolCallFormat::Hermes, std::nullopt).find("non-empty array"), std::string::npos);
  EXPECT_NE(error_of(J::parse(R"([{"type":"function","function":{}}])"), ToolCallFormat::Hermes, std::nullopt).find("has no name"),
            std::string::npos);
  const std::string pattern = error_of(J::parse(R"([{"type":"function","function":{"name":"f",
      "parameters":{"type":"object","properties":{"code":{"type":"string","pattern":"^[A-Z]+$"}}}}}])"),
                                       ToolCallFormat::Hermes, std::nullopt);
  EXPECT_NE(pattern.find("function 'f'"), std::string::npos) << pattern;
  EXPECT_NE(pattern.find("'pattern' at #/properties/code/pattern"), std::string::npos) << pattern;
}

}  // namespace
}  // namespace kindred
