// Python arithmetic and comparison semantics for template values, including markupsafe's rule
// that `Markup + str` escapes the plain operand (visible in HF output of `x|safe + y`).
#include <cmath>

#include "template/builtins.h"

namespace kindred::tmpl {
namespace {

using K = Value::Kind;

int64_t as_int(const Value& v) { return v.kind == K::Bool ? v.b : v.i; }
bool int_like(const Value& v) { return v.kind == K::Int || v.kind == K::Bool; }

[[noreturn]] void unsupported(const std::string& op, const Value& a, const Value& b) {
  if (op == "+" && a.is_string()) throw TemplateError(std::string("can only concatenate str (not \"") + b.type_name() + "\") to str");
  throw TemplateError("unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'");
}

Value repeat(const Value& seq, int64_t n) {
  n = std::max<int64_t>(n, 0);
  const size_t unit = seq.is_string() ? seq.s.size() : seq.list->size();
  if (unit && static_cast<uint64_t>(n) > kMaxOutputBytes / unit) throw TemplateError("sequence repetition too large");
  if (seq.is_string()) {
    std::string out;
    out.reserve(unit * static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) out += seq.s;
    return Value::string(std::move(out), seq.is_markup());
  }
  List out;
  for (int64_t k = 0; k < n; ++k) out.insert(out.end(), seq.list->begin(), seq.list->end());
  return Value::make_list(std::move(out));
}

Value checked(bool overflow, int64_t v) {
  if (overflow) throw TemplateError("integer overflow");
  return Value::integer(v);
}

}  // namespace

Value binary_op(const std::string& op, const Value& a, const Value& b) {
  if (op[0] == '~') return Value::string(a.str() + b.str());
  if (a.is_undefined()) undefined_error(a);
  if (b.is_undefined()) undefined_error(b);
  const bool nums = a.is_number() && b.is_number();
  const bool ints = nums && int_like(a) && int_like(b);
  if (op == "+") {
    if (ints) {
      int64_t r = 0;
      const bool overflow = __builtin_add_overflow(as_int(a), as_int(b), &r);
      return checked(overflow, r);
    }
    if (nums) return Value::number(a.as_double() + b.as_double());
    if (a.is_string() && b.is_string()) {
      if (a.is_markup()) return Value::string(a.s + (b.is_markup() ? b.s : html_escape(b.s)), true);
      if (b.is_markup()) return Value::string(html_escape(a.s) + b.s, true);
      if (a.s.size() + b.s.size() > kMaxOutputBytes) throw TemplateError("string too large");
      return Value::string(a.s + b.s);
    }
    if (a.is_list() && b.is_list()) {
      List out = *a.list;
      out.insert(out.end(), b.list->begin(), b.list->end());
      return Value::make_list(std::move(out));
    }
    unsupported(op, a, b);
  }
  if (op == "-") {
    if (ints) {
      int64_t r = 0;
      const bool overflow = __builtin_sub_overflow(as_int(a), as_int(b), &r);
      return checked(overflow, r);
    }
    if (nums) return Value::number(a.as_double() - b.as_double());
    unsupported(op, a, b);
  }
  if (op == "*") {
    if (ints) {
      int64_t r = 0;
      const bool overflow = __builtin_mul_overflow(as_int(a), as_int(b), &r);
      return checked(overflow, r);
    }
    if (nums) return Value::number(a.as_double() * b.as_double());
    if ((a.is_string() || a.is_list()) && int_like(b)) return repeat(a, as_int(b));
    if ((b.is_string() || b.is_list()) && int_like(a)) return repeat(b, as_int(a));
    unsupported(op, a, b);
  }
  if (op == "/") {
    if (!nums) unsupported(op, a, b);
    if (b.as_double() == 0) throw TemplateError("division by zero");
    return Value::number(a.as_double() / b.as_double());
  }
  if (op == "//" || op == "%") {
    if (op == "%" && a.is_string()) return Value::string(percent_format(a.s, b));
    if (!nums) unsupported(op, a, b);
    if (b.as_double() == 0) throw TemplateError("integer division or modulo by zero");
    if (ints) {
      const int64_t x = as_int(a), y = as_int(b);
      if (x == INT64_MIN && y == -1) throw TemplateError("integer overflow");
      int64_t q = x / y, r = x % y;
      if (r != 0 && ((r < 0) != (y < 0))) {
        --q;
        r += y;
      }
      return Value::integer(op == "//" ? q : r);
    }
    const double x = a.as_double(), y = b.as_double();
    const double q = std::floor(x / y);
    return Value::number(op == "//" ? q : x - q * y);
  }
  if (op == "**") {
    if (ints && as_int(b) >= 0) {
      int64_t r = 1;
      const int64_t base = as_int(a);
      for (int64_t k = 0; k < as_int(b) && r != 0 && !(r == 1 && base == 1); ++k)
        if (__builtin_mul_overflow(r, base, &r)) throw TemplateError("integer overflow");
      return Value::integer(r);
    }
    if (nums) return Value::number(std::pow(a.as_double(), b.as_double()));
    unsupported(op, a, b);
  }
  throw TemplateError("unknown operator '" + op + "'");
}

bool compare_op(const std::string& op, const Value& a, const Value& b) {
  if (op == "==") return a == b;
  if (op == "!=") return !(a == b);
  if (op == "in" || op == "not in") {
    bool found = false;
    if (b.is_string()) {
      if (a.is_undefined()) undefined_error(a);
      if (!a.is_string()) throw TemplateError(std::string("'in <string>' requires string as left operand, not ") + a.type_name());
      found = b.s.find(a.s) != std::string::npos;
    } else if (b.is_dict()) {
      found = a.is_string() && b.dict->find(a.s);
    } else if (b.is_list()) {
      for (const auto& x : *b.list)
        if (x == a) found = true;
    } else if (!b.is_undefined()) {
      throw TemplateError(std::string("argument of type '") + b.type_name() + "' is not iterable");
    }
    return op == "in" ? found : !found;
  }
  if (a.is_undefined()) undefined_error(a);
  if (b.is_undefined()) undefined_error(b);
  if (op == "<") return less_than(a, b);
  if (op == ">") return less_than(b, a);
  if (op == "<=") return !less_than(b, a);
  if (op == ">=") return !less_than(a, b);
  throw TemplateError("unknown comparison '" + op + "'");
}

Value negate(const Value& v, bool minus) {
  if (v.is_undefined()) undefined_error(v);
  if (v.kind == K::Float) return Value::number(minus ? -v.f : v.f);
  if (int_like(v)) {
    int64_t r = as_int(v);
    const bool overflow = minus && __builtin_sub_overflow(int64_t{0}, as_int(v), &r);
    return checked(overflow, r);
  }
  throw TemplateError(std::string("bad operand type for unary ") + (minus ? "-" : "+") + ": '" + v.type_name() + "'");
}

}  // namespace kindred::tmpl
