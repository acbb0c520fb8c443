// Recursive-descent parser for Jinja2 statements ({% if %}, {% for %}, {% set %}, macros, call
// and filter blocks); expressions are parsed by parse_expr.cpp.
#include "template/parser.h"

#include <set>

#include "template/parse_expr.h"

namespace kindred::tmpl {
namespace {

using T = Token::T;

class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : c_(std::move(toks)) {}

  Program run() {
    Program p;
    p.body = body({});
    return p;
  }

 private:
  const Token& cur() const { return c_.cur(); }
  const Token& peek(size_t k = 1) const { return c_.peek(k); }
  void next() { c_.next(); }
  [[noreturn]] void fail(const std::string& msg, const Token* at = nullptr) const { c_.fail(msg, at); }
  static std::string describe(const Token& t) { return TokenCursor::describe(t); }
  bool is_op(const char* op) const { return c_.is_op(op); }
  bool is_name(const char* n) const { return c_.is_name(n); }
  bool skip_op(const char* op) { return c_.skip_op(op); }
  bool skip_name(const char* n) { return c_.skip_name(n); }
  void expect_op(const char* op) { c_.expect_op(op); }
  std::string expect_name() { return c_.expect_name(); }
  void expect_block_end() { c_.expect_block_end(); }
  ExprPtr expr(bool cond = true) { return parse_expr(c_, cond); }
  ExprPtr tuple_expr(bool cond = true) { return parse_tuple(c_, cond); }
  ExprPtr filters(ExprPtr e, bool first_bar_optional = false) { return parse_filters(c_, std::move(e), first_bar_optional); }

  // The value a block filter applies to (the interpreter binds the rendered body to it).
  ExprPtr placeholder() {
    auto e = std::make_unique<Expr>();
    e->k = Expr::K::Name;
    e->name = " body";
    e->line = cur().line;
    e->col = cur().col;
    return e;
  }

  Body body(const std::set<std::string>& ends) {
    if (++c_.depth > kMaxParseDepth) fail("blocks nested too deeply");
    Body out;
    while (true) {
      const Token& t = cur();
      if (t.t == T::Eof) {
        if (!ends.empty()) fail("unexpected end of template: missing {% " + *ends.rbegin() + " %}");
        break;
      }
      if (t.t == T::Text) {
        auto s = std::make_unique<Stmt>();
        s->k = Stmt::K::Text;
        s->text = t.s;
        out.push_back(std::move(s));
        next();
      } else if (t.t == T::VarBegin) {
        auto s = stmt_at(Stmt::K::Output, t);
        next();
        s->expr = tuple_expr();
        if (cur().t != T::VarEnd) fail("expected '}}', got " + describe(cur()));
        next();
        out.push_back(std::move(s));
      } else if (t.t == T::BlockBegin) {
        const Token& name = peek();
        if (name.t == T::Name && ends.count(name.s)) break;
        out.push_back(statement());
      } else {
        fail("unexpected " + describe(t));
      }
    }
    --c_.depth;
    return out;
  }

  StmtPtr stmt_at(Stmt::K k, const Token& t) {
    auto s = std::make_unique<Stmt>();
    s->k = k;
    s->line = t.line;
    s->col = t.col;
    return s;
  }

  // Consumes `{% name` for a block terminator.
  void end_tag(const char* name) {
    next();  // {%
    if (!skip_name(name)) fail(std::string("expected '") + name + "'");
  }

  StmtPtr statement() {
    const Token& open = cur();
    next();  // {%
    const Token& kw = cur();
    if (kw.t != T::Name) fail("expected a statement name, got " + describe(kw));
    const std::string name = kw.s;
    next();
    if (name == "if") return if_stmt(open);
    if (name == "for") return for_stmt(open);
    if (name == "set") return set_stmt(open);
    if (name == "macro") return macro_stmt(open);
    if (name == "call") return call_stmt(open);
    if (name == "filter") return filter_stmt(open);
    if (name == "break" || name == "continue") {
      auto s = stmt_at(name == "break" ? Stmt::K::Break : Stmt::K::Continue, open);
      if (loop_depth_ == 0) fail("'" + name + "' outside of a loop", &kw);
      expect_block_end();
      return s;
    }
    if (name == "generation") {
      auto s = stmt_at(Stmt::K::Scope, open);
      expect_block_end();
      s->body = body({"endgeneration"});
      end_tag("endgeneration");
      expect_block_end();
      return s;
    }
    fail("unknown tag '" + name + "'", &kw);
  }

