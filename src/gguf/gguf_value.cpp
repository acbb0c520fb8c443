// Metadata values: construction, checked conversions and display.
#include <cmath>
#include <limits>
#include <sstream>

#include "gguf/gguf.h"

namespace kindred::gguf {

std::string_view value_type_name(ValueType t) {
  switch (t) {
    case ValueType::UINT8: return "u8";
    case ValueType::INT8: return "i8";
    case ValueType::UINT16: return "u16";
    case ValueType::INT16: return "i16";
    case ValueType::UINT32: return "u32";
    case ValueType::INT32: return "i32";
    case ValueType::FLOAT32: return "f32";
    case ValueType::BOOL: return "bool";
    case ValueType::STRING: return "str";
    case ValueType::ARRAY: return "arr";
    case ValueType::UINT64: return "u64";
    case ValueType::INT64: return "i64";
    case ValueType::FLOAT64: return "f64";
  }
  return "unknown";
}

Value Value::array(ValueType elem, Array items) {
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].type() != elem) {
      throw GgufError("array element " + std::to_string(i) + " has type " +
                      std::string(value_type_name(items[i].type())) + ", expected " +
                      std::string(value_type_name(elem)));
    }
  }
  return Value(ValueType::ARRAY, elem, std::move(items));
}

Value Value::string_array(const std::vector<std::string>& items) {
  Array a;
  a.reserve(items.size());
  for (const auto& s : items) a.push_back(string(s));
  return Value(ValueType::ARRAY, ValueType::STRING, std::move(a));
}

Value Value::f32_array(const std::vector<float>& items) {
  Array a;
  a.reserve(items.size());
  for (float f : items) a.push_back(f32(f));
  return Value(ValueType::ARRAY, ValueType::FLOAT32, std::move(a));
}

Value Value::i32_array(const std::vector<int32_t>& items) {
  Array a;
  a.reserve(items.size());
  for (int32_t v : items) a.push_back(i32(v));
  return Value(ValueType::ARRAY, ValueType::INT32, std::move(a));
}

ValueType Value::array_type() const {
  if (type_ != ValueType::ARRAY) throw GgufError("value is a " + std::string(value_type_name(type_)) + ", not an array");
  return elem_type_;
}

bool Value::is_integer() const {
  return std::holds_alternative<uint64_t>(storage_) || std::holds_alternative<int64_t>(storage_);
}

bool Value::is_number() const { return is_integer() || std::holds_alternative<double>(storage_); }

static GgufError wrong_type(ValueType actual, const char* wanted) {
  return GgufError("value is a " + std::string(value_type_name(actual)) + ", expected " + wanted);
}

uint64_t Value::as_u64() const {
  if (const auto* u = std::get_if<uint64_t>(&storage_)) return *u;
  if (const auto* i = std::get_if<int64_t>(&storage_)) {
    if (*i < 0) throw GgufError("value " + std::to_string(*i) + " is negative, expected unsigned");
    return static_cast<uint64_t>(*i);
  }
  throw wrong_type(type_, "an integer");
}

int64_t Value::as_i64() const {
  if (const auto* i = std::get_if<int64_t>(&storage_)) return *i;
  if (const auto* u = std::get_if<uint64_t>(&storage_)) {
    if (*u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      throw GgufError("value " + std::to_string(*u) + " does not fit in i64");
    }
    return static_cast<int64_t>(*u);
  }
  throw wrong_type(type_, "an integer");
}

uint32_t Value::as_u32() const {
  const uint64_t v = as_u64();
  if (v > std::numeric_limits<uint32_t>::max()) throw GgufError("value " + std::to_string(v) + " does not fit in u32");
  return static_cast<uint32_t>(v);
}

int32_t Value::as_i32() const {
  const int64_t v = as_i64();
  if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
    throw GgufError("value " + std::to_string(v) + " does not fit in i32");
  }
  return static_cast<int32_t>(v);
}

double Value::as_f64() const {
  if (const auto* d = std::get_if<double>(&storage_)) return *d;
  if (const auto* u = std::get_if<uint64_t>(&storage_)) return static_cast<double>(*u);
  if (const auto* i = std::get_if<int64_t>(&storage_)) return static_cast<double>(*i);
  throw wrong_type(type_, "a number");
}

bool Value::as_bool() const {
  if (const auto* b = std::get_if<bool>(&storage_)) return *b;
  throw wrong_type(type_, "a bool");
}

const std::string& Value::as_string() const {
  if (const auto* s = std::get_if<std::string>(&storage_)) return *s;
  throw wrong_type(type_, "a string");
}

const Value::Array& Value::as_array() const {
  if (const auto* a = std::get_if<Array>(&storage_)) return *a;
  throw wrong_type(type_, "an array");
}

static void append_quoted(std::ostringstream& out, const std::string& s) {
  out << '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out << "\\\""; break;
      case '\\': out << "\\\\"; break;
      case '\n': out << "\\n"; break;
      case '\r': out << "\\r"; break;
      case '\t': out << "\\t"; break;
      default:
        if (c < 0x20) {
          static const char* hex = "0123456789abcdef";
          out << "\\x" << hex[c >> 4] << hex[c & 15];
        } else {
          out << static_cast<char>(c);
        }
    }
  }
  out << '"';
}

std::string Value::to_display(size_t max_items) const {
  std::ostringstream out;
  if (const auto* u = std::get_if<uint64_t>(&storage_)) {
    out << *u;
  } else if (const auto* i = std::get_if<int64_t>(&storage_)) {
    out << *i;
  } else if (const auto* d = std::get_if<double>(&storage_)) {
    out.precision(type_ == ValueType::FLOAT32 ? 9 : 17);
    out << *d;
  } else if (const auto* b = std::get_if<bool>(&storage_)) {
    out << (*b ? "true" : "false");
  } else if (const auto* s = std::get_if<std::string>(&storage_)) {
    append_quoted(out, s->size() > 200 ? s->substr(0, 200) + "..." : *s);
  } else if (const auto* a = std::get_if<Array>(&storage_)) {
    out << '[';
    for (size_t k = 0; k < a->size() && k < max_items; ++k) {
      if (k) out << ", ";
      out << (*a)[k].to_display(max_items);
    }
    if (a->size() > max_items) out << ", ... (" << a->size() << " items)";
    out << ']';
  }
  return out.str();
}

}  // namespace kindred::gguf
