// Bad templates and bad inputs give TemplateError with a useful message, never a crash or hang.
#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "template/chat_template.h"

namespace kindred {
namespace {

std::string render(std::string_view source, ChatTemplateInputs in = {}) { return ChatTemplate::parse(source).render(in); }

std::string parse_error(std::string_view source) {
  try {
    ChatTemplate::parse(source);
  } catch (const TemplateError& e) {
    return e.what();
  }
  return "<no error>";
}

std::string render_error(std::string_view source, ChatTemplateInputs in = {}) {
  try {
    render(source, std::move(in));
  } catch (const TemplateError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(Errors, UnterminatedBlocksNameTheMissingTag) {
  EXPECT_NE(parse_error("{% if x %}abc").find("endif"), std::string::npos);
  EXPECT_NE(parse_error("{% for x in y %}abc").find("endfor"), std::string::npos);
  EXPECT_NE(parse_error("{% macro m() %}").find("endmacro"), std::string::npos);
  EXPECT_NE(parse_error("{{ x ").find("'}}'"), std::string::npos);
  EXPECT_NE(parse_error("{# never closed").find("comment"), std::string::npos);
  EXPECT_NE(parse_error("{% raw %}x").find("endraw"), std::string::npos);
  EXPECT_NE(parse_error("{{ 'abc }}").find("string"), std::string::npos);
}

TEST(Errors, SyntaxErrorsCarryLineAndColumn) {
  EXPECT_EQ(parse_error("ok\n\n  {% endfor %}").rfind("line 3, column 6:", 0), 0u) << parse_error("ok\n\n  {% endfor %}");
  EXPECT_EQ(parse_error("{{ 1 + }}").rfind("line 1, column 8:", 0), 0u) << parse_error("{{ 1 + }}");
  EXPECT_NE(parse_error("{% frobnicate %}").find("unknown tag 'frobnicate'"), std::string::npos);
  EXPECT_NE(parse_error("{% break %}").find("outside of a loop"), std::string::npos);
  EXPECT_NE(parse_error("{{ a $ b }}").find("unexpected character"), std::string::npos);
}

TEST(Errors, UnknownFilterAndTestFailTheRender) {
  EXPECT_NE(render_error("{{ 1 | no_such_filter }}").find("no filter named 'no_such_filter'"), std::string::npos);
  EXPECT_NE(render_error("{{ 1 is no_such_test }}").find("no test named 'no_such_test'"), std::string::npos);
}

TEST(Errors, RaiseExceptionCarriesTheTemplatesMessage) {
  EXPECT_EQ(render_error("{{ raise_exception('Conversation roles must alternate') }}"), "Conversation roles must alternate");
}

TEST(Errors, UndefinedValuesRaiseWhenMisused) {
  EXPECT_EQ(render("[{{ nothing }}]"), "[]");
  EXPECT_NE(render_error("{{ nothing.attr }}").find("'nothing' is undefined"), std::string::npos);
  EXPECT_NE(render_error("{{ 'a' + nothing }}").find("'nothing' is undefined"), std::string::npos);
  EXPECT_NE(render_error("{{ nothing() }}").find("'nothing' is undefined"), std::string::npos);
  EXPECT_NE(render_error("{{ nothing[0] }}").find("'nothing' is undefined"), std::string::npos);
  EXPECT_NE(render_error("{% for x in none %}{% endfor %}").find("not iterable"), std::string::npos);
  EXPECT_NE(render_error("{{ 1 + 'a' }}").find("unsupported operand"), std::string::npos);
  EXPECT_NE(render_error("{{ 1 / 0 }}").find("division by zero"), std::string::npos);
}

TEST(Errors, ImmutableSandboxRefusesMutation) {
  EXPECT_NE(render_error("{% set l = [] %}{{ l.append(1) }}").find("unsafe"), std::string::npos);
  EXPECT_NE(render_error("{% set d = {} %}{{ d.update({'a': 1}) }}").find("unsafe"), std::string::npos);
  EXPECT_NE(render_error("{% set s = 'x' %}{% set s.attr = 1 %}").find("non-namespace"), std::string::npos);
}

TEST(Errors, LimitsStopRunawayTemplatesQuickly) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_NE(render_error("{% for i in range(100000000) %}{% endfor %}").find("range too big"), std::string::npos);
  EXPECT_NE(render_error("{% for i in range(1000000) %}{% for j in range(1000000) %}{% endfor %}{% endfor %}")
                .find("too many loop iterations"),
            std::string::npos);
  EXPECT_NE(render_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").find("recursion"), std::string::npos);
  EXPECT_NE(render_error("{% for i in range(1000000) %}{{ 'x' * 1000 }}{% endfor %}").find("output too large"),
            std::string::npos);
  EXPECT_NE(render_error("{{ 'x' * 100000000000 }}").find("too large"), std::string::npos);
  EXPECT_NE(render_error("{{ 9223372036854775807 + 1 }}").find("overflow"), std::string::npos);
  EXPECT_NE(parse_error("{{ " + std::string(100000, '(') + std::string(100000, ')') + " }}").find("too deeply"), std::string::npos);
  EXPECT_NE(parse_error("{{ " + std::string(5000, '[') + std::string(5000, ']') + " }}").find("too deeply"), std::string::npos);
  std::string nested;
  for (int i = 0; i < 1000; ++i) nested += "{% if true %}";
  EXPECT_NE(parse_error(nested).find("too deeply"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

// Random fragments of template syntax: every outcome is output or TemplateError.
TEST(Errors, RandomTemplatesNeverCrash) {
  const char* pieces[] = {"{{", "}}", "{%", "%}", "{#", "#}", "-", "+", " ", "if", "for", "in", "endif", "endfor",
                          "set", "x", "messages", "(", ")", "[", "]", "'", "\"", ".", "|", "length", "~", "1", "0",
                          ",", ":", "=", "is", "not", "defined", "else", "macro", "endmacro", "raw", "endraw", "\n",
                          "loop", "namespace", "*", "/", "%", "range", "tojson"};
  std::mt19937 rng(1234);
  ChatTemplateInputs in;
  in.messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "hi"}])");
  int rendered = 0;
  for (int t = 0; t < 3000; ++t) {
    std::string src;
    const int n = 1 + static_cast<int>(rng() % 24);
    for (int k = 0; k < n; ++k) src += pieces[rng() % std::size(pieces)];
    try {
      ChatTemplate::parse(src).render(in);
      ++rendered;
    } catch (const TemplateError&) {
    }
  }
  EXPECT_GT(rendered, 0);
}

}  // namespace
}  // namespace kindred
