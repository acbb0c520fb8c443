// Jinja2's built-in filters (3.1 semantics) plus HF's `tojson` (json.dumps, non-ASCII kept).
#include <algorithm>
#include <cmath>
#include <map>

#include "template/builtins.h"
#include "template/strings.h"

namespace kindred::tmpl {
namespace {

using K = Value::Kind;

const Value* arg(const CallArgs& a, size_t i, const char* name) { return a.get(i, name); }
bool flag(const CallArgs& a, size_t i, const char* name, bool fallback = false) {
  const Value* v = a.get(i, name);
  return v ? v->truthy() : fallback;
}
int64_t int_arg(const CallArgs& a, size_t i, const char* name, int64_t fallback) {
  const Value* v = a.get(i, name);
  if (!v || v->is_none()) return fallback;
  if (v->kind == K::Int) return v->i;
  if (v->kind == K::Bool) return v->b;
  if (v->kind == K::Float) return static_cast<int64_t>(v->f);
  throw TemplateError(std::string("expected an integer argument, got ") + v->type_name());
}
std::string str_arg(const CallArgs& a, size_t i, const char* name, std::string fallback) {
  const Value* v = a.get(i, name);
  return v ? v->str() : fallback;
}

// An attribute path "a.b.0" as Jinja2's make_attrgetter resolves it.
Value attr_path(const Value& v, const std::string& path) {
  Value cur = v;
  size_t p = 0;
  while (p <= path.size()) {
    const size_t dot = path.find('.', p);
    const std::string part = path.substr(p, dot == std::string::npos ? std::string::npos : dot - p);
    if (!part.empty() && part.find_first_not_of("0123456789") == std::string::npos) cur = get_item(cur, Value::integer(std::stoll(part)));
    else cur = get_item(cur, Value::string(part));
    if (dot == std::string::npos) break;
    p = dot + 1;
  }
  return cur;
}

Value lower_key(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value::string(to_lower(v.s));
  return v;
}

List sorted(List items, bool reverse, bool case_sensitive, const Value* attribute) {
  auto key = [&](const Value& v) {
    return lower_key(attribute && !attribute->is_none() ? attr_path(v, attribute->str()) : v, case_sensitive);
  };
  std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
    return reverse ? less_than(key(b), key(a)) : less_than(key(a), key(b));
  });
  return items;
}

double to_float(const Value& v, double fallback) {
  switch (v.kind) {
    case K::Bool:
    case K::Int:
    case K::Float: return v.as_double();
    case K::String: {
      const std::string s = strip(v.s, nullptr, true, true);
      char* end = nullptr;
      const double d = std::strtod(s.c_str(), &end);
      return (!s.empty() && end == s.c_str() + s.size()) ? d : fallback;
    }
    default: return fallback;
  }
}

Value to_int(const Value& v, int64_t fallback, int base) {
  switch (v.kind) {
    case K::Bool: return Value::integer(v.b);
    case K::Int: return v;
    case K::Float: return Value::integer(static_cast<int64_t>(v.f));
    case K::String: {
      std::string s = strip(v.s, nullptr, true, true);
      s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
      char* end = nullptr;
      errno = 0;
      const long long i = std::strtoll(s.c_str(), &end, base);
      if (!s.empty() && end == s.c_str() + s.size() && errno == 0) return Value::integer(i);
      // Jinja2 falls back to int(float(s)).
      const double d = to_float(v, NAN);
      if (!std::isnan(d) && std::isfinite(d)) return Value::integer(static_cast<int64_t>(d));
      return Value::integer(fallback);
    }
    default: return Value::integer(fallback);
  }
}

Value tojson(const Value& v, const CallArgs& a) {
  // HF: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
  JsonOptions o;
  o.ensure_ascii = flag(a, 0, "ensure_ascii");
  const Value* indent = arg(a, 1, "indent");
  if (indent && !indent->is_none()) {
    if (indent->is_string()) throw TemplateError("tojson: a string indent is not supported");
    o.indent = static_cast<int>(std::clamp<int64_t>(int_arg(a, 1, "indent", 0), 0, 64));
    o.item_sep = ",";
  }
  const Value* seps = arg(a, 2, "separators");
  if (seps && !seps->is_none()) {
    if (!seps->is_list() || seps->list->size() != 2) throw TemplateError("tojson: separators must be a pair of strings");
    o.item_sep = (*seps->list)[0].str();
    o.key_sep = (*seps->list)[1].str();
  }
  o.sort_keys = flag(a, 3, "sort_keys");
  return Value::string(to_json(v, o));
}

