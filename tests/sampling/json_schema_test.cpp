// JSON Schema -> GBNF: every generated grammar is parsed by Grammar::parse and run through
// GrammarMatcher against instances the schema allows and ones it does not.
#include "sampling/json_schema.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "sampling/grammar.h"

namespace kindred {
namespace {

using J = nlohmann::ordered_json;

// Whether the whole of text is a complete sentence of the grammar.
bool complete(const GrammarMatcher& start, std::string_view text) {
  GrammarMatcher m = start;
  return m.accept_bytes(text) && m.can_end();
}

void expect_instances(const std::string& schema_text, const std::vector<std::string>& valid,
                      const std::vector<std::string>& invalid) {
  SCOPED_TRACE(schema_text);
  const std::string gbnf = json_schema_to_gbnf(J::parse(schema_text));
  const GrammarMatcher m(Grammar::parse(gbnf));
  for (const std::string& v : valid) EXPECT_TRUE(complete(m, v)) << "rejected valid " << v << "\n" << gbnf;
  for (const std::string& v : invalid) EXPECT_FALSE(complete(m, v)) << "accepted invalid " << v << "\n" << gbnf;
}

void expect_error(const std::string& schema_text, const std::string& keyword, const std::string& pointer) {
  SCOPED_TRACE(schema_text);
  try {
    json_schema_to_gbnf(J::parse(schema_text));
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(keyword), std::string::npos) << what;
    EXPECT_NE(what.find("at #" + pointer), std::string::npos) << what;
  }
}

TEST(JsonSchema, Primitives) {
  expect_instances(R"({"type":"string"})", {R"("")", R"("hi")", R"("a\"b\\c\n\u00e9")", "\"héllo ✓\""},
                   {R"(hi)", R"("unterminated)", "\"raw\nnewline\"", R"("bad\q")", R"(1)"});
  expect_instances(R"({"type":"integer"})", {"0", "-7", "1234567890123"}, {"01", "1.5", "-", "1e3", "\"1\"", "+1"});
  expect_instances(R"({"type":"number"})", {"0", "-0.5", "3.25", "1e10", "2.5E-3", "-12"},
                   {"01", ".5", "1.", "1e", "--1", "NaN", "Infinity"});
  expect_instances(R"({"type":"boolean"})", {"true", "false"}, {"True", "1", "null"});
  expect_instances(R"({"type":"null"})", {"null"}, {"nul", "None", "\"null\""});
  expect_instances(R"({"type":["string","null"]})", {"null", R"("x")"}, {"1", "true"});
  expect_instances(R"({})", {"1", R"({"a":[1,{"b":null}]})", R"("s")", "[]"}, {"{", "nan"});
  expect_instances(R"(true)", {"[1, 2]", "false"}, {"[1,"});
}

TEST(JsonSchema, NumbersAndWhitespaceAreBounded) {
  const GrammarMatcher m(Grammar::parse(json_schema_to_gbnf(J::parse(R"({"type":"array","items":{"type":"number"}})"))));
  EXPECT_TRUE(complete(m, "[1,\n    2 , 3]"));
  EXPECT_TRUE(complete(m, "[ 1,\t2]"));
  EXPECT_FALSE(complete(m, "[1,   2]")) << "three spaces in one gap";
  EXPECT_FALSE(complete(m, "[1,\n\n2]")) << "two newlines in one gap";
  EXPECT_FALSE(complete(m, "[1,\n" + std::string(21, ' ') + "2]"));
  EXPECT_TRUE(complete(m, "[" + std::string(19, '9') + "]"));
  EXPECT_FALSE(complete(m, "[" + std::string(20, '9') + "]")) << "the digit run is bounded";
}

