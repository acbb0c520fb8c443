// Lorebook parsing and activation: key matching over the recent chat (plain, case-folded or
// regex), SillyTavern's selective logic, V3 decorators as gates and placement, recursion through
// activated content, and token-budget trimming.
#include "dialogue/lorebook.h"

#include <algorithm>
#include <charconv>
#include <regex>
#include <stdexcept>

namespace kindred::dialogue {
namespace {

using nlohmann::json;

[[noreturn]] void bad_field(const std::string& where, const char* want) {
  throw std::runtime_error("lorebook: " + where + " must be " + want);
}

std::optional<std::string> opt_string(const json& o, const char* key, const std::string& where) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) bad_field(where + "." + key, "a string");
  return it->get<std::string>();
}

std::optional<bool> opt_bool(const json& o, const char* key, const std::string& where) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) bad_field(where + "." + key, "a boolean");
  return it->get<bool>();
}

std::optional<double> opt_number(const json& o, const char* key, const std::string& where) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) bad_field(where + "." + key, "a number");
  return it->get<double>();
}

std::string trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1));
}

std::vector<std::string> split_commas(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = std::min(s.find(',', start), s.size());
    if (auto t = trim(s.substr(start, comma - start)); !t.empty()) out.push_back(std::move(t));
    start = comma + 1;
  }
  return out;
}

// Keys are arrays of strings; V3 also allows one comma-separated string for secondary keys.
std::vector<std::string> string_list(const json& o, const char* key, const std::string& where) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return {};
  if (it->is_string()) return split_commas(it->get<std::string>());
  if (!it->is_array()) bad_field(where + "." + key, "an array of strings");
  std::vector<std::string> out;
  for (const auto& v : *it) {
    if (!v.is_string()) bad_field(where + "." + key, "an array of strings");
    if (!v.get<std::string>().empty()) out.push_back(v.get<std::string>());
  }
  return out;
}

