// Recursive-descent parser for Jinja2 expressions (see parse_expr.h for the precedence).
#include "template/parse_expr.h"

namespace kindred::tmpl {

using T = Token::T;

void TokenCursor::fail(const std::string& msg, const Token* at) const {
  const Token& t = at ? *at : cur();
  throw TemplateError("line " + std::to_string(t.line) + ", column " + std::to_string(t.col) + ": " + msg);
}

std::string TokenCursor::describe(const Token& t) {
  switch (t.t) {
    case T::Eof: return "end of template";
    case T::BlockEnd: return "'%}'";
    case T::VarEnd: return "'}}'";
    case T::Text: return "text";
    case T::String: return "string literal";
    case T::Int:
    case T::Float: return "number";
    default: return "'" + t.s + "'";
  }
}

void TokenCursor::expect_op(const char* op) {
  if (!skip_op(op)) fail(std::string("expected '") + op + "', got " + describe(cur()));
}
std::string TokenCursor::expect_name() {
  if (cur().t != T::Name) fail("expected a name, got " + describe(cur()));
  std::string s = cur().s;
  next();
  return s;
}
void TokenCursor::expect_block_end() {
  if (cur().t != T::BlockEnd) fail("expected '%}', got " + describe(cur()));
  next();
}

namespace {

class ExprParser {
 public:
  explicit ExprParser(TokenCursor& c) : c_(c) {}

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

  ExprPtr node(Expr::K k) {
    auto e = std::make_unique<Expr>();
    e->k = k;
    e->line = cur().line;
    e->col = cur().col;
    return e;
  }

  ExprPtr binary(Expr::K k, std::string op, ExprPtr a, ExprPtr b) {
    auto e = std::make_unique<Expr>();
    e->k = k;
    e->name = std::move(op);
    e->line = a->line;
    e->col = a->col;
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return e;
  }

  struct DepthGuard {
    ExprParser& p;
    explicit DepthGuard(ExprParser& parser) : p(parser) {
      if (++p.c_.depth > kMaxParseDepth) p.fail("expression nested too deeply");
    }
    ~DepthGuard() { --p.c_.depth; }
  };

  // An expression, or a bare tuple `a, b` (in {{ }}, set and for).
  ExprPtr tuple_expr(bool cond = true) {
    ExprPtr first = expr(cond);
    if (!is_op(",")) return first;
    auto t = node(Expr::K::Tuple);
    t->args.push_back(std::move(first));
    while (skip_op(",")) {
      if (cur().t == T::BlockEnd || cur().t == T::VarEnd || is_name("if")) break;
      t->args.push_back(expr(cond));
    }
    return t;
  }

  ExprPtr expr(bool cond = true) {
    DepthGuard g(*this);
    ExprPtr e = or_expr();
    while (cond && skip_name("if")) {
      auto c = node(Expr::K::Cond);
      c->args.push_back(or_expr());
      c->args.push_back(std::move(e));
      c->args.push_back(skip_name("else") ? expr() : nullptr);
      e = std::move(c);
    }
    return e;
  }

  ExprPtr or_expr() {
    ExprPtr e = and_expr();
    while (skip_name("or")) e = binary(Expr::K::Binary, "or", std::move(e), and_expr());
    return e;
  }
  ExprPtr and_expr() {
    ExprPtr e = not_expr();
    while (skip_name("and")) e = binary(Expr::K::Binary, "and", std::move(e), not_expr());
    return e;
  }
  ExprPtr not_expr() {
    if (is_name("not")) {
      auto e = node(Expr::K::Unary);
      next();
      DepthGuard g(*this);
      e->name = "not";
      e->args.push_back(not_expr());
      return e;
    }
    return compare();
  }