TEST(JsonSchema, StringLengthsAndFormats) {
  expect_instances(R"({"type":"string","minLength":2,"maxLength":3})", {R"("ab")", R"("abc")", R"("\n\t")", R"("éé")"},
                   {R"("a")", R"("abcd")", R"("")"});
  expect_instances(R"({"minLength":1})", {R"("a")"}, {R"("")", "1"});
  expect_instances(R"({"type":"string","format":"date"})", {R"("2024-02-29")", R"("1999-12-31")"},
                   {R"("2024-13-01")", R"("2024-1-01")", R"("2024-01-32")", R"("x")"});
  expect_instances(R"({"type":"string","format":"time"})", {R"("23:59:60Z")", R"("08:30:00.123+02:00")"},
                   {R"("24:00:00Z")", R"("08:30:00")", R"("8:30:00Z")"});
  expect_instances(R"({"type":"string","format":"date-time"})", {R"("2024-05-06T07:08:09Z")", R"("2024-05-06t07:08:09-05:30")"},
                   {R"("2024-05-06 07:08")", R"("2024-05-06")"});
  expect_instances(R"({"type":"string","format":"uuid"})", {R"("123e4567-e89b-12d3-a456-426614174000")"},
                   {R"("123e4567e89b12d3a456426614174000")", R"("123e4567-e89b-12d3-a456-42661417400g")"});
  expect_instances(R"({"type":"string","format":"email"})", {R"("anything")"}, {"1"});  // an annotation only
}

TEST(JsonSchema, IntegerBoundsAreExact) {
  expect_instances(R"({"type":"integer","minimum":0})", {"0", "7", "1234567890123456789"}, {"-1", "-0", "01"});
  expect_instances(R"({"type":"integer","minimum":-12,"maximum":305})",
                   {"-12", "-10", "-9", "-1", "0", "9", "10", "99", "100", "299", "300", "305"},
                   {"-13", "-20", "-100", "306", "310", "399", "1000", "-0"});
  expect_instances(R"({"type":"integer","exclusiveMinimum":1,"exclusiveMaximum":10})", {"2", "9"}, {"1", "10", "0"});
  expect_instances(R"({"type":"integer","minimum":1.5,"maximum":3.5})", {"2", "3"}, {"1", "4"});
  expect_instances(R"({"type":"integer","minimum":5,"exclusiveMinimum":true})", {"6"}, {"5"});  // draft 4
  expect_instances(R"({"type":"integer","maximum":-5})", {"-5", "-6", "-100"}, {"-4", "0", "5"});
  // Every value of a range, against a brute-force check.
  const GrammarMatcher m(Grammar::parse(json_schema_to_gbnf(J::parse(R"({"type":"integer","minimum":-123,"maximum":4567})"))));
  for (int v = -1000; v <= 6000; ++v) ASSERT_EQ(complete(m, std::to_string(v)), v >= -123 && v <= 4567) << v;
}

TEST(JsonSchema, NumberBoundsNarrowToSafeValues) {
  expect_instances(R"({"type":"number","minimum":0,"maximum":1})", {"0", "1", "0.5", "0.999"}, {"-0.5", "1.5", "2", "-1"});
  expect_instances(R"({"type":"number","exclusiveMinimum":0,"maximum":100})", {"1", "1.5", "99.9", "100"},
                   {"0", "0.0", "-1", "100.5", "101"});
  expect_instances(R"({"type":"number","minimum":-2.5,"maximum":-1})", {"-2", "-1", "-1.5"}, {"-3", "-2.6", "0", "-0.5"});
  expect_instances(R"({"type":"number","minimum":0})", {"0", "3.25", "1000000"}, {"-0.1", "-3"});
  // Soundness: nothing outside the bounds is accepted, and every integer inside is.
  struct Case {
    const char* schema;
    double lo, hi;
    bool lo_excl, hi_excl;
  };
  const Case cases[] = {{R"({"type":"number","minimum":-2.5,"maximum":3})", -2.5, 3, false, false},
                        {R"({"type":"number","exclusiveMinimum":-2,"exclusiveMaximum":1.5})", -2, 1.5, true, true},
                        {R"({"type":"number","minimum":0.2,"exclusiveMaximum":7})", 0.2, 7, false, true}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.schema);
    const GrammarMatcher m(Grammar::parse(json_schema_to_gbnf(J::parse(c.schema))));
    for (int tenths = -100; tenths <= 100; ++tenths) {
      const double v = tenths / 10.0;
      const bool inside = (c.lo_excl ? v > c.lo : v >= c.lo) && (c.hi_excl ? v < c.hi : v <= c.hi);
      char text[32];
      std::snprintf(text, sizeof text, "%.1f", v);
      if (complete(m, text)) {
        EXPECT_TRUE(inside) << text;
      }
      if (tenths % 10 == 0) {
        EXPECT_EQ(complete(m, std::to_string(tenths / 10)), inside) << tenths / 10;
      }
    }
  }
}

