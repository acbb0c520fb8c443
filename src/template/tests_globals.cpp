// Jinja2's tests (`x is defined`, `x is divisibleby 3`, ...), string formatting (`%` and
// str.format) and the globals HF provides: range, namespace, dict, raise_exception, strftime_now.
#include <cmath>
#include <cstring>
#include <ctime>

#include "template/builtins.h"

namespace kindred::tmpl {
namespace {

const Value& test_arg(const CallArgs& a, const std::string& test) {
  const Value* v = a.get(0, "other");
  if (!v) throw TemplateError("test '" + test + "' needs an argument");
  return *v;
}

bool is_int(const Value& v) { return v.kind == Value::Kind::Int; }

// One printf-style conversion; spec is the flags/width/precision text between % and conv.
std::string format_one(const std::string& spec, char conv, const Value& v) {
  char buf[512];
  const std::string f = "%" + spec;
  switch (conv) {
    case 's':
    case 'r': {
      const std::string text = conv == 's' ? v.str() : v.repr();
      if (spec.empty()) return text;
      std::snprintf(buf, sizeof buf, (f + "s").c_str(), text.c_str());
      return buf;
    }
    case 'd':
    case 'i':
    case 'x':
    case 'X':
    case 'o': {
      if (!v.is_number()) throw TemplateError(std::string("%") + conv + " format: a number is required, not " + v.type_name());
      const long long i = v.kind == Value::Kind::Float ? static_cast<long long>(v.f) : (v.kind == Value::Kind::Bool ? v.b : v.i);
      std::snprintf(buf, sizeof buf, (f + "ll" + (conv == 'i' ? 'd' : conv)).c_str(), i);
      return buf;
    }
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G':
      if (!v.is_number()) throw TemplateError(std::string("%") + conv + " format: a number is required, not " + v.type_name());
      std::snprintf(buf, sizeof buf, (f + conv).c_str(), v.as_double());
      return buf;
    default: throw TemplateError(std::string("unsupported format character '") + conv + "'");
  }
}

}  // namespace

bool apply_test(const std::string& name, const Value& v, CallArgs& a) {
  using K = Value::Kind;
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.kind == K::Bool;
  if (name == "true") return v.kind == K::Bool && v.b;
  if (name == "false") return v.kind == K::Bool && !v.b;
  if (name == "integer") return is_int(v);
  if (name == "float") return v.kind == K::Float;
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable") return v.is_string() || v.is_list() || (v.is_dict() && !v.dict->is_namespace) || v.is_undefined();
  if (name == "sequence") return v.is_string() || v.is_list() || (v.is_dict() && !v.dict->is_namespace) || v.is_undefined();
  if (name == "callable") return v.kind == K::Function;
  if (name == "escaped") return v.is_markup();
  if (name == "lower") return v.is_string() && v.s == [&] { std::string t = v.s; for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c))); return t; }();
  if (name == "upper") return v.is_string() && v.s == [&] { std::string t = v.s; for (char& c : t) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c))); return t; }();
  if (name == "odd" || name == "even") {
    if (v.is_undefined()) undefined_error(v);
    if (!v.is_number()) throw TemplateError(std::string("unsupported operand type(s) for %: '") + v.type_name() + "' and 'int'");
    const int64_t i = v.kind == K::Float ? static_cast<int64_t>(v.f) : (v.kind == K::Bool ? v.b : v.i);
    return ((i % 2) != 0) == (name == "odd");
  }
  if (name == "divisibleby") {
    const Value& d = test_arg(a, name);
    if (!v.is_number() || !d.is_number()) throw TemplateError("divisibleby needs numbers");
    if (d.as_double() == 0) throw TemplateError("integer division or modulo by zero");
    return std::fmod(v.as_double(), d.as_double()) == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") return v == test_arg(a, name);
  if (name == "ne" || name == "!=") return !(v == test_arg(a, name));
  if (name == "lt" || name == "lessthan" || name == "<") return less_than(v, test_arg(a, name));
  if (name == "gt" || name == "greaterthan" || name == ">") return less_than(test_arg(a, name), v);
  if (name == "le" || name == "<=") return !less_than(test_arg(a, name), v);
  if (name == "ge" || name == ">=") return !less_than(v, test_arg(a, name));
  if (name == "in") {
    const Value& c = test_arg(a, name);
    if (c.is_string()) return v.is_string() && c.s.find(v.s) != std::string::npos;
    if (c.is_dict()) return v.is_string() && c.dict->find(v.s);
    for (const auto& x : iterate(c))
      if (x == v) return true;
    return false;
  }
  if (name == "sameas") {
    const Value& o = test_arg(a, name);
    if (v.kind != o.kind) return false;
    switch (v.kind) {
      case K::List: return v.list == o.list;
      case K::Dict: return v.dict == o.dict;
      case K::Function: return v.fn == o.fn;
      default: return v == o;
    }
  }
  throw TemplateError("no test named '" + name + "'");
}