std::optional<int> parse_int(std::string_view s) {
  int v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<SelectiveLogic> logic_from_json(const json& v) {
  if (v.is_number_integer() && v.get<int>() >= 0 && v.get<int>() <= 3) return SelectiveLogic(v.get<int>());
  if (!v.is_string()) return std::nullopt;
  std::string s;
  for (char c : v.get<std::string>()) s += c == '_' ? ' ' : char(std::toupper(static_cast<unsigned char>(c)));
  if (s == "AND ANY") return SelectiveLogic::AndAny;
  if (s == "NOT ALL") return SelectiveLogic::NotAll;
  if (s == "NOT ANY") return SelectiveLogic::NotAny;
  if (s == "AND ALL") return SelectiveLogic::AndAll;
  return std::nullopt;
}

// SillyTavern stores its own entry settings under `extensions` when exporting a character book.
void apply_sillytavern_extensions(const json& ext, LoreEntry& e) {
  if (!ext.is_object()) return;
  if (auto it = ext.find("selectiveLogic"); it != ext.end())
    if (auto l = logic_from_json(*it)) e.logic = *l;
  if (auto it = ext.find("position"); it != ext.end() && it->is_number_integer()) {
    const int p = it->get<int>();
    if (p == 0) e.position = LorePosition::BeforeChar;
    if (p == 1) e.position = LorePosition::AfterChar;
    if (p == 4) {
      e.position = LorePosition::AtDepth;
      auto d = ext.find("depth");
      e.depth = d != ext.end() && d->is_number_integer() ? d->get<int>() : 4;
    }
  }
  if (auto it = ext.find("role"); it != ext.end() && it->is_number_integer()) {
    static const char* kRoles[] = {"system", "user", "assistant"};
    if (it->get<int>() >= 0 && it->get<int>() <= 2) e.role = kRoles[it->get<int>()];
  }
  if (auto it = ext.find("case_sensitive"); it != ext.end() && it->is_boolean()) e.case_sensitive = it->get<bool>();
  if (auto it = ext.find("scan_depth"); it != ext.end() && it->is_number_integer() && !e.decorators.scan_depth)
    e.decorators.scan_depth = it->get<int>();
  // Other tools' flags of other types are theirs to keep, not errors.
  auto flag = [&](const char* k) { auto it = ext.find(k); return it != ext.end() && it->is_boolean() && it->get<bool>(); };
  e.prevent_recursion = flag("prevent_recursion");
  e.exclude_recursion = flag("exclude_recursion");
}

LoreEntry parse_entry(const json& j, size_t index) {
  const std::string where = "entries[" + std::to_string(index) + "]";
  if (!j.is_object()) bad_field(where, "an object");
  LoreEntry e;
  e.index = index;
  e.keys = string_list(j, "keys", where);
  e.secondary_keys = string_list(j, "secondary_keys", where);
  e.content = opt_string(j, "content", where).value_or("");
  e.decorators = parse_decorators(e.content);
  e.enabled = opt_bool(j, "enabled", where).value_or(true);
  e.constant = opt_bool(j, "constant", where).value_or(false);
  e.selective = opt_bool(j, "selective", where).value_or(false);
  e.use_regex = opt_bool(j, "use_regex", where).value_or(false);
  e.case_sensitive = opt_bool(j, "case_sensitive", where);
  e.insertion_order = opt_number(j, "insertion_order", where).value_or(100);
  e.priority = opt_number(j, "priority", where);
  if (auto it = j.find("extensions"); it != j.end() && !it->is_null() && !it->is_object())
    bad_field(where + ".extensions", "an object");
  // Spec: "before_char" | "after_char"; some exporters write SillyTavern's number instead.
  if (auto it = j.find("position"); it != j.end()) {
    if (*it == "after_char" || *it == 1) e.position = LorePosition::AfterChar;
    else if (*it == "before_char" || *it == 0) e.position = LorePosition::BeforeChar;
  }
  // SillyTavern exports its real settings under extensions: they refine the fields above.
  if (auto it = j.find("extensions"); it != j.end()) apply_sillytavern_extensions(*it, e);
  if (auto it = j.find("selectiveLogic"); it != j.end())
    if (auto l = logic_from_json(*it)) e.logic = *l;
  e.name = opt_string(j, "name", where).value_or("");
  if (e.name.empty()) e.name = opt_string(j, "comment", where).value_or("");
  if (e.name.empty()) e.name = "#" + std::to_string(index);
  // Decorators that place the content win over the entry's own position (V3: @@position over @@depth).
  if (const auto& pos = e.decorators.position) {
    if (*pos == "after_desc") e.position = LorePosition::AfterDesc;
    if (*pos == "before_desc") e.position = LorePosition::BeforeDesc;
    if (*pos == "personality") e.position = LorePosition::Personality;
    if (*pos == "scenario") e.position = LorePosition::Scenario;
  } else if (e.decorators.depth) {
    e.position = LorePosition::AtDepth;
    e.depth = std::max(0, *e.decorators.depth);
  }
  if (e.decorators.role) e.role = *e.decorators.role;
  return e;
}

// Applies one decorator line ("name value"); false when unknown or invalid so a fallback runs.
bool apply_decorator(std::string_view line, LoreDecorators& d, std::set<std::string>& seen) {
  const size_t sp = line.find_first_of(" \t");
  const std::string name(line.substr(0, sp));
  const std::string value = sp == std::string_view::npos ? std::string() : trim(line.substr(sp + 1));
  static const std::set<std::string> kFlags = {"keep_activate_after_match", "dont_activate_after_match", "activate",
                                               "dont_activate", "ignore_on_max_context"};
  static const std::set<std::string> kInts = {"activate_only_after", "activate_only_every", "depth", "scan_depth",
                                              "is_greeting"};
  static const std::set<std::string> kPositions = {"after_desc", "before_desc", "personality", "scenario"};
  std::optional<int> number;
  if (kInts.count(name) && !(number = parse_int(value))) return false;
  if (name == "role" && value != "assistant" && value != "system" && value != "user") return false;
  if (name == "position" && !kPositions.count(value)) return false;
  const bool known = kFlags.count(name) || kInts.count(name) || name == "role" || name == "position" ||
                     name == "is_user_icon" || name == "additional_keys" || name == "exclude_keys" ||
                     name == "disable_ui_prompt";
  if (!known) return false;
  if (!seen.insert(name).second) return true;  // V3: only the first decorator of a name counts
  if (name == "keep_activate_after_match") d.keep_activate_after_match = true;
  if (name == "dont_activate_after_match") d.dont_activate_after_match = true;
  if (name == "activate") d.activate = true;
  if (name == "dont_activate") d.dont_activate = true;
  if (name == "ignore_on_max_context") d.ignore_on_max_context = true;
  if (name == "activate_only_after") d.activate_only_after = number;
  if (name == "activate_only_every") d.activate_only_every = number;
  if (name == "depth") d.depth = number;
  if (name == "scan_depth") d.scan_depth = number;
  if (name == "is_greeting") d.is_greeting = number;
  if (name == "role") d.role = value;
  if (name == "position") d.position = value;
  if (name == "is_user_icon") d.is_user_icon = value;
  if (name == "additional_keys") d.additional_keys = split_commas(value);
  if (name == "exclude_keys") d.exclude_keys = split_commas(value);
  if (name == "disable_ui_prompt") d.disable_ui_prompt.push_back(value);
  return true;
}

}  // namespace

