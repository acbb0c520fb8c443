// Jinja2's built-in filters and tests, HF's globals, and the Python object protocol the
// templates rely on: attribute and item access (including str/dict/list methods, with the
// immutable sandbox's refusal of mutating ones), iteration and the undefined-value errors.
#pragma once
#include <chrono>
#include <string>
#include <vector>

#include "template/value.h"

namespace kindred::tmpl {

// Limits shared by the interpreter and the builtins, so no template can hang or exhaust memory.
inline constexpr size_t kMaxOutputBytes = 64u << 20;
inline constexpr int64_t kMaxRange = 1'000'000;

[[noreturn]] void undefined_error(const Value& undef);
// Undefined with the message Jinja2 gives when it is misused later.
Value missing(std::string message);

Value apply_filter(const std::string& name, const Value& v, CallArgs& args);
bool apply_test(const std::string& name, const Value& v, CallArgs& args);

// obj.name: a method bound to obj, a dict item, or Undefined.
Value get_attr(const Value& obj, const std::string& name);
// obj[key] with Python indexing (negative indices); Undefined when absent.
Value get_item(const Value& obj, const Value& key);
// obj[start:stop:step]; null pointers for omitted parts.
Value get_slice(const Value& obj, const Value* start, const Value* stop, const Value* step);
// The items a for loop visits: list items, dict keys, string characters; none for undefined.
List iterate(const Value& v);
size_t length(const Value& v);  // Python len(); throws for values without one

// Python `a % b` on strings (printf-style) and str.format.
std::string percent_format(const std::string& fmt, const Value& args);
std::string str_format(const std::string& fmt, const CallArgs& args);

// Globals: range, namespace, dict, raise_exception, strftime_now (reading `now`).
void add_globals(Dict& globals, std::chrono::system_clock::time_point now);

}  // namespace kindred::tmpl

namespace kindred::tmpl {

// Python's binary operators as Jinja2 applies them: + - * / // % ** and `~` (string concat).
// An undefined operand raises, except for `~` where it reads as "".
Value binary_op(const std::string& op, const Value& a, const Value& b);
// == != < > <= >= in, "not in".
bool compare_op(const std::string& op, const Value& a, const Value& b);
Value negate(const Value& v, bool minus);

}  // namespace kindred::tmpl