TEST(JsonSchema, EnumAndConst) {
  expect_instances(R"({"enum":["red","green",3,null,{"a":[1]},"q\"uote"]})",
                   {R"("red")", R"("green")", "3", "null", R"({"a":[1]})", R"("q\"uote")"},
                   {R"("blue")", "4", R"({"a": [1]})", R"("red )"});
  expect_instances(R"({"type":"string","enum":["a",1]})", {R"("a")"}, {"1"});
  expect_instances(R"({"const":"fixed"})", {R"("fixed")"}, {R"("fixe")", R"("fixedd")"});
  expect_instances(R"({"enum":["ünï","日本"]})", {R"("ünï")", R"("日本")"}, {R"("日")"});
}

TEST(JsonSchema, ObjectsRequiredOptionalInOrder) {
  expect_instances(R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"},"c":{"type":"boolean"}},
                       "required":["b"],"additionalProperties":false})",
                   {R"({"b":"x"})", R"({"a":1,"b":"x"})", R"({"b":"x","c":true})", R"({"a":1,"b":"x","c":false})",
                    "{\n  \"a\": 1,\n  \"b\": \"x\"\n}", R"({ "b" : "x" })"},
                   {"{}", R"({"a":1})", R"({"b":"x","a":1})", R"({"b":"x",})", R"({,"b":"x"})", R"({"b":"x","d":1})",
                    R"({"b":1})", R"({"b":"x","b":"y"})"});
  expect_instances(R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}},"additionalProperties":false})",
                   {"{}", "{ }", R"({"a":1})", R"({"b":2})", R"({"a":1,"b":2})"}, {R"({"b":2,"a":1})", R"({"c":3})"});
  expect_instances(R"({"type":"object","additionalProperties":false})", {"{}"}, {R"({"a":1})"});
  // A property whose schema is false may not appear, not even as an extra key.
  expect_instances(R"({"type":"object","properties":{"a":{"type":"integer"},"secret":false}})", {R"({"a":1})", R"({"a":1,"b":2})"},
                   {R"({"a":1,"secret":2})", R"({"secret":2})"});
}

TEST(JsonSchema, AdditionalProperties) {
  // Absent: allowed with any value, after the declared keys, never repeating one.
  expect_instances(R"({"type":"object","properties":{"name":{"type":"string"}},"required":["name"]})",
                   {R"({"name":"x"})", R"({"name":"x","extra":[1,2]})", R"({"name":"x","nam":1,"names":2,"n":3})"},
                   {R"({"extra":1})", R"({"name":"x","name":"y"})", R"({"name":1})"});
  expect_instances(R"({"type":"object","properties":{"id":{"type":"integer"}},"additionalProperties":{"type":"string"}})",
                   {"{}", R"({"id":1,"k":"v"})", R"({"k":"v","k2":"w"})"}, {R"({"k":1})", R"({"id":"x"})", R"({"id":1,"id":2})"});
  expect_instances(R"({"type":"object","additionalProperties":{"type":"integer"}})", {"{}", R"({"a":1,"b":2})"}, {R"({"a":"x"})"});
  // A required key with no declared schema takes the additionalProperties schema.
  expect_instances(R"({"type":"object","required":["z"],"additionalProperties":{"type":"boolean"}})", {R"({"z":true})"},
                   {"{}", R"({"z":1})"});
}

