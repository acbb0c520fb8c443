// The interpreter's value model: a Python-like dynamic value (Jinja2 runs on Python objects, so
// templates observe Python's truthiness, str(), repr() and comparison rules; this type mirrors them).
// Lists and dicts are shared by reference like Python objects; the sandbox forbids mutating them
// except through namespace() attribute assignment.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "template/chat_template.h"

namespace kindred::tmpl {

struct Value;
struct Dict;
struct CallArgs;
using List = std::vector<Value>;
using Function = std::function<Value(CallArgs&)>;

struct Value {
  enum class Kind : uint8_t { Undefined, None, Bool, Int, Float, String, List, Dict, Function };

  Kind kind = Kind::Undefined;
  bool b = false;     // Bool; String: a markupsafe Markup (`safe`'s result); List: a tuple
  int64_t i = 0;
  double f = 0;
  std::string s;      // String; for Undefined, the name that was missing (for messages)
  std::shared_ptr<tmpl::List> list;
  std::shared_ptr<tmpl::Dict> dict;
  std::shared_ptr<Function> fn;

  Value() = default;
  static Value undefined(std::string what = {});
  static Value none();
  static Value boolean(bool v);
  static Value integer(int64_t v);
  static Value number(double v);
  static Value string(std::string v, bool markup = false);
  static Value make_list(tmpl::List items = {});
  static Value make_tuple(tmpl::List items);  // prints as (a, b); otherwise a list
  static Value make_dict();
  static Value function(Function f);
  static Value from_json(const nlohmann::ordered_json& j);

  bool is_undefined() const { return kind == Kind::Undefined; }
  bool is_none() const { return kind == Kind::None; }
  bool is_string() const { return kind == Kind::String; }
  bool is_list() const { return kind == Kind::List; }
  bool is_dict() const { return kind == Kind::Dict; }
  bool is_number() const { return kind == Kind::Int || kind == Kind::Float || kind == Kind::Bool; }
  bool is_markup() const { return kind == Kind::String && b; }
  double as_double() const { return kind == Kind::Float ? f : static_cast<double>(kind == Kind::Bool ? b : i); }

  bool truthy() const;
  // Python str(x): what `{{ x }}` prints ("" for undefined).
  std::string str() const;
  // Python repr(x): how a value looks inside a printed list or dict.
  std::string repr() const;
  const char* type_name() const;  // Python's type name, for error messages
};

// An insertion-ordered dict with string keys (JSON objects and template dict literals).
struct Dict {
  std::vector<std::pair<std::string, Value>> items;
  bool is_namespace = false;  // namespace(): the only object whose attributes may be assigned
  const Value* find(std::string_view key) const;
  void set(const std::string& key, Value v);
};

// Arguments of a call: positional then keyword, as written.
struct CallArgs {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;
  // Positional i, else keyword `name`, else nullptr.
  const Value* get(size_t i, std::string_view name) const;
};

bool operator==(const Value& a, const Value& b);
// Python's <, for sort and comparisons; throws TemplateError for unorderable types.
bool less_than(const Value& a, const Value& b);

// Python float repr: shortest round-trip digits, "1.0", "1e+16", "inf".
std::string python_float(double v);
std::string python_string_repr(std::string_view s);
std::string html_escape(std::string_view s);

struct JsonOptions {
  int indent = -1;  // < 0: one line
  std::string item_sep = ", ", key_sep = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;
};
// Python json.dumps with the given options; throws TemplateError for undefined / functions.
std::string to_json(const Value& v, const JsonOptions& opts);

// UTF-8 helpers: code points, so len() and slicing count characters as Python does.
std::vector<std::string_view> utf8_chars(std::string_view s);
size_t utf8_length(std::string_view s);

}  // namespace kindred::tmpl
