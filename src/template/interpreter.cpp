// Tree-walking interpreter. Scoping follows Jinja2: each for-loop iteration and each macro
// call gets a fresh frame (so `set` inside them does not leak out, which is why templates use
// namespace()); `if` bodies share their enclosing frame. Macros see the template's top level.
#include "template/interpreter.h"

#include "template/builtins.h"

namespace kindred::tmpl {
namespace {

constexpr int kMaxCallDepth = 100;
constexpr int64_t kMaxIterations = 1'000'000;  // per render, all loops together

struct Frame {
  std::vector<std::pair<std::string, Value>> vars;
  const Frame* parent = nullptr;

  const Value* find(const std::string& name) const {
    for (const Frame* f = this; f; f = f->parent)
      for (const auto& [k, v] : f->vars)
        if (k == name) return &v;
    return nullptr;
  }
  void set(const std::string& name, Value v) {
    for (auto& [k, old] : vars)
      if (k == name) {
        old = std::move(v);
        return;
      }
    vars.emplace_back(name, std::move(v));
  }
};

enum class Flow { Normal, Break, Continue };

class Interpreter {
 public:
  explicit Interpreter(const Dict& globals) {
    root_.vars = globals.items;
  }

  std::string run(const Program& p) {
    std::string out;
    exec(p.body, root_, out);
    return out;
  }

 private:
  [[noreturn]] static void fail_at(int line, const std::string& msg) {
    throw TemplateError("line " + std::to_string(line) + ": " + msg);
  }

  static void append(std::string& out, std::string_view s) {
    if (out.size() + s.size() > kMaxOutputBytes) throw TemplateError("output too large (over 64 MiB)");
    out.append(s);
  }

  Flow exec(const Body& body, Frame& f, std::string& out) {
    for (const auto& s : body) {
      const Flow flow = exec(*s, f, out);
      if (flow != Flow::Normal) return flow;
    }
    return Flow::Normal;
  }

  Flow exec(const Stmt& s, Frame& f, std::string& out) {
    switch (s.k) {
      case Stmt::K::Text: append(out, s.text); return Flow::Normal;
      case Stmt::K::Output: {
        const Value v = eval(*s.expr, f);
        if (v.kind == Value::Kind::String) append(out, v.s);
        else append(out, v.str());
        return Flow::Normal;
      }
      case Stmt::K::If:
        for (size_t k = 0; k < s.conds.size(); ++k)
          if (eval(*s.conds[k], f).truthy()) return exec(s.bodies[k], f, out);
        return exec(s.else_body, f, out);
      case Stmt::K::For: return exec_for(s, f, out);
      case Stmt::K::Set: {
        Value v = eval(*s.expr, f);
        if (!s.attr.empty()) {
          const Value* target = f.find(s.targets[0]);
          if (!target || !target->is_dict() || !target->dict->is_namespace) fail_at(s.line, "cannot assign attribute on non-namespace object");
          target->dict->set(s.attr, std::move(v));
        } else {
          assign(f, s.targets, std::move(v), s.line);
        }
        return Flow::Normal;
      }
      case Stmt::K::SetBlock: {
        std::string text;
        exec(s.body, f, text);
        Value v = Value::string(std::move(text));
        if (s.expr) v = filtered(*s.expr, f, std::move(v));
        f.set(s.targets[0], std::move(v));
        return Flow::Normal;
      }
      case Stmt::K::Macro: f.set(s.macro->name, macro_value(s.macro)); return Flow::Normal;
      case Stmt::K::CallBlock: {
        // The body becomes `caller`, a macro that can see the enclosing frame.
        auto def = s.macro;
        Frame* outer = &f;
        Value caller = Value::function([this, def, outer](CallArgs& a) { return call_macro(*def, a, *outer); });
        const Expr& call = *s.expr;
        Value callee = eval(*call.args[0], f);
        CallArgs a = args(call, f, 1);
        a.kw.emplace_back("caller", std::move(caller));
        append(out, invoke(callee, a, call.line).str());
        return Flow::Normal;
      }
      case Stmt::K::FilterBlock: {
        std::string text;
        exec(s.body, f, text);
        append(out, filtered(*s.expr, f, Value::string(std::move(text))).str());
        return Flow::Normal;
      }
      case Stmt::K::Break: return Flow::Break;
      case Stmt::K::Continue: return Flow::Continue;
      case Stmt::K::Scope: return exec(s.body, f, out);
    }
    return Flow::Normal;
  }