TEST(JsonSchema, ArraysItemsPrefixAndCounts) {
  expect_instances(R"({"type":"array","items":{"type":"integer"}})", {"[]", "[1]", "[1,2,3]", "[ 1 , 2 ]"},
                   {"[1,]", "[,1]", R"(["a"])", "[1 2]"});
  expect_instances(R"({"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":3})", {"[1,2]", "[1,2,3]"},
                   {"[]", "[1]", "[1,2,3,4]"});
  expect_instances(R"({"type":"array","maxItems":0})", {"[]"}, {"[1]"});
  expect_instances(R"({"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"items":false})",
                   {"[]", R"(["a"])", R"(["a",1])"}, {R"([1])", R"(["a","b"])", R"(["a",1,2])"});
  expect_instances(R"({"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"items":{"type":"boolean"},"minItems":2})",
                   {R"(["a",1])", R"(["a",1,true,false])"}, {R"(["a"])", R"(["a",1,2])"});
  expect_instances(R"({"type":"array","prefixItems":[{"const":1},{"const":2},{"const":3}],"maxItems":2})", {"[1]", "[1,2]"},
                   {"[1,2,3]"});
}

TEST(JsonSchema, AnyOfOneOfAllOf) {
  expect_instances(R"({"anyOf":[{"type":"integer"},{"type":"string","maxLength":1}]})", {"5", R"("a")"}, {R"("ab")", "true"});
  expect_instances(R"({"oneOf":[{"const":"x"},{"type":"array","items":{"const":"x"}}]})", {R"("x")", R"(["x","x"])"}, {R"(["y"])"});
  expect_instances(R"({"allOf":[{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]},
                                {"properties":{"b":{"type":"string"}},"required":["b"]}],"additionalProperties":false})",
                   {R"({"a":1,"b":"x"})"}, {R"({"a":1})", R"({"b":"x"})", R"({"a":1,"b":"x","c":0})"});
  // Siblings of anyOf apply to every branch.
  expect_instances(R"({"type":"object","properties":{"kind":{"type":"string"}},"additionalProperties":false,
                       "anyOf":[{"required":["kind"]},{"properties":{"n":{"type":"integer"}},"required":["n"]}]})",
                   {R"({"kind":"k"})", R"({"kind":"k","n":1})", R"({"n":1})"}, {"{}", R"({"other":1})"});
  expect_error(R"({"allOf":[{"type":"string"},{"type":"integer"}]})", "no type in common", "/allOf/1");
  expect_instances(R"({"allOf":[{"type":"integer","minimum":0,"maximum":50},{"type":"number","minimum":10}]})", {"10", "50"},
                   {"9", "51", "10.5"});
  expect_error(R"({"allOf":[{"format":"date"},{"format":"uuid"}]})", "cannot merge differing 'format'", "/allOf/1");
}

TEST(JsonSchema, RefsAndRecursion) {
  expect_instances(R"({"$defs":{"pos":{"type":"integer","description":"positive"}},
                       "type":"object","properties":{"x":{"$ref":"#/$defs/pos"},"y":{"$ref":"#/definitions/label"}},
                       "definitions":{"label":{"enum":["a","b"]}},"required":["x","y"],"additionalProperties":false})",
                   {R"({"x":1,"y":"a"})"}, {R"({"x":"1","y":"a"})", R"({"x":1,"y":"c"})"});
  // A tree: a node holds a value and child nodes, recursively.
  const std::string tree = R"({"$defs":{"node":{"type":"object","properties":{"value":{"type":"integer"},
      "children":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["value"],"additionalProperties":false}},
      "$ref":"#/$defs/node"})";
  expect_instances(tree,
                   {R"({"value":1})", R"({"value":1,"children":[]})",
                    R"({"value":1,"children":[{"value":2,"children":[{"value":3}]},{"value":4}]})"},
                   {R"({"value":1,"children":[{"children":[]}]})", R"({"value":1,"children":[{"value":"x"}]})",
                    R"({"value":1,"children":[{"value":2,"children":[{"value":3,"x":1}]}]})"});
  // The root itself, referenced from inside.
  expect_instances(R"({"type":"object","properties":{"next":{"anyOf":[{"$ref":"#"},{"type":"null"}]}},"required":["next"],
                       "additionalProperties":false})",
                   {R"({"next":null})", R"({"next":{"next":{"next":null}}})"}, {R"({"next":{}})"});
  // A $ref with validating siblings is merged with its target.
  expect_instances(R"({"$defs":{"s":{"type":"string"}},"$ref":"#/$defs/s","maxLength":2})", {R"("ab")"}, {R"("abc")"});
}

