// The Python object protocol as templates see it: attribute and item access, methods of str,
// dict and list (mutating ones refused, as in Jinja2's ImmutableSandboxedEnvironment),
// slicing, iteration and len().
#include <algorithm>
#include <cmath>
#include <string_view>
#include <unordered_set>

#include "template/builtins.h"
#include "template/strings.h"

namespace kindred::tmpl {

void undefined_error(const Value& undef) {
  throw TemplateError(undef.s.empty() ? "value is undefined" : undef.s);
}

Value missing(std::string message) { return Value::undefined(std::move(message)); }

namespace {

std::string arg_str(const CallArgs& a, size_t i, const char* name, const char* method) {
  const Value* v = a.get(i, name);
  if (!v) throw TemplateError(std::string(method) + "() missing argument '" + name + "'");
  if (!v->is_string()) throw TemplateError(std::string(method) + "() argument must be str, not " + v->type_name());
  return v->s;
}

bool optional_str(const CallArgs& a, size_t i, const char* name, std::string& out) {
  const Value* v = a.get(i, name);
  if (!v || v->is_none()) return false;
  if (!v->is_string()) throw TemplateError(std::string("expected a string argument, got ") + v->type_name());
  out = v->s;
  return true;
}

int64_t optional_int(const CallArgs& a, size_t i, const char* name, int64_t fallback) {
  const Value* v = a.get(i, name);
  if (!v || v->is_none()) return fallback;
  if (v->kind != Value::Kind::Int && v->kind != Value::Kind::Bool) throw TemplateError(std::string("expected an integer argument, got ") + v->type_name());
  return v->kind == Value::Kind::Bool ? v->b : v->i;
}

bool prefix_test(const std::string& s, const Value& what, bool suffix) {
  auto one = [&](const Value& p) {
    if (!p.is_string()) throw TemplateError("startswith/endswith argument must be str or a tuple of str");
    if (p.s.size() > s.size()) return false;
    return suffix ? s.compare(s.size() - p.s.size(), p.s.size(), p.s) == 0 : s.compare(0, p.s.size(), p.s) == 0;
  };
  if (what.is_list()) return std::any_of(what.list->begin(), what.list->end(), one);
  return one(what);
}

Value string_method(const Value& obj, const std::string& name, CallArgs& a) {
  const std::string& s = obj.s;
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    std::string chars;
    const bool has = optional_str(a, 0, "chars", chars);
    return Value::string(strip(s, has ? &chars : nullptr, name != "rstrip", name != "lstrip"));
  }
  if (name == "split" || name == "rsplit") {
    std::string sep;
    const bool has = optional_str(a, 0, "sep", sep);
    List parts;
    for (auto& p : split(s, has ? &sep : nullptr, optional_int(a, 1, "maxsplit", -1), name == "rsplit")) parts.push_back(Value::string(std::move(p)));
    return Value::make_list(std::move(parts));
  }
  if (name == "splitlines") {
    List parts;
    for (auto& p : split_lines(s)) parts.push_back(Value::string(std::move(p)));
    return Value::make_list(std::move(parts));
  }
  if (name == "startswith" || name == "endswith") {
    const Value* p = a.get(0, "prefix");
    if (!p) throw TemplateError(name + "() takes at least 1 argument");
    return Value::boolean(prefix_test(s, *p, name == "endswith"));
  }
  if (name == "upper") return Value::string(to_upper(s));
  if (name == "lower") return Value::string(to_lower(s));
  if (name == "title") return Value::string(python_title(s));
  if (name == "capitalize") return Value::string(capitalize(s));
  if (name == "replace") {
    return Value::string(replace(s, arg_str(a, 0, "old", "replace"), arg_str(a, 1, "new", "replace"), optional_int(a, 2, "count", -1)));
  }
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex" || name == "count") {
    const std::string sub = arg_str(a, 0, "sub", name.c_str());
    if (name == "count") return Value::integer(static_cast<int64_t>(count_substr(s, sub)));
    const size_t at = (name[0] == 'r') ? s.rfind(sub) : s.find(sub);
    if (at == std::string::npos) {
      if (name.find("index") != std::string::npos) throw TemplateError("substring not found");
      return Value::integer(-1);
    }
    return Value::integer(static_cast<int64_t>(utf8_length(std::string_view(s).substr(0, at))));
  }
  if (name == "join") {
    const Value* items = a.get(0, "iterable");
    if (!items) throw TemplateError("join() takes exactly one argument");
    std::string out;
    bool first = true;
    for (const auto& v : iterate(*items)) {
      if (!v.is_string()) throw TemplateError(std::string("sequence item: expected str instance, ") + v.type_name() + " found");
      if (!first) out += s;
      out += v.s;
      first = false;
    }
    return Value::string(std::move(out));
  }
  if (name == "format") return Value::string(str_format(s, a));
  if (name == "isdigit" || name == "isnumeric" || name == "isdecimal") {
    return Value::boolean(!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }));
  }
  if (name == "isalpha") return Value::boolean(!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); }));
  if (name == "isspace") return Value::boolean(!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); }));
  if (name == "isupper") return Value::boolean(to_upper(s) == s && to_lower(s) != s);
  if (name == "islower") return Value::boolean(to_lower(s) == s && to_upper(s) != s);
  throw TemplateError("'str' object has no attribute '" + name + "'");
}