std::string percent_format(const std::string& fmt, const Value& args) {
  // Only a tuple supplies several arguments; any other value (a list too) is the one argument.
  const bool many = args.is_list() && args.b;
  List items = many ? *args.list : List{args};
  size_t next = 0;
  std::string out;
  for (size_t k = 0; k < fmt.size(); ++k) {
    if (fmt[k] != '%') {
      out += fmt[k];
      continue;
    }
    if (++k >= fmt.size()) throw TemplateError("incomplete format");
    if (fmt[k] == '%') {
      out += '%';
      continue;
    }
    // Flags, width and precision (bounded so a hostile spec cannot overflow the buffer).
    std::string spec;
    while (k < fmt.size() && std::strchr("-+ #0123456789.", fmt[k]) && spec.size() < 8) spec += fmt[k++];
    if (k >= fmt.size()) throw TemplateError("incomplete format");
    if (spec.find_first_of("123456789") != std::string::npos) {
      for (size_t d = 0, run = 0; d < spec.size(); ++d) {
        run = std::isdigit(static_cast<unsigned char>(spec[d])) ? run + 1 : 0;
        if (run > 2) throw TemplateError("format width or precision too large");
      }
    }
    if (next >= items.size()) throw TemplateError("not enough arguments for format string");
    out += format_one(spec, fmt[k], items[next++]);
  }
  if (next < items.size() && many) throw TemplateError("not all arguments converted during string formatting");
  return out;
}

std::string str_format(const std::string& fmt, const CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t k = 0; k < fmt.size(); ++k) {
    const char c = fmt[k];
    if (c == '{' && k + 1 < fmt.size() && fmt[k + 1] == '{') {
      out += '{';
      ++k;
    } else if (c == '}' && k + 1 < fmt.size() && fmt[k + 1] == '}') {
      out += '}';
      ++k;
    } else if (c == '{') {
      const size_t end = fmt.find('}', k);
      if (end == std::string::npos) throw TemplateError("Single '{' encountered in format string");
      std::string field = fmt.substr(k + 1, end - k - 1);
      if (const size_t colon = field.find_first_of(":!"); colon != std::string::npos) field.resize(colon);
      const Value* v = nullptr;
      if (field.empty()) {
        v = auto_index < args.pos.size() ? &args.pos[auto_index++] : nullptr;
      } else if (field.find_first_not_of("0123456789") == std::string::npos) {
        const size_t idx = std::stoul(field);
        v = idx < args.pos.size() ? &args.pos[idx] : nullptr;
      } else {
        for (const auto& [n, val] : args.kw)
          if (n == field) v = &val;
      }
      if (!v) throw TemplateError("format: no argument for field '{" + field + "}'");
      out += v->str();
      k = end;
    } else if (c == '}') {
      throw TemplateError("Single '}' encountered in format string");
    } else {
      out += c;
    }
  }
  return out;
}

void add_globals(Dict& g, std::chrono::system_clock::time_point now) {
  g.set("range", Value::function([](CallArgs& a) {
    int64_t v[3] = {0, 0, 1};
    if (a.pos.empty() || a.pos.size() > 3) throw TemplateError("range expected 1 to 3 arguments");
    for (const auto& x : a.pos)
      if (x.kind != Value::Kind::Int && x.kind != Value::Kind::Bool) throw TemplateError(std::string("'") + x.type_name() + "' object cannot be interpreted as an integer");
    auto num = [](const Value& x) { return x.kind == Value::Kind::Bool ? int64_t{x.b} : x.i; };
    if (a.pos.size() == 1) v[1] = num(a.pos[0]);
    else for (size_t k = 0; k < a.pos.size(); ++k) v[k] = num(a.pos[k]);
    if (v[2] == 0) throw TemplateError("range() arg 3 must not be zero");
    List out;
    for (int64_t i = v[0]; v[2] > 0 ? i < v[1] : i > v[1]; i += v[2]) {
      if (static_cast<int64_t>(out.size()) >= kMaxRange) throw TemplateError("range too big (more than 1000000 items)");
      out.push_back(Value::integer(i));
    }
    return Value::make_list(std::move(out));
  }));
  g.set("namespace", Value::function([](CallArgs& a) {
    Value ns = Value::make_dict();
    ns.dict->is_namespace = true;
    for (const auto& x : a.pos) {
      if (!x.is_dict()) throw TemplateError("namespace() positional argument must be a dict");
      for (const auto& [k, v] : x.dict->items) ns.dict->set(k, v);
    }
    for (const auto& [k, v] : a.kw) ns.dict->set(k, v);
    return ns;
  }));
  g.set("dict", Value::function([](CallArgs& a) {
    Value d = Value::make_dict();
    for (const auto& x : a.pos)
      if (x.is_dict()) d.dict->items = x.dict->items;
    for (const auto& [k, v] : a.kw) d.dict->set(k, v);
    return d;
  }));
  g.set("raise_exception", Value::function([](CallArgs& a) -> Value {
    throw TemplateError(a.pos.empty() ? std::string("raise_exception called") : a.pos[0].str());
  }));
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  g.set("strftime_now", Value::function([t](CallArgs& a) {
    if (a.pos.empty() || !a.pos[0].is_string()) throw TemplateError("strftime_now() needs a format string");
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[512];
    const size_t n = std::strftime(buf, sizeof buf, a.pos[0].s.c_str(), &tm);
    return Value::string(std::string(buf, n));
  }));
}

}  // namespace kindred::tmpl