  // Applies a filter chain parsed against the placeholder name " body".
  Value filtered(const Expr& chain, Frame& f, Value v) {
    Frame tmp;
    tmp.parent = &f;
    tmp.vars.emplace_back(" body", std::move(v));
    return eval(chain, tmp);
  }

  void assign(Frame& f, const std::vector<std::string>& targets, Value v, int line) {
    if (targets.size() == 1) {
      f.set(targets[0], std::move(v));
      return;
    }
    const List items = iterate(v);
    if (items.size() != targets.size()) {
      fail_at(line, (items.size() < targets.size() ? "not enough" : "too many") + std::string(" values to unpack (expected ") +
                        std::to_string(targets.size()) + ")");
    }
    for (size_t k = 0; k < targets.size(); ++k) f.set(targets[k], items[k]);
  }

  Flow exec_for(const Stmt& s, Frame& f, std::string& out) {
    const Value seq = eval(*s.expr, f);
    List items = iterate(seq);
    if (s.cond) {
      // The loop's `if` filters before iterating, so loop.length counts only kept items.
      List kept;
      for (auto& item : items) {
        Frame tmp;
        tmp.parent = &f;
        assign(tmp, s.targets, item, s.line);
        if (eval(*s.cond, tmp).truthy()) kept.push_back(std::move(item));
      }
      items = std::move(kept);
    }
    const size_t n = items.size();
    if (n == 0) return exec(s.else_body, f, out);
    Value loop = Value::make_dict();
    auto state = loop.dict;
    const auto len = static_cast<int64_t>(n);
    state->items = {{"index", {}},  {"index0", {}},  {"revindex", {}}, {"revindex0", {}}, {"first", {}},
                    {"last", {}},   {"length", Value::integer(len)},   {"previtem", {}},  {"nextitem", {}},
                    {"depth", Value::integer(1)}, {"depth0", Value::integer(0)}};
    std::weak_ptr<Dict> weak = state;
    state->items.emplace_back("cycle", Value::function([weak](CallArgs& a) {
                                if (a.pos.empty()) throw TemplateError("no items for cycling given");
                                auto st = weak.lock();
                                const int64_t i = st ? st->items[1].second.i : 0;
                                return a.pos[static_cast<size_t>(i) % a.pos.size()];
                              }));
    for (size_t k = 0; k < n; ++k) {
      if (++iterations_ > kMaxIterations) fail_at(s.line, "too many loop iterations");
      const auto i = static_cast<int64_t>(k);
      auto& it = state->items;
      it[0].second = Value::integer(i + 1);
      it[1].second = Value::integer(i);
      it[2].second = Value::integer(len - i);
      it[3].second = Value::integer(len - i - 1);
      it[4].second = Value::boolean(k == 0);
      it[5].second = Value::boolean(k + 1 == n);
      it[7].second = k ? items[k - 1] : Value::undefined("there is no previous item");
      it[8].second = k + 1 < n ? items[k + 1] : Value::undefined("there is no next item");
      Frame iter;
      iter.parent = &f;
      iter.vars.emplace_back("loop", loop);
      assign(iter, s.targets, items[k], s.line);
      if (exec(s.body, iter, out) == Flow::Break) break;
    }
    return Flow::Normal;
  }

  Value macro_value(std::shared_ptr<MacroDef> def) {
    return Value::function([this, def](CallArgs& a) { return call_macro(*def, a, root_); });
  }

  Value call_macro(const MacroDef& m, CallArgs& a, const Frame& parent) {
    if (depth_ >= kMaxCallDepth) throw TemplateError("macro '" + m.name + "': recursion too deep");
    struct DepthGuard {
      int& d;
      ~DepthGuard() { --d; }
    } guard{++depth_};
    if (a.pos.size() > m.params.size()) {
      throw TemplateError("macro '" + m.name + "' takes not more than " + std::to_string(m.params.size()) + " argument(s)");
    }
    Frame f;
    f.parent = &parent;
    for (size_t k = 0; k < m.params.size(); ++k) {
      const Value* given = k < a.pos.size() ? &a.pos[k] : nullptr;
      if (!given)
        for (const auto& [name, v] : a.kw)
          if (name == m.params[k]) given = &v;
      if (given) f.set(m.params[k], *given);
      else if (m.defaults[k]) f.set(m.params[k], eval(*m.defaults[k], f));
      else f.set(m.params[k], Value::undefined("'" + m.params[k] + "' is undefined"));
    }
    for (const auto& [name, v] : a.kw) {
      if (name == "caller") {
        f.set("caller", v);
        continue;
      }
      bool known = false;
      for (const auto& p : m.params) known = known || p == name;
      if (!known) throw TemplateError("macro '" + m.name + "' takes no keyword argument '" + name + "'");
    }
    std::string out;
    exec(m.body, f, out);
    return Value::string(std::move(out));
  }

