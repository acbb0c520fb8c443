// JSON Schema -> GBNF: the schema walk (the rule builder is in gbnf_builder.cpp, bounded
// scalars in json_schema_scalars.cpp).
#include "sampling/json_schema.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "sampling/grammar.h"

namespace kindred {

using J = nlohmann::ordered_json;

namespace {

// The compact JSON text of a value, as a model must write an enum/const value.
std::string compact(const J& value) { return value.dump(-1, ' ', false, J::error_handler_t::strict); }

std::string pointer_token(const std::string& key) {
  std::string out;
  for (char c : key) out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  return out;
}

// Keywords JSON Schema defines that would change which instances are valid but that the
// grammar does not enforce: an error, never a silent widening.
const std::set<std::string>& unsupported_keywords() {
  static const std::set<std::string> kSet = {
      "pattern", "patternProperties", "propertyNames", "minProperties", "maxProperties", "multipleOf", "not", "if", "then", "else",
      "dependentRequired", "dependentSchemas", "dependencies", "contains", "minContains", "maxContains",
      "unevaluatedProperties", "unevaluatedItems", "$dynamicRef", "$recursiveRef", "additionalItems"};
  return kSet;
}

// Keywords that only describe; merging and sibling checks skip them.
bool is_annotation(const std::string& k) {
  static const std::set<std::string> kSet = {"title", "description", "examples", "default", "$schema", "$id",
                                             "$comment", "deprecated", "readOnly", "writeOnly", "$defs",
                                             "definitions", "$anchor", "contentMediaType", "contentEncoding"};
  return kSet.count(k) > 0;
}

bool type_matches(const J& value, const std::string& type) {
  if (type == "null") return value.is_null();
  if (type == "boolean") return value.is_boolean();
  if (type == "integer") return value.is_number_integer() || (value.is_number_float() && std::trunc(value.get<double>()) == value.get<double>());
  if (type == "number") return value.is_number();
  if (type == "string") return value.is_string();
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  return false;
}

class SchemaConverter {
 public:
  SchemaConverter(GbnfBuilder& b, const J& document) : b_(b), doc_(document) {}

  // The rule for the instances of s, found at JSON pointer `path` of the document.
  std::string visit(const J& s, const std::string& path, const std::string& hint);

 private:
  [[noreturn]] static void fail(const std::string& message, const std::string& path) {
    throw std::invalid_argument("json schema: " + message + " at #" + path);
  }
  const J& resolve_ref(const std::string& ref, const std::string& path) const;
  J merge_all_of(const J& s, const std::string& path, int depth) const;
  J merge(const J& a, const J& b, const std::string& path, int depth) const;
  std::string ref_rule(const std::string& ref, const std::string& path);
  std::string enum_rule(const J& s, const J& values, const std::string& path, const std::string& hint);
  std::string type_rule(const std::string& type, const J& s, const std::string& path, const std::string& hint);
  std::string number_rule(bool integer, const J& s, const std::string& path, const std::string& hint);
  std::string string_rule(const J& s, const std::string& path, const std::string& hint);
  std::string object_rule(const J& s, const std::string& path, const std::string& hint);
  std::string array_rule(const J& s, const std::string& path, const std::string& hint);
  int count(const J& s, const char* keyword, const std::string& path) const;

