// The parsed form of a template: expression and statement trees, built by the parser and
// walked by the interpreter. Generic nodes (a kind plus operands) keep the tree small to read.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "template/value.h"

namespace kindred::tmpl {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class K {
    Literal,   // lit
    Name,      // name
    List,      // args
    Tuple,     // args
    Dict,      // args: key, value, key, value...
    Attr,      // args[0].name
    Index,     // args[0][args[1]]
    Slice,     // args[0][args[1]:args[2]:args[3]] (null parts allowed)
    Call,      // args[0](args[1..], kw)
    Filter,    // args[0] | name(args[1..], kw)
    Test,      // args[0] is [not] name(args[1..])
    Unary,     // name in {"-", "+", "not"}
    Binary,    // args[0] name args[1]; name in + - * / // % ** ~ and or
    Compare,   // args[0] ops[0] args[1] ops[1] args[2]... (chained)
    Cond,      // args[1] if args[0] else args[2] (args[2] may be null)
  };
  K k = K::Literal;
  std::string name;
  Value lit;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kw;
  std::vector<std::string> ops;
  bool negate = false;
  int line = 0, col = 0;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct MacroDef {
  std::string name;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // one per param; null when none
  Body body;
};

struct Stmt {
  enum class K {
    Text,       // text
    Output,     // {{ expr }}
    If,         // conds[i] -> bodies[i]; else_body
    For,        // for targets in expr [if cond] body else else_body
    Set,        // targets = expr (or name.attr = expr when attr non-empty)
    SetBlock,   // {% set name %}body{% endset %} (optionally filtered by filter_expr)
    Macro,      // macro
    CallBlock,  // {% call(params) expr %}body{% endcall %}: expr is the call, macro holds caller
    FilterBlock,// {% filter f %}body{% endfilter %}: expr is a Filter node on a placeholder
    Break,
    Continue,
    Scope,      // a plain body (generation blocks)
  };
  K k = K::Text;
  std::string text;
  ExprPtr expr, cond;
  std::vector<ExprPtr> conds;
  std::vector<Body> bodies;
  Body body, else_body;
  std::vector<std::string> targets;
  std::string attr;
  std::shared_ptr<MacroDef> macro;
  int line = 0, col = 0;
};

struct Program {
  Body body;
};

}  // namespace kindred::tmpl