  ExprPtr compare() {
    ExprPtr first = math1();
    ExprPtr c;
    while (true) {
      std::string op;
      if (cur().t == T::Op && (cur().s == "==" || cur().s == "!=" || cur().s == "<" || cur().s == ">" ||
                               cur().s == "<=" || cur().s == ">=")) {
        op = cur().s;
        next();
      } else if (is_name("in")) {
        op = "in";
        next();
      } else if (is_name("not") && peek().t == T::Name && peek().s == "in") {
        op = "not in";
        next();
        next();
      } else {
        break;
      }
      if (!c) {
        c = node(Expr::K::Compare);
        c->args.push_back(std::move(first));
      }
      c->ops.push_back(op);
      c->args.push_back(math1());
    }
    return c ? std::move(c) : std::move(first);
  }

  ExprPtr math1() {
    ExprPtr e = concat();
    while (cur().t == T::Op && (cur().s == "+" || cur().s == "-")) {
      std::string op = cur().s;
      next();
      e = binary(Expr::K::Binary, op, std::move(e), concat());
    }
    return e;
  }
  ExprPtr concat() {
    ExprPtr e = math2();
    while (skip_op("~")) e = binary(Expr::K::Binary, "~", std::move(e), math2());
    return e;
  }
  ExprPtr math2() {
    ExprPtr e = power();
    while (cur().t == T::Op && (cur().s == "*" || cur().s == "/" || cur().s == "//" || cur().s == "%")) {
      std::string op = cur().s;
      next();
      e = binary(Expr::K::Binary, op, std::move(e), power());
    }
    return e;
  }
  ExprPtr power() {
    ExprPtr e = unary(true);
    while (skip_op("**")) e = binary(Expr::K::Binary, "**", std::move(e), unary(true));
    return e;
  }

  ExprPtr unary(bool with_filter) {
    DepthGuard g(*this);
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      e = node(Expr::K::Unary);
      e->name = cur().s;
      next();
      e->args.push_back(unary(false));
    } else {
      e = primary();
    }
    e = postfix(std::move(e));
    return with_filter ? filters(std::move(e)) : std::move(e);
  }

  ExprPtr primary() {
    const Token& t = cur();
    auto e = node(Expr::K::Literal);
    switch (t.t) {
      case T::Name:
        if (t.s == "true" || t.s == "True") e->lit = Value::boolean(true);
        else if (t.s == "false" || t.s == "False") e->lit = Value::boolean(false);
        else if (t.s == "none" || t.s == "None") e->lit = Value::none();
        else {
          e->k = Expr::K::Name;
          e->name = t.s;
        }
        next();
        return e;
      case T::String: {
        std::string s;
        while (cur().t == T::String) {
          s += cur().s;
          next();
        }
        e->lit = Value::string(std::move(s));
        return e;
      }
      case T::Int:
        e->lit = Value::integer(t.i);
        next();
        return e;
      case T::Float:
        e->lit = Value::number(t.f);
        next();
        return e;
      case T::Op:
        if (t.s == "(") {
          next();
          if (skip_op(")")) {
            e->k = Expr::K::Tuple;
            return e;
          }
          ExprPtr inner = expr();
          if (is_op(",")) {
            e->k = Expr::K::Tuple;
            e->args.push_back(std::move(inner));
            while (skip_op(",") && !is_op(")")) e->args.push_back(expr());
            expect_op(")");
            return e;
          }
          expect_op(")");
          return inner;
        }
        if (t.s == "[") {
          next();
          e->k = Expr::K::List;
          while (!is_op("]")) {
            if (!e->args.empty()) expect_op(",");
            if (is_op("]")) break;
            e->args.push_back(expr());
          }
          next();
          return e;
        }
        if (t.s == "{") {
          next();
          e->k = Expr::K::Dict;
          while (!is_op("}")) {
            if (!e->args.empty()) expect_op(",");
            if (is_op("}")) break;
            e->args.push_back(expr());
            expect_op(":");
            e->args.push_back(expr());
          }
          next();
          return e;
        }
        break;
      default: break;
    }
    fail("unexpected " + describe(t));
  }

