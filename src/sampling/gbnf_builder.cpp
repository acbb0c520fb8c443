// GbnfBuilder: named rules, GBNF quoting and the JSON primitives shared by schema grammars.
#include <algorithm>
#include <map>
#include <stdexcept>

#include "util/utf8.h"
#include "sampling/json_schema.h"

namespace kindred {

using J = nlohmann::ordered_json;

namespace {

// Decodes valid UTF-8 into code points (schema strings come from a JSON parser, so valid).
std::vector<char32_t> code_points(std::string_view s) {
  std::vector<char32_t> out;
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const size_t len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    char32_t cp = len == 1 ? b : b & (0x7F >> len);
    for (size_t k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += len;
  }
  return out;
}

using util::append_utf8;

// One code point as GBNF writes it inside a string literal or a character class.
std::string gbnf_char(char32_t cp, bool in_class) {
  static const char* hex = "0123456789abcdef";
  switch (cp) {
    case '\n': return "\\n";
    case '\t': return "\\t";
    case '\r': return "\\r";
    case '\\': return "\\\\";
    case '"': return "\\\"";
    default: break;
  }
  if (in_class && (cp == ']' || cp == '[' || cp == '-' || cp == '^')) return std::string("\\") + static_cast<char>(cp);
  if (cp < 0x20 || cp == 0x7F) return std::string("\\x") + hex[cp >> 4] + hex[cp & 15];
  std::string out;
  append_utf8(out, cp);
  return out;
}

}  // namespace

GbnfBuilder::GbnfBuilder() {
  // Primitive names are taken up front so that a generated name never collides with one.
  for (const char* n : {"root", "ws", "value", "object", "member", "array", "string", "char", "number"})
    used_names_.insert(n);
}

std::string GbnfBuilder::literal(std::string_view text) {
  std::string out = "\"";
  for (char32_t cp : code_points(text)) out += gbnf_char(cp, false);
  return out + "\"";
}

std::string GbnfBuilder::reserve_rule(std::string_view name_hint) {
  std::string base;
  for (char c : name_hint) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (ok) base += c;
    else if (!base.empty() && base.back() != '-') base += '-';
    if (base.size() >= 40) break;
  }
  while (!base.empty() && base.back() == '-') base.pop_back();
  if (base.empty()) base = "rule";
  std::string name = base;
  for (int n = 2; used_names_.count(name); ++n) name = base + "-" + std::to_string(n);
  used_names_.insert(name);
  rules_.emplace_back(name, "");
  return name;
}

void GbnfBuilder::define(const std::string& name, const std::string& body) {
  for (auto& [n, b] : rules_) {
    if (n == name) {
      b = body;
      by_body_.try_emplace(body, name);
      return;
    }
  }
  throw std::logic_error("GbnfBuilder::define: rule '" + name + "' was not reserved");
}

std::string GbnfBuilder::add_rule(std::string_view name_hint, const std::string& body) {
  if (auto it = by_body_.find(body); it != by_body_.end()) return it->second;
  const std::string name = reserve_rule(name_hint);
  define(name, body);
  return name;
}

// The primitives keep fixed names; each is added once, when first used.
namespace {
std::string ensure(std::vector<std::pair<std::string, std::string>>& rules, const std::string& name,
                   const std::string& body) {
  const bool present = std::any_of(rules.begin(), rules.end(), [&](const auto& r) { return r.first == name; });
  if (!present) rules.emplace_back(name, body);
  return name;
}
}  // namespace

std::string GbnfBuilder::ws() { return ensure(rules_, "ws", "( [ \\t] | \"\\n\" [ \\t]{0,20} )?"); }

std::string GbnfBuilder::string_char() {
  return ensure(rules_, "char", "[^\"\\\\\\x00-\\x1f] | \"\\\\\" ( [\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4} )");
}

std::string GbnfBuilder::any_string() {
  const std::string c = string_char();
  return ensure(rules_, "string", "\"\\\"\" " + c + "* \"\\\"\"");
}

std::string GbnfBuilder::any_value() {
  const std::string w = ws(), s = any_string();
  ensure(rules_, "number",
         "\"-\"? ( \"0\" | [1-9] [0-9]{0,18} ) ( \".\" [0-9]{1,18} )? ( [eE] [-+]? [0-9]{1,4} )?");
  ensure(rules_, "value", "object | array | string | number | \"true\" | \"false\" | \"null\"");
  ensure(rules_, "object", "\"{\" " + w + " ( member ( " + w + " \",\" " + w + " member )* " + w + " )? \"}\"");
  ensure(rules_, "member", s + " " + w + " \":\" " + w + " value");
  ensure(rules_, "array", "\"[\" " + w + " ( value ( " + w + " \",\" " + w + " value )* " + w + " )? \"]\"");
  return "value";
}

std::string GbnfBuilder::any_object() {
  any_value();
  return "object";
}

std::string GbnfBuilder::gbnf(const std::string& root_body) const {
  std::string out = "root ::= " + root_body + "\n";
  for (const auto& [name, body] : rules_) {
    if (body.empty()) throw std::logic_error("GbnfBuilder: rule '" + name + "' reserved but never defined");
    out += name + " ::= " + body + "\n";
  }
  return out;
}

// A trie over the values' encoded characters; leaving the trie at any point, or ending where
// no value ends, is allowed.
std::string GbnfBuilder::string_other_than(const std::vector<std::string>& values, std::string_view name_hint) {
  const std::string hint(name_hint);
  const std::string c = string_char();
  if (values.empty()) return any_string();
  const std::string tail = add_rule("str-tail", c + "* \"\\\"\"");
  std::vector<std::vector<char32_t>> encoded;
  for (const std::string& v : values) {
    const std::string json = J(v).dump(-1, ' ', false, J::error_handler_t::replace);
    encoded.push_back(code_points(std::string_view(json).substr(1, json.size() - 2)));
  }
  // The rule after `depth` code points shared by `members` (indices into encoded).
  auto node = [&](auto&& self, const std::vector<size_t>& members, size_t depth) -> std::string {
    bool value_ends_here = false;
    std::map<char32_t, std::vector<size_t>> children;
    for (size_t m : members) {
      if (encoded[m].size() == depth) value_ends_here = true;
      else children[encoded[m][depth]].push_back(m);
    }
    std::string body = value_ends_here ? "" : "\"\\\"\"";
    std::string others = "[^\"\\\\\\x00-\\x1f";
    for (const auto& [cp, sub] : children) {
      std::string utf8;
      append_utf8(utf8, cp);
      body += (body.empty() ? "" : " | ") + literal(utf8) + " " + self(self, sub, depth + 1);
      others += gbnf_char(cp, true);
    }
    body += (body.empty() ? "" : " | ") + others + "] " + tail + " | \"\\\\\" ( [\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4} ) " + tail;
    return add_rule(hint, body);
  };
  std::vector<size_t> all(values.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  return add_rule(hint, "\"\\\"\" " + node(node, all, 0));
}

}  // namespace kindred
