#include "server/openai_request.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include "server/api_error.h"

namespace kindred::server {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;

namespace {

std::string type_name(const Json& v) { return v.type_name(); }

// 2 rather than 2.000000 in messages.
std::string format_number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

// The field's value when present and not null, checked for type; a wrong type is a 400 naming it.
const Json* field(const Json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

double number(const Json& body, const char* name, double fallback, double lo, double hi) {
  const Json* v = field(body, name);
  if (!v) return fallback;
  if (!v->is_number()) throw bad_request(std::string("'") + name + "' must be a number, not " + type_name(*v), name);
  const double x = v->get<double>();
  if (!std::isfinite(x) || x < lo || x > hi) {
    throw bad_request(std::string("'") + name + "' must be between " + format_number(lo) + " and " +
                          format_number(hi) + ", not " + v->dump(),
                      name);
  }
  return x;
}

int64_t integer(const Json& body, const char* name, int64_t fallback, int64_t lo, int64_t hi) {
  const Json* v = field(body, name);
  if (!v) return fallback;
  if (!v->is_number_integer() && !(v->is_number_float() && std::floor(v->get<double>()) == v->get<double>() &&
                                    std::abs(v->get<double>()) < 9e15)) {
    throw bad_request(std::string("'") + name + "' must be an integer, not " + v->dump(), name);
  }
  const int64_t x = v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)
                        ? INT64_MAX
                        : (v->is_number_integer() ? v->get<int64_t>() : static_cast<int64_t>(v->get<double>()));
  if (x < lo || x > hi) {
    throw bad_request(std::string("'") + name + "' must be between " + std::to_string(lo) + " and " +
                          std::to_string(hi) + ", not " + v->dump(),
                      name);
  }
  return x;
}

bool boolean(const Json& body, const char* name, bool fallback) {
  const Json* v = field(body, name);
  if (!v) return fallback;
  if (!v->is_boolean()) throw bad_request(std::string("'") + name + "' must be a boolean, not " + type_name(*v), name);
  return v->get<bool>();
}

std::string string(const Json& body, const char* name, const std::string& fallback) {
  const Json* v = field(body, name);
  if (!v) return fallback;
  if (!v->is_string()) throw bad_request(std::string("'") + name + "' must be a string, not " + type_name(*v), name);
  return v->get<std::string>();
}

std::vector<std::string> stop_strings(const Json& body, const char* name, const RequestLimits& limits) {
  const Json* v = field(body, name);
  if (!v) return {};
  std::vector<std::string> out;
  if (v->is_string()) {
    out.push_back(v->get<std::string>());
  } else if (v->is_array()) {
    for (const Json& s : *v) {
      if (!s.is_string()) throw bad_request(std::string("'") + name + "' must hold strings only", name);
      out.push_back(s.get<std::string>());
    }
  } else {
    throw bad_request(std::string("'") + name + "' must be a string or an array of strings", name);
  }
  if (static_cast<int>(out.size()) > limits.max_stop) {
    throw bad_request(std::string("'") + name + "' holds " + std::to_string(out.size()) + " strings; at most " +
                          std::to_string(limits.max_stop) + " are allowed",
                      name);
  }
  std::erase_if(out, [](const std::string& s) { return s.empty(); });
  return out;
}

// OpenAI's logit_bias: {"token id as a string": bias in [-100, 100]}; llama.cpp also sends
// [[id, bias], ...] where false means "ban".
std::vector<std::pair<int32_t, float>> logit_bias(const Json& body, const RequestLimits& limits) {
  const Json* v = field(body, "logit_bias");
  if (!v) return {};
  std::vector<std::pair<int32_t, float>> out;
  auto add = [&](const std::string& key, const Json& bias) {
    int64_t id = -1;
    try {
      size_t used = 0;
      id = std::stoll(key, &used);
      if (used != key.size()) id = -1;
    } catch (const std::exception&) {
      id = -1;
    }
    if (id < 0 || id > INT32_MAX || (limits.n_vocab > 0 && id >= limits.n_vocab)) {
      throw bad_request("'logit_bias' key '" + key + "' is not a token id of this model", "logit_bias");
    }
    float b = 0;
    if (bias.is_boolean() && !bias.get<bool>()) {
      b = -INFINITY;
    } else if (bias.is_number() && std::isfinite(bias.get<double>()) && std::abs(bias.get<double>()) <= 100) {
      b = bias.get<float>();
    } else {
      throw bad_request("'logit_bias' values must be numbers between -100 and 100", "logit_bias");
    }
    out.emplace_back(static_cast<int32_t>(id), b);
  };
  if (v->is_object()) {
    for (auto it = v->begin(); it != v->end(); ++it) add(it.key(), it.value());
  } else if (v->is_array()) {
    for (const Json& pair : *v) {
      if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number_integer()) {
        throw bad_request("'logit_bias' as an array must hold [token id, bias] pairs", "logit_bias");
      }
      add(std::to_string(pair[0].get<int64_t>()), pair[1]);
    }
  } else {
    throw bad_request("'logit_bias' must be an object mapping token ids to biases", "logit_bias");
  }
  if (static_cast<int>(out.size()) > limits.max_logit_bias) {
    throw bad_request("'logit_bias' has more than " + std::to_string(limits.max_logit_bias) + " entries", "logit_bias");
  }
  return out;
}

OutputFormat output_format(const Json& body) {
  OutputFormat f;
  if (const Json* rf = field(body, "response_format")) {
    if (!rf->is_object()) throw bad_request("'response_format' must be an object", "response_format");
    const std::string type = string(*rf, "type", "text");
    if (type == "json_object") {
      f.json_object = true;
    } else if (type == "json_schema") {
      const Json* js = field(*rf, "json_schema");
      // OpenAI nests the schema in json_schema.schema; llama.cpp also accepts {"type":"json_schema","schema":...}.
      const Json* schema = js && js->is_object() ? field(*js, "schema") : field(*rf, "schema");
      if (!schema || !(schema->is_object() || schema->is_boolean())) {
        throw bad_request("'response_format.json_schema.schema' must be a JSON Schema object", "response_format");
      }
      f.json_schema = *schema;
    } else if (type != "text") {
      throw bad_request("'response_format.type' must be text, json_object or json_schema, not '" + type + "'",
                        "response_format");
    }
  }
  if (const Json* schema = field(body, "json_schema")) {  // llama.cpp's top-level form
    if (!schema->is_object()) throw bad_request("'json_schema' must be a JSON Schema object", "json_schema");
    f.json_schema = *schema;
  }
  f.grammar = string(body, "grammar", "");
  return f;
}

// What chat and text completions share. OpenAI's ranges; llama.cpp's extra samplers on top.
GenerationSettings settings(const Json& body, const RequestLimits& limits, bool llama_names) {
  GenerationSettings s;
  SamplerParams& p = s.sampling;
  // OpenAI's defaults: temperature 1, top_p 1, and no top-k/min-p filtering.
  p.temperature = static_cast<float>(number(body, "temperature", 1.0, 0.0, 2.0));
  p.top_p = static_cast<float>(number(body, "top_p", 1.0, 0.0, 1.0));
  p.top_k = static_cast<int>(integer(body, "top_k", llama_names ? 40 : 0, 0, 1 << 20));
  p.min_p = static_cast<float>(number(body, "min_p", llama_names ? 0.05 : 0.0, 0.0, 1.0));
  p.typical_p = static_cast<float>(number(body, "typical_p", 1.0, 0.0, 1.0));
  p.repeat_penalty = static_cast<float>(number(body, "repeat_penalty", 1.0, 0.01, 10.0));
  p.penalty_last_n = static_cast<int>(integer(body, "repeat_last_n", 64, -1, 1 << 20));
  p.presence_penalty = static_cast<float>(number(body, "presence_penalty", 0.0, -2.0, 2.0));
  p.frequency_penalty = static_cast<float>(number(body, "frequency_penalty", 0.0, -2.0, 2.0));
  p.logit_bias = logit_bias(body, limits);
  if (const Json* seed = field(body, "seed")) {
    if (!seed->is_number_integer()) throw bad_request("'seed' must be an integer", "seed");
    p.seed = seed->is_number_unsigned() ? seed->get<uint64_t>() : static_cast<uint64_t>(seed->get<int64_t>());
    s.seed_given = true;
  }
  const int64_t ctx = limits.n_ctx;
  if (llama_names) {
    s.max_tokens = static_cast<int>(integer(body, "n_predict", -1, -1, ctx));
    s.ignore_eos = boolean(body, "ignore_eos", false);
    s.top_logprobs = static_cast<int>(integer(body, "n_probs", 0, 0, 20));
    s.logprobs = s.top_logprobs > 0;
  } else {
    // max_completion_tokens is the newer name; either may be sent.
    const int64_t mct = integer(body, "max_completion_tokens", -1, 1, ctx);
    s.max_tokens = static_cast<int>(mct > 0 ? mct : integer(body, "max_tokens", -1, 1, ctx));
  }
  s.stop = stop_strings(body, "stop", limits);
  s.n = static_cast<int>(integer(body, "n", 1, 1, limits.max_n));
  s.format = output_format(body);
  return s;
}

std::string content_text(const Json& content, size_t index) {
  const std::string param = "messages[" + std::to_string(index) + "].content";
  if (content.is_null()) return "";
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) throw bad_request("'" + param + "' must be a string or an array of content parts", param);
  std::string text;
  for (const Json& part : content) {
    if (!part.is_object()) throw bad_request("'" + param + "' parts must be objects", param);
    const std::string type = string(part, "type", "");
    if (type == "text") {
      text += string(part, "text", "");
    } else if (type == "image_url" || type == "input_audio" || type == "file") {
      throw bad_request("'" + param + "' has a " + type + " part; this model reads text only", param);
    } else {
      throw bad_request("'" + param + "' has a part of unknown type '" + type + "'", param);
    }
  }
  return text;
}

