// JSON Schema -> GBNF, for `response_format` {type: json_schema} and tool-call arguments: the
// grammar (see grammar.h) accepts only JSON texts the schema allows (all of them but for the
// choices and limits below), so that grammar-constrained decoding produces valid instances.
//
// Supported: type (string, number, integer, boolean, null, object, array, and arrays of
// types); properties, required, additionalProperties (false, true or a schema); items (a
// schema or false), prefixItems, minItems/maxItems; enum, const; anyOf/oneOf (oneOf is not
// made exclusive); allOf (merged into one schema where the parts combine simply); $ref to
// "#" and "#/..." pointers in the same document ($defs, definitions; recursion allowed);
// string minLength/maxLength; format date, time, date-time, uuid; minimum, maximum,
// exclusiveMinimum, exclusiveMaximum (bounds within +-1e18).
//
// Choices, where JSON Schema leaves the grammar a choice or the grammar cannot say it all:
//  - Object keys come in the order of `properties` (pass nlohmann::ordered_json to keep the
//    schema's order; nlohmann::json sorts keys). Required keys must appear, optional ones may
//    be left out; required keys missing from `properties` follow them.
//  - additionalProperties absent means allowed (as JSON Schema says), with any value. Extra
//    keys come after the declared ones and may not repeat a declared key (a key spelled with
//    escapes is not recognised as the same key).
//  - allOf joins the parts: properties and required are united, types intersected, the
//    tighter of two bounds kept, and additionalProperties: false in any part applies to the
//    merged object (JSON Schema would apply it to that part's own properties only; this is
//    what such schemas almost always mean). Other keywords that differ are an error.
//  - A schema without `type` takes its type from its keywords (properties -> object, items
//    -> array, minLength -> string); one with none of them allows any JSON value.
//  - enum/const values must appear in compact form (`{"a":1}`, not `{ "a": 1 }`); enum
//    values of a type other than an explicit `type` are dropped.
//  - Formats other than the four above are annotations (as JSON Schema 2020-12 says): a
//    plain string. minLength/maxLength count code points; an escape counts as one.
//  - Bounded numbers (type number with minimum/maximum) are narrowed: integers in range, and
//    fractions only where the integer part keeps every fraction in range (in [0, 1]: 0, 1 and
//    every 0.x; in [0.2, 1] only 1), no exponent. Integer bounds are exact.
//  - Numbers: at most 19 integer digits, 18 fraction digits and 4 exponent digits; whitespace
//    between tokens is at most one space or tab, or one newline and 20 spaces/tabs of
//    indentation. Both bounds keep a model from looping forever inside one token or gap.
//  - Counts (minItems, maxItems, minLength, maxLength) above kMaxCount are rejected rather
//    than relaxed.
// Keywords that would change validity but are not enforced (pattern, multipleOf, not, ...)
// throw std::invalid_argument naming the keyword and its JSON pointer; annotations (title,
// description, examples, default, $schema, $comment, ...) and unknown keywords are ignored.
#pragma once
#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kindred {

// Builds one GBNF grammar out of several parts that share the JSON primitives: one schema
// (json_schema_to_gbnf) or several (a tool call per function, tool_call_grammar.h).
class GbnfBuilder {
 public:
  static constexpr int kMaxCount = 1000;  // the grammar's own repetition limit

  GbnfBuilder();

  // Adds the rules for schema and returns the name of the rule matching its instances.
  // schema is its own document: "$ref": "#/..." resolves inside it. Throws
  // std::invalid_argument for an unsupported or unsatisfiable schema.
  std::string add_schema(const nlohmann::ordered_json& schema, std::string_view name_hint);

  // Adds `name ::= body` under a fresh name made from name_hint and returns that name; an
  // identical body added before is reused instead.
  std::string add_rule(std::string_view name_hint, const std::string& body);
  // A fresh name whose body comes later (define()), for recursive rules.
  std::string reserve_rule(std::string_view name_hint);
  void define(const std::string& name, const std::string& body);

  // Shared primitives, added on first use; each returns its rule name.
  std::string ws();          // the bounded whitespace allowed between tokens
  std::string any_value();   // any JSON value
  std::string any_object();  // any JSON object
  std::string any_string();  // any JSON string
  std::string string_char(); // one character inside a JSON string (an escape counts as one)
  // A JSON string (with its quotes) other than each of `values`, e.g. an object key that
  // may not repeat a declared one. A value written with escapes is not recognised as equal.
  std::string string_other_than(const std::vector<std::string>& values, std::string_view name_hint);

  // The grammar text, `root ::= root_body` first. Throws std::logic_error if a reserved
  // rule was never defined.
  std::string gbnf(const std::string& root_body) const;

  // A GBNF string literal that matches exactly `text` (UTF-8).
  static std::string literal(std::string_view text);

 private:
  std::vector<std::pair<std::string, std::string>> rules_;  // name, body ("" while reserved)
  std::map<std::string, std::string> by_body_;
  std::set<std::string> used_names_;
};

// The GBNF for instances of schema; see the top of this file. Throws std::invalid_argument.
std::string json_schema_to_gbnf(const nlohmann::ordered_json& schema);
std::string json_schema_to_gbnf(const nlohmann::json& schema);

// Bounded scalars (json_schema_scalars.cpp), as GBNF expressions without rule names.
// Decimal integers in [min, max], either bound open, at most 19 digits; "" if none fits.
std::string gbnf_integer_range(std::optional<long long> min, std::optional<long long> max);
// JSON numbers within the bounds, narrowed as described above; "" if none fits.
std::string gbnf_number_range(std::optional<double> min, bool min_exclusive, std::optional<double> max, bool max_exclusive);
// The characters inside the quotes of a string of format date, time, date-time or uuid
// (RFC 3339 and RFC 4122 shapes); "" for any other format.
std::string gbnf_string_format(std::string_view format);

// The GBNF for any JSON object (OpenAI's response_format {type: json_object} asks for an
// object at the top level, not any value).
std::string json_object_gbnf();

}  // namespace kindred