Value indent(const Value& v, const CallArgs& a) {
  std::string ind = "    ";
  if (const Value* w = arg(a, 0, "width")) ind = w->is_string() ? w->s : std::string(static_cast<size_t>(std::clamp<int64_t>(int_arg(a, 0, "width", 4), 0, 1024)), ' ');
  const bool first = flag(a, 1, "first"), blank = flag(a, 2, "blank");
  const auto lines = split_lines(v.str() + "\n");
  std::string out;
  for (size_t k = 0; k < lines.size(); ++k) {
    if (k) {
      out += '\n';
      if (blank || !lines[k].empty()) out += ind;
    }
    out += lines[k];
  }
  return Value::string(first ? ind + out : out);
}

// select / reject / selectattr / rejectattr: args after the attribute are the test and its args.
Value select(const Value& v, const CallArgs& a, bool with_attr, bool keep) {
  if (!v.truthy()) return Value::make_list();  // Jinja2 yields nothing for a falsy sequence (None)
  size_t first = 0;
  std::string attribute;
  if (with_attr) {
    if (a.pos.empty()) throw TemplateError("selectattr/rejectattr need an attribute name");
    attribute = a.pos[0].str();
    first = 1;
  }
  std::string test;
  CallArgs test_args;
  if (a.pos.size() > first) {
    test = a.pos[first].str();
    test_args.pos.assign(a.pos.begin() + static_cast<std::ptrdiff_t>(first) + 1, a.pos.end());
    test_args.kw = a.kw;
  }
  List out;
  for (const auto& item : iterate(v)) {
    const Value x = with_attr ? attr_path(item, attribute) : item;
    const bool ok = test.empty() ? x.truthy() : apply_test(test, x, test_args);
    if (ok == keep) out.push_back(item);
  }
  return Value::make_list(std::move(out));
}

Value map_filter(const Value& v, const CallArgs& a) {
  List out;
  if (!v.truthy()) return Value::make_list();
  if (const Value* attribute = a.get(99, "attribute")) {
    const Value* def = a.get(99, "default");
    for (const auto& item : iterate(v)) {
      Value x = attr_path(item, attribute->str());
      out.push_back(x.is_undefined() && def ? *def : x);
    }
    return Value::make_list(std::move(out));
  }
  if (a.pos.empty()) throw TemplateError("map() needs a filter name or attribute=");
  CallArgs rest;
  rest.pos.assign(a.pos.begin() + 1, a.pos.end());
  rest.kw = a.kw;
  for (const auto& item : iterate(v)) out.push_back(apply_filter(a.pos[0].str(), item, rest));
  return Value::make_list(std::move(out));
}

Value unique(const Value& v, const CallArgs& a) {
  const bool cs = flag(a, 0, "case_sensitive");
  const Value* attribute = arg(a, 1, "attribute");
  List out, seen;
  for (const auto& item : iterate(v)) {
    const Value key = lower_key(attribute && !attribute->is_none() ? attr_path(item, attribute->str()) : item, cs);
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
    seen.push_back(key);
    out.push_back(item);
  }
  return Value::make_list(std::move(out));
}

Value min_max(const Value& v, const CallArgs& a, bool want_max) {
  const List items = iterate(v);
  if (items.empty()) return missing("No aggregated item, sequence was empty.");
  const bool cs = flag(a, 0, "case_sensitive");
  const Value* attribute = arg(a, 1, "attribute");
  auto key = [&](const Value& x) { return lower_key(attribute && !attribute->is_none() ? attr_path(x, attribute->str()) : x, cs); };
  const Value* best = &items[0];
  for (const auto& x : items)
    if (want_max ? less_than(key(*best), key(x)) : less_than(key(x), key(*best))) best = &x;
  return *best;
}

Value dictsort(const Value& v, const CallArgs& a) {
  if (!v.is_dict()) throw TemplateError("dictsort: expected a dict");
  const bool cs = flag(a, 0, "case_sensitive");
  const std::string by = str_arg(a, 1, "by", "key");
  const bool rev = flag(a, 2, "reverse");
  List items;
  for (const auto& [k, x] : v.dict->items) items.push_back(Value::make_tuple({Value::string(k), x}));
  const size_t idx = by == "value" ? 1 : 0;
  std::stable_sort(items.begin(), items.end(), [&](const Value& p, const Value& q) {
    const Value kp = lower_key((*p.list)[idx], cs), kq = lower_key((*q.list)[idx], cs);
    return rev ? less_than(kq, kp) : less_than(kp, kq);
  });
  return Value::make_list(std::move(items));
}