LoreDecorators parse_decorators(std::string& content) {
  LoreDecorators d;
  std::set<std::string> seen;
  size_t pos = 0;
  bool resolved = true;  // whether the last `@@` line (or one of its `@@@` fallbacks) took effect
  while (pos < content.size() && content.compare(pos, 2, "@@") == 0) {
    size_t eol = content.find('\n', pos);
    if (eol == std::string::npos) eol = content.size();
    std::string_view line(content.data() + pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.substr(0, 3) == "@@@") {
      if (!resolved) resolved = apply_decorator(line.substr(3), d, seen);
    } else {
      resolved = apply_decorator(line.substr(2), d, seen);
    }
    pos = eol + 1;
  }
  if (pos > 0) {
    pos = std::min(pos, content.size());
    while (pos < content.size() && (content[pos] == '\n' || content[pos] == '\r')) ++pos;
    content.erase(0, pos);
  }
  return d;
}

Lorebook Lorebook::from_json(const json& j) {
  if (!j.is_object()) throw std::runtime_error("lorebook: must be a JSON object");
  const json& body = j.contains("spec") && j.contains("data") ? j.at("data") : j;
  if (!body.is_object()) bad_field("data", "an object");
  auto it = body.find("entries");
  if (it != body.end() && !it->is_array() && !it->is_object()) bad_field("entries", "an array");
  Lorebook book;
  book.json_ = j;
  opt_string(body, "name", "book");
  opt_number(body, "scan_depth", "book");
  opt_number(body, "token_budget", "book");
  opt_bool(body, "recursive_scanning", "book");
  if (it != body.end()) {
    // SillyTavern's standalone world files keep entries as an object keyed by uid.
    size_t i = 0;
    for (const auto& e : *it) book.entries_.push_back(parse_entry(e, i++));
  }
  return book;
}

namespace {
const json& body_of(const json& j) { return j.contains("spec") && j.contains("data") ? j.at("data") : j; }
}  // namespace

std::string Lorebook::name() const { return opt_string(body_of(json_), "name", "book").value_or(""); }
std::optional<int> Lorebook::scan_depth() const {
  auto v = opt_number(body_of(json_), "scan_depth", "book");
  return v ? std::optional<int>(int(*v)) : std::nullopt;
}
std::optional<int> Lorebook::token_budget() const {
  auto v = opt_number(body_of(json_), "token_budget", "book");
  return v ? std::optional<int>(int(*v)) : std::nullopt;
}
std::optional<bool> Lorebook::recursive_scanning() const {
  return opt_bool(body_of(json_), "recursive_scanning", "book");
}

const char* position_name(LorePosition p) {
  switch (p) {
    case LorePosition::BeforeChar: return "before_char";
    case LorePosition::AfterChar: return "after_char";
    case LorePosition::BeforeDesc: return "before_desc";
    case LorePosition::AfterDesc: return "after_desc";
    case LorePosition::Personality: return "personality";
    case LorePosition::Scenario: return "scenario";
    case LorePosition::AtDepth: return "at_depth";
  }
  return "before_char";
}

}  // namespace kindred::dialogue