  StmtPtr if_stmt(const Token& open) {
    auto s = stmt_at(Stmt::K::If, open);
    s->conds.push_back(expr());
    expect_block_end();
    s->bodies.push_back(body({"elif", "else", "endif"}));
    while (true) {
      next();  // {%
      const std::string kw = expect_name();
      if (kw == "elif") {
        s->conds.push_back(expr());
        expect_block_end();
        s->bodies.push_back(body({"elif", "else", "endif"}));
      } else if (kw == "else") {
        expect_block_end();
        s->else_body = body({"endif"});
        end_tag("endif");
        expect_block_end();
        return s;
      } else {
        expect_block_end();
        return s;
      }
    }
  }

  std::vector<std::string> targets() {
    std::vector<std::string> names;
    const bool paren = skip_op("(");
    do {
      names.push_back(expect_name());
    } while (skip_op(","));
    if (paren) expect_op(")");
    return names;
  }

  StmtPtr for_stmt(const Token& open) {
    auto s = stmt_at(Stmt::K::For, open);
    s->targets = targets();
    if (!skip_name("in")) fail("expected 'in' in for loop, got " + describe(cur()));
    s->expr = tuple_expr(false);
    if (skip_name("if")) s->cond = expr(false);
    if (is_name("recursive")) fail("recursive loops are not supported");
    expect_block_end();
    ++loop_depth_;
    s->body = body({"else", "endfor"});
    --loop_depth_;
    next();
    if (skip_name("else")) {
      expect_block_end();
      s->else_body = body({"endfor"});
      end_tag("endfor");
    } else {
      expect_name();
    }
    expect_block_end();
    return s;
  }

  StmtPtr set_stmt(const Token& open) {
    auto s = stmt_at(Stmt::K::Set, open);
    s->targets.push_back(expect_name());
    if (skip_op(".")) {
      s->attr = expect_name();
    } else {
      while (skip_op(",")) s->targets.push_back(expect_name());
    }
    if (skip_op("=")) {
      s->expr = tuple_expr();
      expect_block_end();
      return s;
    }
    if (!s->attr.empty() || s->targets.size() != 1) fail("expected '='");
    s->k = Stmt::K::SetBlock;
    if (is_op("|")) s->expr = filters(placeholder());
    expect_block_end();
    s->body = body({"endset"});
    end_tag("endset");
    expect_block_end();
    return s;
  }

  std::shared_ptr<MacroDef> params(std::shared_ptr<MacroDef> m) {
    expect_op("(");
    while (!is_op(")")) {
      if (!m->params.empty()) expect_op(",");
      if (is_op(")")) break;
      m->params.push_back(expect_name());
      m->defaults.push_back(skip_op("=") ? expr() : nullptr);
    }
    expect_op(")");
    return m;
  }

  StmtPtr macro_stmt(const Token& open) {
    auto s = stmt_at(Stmt::K::Macro, open);
    auto m = std::make_shared<MacroDef>();
    m->name = expect_name();
    params(m);
    expect_block_end();
    const int saved = loop_depth_;
    loop_depth_ = 0;
    m->body = body({"endmacro"});
    loop_depth_ = saved;
    end_tag("endmacro");
    if (cur().t == T::Name) next();  // {% endmacro name %}
    expect_block_end();
    s->macro = std::move(m);
    return s;
  }

  StmtPtr call_stmt(const Token& open) {
    auto s = stmt_at(Stmt::K::CallBlock, open);
    auto m = std::make_shared<MacroDef>();
    m->name = "caller";
    if (is_op("(")) params(m);
    s->expr = expr();
    if (s->expr->k != Expr::K::Call) fail("expected a call after {% call %}");
    expect_block_end();
    m->body = body({"endcall"});
    end_tag("endcall");
    expect_block_end();
    s->macro = std::move(m);
    return s;
  }

  StmtPtr filter_stmt(const Token& open) {
    auto s = stmt_at(Stmt::K::FilterBlock, open);
    s->expr = filters(placeholder(), true);
    expect_block_end();
    s->body = body({"endfilter"});
    end_tag("endfilter");
    expect_block_end();
    return s;
  }

  // The value a block filter applies to (the interpreter binds the rendered body to it).
  TokenCursor c_;
  int loop_depth_ = 0;
};

}  // namespace

Program parse_program(std::string_view source) { return Parser(lex(source)).run(); }

}  // namespace kindred::tmpl