Value round_filter(const Value& v, const CallArgs& a) {
  const int64_t precision = int_arg(a, 0, "precision", 0);
  const std::string method = str_arg(a, 1, "method", "common");
  // Python's round(int, n) stays an int; ceil/floor go through a float.
  if (method == "common" && (v.kind == K::Int || v.kind == K::Bool) && precision >= 0) return Value::integer(v.kind == K::Int ? v.i : v.b);
  const double x = to_float(v, 0);
  if (method == "common" && precision >= 0 && precision <= 30 && std::isfinite(x)) {
    // Python rounds the exact binary value half-to-even, which is what printf's rounding does.
    char buf[400];
    std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(precision), x);
    return Value::number(std::strtod(buf, nullptr));
  }
  const double scale = std::pow(10.0, static_cast<double>(precision));
  double y = x * scale;
  if (method == "common") y = std::nearbyint(y);
  else if (method == "ceil") y = std::ceil(y);
  else if (method == "floor") y = std::floor(y);
  else throw TemplateError("method must be common, ceil or floor");
  return Value::number(y / scale);
}

Value batch(const Value& v, const CallArgs& a) {
  const int64_t n = int_arg(a, 0, "linecount", 1);
  if (n <= 0) throw TemplateError("batch size must be positive");
  const Value* fill = arg(a, 1, "fill_with");
  List out, cur;
  for (const auto& x : iterate(v)) {
    cur.push_back(x);
    if (static_cast<int64_t>(cur.size()) == n) out.push_back(Value::make_list(std::exchange(cur, {})));
  }
  if (!cur.empty()) {
    if (fill && !fill->is_none())
      while (static_cast<int64_t>(cur.size()) < n) cur.push_back(*fill);
    out.push_back(Value::make_list(std::move(cur)));
  }
  return Value::make_list(std::move(out));
}

std::string striptags(const std::string& s) {
  std::string out;
  bool in_tag = false;
  for (char c : s) {
    if (c == '<') in_tag = true;
    else if (c == '>' && in_tag) in_tag = false;
    else if (!in_tag) out += c;
  }
  std::string joined;
  for (const auto& w : split(out, nullptr, -1, false)) joined += (joined.empty() ? "" : " ") + w;
  return joined;
}

}  // namespace