  GbnfBuilder& b_;
  const J& doc_;
  std::map<std::string, std::string> ref_rules_;  // "$ref" value -> its rule
};

int SchemaConverter::count(const J& s, const char* keyword, const std::string& path) const {
  if (!s.contains(keyword)) return -1;
  const J& v = s[keyword];
  if (!v.is_number_integer() || v.get<long long>() < 0) fail(std::string("'") + keyword + "' must be a non-negative integer", path);
  if (v.get<long long>() > GbnfBuilder::kMaxCount)
    fail(std::string("'") + keyword + "' " + v.dump() + " is above the supported " + std::to_string(GbnfBuilder::kMaxCount), path);
  return static_cast<int>(v.get<long long>());
}

const J& SchemaConverter::resolve_ref(const std::string& ref, const std::string& path) const {
  if (ref.empty() || ref[0] != '#') fail("only local references (\"#/...\") are supported, not '" + ref + "'", path + "/$ref");
  try {
    const J::json_pointer pointer(ref.substr(1));
    if (!doc_.contains(pointer)) fail("reference '" + ref + "' points at nothing", path + "/$ref");
    return doc_.at(pointer);
  } catch (const nlohmann::json::exception& e) {
    fail("bad reference '" + ref + "': " + e.what(), path + "/$ref");
  }
}

std::string SchemaConverter::ref_rule(const std::string& ref, const std::string& path) {
  if (auto it = ref_rules_.find(ref); it != ref_rules_.end()) return it->second;
  const J& target = resolve_ref(ref, path);
  // Reserved before the walk so that a recursive reference finds it.
  const std::string name = b_.reserve_rule("ref-" + ref.substr(ref.find_last_of('/') + 1));
  ref_rules_[ref] = name;
  b_.define(name, visit(target, ref.substr(1), name));
  return name;
}

// allOf (and a $ref with validating siblings) becomes one schema: the parts' keywords joined.
J SchemaConverter::merge_all_of(const J& s, const std::string& path, int depth) const {
  if (depth > 32) fail("allOf/$ref nesting too deep to merge", path);
  J base = J::object();
  for (const auto& [k, v] : s.items())
    if (k != "allOf" && k != "$ref") base[k] = v;
  if (s.contains("$ref")) {
    if (!s["$ref"].is_string()) fail("'$ref' must be a string", path);
    base = merge(base, resolve_ref(s["$ref"].get<std::string>(), path), path, depth + 1);
  }
  if (s.contains("allOf")) {
    if (!s["allOf"].is_array() || s["allOf"].empty()) fail("'allOf' must be a non-empty array", path);
    for (size_t i = 0; i < s["allOf"].size(); ++i)
      base = merge(base, s["allOf"][i], path + "/allOf/" + std::to_string(i), depth + 1);
  }
  return base;
}

J SchemaConverter::merge(const J& a, const J& b_in, const std::string& path, int depth) const {
  if (b_in.is_boolean()) {
    if (!b_in.get<bool>()) fail("schema 'false' in allOf allows no value", path);
    return a;
  }
  if (!b_in.is_object()) fail("a schema must be an object or a boolean", path);
  const J b = b_in.contains("$ref") || b_in.contains("allOf") ? merge_all_of(b_in, path, depth) : b_in;
  J out = a;
  for (const auto& [k, v] : b.items()) {
    if (is_annotation(k) && k != "$defs" && k != "definitions") continue;
    if (!out.contains(k) || out[k] == v) {
      out[k] = v;
      continue;
    }
    J& mine = out[k];
    if (k == "properties") {
      for (const auto& [name, sub] : v.items())
        mine[name] = mine.contains(name) ? J{{"allOf", J::array({mine[name], sub})}} : sub;
    } else if (k == "required") {
      for (const J& name : v)
        if (std::find(mine.begin(), mine.end(), name) == mine.end()) mine.push_back(name);
    } else if (k == "type") {
      const J x = mine.is_array() ? mine : J::array({mine}), y = v.is_array() ? v : J::array({v});
      J both = J::array();
      for (const J& t : x) {
        const bool in_y = std::find(y.begin(), y.end(), t) != y.end() ||
                          (t == "integer" && std::find(y.begin(), y.end(), "number") != y.end());
        const bool y_int = t == "number" && std::find(y.begin(), y.end(), "integer") != y.end();
        if (in_y) both.push_back(t);
        else if (y_int) both.push_back("integer");
      }
      if (both.empty()) fail("allOf parts have no type in common", path);
      mine = both.size() == 1 ? both[0] : both;
    } else if (k == "additionalProperties" || k == "items") {
      // false in any part wins (for additionalProperties a deliberate simplification, see the header).
      if (mine == false || v == false) mine = false;
      else mine = J{{"allOf", J::array({mine, v})}};
    } else if ((k == "minLength" || k == "minItems" || k == "minimum") && mine.is_number() && v.is_number()) {
      mine = mine.get<double>() >= v.get<double>() ? mine : v;
    } else if ((k == "maxLength" || k == "maxItems" || k == "maximum") && mine.is_number() && v.is_number()) {
      mine = mine.get<double>() <= v.get<double>() ? mine : v;
    } else {
      fail("cannot merge differing '" + k + "' in allOf", path);
    }
  }
  return out;
}

std::string SchemaConverter::visit(const J& s, const std::string& path, const std::string& hint) {
  if (s.is_boolean()) {
    if (!s.get<bool>()) fail("schema 'false' allows no value", path);
    return b_.any_value();
  }
  if (!s.is_object()) fail("a schema must be an object or a boolean", path);
  for (const auto& [k, v] : s.items()) {
    if (unsupported_keywords().count(k)) fail("unsupported keyword '" + k + "'", path + "/" + pointer_token(k));
    if (k == "uniqueItems" && v != false) fail("unsupported keyword 'uniqueItems'", path + "/uniqueItems");
  }
  bool validating_siblings = false;  // keywords besides $ref / anyOf / oneOf / allOf and annotations
  for (const auto& [k, v] : s.items())
    if (!is_annotation(k) && k != "$ref" && k != "allOf" && k != "anyOf" && k != "oneOf") validating_siblings = true;

  if (s.contains("$ref") && !validating_siblings && !s.contains("allOf") && !s.contains("anyOf") && !s.contains("oneOf")) {
    if (!s["$ref"].is_string()) fail("'$ref' must be a string", path);
    return ref_rule(s["$ref"].get<std::string>(), path);
  }
  if (s.contains("$ref") || s.contains("allOf")) return visit(merge_all_of(s, path, 0), path, hint);
  for (const char* key : {"anyOf", "oneOf"}) {
    if (!s.contains(key)) continue;
    const J& branches = s[key];
    if (!branches.is_array() || branches.empty()) fail(std::string("'") + key + "' must be a non-empty array", path);
    J rest = s;
    rest.erase(key);
    std::string body;
    for (size_t i = 0; i < branches.size(); ++i) {
      const std::string at = path + "/" + key + "/" + std::to_string(i);
      // Validating siblings apply to every branch: merge them in (a plain branch keeps its $ref rule).
      const std::string rule = validating_siblings || rest.contains("anyOf") || rest.contains("oneOf")
                                   ? visit(merge(rest, branches[i], at, 0), at, hint + "-" + std::to_string(i))
                                   : visit(branches[i], at, hint + "-" + std::to_string(i));
      body += (body.empty() ? "" : " | ") + rule;
    }
    return b_.add_rule(hint, body);
  }
  if (s.contains("const")) return enum_rule(s, J::array({s["const"]}), path + "/const", hint);
  if (s.contains("enum")) {
    if (!s["enum"].is_array() || s["enum"].empty()) fail("'enum' must be a non-empty array", path);
    return enum_rule(s, s["enum"], path + "/enum", hint);
  }

  std::vector<std::string> types;
  if (s.contains("type")) {
    const J& t = s["type"];
    for (const J& one : t.is_array() ? t : J::array({t})) {
      if (!one.is_string()) fail("'type' must be a string or an array of strings", path + "/type");
      types.push_back(one.get<std::string>());
    }
    if (types.empty()) fail("'type' is an empty array", path + "/type");
  } else {  // inferred from the keywords present
    auto has_any = [&](std::initializer_list<const char*> keys) {
      return std::any_of(keys.begin(), keys.end(), [&](const char* k) { return s.contains(k); });
    };
    if (has_any({"properties", "required", "additionalProperties"})) types.push_back("object");
    if (has_any({"items", "prefixItems", "minItems", "maxItems"})) types.push_back("array");
    if (has_any({"minLength", "maxLength", "format"})) types.push_back("string");
    if (types.empty()) return b_.any_value();
  }
  std::string body;
  for (const std::string& t : types) body += (body.empty() ? "" : " | ") + type_rule(t, s, path, hint);
  return types.size() == 1 ? body : b_.add_rule(hint, body);
}

std::string SchemaConverter::enum_rule(const J& s, const J& values, const std::string& path, const std::string& hint) {
  std::vector<std::string> types;
  if (s.contains("type")) {
    const J& t = s["type"];
    for (const J& one : t.is_array() ? t : J::array({t}))
      if (one.is_string()) types.push_back(one.get<std::string>());
  }
  std::string body;
  for (const J& v : values) {
    if (!types.empty() && std::none_of(types.begin(), types.end(), [&](const std::string& t) { return type_matches(v, t); }))
      continue;
    std::string text;
    try {
      text = compact(v);
    } catch (const nlohmann::json::exception& e) {
      fail(std::string("value cannot be written as JSON: ") + e.what(), path);
    }
    body += (body.empty() ? "" : " | ") + GbnfBuilder::literal(text);
  }
  if (body.empty()) fail("no enum/const value has the schema's type", path);
  return b_.add_rule(hint, body);
}

std::string SchemaConverter::type_rule(const std::string& type, const J& s, const std::string& path,
                                       const std::string& hint) {
  if (type == "null") return b_.add_rule("null", "\"null\"");
  if (type == "boolean") return b_.add_rule("boolean", "\"true\" | \"false\"");
  if (type == "integer" || type == "number") return number_rule(type == "integer", s, path, hint);
  if (type == "string") return string_rule(s, path, hint);
  if (type == "object") return object_rule(s, path, hint);
  if (type == "array") return array_rule(s, path, hint);
  fail("unknown type '" + type + "'", path + "/type");
}

// minimum/maximum (inclusive) and exclusiveMinimum/exclusiveMaximum (a number, or draft 4's
// boolean that makes minimum/maximum exclusive).
std::string SchemaConverter::number_rule(bool integer, const J& s, const std::string& path, const std::string& hint) {
  std::optional<double> lo, hi;
  bool lo_excl = false, hi_excl = false;
  auto bound = [&](const char* inclusive, const char* exclusive, std::optional<double>& v, bool& excl, bool lower) {
    if (s.contains(inclusive)) {
      if (!s[inclusive].is_number()) fail(std::string("'") + inclusive + "' must be a number", path);
      v = s[inclusive].get<double>();
    }
    if (!s.contains(exclusive)) return;
    const J& e = s[exclusive];
    if (e.is_boolean()) {
      excl = e.get<bool>() && v.has_value();
    } else if (e.is_number()) {
      const double x = e.get<double>();
      if (!v || (lower ? x >= *v : x <= *v)) {
        v = x;
        excl = true;
      }
    } else {
      fail(std::string("'") + exclusive + "' must be a number", path);
    }
  };
  bound("minimum", "exclusiveMinimum", lo, lo_excl, true);
  bound("maximum", "exclusiveMaximum", hi, hi_excl, false);
  if (!lo && !hi) {
    if (integer) return b_.add_rule("integer", "\"-\"? ( \"0\" | [1-9] [0-9]{0,18} )");
    b_.any_value();
    return "number";
  }
  for (const auto& v : {lo, hi})
    if (v && !(std::fabs(*v) <= 1e18)) fail("numeric bound " + J(*v).dump() + " is outside the supported +-1e18", path);
  std::string body;
  if (integer) {
    std::optional<long long> min, max;
    if (lo) min = lo_excl ? static_cast<long long>(std::floor(*lo)) + 1 : static_cast<long long>(std::ceil(*lo));
    if (hi) max = hi_excl ? static_cast<long long>(std::ceil(*hi)) - 1 : static_cast<long long>(std::floor(*hi));
    body = gbnf_integer_range(min, max);
  } else {
    body = gbnf_number_range(lo, lo_excl, hi, hi_excl);
  }
  if (body.empty()) fail("no number lies within minimum/maximum", path);
  return b_.add_rule(hint + (integer ? "-integer" : "-number"), body);
}

std::string SchemaConverter::string_rule(const J& s, const std::string& path, const std::string& hint) {
  const int min = count(s, "minLength", path), max = count(s, "maxLength", path);
  if (min >= 0 && max >= 0 && max < min) fail("maxLength is below minLength", path);
  if (s.contains("format") && s["format"].is_string()) {
    const std::string format = s["format"].get<std::string>();
    if (const std::string shape = gbnf_string_format(format); !shape.empty()) {
      if (min >= 0 || max >= 0) fail("minLength/maxLength together with format '" + format + "' are not supported", path);
      return b_.add_rule(format, "\"\\\"\" " + shape + " \"\\\"\"");
    }
  }
  if (min <= 0 && max < 0) return b_.any_string();
  const std::string c = b_.string_char();
  const std::string reps = max < 0 ? "{" + std::to_string(min) + ",}" : "{" + std::to_string(std::max(min, 0)) + "," + std::to_string(max) + "}";
  return b_.add_rule(hint + "-string", "\"\\\"\" " + c + reps + " \"\\\"\"");
}

// Objects: keys in the order of `properties`. Item i is `"key" ws ":" ws value`. after_i
// matches items i.. when something came before (each item led by a comma); first_i matches a
// non-empty run of items i.. with nothing before. Each is a rule of constant size, so the
// grammar grows linearly with the number of properties, and no input has two parses.
std::string SchemaConverter::object_rule(const J& s, const std::string& path, const std::string& hint) {
  const std::string w = b_.ws();
  struct Item {
    std::string name;
    std::string rule;
    bool required = false;
  };
  std::vector<Item> items;
  std::vector<std::string> declared;
  std::set<std::string> required;
  if (s.contains("required")) {
    if (!s["required"].is_array()) fail("'required' must be an array of strings", path);
    for (const J& r : s["required"]) {
      if (!r.is_string()) fail("'required' must be an array of strings", path + "/required");
      required.insert(r.get<std::string>());
    }
  }
  auto item_rule = [&](const std::string& key, const std::string& value_rule) {
    return b_.add_rule(hint + "-" + key + "-kv",
                       GbnfBuilder::literal(compact(J(key))) + " " + w + " \":\" " + w + " " + value_rule);
  };
  if (s.contains("properties")) {
    if (!s["properties"].is_object()) fail("'properties' must be an object", path);
    for (const auto& [key, sub] : s["properties"].items()) {
      const std::string at = path + "/properties/" + pointer_token(key);
      if (sub == false && !required.count(key)) {  // a key that may not appear
        declared.push_back(key);
        continue;
      }
      items.push_back({key, item_rule(key, visit(sub, at, hint + "-" + key)), required.count(key) > 0});
      declared.push_back(key);
    }
  }
  const J additional = s.contains("additionalProperties") ? s["additionalProperties"] : J(true);
  const bool extras_allowed = additional != false;
  std::string extra_value;
  if (extras_allowed) extra_value = visit(additional, path + "/additionalProperties", hint + "-extra");
  // Required keys without a declared schema take additionalProperties' schema, after the rest.
  for (const J& r : s.value("required", J::array())) {
    const std::string key = r.get<std::string>();
    if (std::find(declared.begin(), declared.end(), key) != declared.end()) continue;
    if (!extras_allowed) fail("required key '" + key + "' is not in properties and additionalProperties is false", path);
    items.push_back({key, item_rule(key, extra_value), true});
    declared.push_back(key);
  }
  std::string extra_loop, first_extra;  // extra members after the declared ones
  if (extras_allowed) {
    const std::string extra_kv =
        b_.add_rule(hint + "-extra-kv", b_.string_other_than(declared, hint + "-key") + " " + w + " \":\" " + w + " " + extra_value);
    extra_loop = b_.add_rule(hint + "-extras", "( " + w + " \",\" " + w + " " + extra_kv + " )*");
    first_extra = b_.add_rule(hint + "-extras-first", extra_kv + " " + extra_loop);
  }
  // Built from the last item backwards; "" stands for "matches nothing / no rule".
  std::string after = extra_loop;  // after_{n}
  std::string first = first_extra;  // first_{n}, non-empty
  bool any_required = false;
  for (size_t i = items.size(); i-- > 0;) {
    const Item& it = items[i];
    const std::string next_after = after;
    const std::string lead = w + " \",\" " + w + " " + it.rule;
    after = b_.add_rule(hint + "-after", it.required ? lead + (next_after.empty() ? "" : " " + next_after)
                                                     : "( " + lead + " )?" + (next_after.empty() ? "" : " " + next_after));
    std::string first_body = it.rule + (next_after.empty() ? "" : " " + next_after);
    if (!it.required && !first.empty()) first_body += " | " + first;
    first = b_.add_rule(hint + "-first", first_body);
    any_required |= it.required;
  }
  if (first.empty()) return b_.add_rule(hint + "-object", "\"{\" " + w + " \"}\"");
  if (any_required) return b_.add_rule(hint + "-object", "\"{\" " + w + " " + first + " " + w + " \"}\"");
  return b_.add_rule(hint + "-object", "\"{\" " + w + " ( " + first + " " + w + " )? \"}\"");
}

// Arrays: prefixItems take positions 1..P, `items` the rest; minItems/maxItems bound the count.
std::string SchemaConverter::array_rule(const J& s, const std::string& path, const std::string& hint) {
  const std::string w = b_.ws();
  const int min_items = std::max(count(s, "minItems", path), 0), max_items = count(s, "maxItems", path);
  if (max_items >= 0 && max_items < min_items) fail("maxItems is below minItems", path);
  std::vector<std::string> prefix;
  if (s.contains("prefixItems")) {
    if (!s["prefixItems"].is_array()) fail("'prefixItems' must be an array", path);
    for (size_t i = 0; i < s["prefixItems"].size(); ++i)
      prefix.push_back(visit(s["prefixItems"][i], path + "/prefixItems/" + std::to_string(i), hint + "-" + std::to_string(i)));
  }
  const J items = s.contains("items") ? s["items"] : J(true);
  const std::string item = items == false ? "" : visit(items, path + "/items", hint + "-item");
  const int p = static_cast<int>(prefix.size());
  int max_n = max_items;  // -1: unbounded
  if (item.empty()) max_n = max_n < 0 ? p : std::min(max_n, p);
  if (min_items > max_n && max_n >= 0) fail("minItems cannot be met: items is false after prefixItems", path);
  if (max_n == 0) return b_.add_rule(hint + "-array", "\"[\" " + w + " \"]\"");
  // The part after position k (k items written), for the positions past the prefix.
  auto tail_after = [&](int k) -> std::string {
    if (item.empty() || (max_n >= 0 && k >= max_n)) return "";
    const int lo = std::max(min_items - k, 0);
    const std::string reps = max_n < 0 ? "{" + std::to_string(lo) + ",}" : "{" + std::to_string(lo) + "," + std::to_string(max_n - k) + "}";
    return b_.add_rule(hint + "-rest", "( " + w + " \",\" " + w + " " + item + " )" + reps);
  };
  std::string after = tail_after(std::max(p, 1));  // what follows position max(p,1)
  for (int k = p - 1; k >= 1; --k) {  // position k+1 is a prefix item
    if (max_n >= 0 && k >= max_n) {
      after = "";
      continue;
    }
    const std::string lead = w + " \",\" " + w + " " + prefix[static_cast<size_t>(k)] + (after.empty() ? "" : " " + after);
    after = b_.add_rule(hint + "-after", k < min_items ? lead : "( " + lead + " )?");
  }
  const std::string first_item = p > 0 ? prefix[0] : item;
  const std::string body = b_.add_rule(hint + "-items", first_item + (after.empty() ? "" : " " + after));
  if (min_items > 0) return b_.add_rule(hint + "-array", "\"[\" " + w + " " + body + " " + w + " \"]\"");
  return b_.add_rule(hint + "-array", "\"[\" " + w + " ( " + body + " " + w + " )? \"]\"");
}

}  // namespace

std::string GbnfBuilder::add_schema(const nlohmann::ordered_json& schema, std::string_view name_hint) {
  SchemaConverter converter(*this, schema);
  return converter.visit(schema, "", std::string(name_hint));
}

std::string json_schema_to_gbnf(const nlohmann::ordered_json& schema) {
  GbnfBuilder builder;
  const std::string top = builder.add_schema(schema, "schema");
  std::string text = builder.gbnf(top);
  // A schema can still make a grammar the matcher refuses (a reference to itself with nothing
  // consumed first, a grammar over the size limit): say so here, not at the first token.
  try {
    Grammar::parse(text);
  } catch (const GrammarError& e) {
    throw std::invalid_argument(std::string("json schema: the grammar it gives is not usable: ") + e.what());
  }
  return text;
}

std::string json_schema_to_gbnf(const nlohmann::json& schema) { return json_schema_to_gbnf(nlohmann::ordered_json(schema)); }

std::string json_object_gbnf() {
  GbnfBuilder builder;
  return builder.gbnf(builder.any_object());
}

}  // namespace kindred