  CallArgs args(const Expr& e, Frame& f, size_t first) {
    CallArgs a;
    a.pos.reserve(e.args.size() - first);
    for (size_t k = first; k < e.args.size(); ++k) a.pos.push_back(eval(*e.args[k], f));
    for (const auto& [name, x] : e.kw) a.kw.emplace_back(name, eval(*x, f));
    return a;
  }

  Value invoke(const Value& callee, CallArgs& a, int line) {
    if (callee.is_undefined()) undefined_error(callee);
    if (callee.kind != Value::Kind::Function) fail_at(line, std::string("'") + callee.type_name() + "' object is not callable");
    return (*callee.fn)(a);
  }

  Value eval(const Expr& e, Frame& f) {
    switch (e.k) {
      case Expr::K::Literal: return e.lit;
      case Expr::K::Name: {
        if (const Value* v = f.find(e.name)) return *v;
        return Value::undefined("'" + e.name + "' is undefined");
      }
      case Expr::K::List:
      case Expr::K::Tuple: {
        List items;
        items.reserve(e.args.size());
        for (const auto& x : e.args) items.push_back(eval(*x, f));
        return e.k == Expr::K::Tuple ? Value::make_tuple(std::move(items)) : Value::make_list(std::move(items));
      }
      case Expr::K::Dict: {
        Value d = Value::make_dict();
        for (size_t k = 0; k + 1 < e.args.size(); k += 2) {
          const Value key = eval(*e.args[k], f);
          if (!key.is_string() && !key.is_number() && !key.is_none()) fail_at(e.line, std::string("unhashable dict key of type '") + key.type_name() + "'");
          d.dict->set(key.str(), eval(*e.args[k + 1], f));
        }
        return d;
      }
      case Expr::K::Attr: return get_attr(eval(*e.args[0], f), e.name);
      case Expr::K::Index: return get_item(eval(*e.args[0], f), eval(*e.args[1], f));
      case Expr::K::Slice: {
        const Value obj = eval(*e.args[0], f);
        Value parts[3];
        const Value* ptr[3] = {nullptr, nullptr, nullptr};
        for (int k = 0; k < 3; ++k)
          if (e.args[static_cast<size_t>(k) + 1]) {
            parts[k] = eval(*e.args[static_cast<size_t>(k) + 1], f);
            ptr[k] = &parts[k];
          }
        return get_slice(obj, ptr[0], ptr[1], ptr[2]);
      }
      case Expr::K::Call: {
        const Value callee = eval(*e.args[0], f);
        CallArgs a = args(e, f, 1);
        return invoke(callee, a, e.line);
      }
      case Expr::K::Filter: {
        const Value v = eval(*e.args[0], f);
        CallArgs a = args(e, f, 1);
        return apply_filter(e.name, v, a);
      }
      case Expr::K::Test: {
        const Value v = eval(*e.args[0], f);
        CallArgs a = args(e, f, 1);
        return Value::boolean(apply_test(e.name, v, a) != e.negate);
      }
      case Expr::K::Unary: {
        const Value v = eval(*e.args[0], f);
        if (e.name == "not") return Value::boolean(!v.truthy());
        return negate(v, e.name == "-");
      }
      case Expr::K::Binary: {
        Value a = eval(*e.args[0], f);
        if (e.name == "and") return a.truthy() ? eval(*e.args[1], f) : a;
        if (e.name == "or") return a.truthy() ? a : eval(*e.args[1], f);
        return binary_op(e.name, a, eval(*e.args[1], f));
      }
      case Expr::K::Compare: {
        Value left = eval(*e.args[0], f);
        for (size_t k = 0; k < e.ops.size(); ++k) {
          Value right = eval(*e.args[k + 1], f);
          if (!compare_op(e.ops[k], left, right)) return Value::boolean(false);
          left = std::move(right);
        }
        return Value::boolean(true);
      }
      case Expr::K::Cond:
        if (eval(*e.args[0], f).truthy()) return eval(*e.args[1], f);
        return e.args[2] ? eval(*e.args[2], f) : Value::undefined("the inline if-expression on line " + std::to_string(e.line) + " evaluated to false and no else section was defined.");
    }
    return {};
  }

  Frame root_;
  int depth_ = 0;
  int64_t iterations_ = 0;
};

}  // namespace

std::string render_program(const Program& program, const Dict& globals) {
  return Interpreter(globals).run(program);
}

}  // namespace kindred::tmpl