Value apply_filter(const std::string& name, const Value& v, CallArgs& a) {
  // The hottest filters in real chat templates come first: this chain is a run of compares.
  if (name == "trim" && a.pos.empty() && a.kw.empty()) return Value::string(strip(v.str(), nullptr, true, true), v.is_markup());
  if (name == "default" || name == "d") {
    const bool boolean = flag(a, 1, "boolean");
    if (v.is_undefined() || (boolean && !v.truthy())) {
      const Value* d = arg(a, 0, "default_value");
      return d ? *d : Value::string("");
    }
    return v;
  }
  if (name == "tojson") return tojson(v, a);
  if (name == "safe") return Value::string(v.str(), true);
  if (name == "escape" || name == "e" || name == "forceescape") return v.is_markup() && name != "forceescape" ? v : Value::string(html_escape(v.str()), true);
  if (name == "length" || name == "count") return Value::integer(static_cast<int64_t>(length(v)));
  if (name == "string") return v.is_string() ? v : Value::string(v.str());
  if (name == "list") return Value::make_list(iterate(v));
  if (name == "items") {
    if (v.is_undefined()) return Value::make_list();
    if (!v.is_dict()) throw TemplateError("items: expected a mapping");
    return get_attr(v, "items").fn->operator()(a);
  }
  if (name == "select" || name == "reject") return select(v, a, false, name == "select");
  if (name == "selectattr" || name == "rejectattr") return select(v, a, true, name == "selectattr");
  if (name == "map") return map_filter(v, a);
  if (name == "unique") return unique(v, a);
  if (name == "min" || name == "max") return min_max(v, a, name == "max");
  if (name == "dictsort") return dictsort(v, a);
  if (name == "batch") return batch(v, a);
  if (name == "indent") return indent(v, a);
  if (name == "round") return round_filter(v, a);
  if (name == "pprint") return Value::string(v.repr());
  if (name == "attr") return get_attr(v, str_arg(a, 0, "name", ""));
  if (name == "sort") return Value::make_list(sorted(iterate(v), flag(a, 0, "reverse"), flag(a, 1, "case_sensitive"), arg(a, 2, "attribute")));
  if (name == "join") {
    std::string sep = str_arg(a, 0, "d", "");
    const Value* attribute = arg(a, 1, "attribute");
    std::string out;
    bool first = true;
    for (const auto& x : iterate(v)) {
      if (!first) out += sep;
      first = false;
      out += (attribute && !attribute->is_none() ? attr_path(x, attribute->str()) : x).str();
    }
    return Value::string(std::move(out));
  }
  if (name == "first" || name == "last") {
    if (v.is_list()) {
      if (v.list->empty()) return missing("No first item, sequence was empty.");
      return name == "first" ? v.list->front() : v.list->back();
    }
    const List items = iterate(v);
    if (items.empty()) return missing("No first item, sequence was empty.");
    return name == "first" ? items.front() : items.back();
  }
  if (name == "reverse") {
    if (v.is_string()) {
      auto cs = utf8_chars(v.s);
      std::string out;
      for (auto it = cs.rbegin(); it != cs.rend(); ++it) out += *it;
      return Value::string(std::move(out));
    }
    List items = iterate(v);
    std::reverse(items.begin(), items.end());
    return Value::make_list(std::move(items));
  }
  if (name == "sum") {
    const Value* attribute = arg(a, 0, "attribute");
    Value total = a.get(1, "start") ? *a.get(1, "start") : Value::integer(0);
    for (const auto& x : iterate(v)) {
      const Value y = attribute && !attribute->is_none() ? attr_path(x, attribute->str()) : x;
      if (!y.is_number() || !total.is_number()) throw TemplateError("sum: values must be numbers");
      if (y.kind == K::Float || total.kind == K::Float) total = Value::number(total.as_double() + y.as_double());
      else total = Value::integer(static_cast<int64_t>(total.as_double()) + (y.kind == K::Bool ? y.b : y.i));
    }
    return total;
  }
  if (name == "abs") {
    if (v.kind == K::Int) return Value::integer(v.i < 0 ? -v.i : v.i);
    if (v.kind == K::Bool) return Value::integer(v.b);
    if (v.kind == K::Float) return Value::number(std::fabs(v.f));
    throw TemplateError(std::string("bad operand type for abs(): '") + v.type_name() + "'");
  }
  if (name == "int") return to_int(v, int_arg(a, 0, "default", 0), static_cast<int>(int_arg(a, 1, "base", 10)));
  if (name == "float") {
    const Value* d = arg(a, 0, "default");
    return Value::number(to_float(v, d ? to_float(*d, 0) : 0.0));
  }
  if (name == "format") return Value::string(percent_format(v.str(), Value::make_tuple(a.pos)));
  if (name == "wordcount") return Value::integer(static_cast<int64_t>(split(v.str(), nullptr, -1, false).size()));
  if (name == "striptags") return Value::string(striptags(v.str()));
  // The string filters: undefined reads as "" (Jinja2 calls str() on it); Markup stays Markup.
  const std::string s = v.str();
  const bool markup = v.is_markup();
  if (name == "trim") {
    std::string chars;
    const Value* c = arg(a, 0, "chars");
    if (c && !c->is_none()) chars = c->str();
    return Value::string(strip(s, c && !c->is_none() ? &chars : nullptr, true, true), markup);
  }
  if (name == "upper") return Value::string(to_upper(s), markup);
  if (name == "lower") return Value::string(to_lower(s), markup);
  if (name == "title") return Value::string(jinja_title(s), markup);
  if (name == "capitalize") return Value::string(capitalize(s), markup);
  if (name == "replace") {
    return Value::string(replace(s, str_arg(a, 0, "old", ""), str_arg(a, 1, "new", ""), int_arg(a, 2, "count", -1)), markup);
  }
  if (name == "center") {
    const int64_t width = std::min<int64_t>(int_arg(a, 0, "width", 80), 1 << 20);
    const int64_t len = static_cast<int64_t>(utf8_length(s));
    if (width <= len) return Value::string(s);
    // Python's str.center puts the odd extra space on the right... unless the length is odd.
    const int64_t total = width - len;
    const int64_t left = total / 2 + (total & width & 1);
    return Value::string(std::string(static_cast<size_t>(left), ' ') + s + std::string(static_cast<size_t>(total - left), ' '));
  }
  if (name == "truncate") {
    const int64_t len = int_arg(a, 0, "length", 255);
    const bool killwords = flag(a, 1, "killwords");
    const std::string end = str_arg(a, 2, "end", "...");
    const int64_t leeway = int_arg(a, 3, "leeway", 5);
    const auto cs = utf8_chars(s);
    if (static_cast<int64_t>(cs.size()) <= len + leeway) return Value::string(s);
    const int64_t keep = std::max<int64_t>(0, len - static_cast<int64_t>(utf8_length(end)));
    std::string head;
    for (int64_t k = 0; k < keep; ++k) head += cs[static_cast<size_t>(k)];
    if (!killwords) {
      const size_t sp = head.rfind(' ');
      if (sp != std::string::npos) head.resize(sp);
    }
    return Value::string(head + end);
  }
  throw TemplateError("no filter named '" + name + "'");
}

}  // namespace kindred::tmpl