bool is_known_role(const std::string& role) {
  static const char* roles[] = {"system", "developer", "user", "assistant", "tool", "function",
                                "user_system", "group", "sample_message_user", "sample_message_ai"};
  for (const char* r : roles) {
    if (role == r) return true;
  }
  return false;
}

}  // namespace

Json parse_json_body(const std::string& body) {
  if (body.empty()) throw bad_request("the request body is empty; a JSON object was expected");
  Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded()) {
    // Re-parse for the position: the non-throwing parse does not say where it failed.
    try {
      const Json again = Json::parse(body);
      (void)again;
    } catch (const Json::exception& e) {  // parse_error, or out_of_range for a number too large
      throw bad_request(std::string("the request body is not valid JSON: ") + e.what());
    }
    throw bad_request("the request body is not valid JSON");
  }
  if (!j.is_object()) throw bad_request("the request body must be a JSON object, not " + type_name(j));
  return j;
}

OJson fold_minimax_roles(const OJson& messages) {
  std::string persona, scene, examples;
  OJson rest = OJson::array();
  for (const OJson& m : messages) {
    const std::string role = m.value("role", "");
    const std::string text = m.contains("content") && m["content"].is_string() ? m["content"].get<std::string>() : "";
    const std::string name = m.contains("name") && m["name"].is_string() ? m["name"].get<std::string>() : "";
    if (role == "user_system") {
      persona += (persona.empty() ? "" : "\n") + text;
    } else if (role == "group") {
      scene += (scene.empty() ? "" : "\n") + text;
    } else if (role == "sample_message_user") {
      examples += (name.empty() ? std::string("User") : name) + ": " + text + "\n";
    } else if (role == "sample_message_ai") {
      examples += (name.empty() ? std::string("Assistant") : name) + ": " + text + "\n";
    } else {
      rest.push_back(m);
    }
  }
  if (persona.empty() && scene.empty() && examples.empty()) return messages;
  std::string extra;
  if (!persona.empty()) extra += "About the user:\n" + persona + "\n";
  if (!scene.empty()) extra += "Scene:\n" + scene + "\n";
  if (!examples.empty()) extra += "Example dialogue:\n" + examples;
  while (!extra.empty() && extra.back() == '\n') extra.pop_back();
  if (!rest.empty() && rest[0].value("role", "") == "system") {
    rest[0]["content"] = rest[0]["content"].get<std::string>() + "\n\n" + extra;
  } else {
    rest.insert(rest.begin(), OJson{{"role", "system"}, {"content", extra}});
  }
  return rest;
}

