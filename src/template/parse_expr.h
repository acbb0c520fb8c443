// The token cursor shared by the statement and expression parsers, and the expression parser's
// entry points. Precedence, loosest first (as Jinja2): `x if c else y`, or, and, not,
// comparisons / in, + -, ~, * / // %, **, unary - +, then postfix (. [] ()) and filters / tests.
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "template/ast.h"
#include "template/chat_template.h"
#include "template/lexer.h"

namespace kindred::tmpl {

constexpr int kMaxParseDepth = 200;  // nesting limit so hostile input cannot overflow the stack

class TokenCursor {
 public:
  using T = Token::T;
  explicit TokenCursor(std::vector<Token> toks) : toks_(std::move(toks)) {}

  const Token& cur() const { return toks_[pos_]; }
  const Token& peek(size_t k = 1) const { return toks_[std::min(pos_ + k, toks_.size() - 1)]; }
  void next() {
    if (pos_ + 1 < toks_.size()) ++pos_;
  }

  [[noreturn]] void fail(const std::string& msg, const Token* at = nullptr) const;  // "line L, column C: msg"
  static std::string describe(const Token& t);

  bool is_op(const char* op) const { return cur().t == T::Op && cur().s == op; }
  bool is_name(const char* n) const { return cur().t == T::Name && cur().s == n; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(const char* n) {
    if (!is_name(n)) return false;
    next();
    return true;
  }
  void expect_op(const char* op);
  std::string expect_name();
  void expect_block_end();

  int depth = 0;  // current nesting, checked against kMaxParseDepth

 private:
  std::vector<Token> toks_;
  size_t pos_ = 0;
};

// An expression; cond=false stops before an inline `if` (for-loop filters).
ExprPtr parse_expr(TokenCursor& c, bool cond = true);
// An expression, or a bare tuple `a, b` (in {{ }}, set and for).
ExprPtr parse_tuple(TokenCursor& c, bool cond = true);
// The filter / test chain after `e`; first_bar_optional for `{% filter name %}`.
ExprPtr parse_filters(TokenCursor& c, ExprPtr e, bool first_bar_optional = false);

}  // namespace kindred::tmpl