TEST(JsonSchema, UnsupportedKeywordsNameKeywordAndPath) {
  expect_error(R"({"type":"object","properties":{"name":{"type":"string","pattern":"^a"}}})", "'pattern'",
               "/properties/name/pattern");
  expect_error(R"({"type":"integer","multipleOf":2})", "'multipleOf'", "/multipleOf");
  expect_error(R"({"type":"integer","minimum":3,"maximum":2})", "no number lies within", "");
  expect_error(R"({"type":"number","maximum":1e30})", "outside the supported", "");
  expect_error(R"({"type":"array","items":{"not":{"type":"null"}}})", "'not'", "/items/not");
  expect_error(R"({"type":"array","uniqueItems":true})", "'uniqueItems'", "/uniqueItems");
  expect_error(R"({"anyOf":[{"type":"object","patternProperties":{}}]})", "'patternProperties'", "/anyOf/0/patternProperties");
  expect_error(R"({"$ref":"http://example.com/s.json"})", "only local references", "/$ref");
  expect_error(R"({"$ref":"#/$defs/missing"})", "points at nothing", "/$ref");
  expect_error(R"({"type":"strin"})", "unknown type 'strin'", "/type");
  expect_error(R"({"type":"array","maxItems":5000})", "'maxItems' 5000 is above the supported 1000", "");
  expect_error(R"({"type":"string","minLength":3,"maxLength":2})", "maxLength is below minLength", "");
  expect_error(R"({"type":"object","required":["x"],"additionalProperties":false})", "required key 'x'", "");
  expect_error(R"({"properties":{"a":false},"required":["a"]})", "schema 'false'", "/properties/a");
  try {  // a reference to itself before any character: the grammar parser's check, reported here
    json_schema_to_gbnf(J::parse(R"({"$defs":{"loop":{"anyOf":[{"$ref":"#/$defs/loop"}]}},"$ref":"#/$defs/loop"})"));
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("left recursion"), std::string::npos) << e.what();
  }
  // Annotations and uniqueItems: false change nothing.
  expect_instances(R"({"title":"T","description":"D","examples":[1],"default":1,"$schema":"https://json-schema.org/draft/2020-12/schema",
                       "type":"integer","uniqueItems":false})", {"1"}, {"\"1\""});
}

TEST(JsonSchema, RealisticOpenAiSchema) {
  const std::string schema = R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},
      "tags":{"type":"array","items":{"type":"string"}}},"required":["name","age"],"additionalProperties":false})";
  expect_instances(schema,
                   {R"({"name":"Ada","age":36})", R"({"name":"Ada","age":36,"tags":[]})",
                    R"({"name":"Ada","age":36,"tags":["math","engines"]})",
                    "{\n  \"name\": \"Ada\",\n  \"age\": 36,\n  \"tags\": [\n    \"math\"\n  ]\n}"},
                   {R"({"name":"Ada"})", R"({"age":36,"name":"Ada"})", R"({"name":"Ada","age":36.5})",
                    R"({"name":"Ada","age":36,"tags":[1]})", R"({"name":"Ada","age":36,"email":"a@b"})",
                    R"({"name":"Ada","age":36})" "x"});
  // nlohmann::json sorts keys; the order of an ordered_json schema is kept.
  const GrammarMatcher sorted(Grammar::parse(json_schema_to_gbnf(nlohmann::json::parse(schema))));
  EXPECT_TRUE(complete(sorted, R"({"age":36,"name":"Ada"})"));
  EXPECT_FALSE(complete(sorted, R"({"name":"Ada","age":36})"));
}