ChatCompletionRequest parse_chat_completion_request(const Json& body, const RequestLimits& limits) {
  ChatCompletionRequest r;
  r.model = string(body, "model", "");
  const Json* messages = field(body, "messages");
  if (!messages) throw bad_request("'messages' is required", "messages");
  if (!messages->is_array() || messages->empty()) throw bad_request("'messages' must be a non-empty array", "messages");
  if (messages->size() > limits.max_messages) {
    throw bad_request("'messages' holds " + std::to_string(messages->size()) + " messages; at most " +
                          std::to_string(limits.max_messages) + " are allowed",
                      "messages");
  }
  OJson out = OJson::array();
  for (size_t i = 0; i < messages->size(); ++i) {
    const Json& m = (*messages)[i];
    const std::string param = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) throw bad_request("'" + param + "' must be an object", param);
    const Json* role_v = field(m, "role");
    if (!role_v || !role_v->is_string()) throw bad_request("'" + param + ".role' must be a string", param + ".role");
    std::string role = role_v->get<std::string>();
    if (!is_known_role(role)) throw bad_request("'" + param + ".role' '" + role + "' is not a known role", param + ".role");
    if (role == "developer") role = "system";  // OpenAI's newer name for system
    OJson msg = {{"role", role}, {"content", content_text(m.contains("content") ? m["content"] : Json(), i)}};
    if (const Json* name = field(m, "name")) {
      if (!name->is_string()) throw bad_request("'" + param + ".name' must be a string", param + ".name");
      msg["name"] = *name;
    }
    if (const Json* calls = field(m, "tool_calls")) {
      if (!calls->is_array()) throw bad_request("'" + param + ".tool_calls' must be an array", param + ".tool_calls");
      OJson converted = OJson::array();
      for (const Json& c : *calls) {
        if (!c.is_object() || !c.contains("function") || !c["function"].is_object()) {
          throw bad_request("'" + param + ".tool_calls' entries must have a function", param + ".tool_calls");
        }
        OJson call = c;
        // Templates expect arguments as an object; OpenAI sends a JSON string.
        if (call["function"].contains("arguments") && call["function"]["arguments"].is_string()) {
          Json args = Json::parse(call["function"]["arguments"].get<std::string>(), nullptr, false);
          if (!args.is_discarded()) call["function"]["arguments"] = args;
        }
        converted.push_back(call);
      }
      msg["tool_calls"] = converted;
    }
    if (const Json* id = field(m, "tool_call_id")) msg["tool_call_id"] = *id;
    out.push_back(std::move(msg));
  }
  r.messages = fold_minimax_roles(out);
  r.stream = boolean(body, "stream", false);
  if (const Json* so = field(body, "stream_options")) {
    if (!so->is_object()) throw bad_request("'stream_options' must be an object", "stream_options");
    r.include_usage = boolean(*so, "include_usage", false);
  }
  r.settings = settings(body, limits, false);
  r.settings.logprobs = boolean(body, "logprobs", false);
  r.settings.top_logprobs = static_cast<int>(integer(body, "top_logprobs", 0, 0, 20));
  if (r.settings.top_logprobs > 0 && !r.settings.logprobs) {
    throw bad_request("'top_logprobs' needs 'logprobs': true", "top_logprobs");
  }
  if (const Json* tools = field(body, "tools")) {
    if (!tools->is_array()) throw bad_request("'tools' must be an array", "tools");
    for (size_t i = 0; i < tools->size(); ++i) {
      const Json& t = (*tools)[i];
      const std::string param = "tools[" + std::to_string(i) + "]";
      if (!t.is_object() || t.value("type", "") != "function" || !t.contains("function") || !t["function"].is_object() ||
          !t["function"].contains("name") || !t["function"]["name"].is_string()) {
        throw bad_request("'" + param + "' must be {\"type\": \"function\", \"function\": {\"name\": ...}}", param);
      }
    }
    if (!tools->empty()) r.tools = *tools;
  }
  if (const Json* choice = field(body, "tool_choice")) {
    if (choice->is_string()) {
      r.tool_choice = choice->get<std::string>();
      if (r.tool_choice != "auto" && r.tool_choice != "none" && r.tool_choice != "required") {
        throw bad_request("'tool_choice' must be auto, none, required or a function", "tool_choice");
      }
    } else if (choice->is_object() && choice->contains("function") && (*choice)["function"].is_object() &&
               (*choice)["function"].contains("name") && (*choice)["function"]["name"].is_string()) {
      r.tool_choice = (*choice)["function"]["name"].get<std::string>();
    } else {
      throw bad_request("'tool_choice' must be auto, none, required or {\"type\":\"function\",\"function\":{\"name\":...}}",
                        "tool_choice");
    }
    if (r.tool_choice != "auto" && r.tool_choice != "none" && r.tools.is_null()) {
      throw bad_request("'tool_choice' needs 'tools'", "tool_choice");
    }
  }
  r.parallel_tool_calls = boolean(body, "parallel_tool_calls", true);
  return r;
}