  void call_args(Expr& e) {
    expect_op("(");
    const size_t base = e.args.size();
    while (!is_op(")")) {
      if (e.args.size() > base || !e.kw.empty()) {
        expect_op(",");
        if (is_op(")")) break;
      }
      if (cur().t == T::Name && peek().t == T::Op && peek().s == "=") {
        std::string k = cur().s;
        next();
        next();
        e.kw.emplace_back(std::move(k), expr());
      } else {
        if (!e.kw.empty()) fail("positional argument after keyword argument");
        e.args.push_back(expr());
      }
    }
    next();
  }

  ExprPtr postfix(ExprPtr e) {
    while (true) {
      if (is_op(".")) {
        next();
        if (cur().t == T::Int) {
          auto idx = node(Expr::K::Index);
          auto lit = node(Expr::K::Literal);
          lit->lit = Value::integer(cur().i);
          next();
          idx->args.push_back(std::move(e));
          idx->args.push_back(std::move(lit));
          e = std::move(idx);
          continue;
        }
        auto a = node(Expr::K::Attr);
        a->name = expect_name();
        a->args.push_back(std::move(e));
        e = std::move(a);
      } else if (is_op("[")) {
        next();
        e = subscript(std::move(e));
      } else if (is_op("(")) {
        auto c = node(Expr::K::Call);
        c->args.push_back(std::move(e));
        call_args(*c);
        e = std::move(c);
      } else {
        return e;
      }
    }
  }

  ExprPtr subscript(ExprPtr obj) {
    ExprPtr parts[3];
    int colons = 0;
    if (!is_op(":")) parts[0] = expr();
    while (colons < 2 && skip_op(":")) {
      ++colons;
      if (!is_op(":") && !is_op("]")) parts[colons] = expr();
    }
    expect_op("]");
    auto e = node(colons ? Expr::K::Slice : Expr::K::Index);
    e->args.push_back(std::move(obj));
    if (!colons && !parts[0]) fail("empty subscript");
    for (int k = 0; k < (colons ? 3 : 1); ++k) e->args.push_back(std::move(parts[k]));
    return e;
  }

  ExprPtr filters(ExprPtr e, bool first_bar_optional = false) {
    bool first = true;
    while (true) {
      if (is_op("|") || (first && first_bar_optional && cur().t == T::Name)) {
        if (is_op("|")) next();
        first = false;
        auto f = node(Expr::K::Filter);
        f->name = expect_name();
        f->args.push_back(std::move(e));
        if (is_op("(")) call_args(*f);
        e = std::move(f);
      } else if (is_name("is")) {
        next();
        auto t = node(Expr::K::Test);
        t->negate = skip_name("not");
        t->name = expect_name();
        t->args.push_back(std::move(e));
        if (is_op("(")) {
          call_args(*t);
        } else if ((cur().t == T::Name || cur().t == T::String || cur().t == T::Int || cur().t == T::Float ||
                    is_op("[") || is_op("{")) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
          if (cur().t == T::Name && (cur().s == "if" || cur().s == "in" || cur().s == "not" || cur().s == "is")) {
            // A keyword, not an argument: `x is defined if ...`.
          } else {
            t->args.push_back(postfix(primary()));
          }
        }
        e = std::move(t);
      } else {
        return e;
      }
    }
  }

 private:
  TokenCursor& c_;
};

}  // namespace

ExprPtr parse_expr(TokenCursor& c, bool cond) { return ExprParser(c).expr(cond); }
ExprPtr parse_tuple(TokenCursor& c, bool cond) { return ExprParser(c).tuple_expr(cond); }
ExprPtr parse_filters(TokenCursor& c, ExprPtr e, bool first_bar_optional) {
  return ExprParser(c).filters(std::move(e), first_bar_optional);
}

}  // namespace kindred::tmpl
