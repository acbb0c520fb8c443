// Splits template source into text and tag tokens, applying Jinja2's whitespace rules as HF
// configures them (trim_blocks, lstrip_blocks, `-`/`+` modifiers, dropped final newline), and
// tokenizes the expressions inside tags.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kindred::tmpl {

struct Token {
  enum class T { Text, BlockBegin, BlockEnd, VarBegin, VarEnd, Name, String, Int, Float, Op, Eof };
  T t = T::Eof;
  std::string s;  // text, name, string value, operator
  int64_t i = 0;
  double f = 0;
  int line = 1, col = 1;
};

// Throws TemplateError "line L, column C: ..." on malformed input.
std::vector<Token> lex(std::string_view source);

}  // namespace kindred::tmpl
