// Detecting a template's tool-call syntax and taking calls out of generated text.
#include "template/tool_calls.h"

#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

namespace kindred {
namespace {

using J = nlohmann::ordered_json;  // keeps the model's key order in arguments

constexpr std::string_view kSpace = " \t\r\n";

std::string_view trim(std::string_view s) {
  const size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

// The end (one past) of the JSON object or array starting at s[start], found by bracket
// depth outside strings; npos if it does not close. Validity is checked by the parser after.
size_t json_extent(std::string_view s, size_t start) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = start; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

std::optional<J> parse_json(std::string_view text) {
  J value = J::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return std::nullopt;
  return value;
}

std::string compact(const J& value) { return value.dump(-1, ' ', false, J::error_handler_t::replace); }

// Arguments as compact JSON text: an object, or a string holding one.
std::optional<std::string> arguments_text(const J& args) {
  if (args.is_object()) return compact(args);
  if (args.is_string()) {
    const auto inner = parse_json(args.get<std::string>());
    if (inner && inner->is_object()) return compact(*inner);
  }
  return std::nullopt;
}

// The end of the object, array or string starting at s[start] (templates that render string
// arguments with `tojson` write a JSON string), npos if there is none.
size_t json_value_end(std::string_view s, size_t start) {
  if (s[start] == '{' || s[start] == '[') return json_extent(s, start);
  if (s[start] != '"') return std::string_view::npos;
  for (size_t i = start + 1; i < s.size(); ++i) {
    if (s[i] == '\\') ++i;
    else if (s[i] == '"') return i + 1;
  }
  return std::string_view::npos;
}

std::optional<std::string> arguments_at(std::string_view json_text) {
  const auto v = parse_json(json_text);
  return v ? arguments_text(*v) : std::nullopt;
}

struct Call {
  std::string name, arguments;
};

// {"name": "...", "arguments" | "parameters": {...}}. Bare objects (strict) may hold nothing
// else but "type" and "id", so that ordinary JSON in a reply is not taken for a call; inside an
// explicit marker, missing arguments mean none.
std::optional<Call> call_from(const J& v, bool strict) {
  if (!v.is_object() || !v.contains("name") || !v["name"].is_string() || v["name"].get<std::string>().empty())
    return std::nullopt;
  const char* key = v.contains("arguments") ? "arguments" : v.contains("parameters") ? "parameters" : nullptr;
  if (strict) {
    if (!key) return std::nullopt;
    for (const auto& [k, unused] : v.items())
      if (k != "name" && k != "arguments" && k != "parameters" && k != "type" && k != "id") return std::nullopt;
  }
  const auto args = key ? arguments_text(v[key]) : std::optional<std::string>("{}");
  if (!args) return std::nullopt;
  return Call{v["name"].get<std::string>(), *args};
}

// One call, or an array of calls (all must be calls).
std::optional<std::vector<Call>> calls_from(std::string_view json_text, bool strict) {
  const auto v = parse_json(json_text);
  if (!v) return std::nullopt;
  std::vector<Call> calls;
  if (v->is_array()) {
    if (v->empty()) return std::nullopt;
    for (const J& item : *v) {
      auto c = call_from(item, strict);
      if (!c) return std::nullopt;
      calls.push_back(std::move(*c));
    }
  } else {
    auto c = call_from(*v, strict);
    if (!c) return std::nullopt;
    calls.push_back(std::move(*c));
  }
  return calls;
}

// The reply as a run of text and calls; finish() joins it.
class Reply {
 public:
  void text(std::string_view t) {
    if (t.empty()) return;
    if (segments_.empty() || segments_.back().is_call) segments_.push_back({false, std::string(t), {}});
    else segments_.back().text += t;
  }
  void call(Call c) { segments_.push_back({true, {}, std::move(c)}); }
  void calls(std::vector<Call> cs) {
    for (Call& c : cs) call(std::move(c));
  }

  ParsedReply finish(int first_id) const {
    ParsedReply out;
    for (size_t i = 0; i < segments_.size(); ++i) {
      const Segment& s = segments_[i];
      if (s.is_call) {
        out.tool_calls.push_back({"call_" + std::to_string(first_id + static_cast<int>(out.tool_calls.size())),
                                  s.call.name, s.call.arguments});
        continue;
      }
      const bool between_calls = i > 0 && i + 1 < segments_.size() && segments_[i - 1].is_call && segments_[i + 1].is_call;
      if (between_calls && s.text.find_first_not_of(" \t\r\n;,") == std::string::npos) continue;
      out.content += s.text;
    }
    out.content = std::string(trim(out.content));
    return out;
  }

 private:
  struct Segment {
    bool is_call;
    std::string text;
    Call call;
  };
  std::vector<Segment> segments_;
};

// Text between markers: <tool_call>...</tool_call> (Hermes).
void parse_hermes(std::string_view text, Reply& reply) {
  static constexpr std::string_view kOpen = "<tool_call>", kClose = "</tool_call>";
  size_t pos = 0;
  for (size_t open; (open = text.find(kOpen, pos)) != std::string_view::npos;) {
    reply.text(text.substr(pos, open - pos));
    const size_t body = open + kOpen.size();
    const size_t close = text.find(kClose, body);
    const size_t body_end = close == std::string_view::npos ? text.size() : close;
    const size_t after = close == std::string_view::npos ? text.size() : close + kClose.size();
    if (auto calls = calls_from(trim(text.substr(body, body_end - body)), false)) {
      reply.calls(std::move(*calls));
      pos = after;
    } else {
      reply.text(kOpen);  // malformed: the marker stays, and the text after it is read on
      pos = body;
    }
  }
  reply.text(text.substr(pos));
}

// [TOOL_CALLS][...] and [TOOL_CALLS]name[ARGS]{...} (Mistral).
void parse_mistral(std::string_view text, Reply& reply) {
  static constexpr std::string_view kMarker = "[TOOL_CALLS]", kArgs = "[ARGS]";
  size_t pos = 0;
  for (size_t open; (open = text.find(kMarker, pos)) != std::string_view::npos;) {
    reply.text(text.substr(pos, open - pos));
    size_t at = text.find_first_not_of(kSpace, open + kMarker.size());
    bool ok = false;
    if (at != std::string_view::npos && (text[at] == '[' || text[at] == '{')) {
      const size_t end = json_extent(text, at);
      if (end != std::string_view::npos) {
        if (auto calls = calls_from(text.substr(at, end - at), false)) {
          reply.calls(std::move(*calls));
          pos = end;
          ok = true;
        }
      }
    } else if (at != std::string_view::npos) {
      const size_t args = text.find(kArgs, at);
      const size_t brace = args == std::string_view::npos ? args : text.find_first_not_of(kSpace, args + kArgs.size());
      if (brace != std::string_view::npos) {
        const std::string name(trim(text.substr(at, args - at)));
        const size_t end = json_value_end(text, brace);
        const auto args_json = end == std::string_view::npos ? std::nullopt : arguments_at(text.substr(brace, end - brace));
        if (!name.empty() && name.find_first_of(" \t\r\n[]{}") == std::string::npos && args_json) {
          reply.call({name, *args_json});
          pos = end;
          ok = true;
        }
      }
    }
    if (!ok) {
      reply.text(kMarker);
      pos = open + kMarker.size();
    }
  }
  reply.text(text.substr(pos));
}

// Bare JSON call objects anywhere in the text. A JSON value that is not a call is kept whole
// as text: calls inside it are data, not calls.
void parse_bare_json(std::string_view text, Reply& reply, size_t from, size_t to) {
  size_t pos = from;
  for (size_t open; (open = text.find('{', pos)) != std::string_view::npos && open < to;) {
    const size_t end = json_extent(text, open);
    if (end == std::string_view::npos || end > to) break;
    reply.text(text.substr(pos, open - pos));
    if (auto calls = calls_from(text.substr(open, end - open), true)) reply.calls(std::move(*calls));
    else reply.text(text.substr(open, end - open));
    pos = end;
  }
  reply.text(text.substr(pos, to - pos));
}

// name.call(key="value", n=1): Llama 3.1's built-in tools. Values are JSON scalars (Python's
// True/False/None too); anything else is not a call.
std::optional<std::pair<Call, size_t>> builtin_call(std::string_view text, size_t at) {
  size_t i = at;
  auto ident = [&]() {
    const size_t s = i;
    while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_')) ++i;
    return std::string(text.substr(s, i - s));
  };
  auto skip = [&] { while (i < text.size() && kSpace.find(text[i]) != std::string_view::npos) ++i; };
  const std::string name = ident();
  if (name.empty() || text.substr(i, 6) != ".call(") return std::nullopt;
  i += 6;
  J args = J::object();
  for (skip(); i < text.size() && text[i] != ')'; skip()) {
    const std::string key = ident();
    skip();
    if (key.empty() || i >= text.size() || text[i] != '=') return std::nullopt;
    ++i;
    skip();
    size_t end = i;
    if (i < text.size() && text[i] == '"') {
      for (end = i + 1; end < text.size() && text[end] != '"'; ++end) end += text[end] == '\\' ? 1 : 0;
      ++end;
    } else {
      end = text.find_first_of(",)", i);
    }
    if (end == std::string_view::npos || end > text.size()) return std::nullopt;
    std::string literal(trim(text.substr(i, end - i)));
    if (literal == "True") literal = "true";
    else if (literal == "False") literal = "false";
    else if (literal == "None") literal = "null";
    const auto value = parse_json(literal);
    if (!value || value->is_structured()) return std::nullopt;
    args[key] = *value;
    i = end;
    skip();
    if (i < text.size() && text[i] == ',') ++i;
  }
  if (i >= text.size()) return std::nullopt;
  return std::make_pair(Call{name, compact(args)}, i + 1);
}

void parse_llama3(std::string_view text, Reply& reply) {
  static constexpr std::string_view kTag = "<|python_tag|>";
  const size_t tag = text.find(kTag);
  if (tag == std::string_view::npos) return parse_bare_json(text, reply, 0, text.size());
  parse_bare_json(text, reply, 0, tag);
  const size_t at = text.find_first_not_of(kSpace, tag + kTag.size());
  if (at != std::string_view::npos && text[at] == '{') {
    const size_t end = json_extent(text, at);
    if (end != std::string_view::npos) {
      if (auto calls = calls_from(text.substr(at, end - at), false)) {
        reply.calls(std::move(*calls));
        return parse_bare_json(text, reply, end, text.size());
      }
    }
  } else if (at != std::string_view::npos) {
    if (auto call = builtin_call(text, at)) {
      reply.call(std::move(call->first));
      return parse_bare_json(text, reply, call->second, text.size());
    }
  }
  reply.text(text.substr(tag));  // not a call: the tag and what follows stay as written
}

// <function=name>{...}</function> (Functionary v3.1), then bare JSON calls in the rest.
void parse_functionary(std::string_view text, Reply& reply) {
  static constexpr std::string_view kOpen = "<function=", kClose = "</function>";
  size_t pos = 0;
  for (size_t open; (open = text.find(kOpen, pos)) != std::string_view::npos;) {
    parse_bare_json(text, reply, pos, open);
    const size_t name_end = text.find('>', open);
    const size_t brace = name_end == std::string_view::npos ? name_end : text.find_first_not_of(kSpace, name_end + 1);
    bool ok = false;
    if (brace != std::string_view::npos) {
      const std::string name(trim(text.substr(open + kOpen.size(), name_end - open - kOpen.size())));
      const size_t end = json_value_end(text, brace);
      const auto args_json = end == std::string_view::npos ? std::nullopt : arguments_at(text.substr(brace, end - brace));
      if (!name.empty() && args_json) {
        reply.call({name, *args_json});
        pos = end;
        const size_t close = text.find_first_not_of(kSpace, pos);
        if (close != std::string_view::npos && text.substr(close, kClose.size()) == kClose) pos = close + kClose.size();
        ok = true;
      }
    }
    if (!ok) {
      reply.text(kOpen);
      pos = open + kOpen.size();
    }
  }
  parse_bare_json(text, reply, pos, text.size());
}

}  // namespace

const char* tool_call_format_name(ToolCallFormat format) {
  switch (format) {
    case ToolCallFormat::None: return "none";
    case ToolCallFormat::Hermes: return "hermes";
    case ToolCallFormat::MistralNemo: return "mistral-nemo";
    case ToolCallFormat::Llama3: return "llama3";
    case ToolCallFormat::FunctionaryOrGeneric: return "functionary-or-generic";
  }
  return "unknown";
}

ToolCallFormat detect_tool_call_format(std::string_view src) {
  auto has = [&](std::string_view marker) { return src.find(marker) != std::string_view::npos; };
  if (has("[TOOL_CALLS]")) return ToolCallFormat::MistralNemo;
  // Calls whose arguments are XML elements, or a list inside <tool_calls>: not these parsers.
  if (has("<parameter=") || has("<arg_key>") || has("<tool_calls>")) return ToolCallFormat::None;
  if (has("<function=")) return ToolCallFormat::FunctionaryOrGeneric;
  // Hermes-style templates spell out the JSON inside the tags ({"name": ...} or {\"name\": ...}).
  if (has("<tool_call>") && (has("\"name\"") || has("\\\"name\\\""))) return ToolCallFormat::Hermes;
  if (has("<|python_tag|>") || (has("<|start_header_id|>") && has("\"parameters\""))) return ToolCallFormat::Llama3;
  return ToolCallFormat::None;
}

ParsedReply parse_tool_calls(std::string_view text, ToolCallFormat format, int first_id) {
  Reply reply;
  switch (format) {
    case ToolCallFormat::None: reply.text(text); break;
    case ToolCallFormat::Hermes: parse_hermes(text, reply); break;
    case ToolCallFormat::MistralNemo: parse_mistral(text, reply); break;
    case ToolCallFormat::Llama3: parse_llama3(text, reply); break;
    case ToolCallFormat::FunctionaryOrGeneric: parse_functionary(text, reply); break;
  }
  return reply.finish(first_id);
}

}  // namespace kindred