namespace {

void read_prompts(const Json& body, CompletionRequest& r) {
  const Json* prompt = field(body, "prompt");
  if (!prompt) throw bad_request("'prompt' is required", "prompt");
  auto is_token_array = [](const Json& a) {
    return a.is_array() && !a.empty() && std::all_of(a.begin(), a.end(), [](const Json& x) { return x.is_number_integer(); });
  };
  if (prompt->is_string()) {
    r.prompts.push_back(prompt->get<std::string>());
  } else if (is_token_array(*prompt)) {
    r.prompts.emplace_back();
    r.token_prompts.push_back(prompt->get<std::vector<int32_t>>());
  } else if (prompt->is_array() && !prompt->empty()) {
    for (const Json& p : *prompt) {
      if (p.is_string()) {
        r.prompts.push_back(p.get<std::string>());
      } else if (is_token_array(p)) {
        r.prompts.emplace_back();
        r.token_prompts.push_back(p.get<std::vector<int32_t>>());
      } else {
        throw bad_request("'prompt' entries must be strings or arrays of token ids", "prompt");
      }
    }
    if (!r.token_prompts.empty() && r.token_prompts.size() != r.prompts.size()) {
      throw bad_request("'prompt' may not mix strings and token arrays", "prompt");
    }
  } else {
    throw bad_request("'prompt' must be a string, an array of strings or an array of token ids", "prompt");
  }
  if (r.prompts.size() > 16) throw bad_request("'prompt' holds more than 16 prompts", "prompt");
}

}  // namespace