TEST(JsonSchema, PydanticStyleSchema) {
  // The shape pydantic's model_json_schema() gives: $defs, titles, defaults, nullable unions.
  const std::string schema = R"({"$defs":{"Color":{"enum":["red","green"],"title":"Color","type":"string"},
      "Item":{"properties":{"sku":{"title":"Sku","type":"string","minLength":1},"qty":{"exclusiveMinimum":0,"title":"Qty","type":"integer"}},
              "required":["sku","qty"],"title":"Item","type":"object"}},
    "properties":{"color":{"$ref":"#/$defs/Color"},"items":{"items":{"$ref":"#/$defs/Item"},"title":"Items","type":"array","maxItems":3},
                  "note":{"anyOf":[{"type":"string"},{"type":"null"}],"default":null,"title":"Note"},
                  "when":{"format":"date-time","title":"When","type":"string"}},
    "required":["color","items"],"title":"Order","type":"object","additionalProperties":false})";
  expect_instances(schema,
                   {R"({"color":"red","items":[]})", R"({"color":"green","items":[{"sku":"A1","qty":2}],"note":null})",
                    R"({"color":"red","items":[{"sku":"x","qty":1},{"sku":"y","qty":9}],"note":"fast","when":"2025-01-02T03:04:05Z"})"},
                   {R"({"color":"blue","items":[]})", R"({"color":"red","items":[{"sku":"","qty":1}]})",
                    R"({"color":"red","items":[{"sku":"x","qty":0}]})", R"({"color":"red","items":[],"when":"yesterday"})",
                    R"({"color":"red","items":[{"sku":"a","qty":1},{"sku":"a","qty":1},{"sku":"a","qty":1},{"sku":"a","qty":1}]})"});
}

TEST(JsonSchema, DeepRecursionStaysWithinMatcherLimits) {
  const std::string tree = R"({"$defs":{"n":{"type":"object","properties":{"c":{"type":"array","items":{"$ref":"#/$defs/n"}}},
      "additionalProperties":false}},"$ref":"#/$defs/n"})";
  const GrammarMatcher m(Grammar::parse(json_schema_to_gbnf(J::parse(tree))));
  std::string deep;
  for (int i = 0; i < 60; ++i) deep += R"({"c":[)";
  deep += "{}";
  for (int i = 0; i < 60; ++i) deep += "]}";
  EXPECT_TRUE(complete(m, deep));
  EXPECT_FALSE(complete(m, deep.substr(0, deep.size() - 1)));
}

TEST(JsonSchema, JsonObjectGrammarAcceptsObjectsOnly) {
  const GrammarMatcher m(Grammar::parse(json_object_gbnf()));
  for (const char* ok : {"{}", R"({"a":1})", R"({"a":{"b":[1,"x",null,true]},"c":-1.5e3})", "{ \"k\" : \"v\" }"})
    EXPECT_TRUE(complete(m, ok)) << ok;
  for (const char* bad : {"[]", "1", "\"s\"", R"({"a":})", R"({"a":1,})", R"({a:1})", "{"})
    EXPECT_FALSE(complete(m, bad)) << bad;
}

TEST(JsonSchema, DecodingStaysInsideTheGrammar) {
  // The grammar works with apply_grammar: at every prefix of a valid instance, the next byte
  // is allowed and some byte outside the grammar is masked.
  const std::string schema = R"({"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"],"additionalProperties":false})";
  GrammarMatcher m(Grammar::parse(json_schema_to_gbnf(J::parse(schema))));
  const std::vector<std::string> pieces = {"{", "\"ok\"", ":", "true", "false", "}", "x", " "};
  const std::string text = R"({"ok":true})";
  for (size_t i = 0; i < text.size(); ++i) {
    std::vector<float> logits(pieces.size(), 0.0f);
    apply_grammar(m, pieces, logits, -1);
    EXPECT_EQ(logits[6], -INFINITY) << "at " << i;
    ASSERT_TRUE(m.accept_bytes(text.substr(i, 1))) << "at " << i;
  }
  EXPECT_TRUE(m.can_end());
}

}  // namespace
}  // namespace kindred