Value dict_method(const Value& obj, const std::string& name, CallArgs& a) {
  const Dict& d = *obj.dict;
  if (name == "items" || name == "keys" || name == "values") {
    List out;
    out.reserve(d.items.size());
    for (const auto& [k, v] : d.items) {
      if (name == "items") out.push_back(Value::make_tuple({Value::string(k), v}));
      else out.push_back(name == "keys" ? Value::string(k) : v);
    }
    return Value::make_list(std::move(out));
  }
  if (name == "get") {
    const Value* key = a.get(0, "key");
    if (!key) throw TemplateError("get expected at least 1 argument, got 0");
    if (key->is_string())
      if (const Value* v = d.find(key->s)) return *v;
    const Value* def = a.get(1, "default");
    return def ? *def : Value::none();
  }
  if (name == "copy") {
    Value c = Value::make_dict();
    c.dict->items = d.items;
    return c;
  }
  throw TemplateError("'dict' object has no attribute '" + name + "'");
}

Value list_method(const Value& obj, const std::string& name, CallArgs& a) {
  const List& l = *obj.list;
  const Value* x = a.get(0, "value");
  if (!x) throw TemplateError(name + "() takes exactly one argument");
  if (name == "count") return Value::integer(std::count(l.begin(), l.end(), *x));
  auto it = std::find(l.begin(), l.end(), *x);
  if (it == l.end()) throw TemplateError(x->repr() + " is not in list");
  return Value::integer(it - l.begin());
}

bool is_mutating(const std::string& name) {
  static const std::unordered_set<std::string_view> names = {"append", "pop", "update", "extend", "insert",
                                                             "clear", "setdefault", "remove", "sort", "reverse",
                                                             "popitem", "add", "discard"};
  return names.count(name) != 0;
}

bool is_method(Value::Kind k, const std::string& name) {
  static const std::unordered_set<std::string_view> str_methods = {"strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith",
                                      "endswith", "upper", "lower", "title", "capitalize", "replace", "find",
                                      "rfind", "index", "rindex", "count", "join", "format", "isdigit",
                                      "isnumeric", "isdecimal", "isalpha", "isspace", "isupper", "islower"};
  static const std::unordered_set<std::string_view> dict_methods = {"items", "keys", "values", "get", "copy"};
  static const std::unordered_set<std::string_view> list_methods = {"count", "index"};
  auto has = [&](const std::unordered_set<std::string_view>& names) { return names.count(name) != 0; };
  switch (k) {
    case Value::Kind::String: return has(str_methods);
    case Value::Kind::Dict: return has(dict_methods);
    case Value::Kind::List: return has(list_methods);
    default: return false;
  }
}

}  // namespace

Value get_attr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) undefined_error(obj);
  if (!name.empty() && name[0] == '_') return missing("access to attribute '" + name + "' is unsafe");
  const bool namespace_obj = obj.is_dict() && obj.dict->is_namespace;
  if (!namespace_obj && is_method(obj.kind, name)) {
    return Value::function([obj, name](CallArgs& a) {
      if (obj.is_string()) return string_method(obj, name, a);
      if (obj.is_dict()) return dict_method(obj, name, a);
      return list_method(obj, name, a);
    });
  }
  if (!namespace_obj && (obj.is_list() || obj.is_dict()) && is_mutating(name)) {
    return missing("access to attribute '" + name + "' of '" + obj.type_name() + "' object is unsafe.");
  }
  if (obj.is_dict()) {
    if (const Value* v = obj.dict->find(name)) return *v;
    return missing("'" + std::string(namespace_obj ? "Namespace" : "dict") + " object' has no attribute '" + name + "'");
  }
  return missing("'" + std::string(obj.type_name()) + " object' has no attribute '" + name + "'");
}