CompletionRequest parse_completion_request(const Json& body, const RequestLimits& limits) {
  CompletionRequest r;
  r.model = string(body, "model", "");
  read_prompts(body, r);
  r.stream = boolean(body, "stream", false);
  if (const Json* so = field(body, "stream_options")) {
    if (!so->is_object()) throw bad_request("'stream_options' must be an object", "stream_options");
    r.include_usage = boolean(*so, "include_usage", false);
  }
  r.echo = boolean(body, "echo", false);
  r.settings = settings(body, limits, false);
  // Legacy completions: logprobs is an integer count of alternatives.
  r.settings.top_logprobs = static_cast<int>(integer(body, "logprobs", 0, 0, 5));
  r.settings.logprobs = field(body, "logprobs") != nullptr;
  if (r.settings.max_tokens < 0) r.settings.max_tokens = 16;  // OpenAI's default for completions
  if (r.settings.n * static_cast<int>(r.prompts.size()) > limits.max_n * 2) {
    throw bad_request("'n' × prompts asks for too many choices", "n");
  }
  return r;
}

CompletionRequest parse_llama_completion_request(const Json& body, const RequestLimits& limits) {
  CompletionRequest r;
  read_prompts(body, r);
  if (r.prompts.size() != 1) throw bad_request("'prompt' must be one prompt on /completion", "prompt");
  r.stream = boolean(body, "stream", false);
  r.settings = settings(body, limits, true);
  r.settings.sampling.temperature = static_cast<float>(number(body, "temperature", 0.8, 0.0, 10.0));
  r.settings.sampling.top_p = static_cast<float>(number(body, "top_p", 0.95, 0.0, 1.0));
  r.settings.sampling.repeat_penalty = static_cast<float>(number(body, "repeat_penalty", 1.1, 0.01, 10.0));
  r.settings.n = 1;
  if (!r.settings.seed_given) r.settings.sampling.seed = 0;
  if (const Json* seed = field(body, "seed"); seed && seed->is_number_integer() && seed->get<int64_t>() == -1) {
    r.settings.seed_given = false;  // llama.cpp's -1: a random seed
  }
  return r;
}

}  // namespace kindred::server