Value get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) undefined_error(obj);
  if (obj.is_dict()) {
    if (key.is_string()) {
      if (const Value* v = obj.dict->find(key.s)) return *v;
    }
    return missing("'dict object' has no attribute " + key.repr());
  }
  if ((obj.is_list() || obj.is_string()) && (key.kind == Value::Kind::Int || key.kind == Value::Kind::Bool)) {
    int64_t i = key.kind == Value::Kind::Bool ? key.b : key.i;
    if (obj.is_list()) {
      const auto n = static_cast<int64_t>(obj.list->size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return missing("list object has no element " + key.repr());
      return (*obj.list)[static_cast<size_t>(i)];
    }
    const auto chars = utf8_chars(obj.s);
    const auto n = static_cast<int64_t>(chars.size());
    if (i < 0) i += n;
    if (i < 0 || i >= n) return missing("str object has no element " + key.repr());
    return Value::string(std::string(chars[static_cast<size_t>(i)]));
  }
  if (key.is_string()) return get_attr(obj, key.s);
  return missing("'" + std::string(obj.type_name()) + " object' has no attribute " + key.repr());
}

Value get_slice(const Value& obj, const Value* start, const Value* stop, const Value* step) {
  if (obj.is_undefined()) undefined_error(obj);
  auto as_int = [](const Value* v, int64_t fallback) -> int64_t {
    if (!v || v->is_none()) return fallback;
    if (v->kind == Value::Kind::Int) return v->i;
    if (v->kind == Value::Kind::Bool) return v->b;
    throw TemplateError("slice indices must be integers or None");
  };
  List items;
  std::vector<std::string_view> chars;
  int64_t n = 0;
  if (obj.is_list()) n = static_cast<int64_t>(obj.list->size());
  else if (obj.is_string()) n = static_cast<int64_t>((chars = utf8_chars(obj.s)).size());
  else throw TemplateError(std::string("'") + obj.type_name() + "' object is not subscriptable");
  const int64_t st = as_int(step, 1);
  if (st == 0) throw TemplateError("slice step cannot be zero");
  // Python's slice.indices(): negative bounds count from the end, then clamp to the sequence.
  auto clamp = [&](int64_t v) {
    if (v < 0) v += n;
    return st > 0 ? std::clamp<int64_t>(v, 0, n) : std::clamp<int64_t>(v, -1, n - 1);
  };
  const int64_t b = start && !start->is_none() ? clamp(as_int(start, 0)) : (st > 0 ? 0 : n - 1);
  const int64_t e = stop && !stop->is_none() ? clamp(as_int(stop, 0)) : (st > 0 ? n : -1);
  std::string out;
  for (int64_t k = b; st > 0 ? k < e : k > e; k += st) {
    if (obj.is_list()) items.push_back((*obj.list)[static_cast<size_t>(k)]);
    else out += chars[static_cast<size_t>(k)];
  }
  return obj.is_list() ? Value::make_list(std::move(items)) : Value::string(std::move(out));
}

List iterate(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Undefined: return {};
    case Value::Kind::List: return *v.list;
    case Value::Kind::Dict: {
      List keys;
      if (v.dict->is_namespace) throw TemplateError("'Namespace' object is not iterable");
      for (const auto& kv : v.dict->items) keys.push_back(Value::string(kv.first));
      return keys;
    }
    case Value::Kind::String: {
      List chars;
      for (auto c : utf8_chars(v.s)) chars.push_back(Value::string(std::string(c)));
      return chars;
    }
    default: throw TemplateError(std::string("'") + v.type_name() + "' object is not iterable");
  }
}

size_t length(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Undefined: return 0;
    case Value::Kind::String: return utf8_length(v.s);
    case Value::Kind::List: return v.list->size();
    case Value::Kind::Dict: return v.dict->items.size();
    default: throw TemplateError(std::string("object of type '") + v.type_name() + "' has no len()");
  }
}

}  // namespace kindred::tmpl
