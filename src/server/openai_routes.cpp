// OpenAI's API: /v1/models, /v1/chat/completions, /v1/completions, /v1/embeddings.
#include <httplib.h>

#include <mutex>

#include "dialogue/png_card.h"
#include "server/api_error.h"
#include "server/event_stream.h"
#include "server/generation.h"
#include "server/server_state.h"
#include "template/tool_calls.h"
#include "sampling/tool_call_grammar.h"

namespace kindred::server {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;

namespace {

// Per choice: its job, and the token events kept for logprobs.
struct ChoiceState {
  std::shared_ptr<Job> job;
  std::mutex mutex;
  std::vector<TokenEvent> events;
};

struct ToolSetup {
  ToolCallFormat format = ToolCallFormat::None;
  bool enabled = false;  // tools given and tool_choice is not "none"
};

OJson usage_json(int prompt_tokens, int completion_tokens, int cached) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", cached}}}};
}

OJson tool_calls_json(const std::vector<ToolCall>& calls) {
  OJson out = OJson::array();
  for (size_t i = 0; i < calls.size(); ++i) {
    out.push_back({{"index", i},
                   {"id", calls[i].id},
                   {"type", "function"},
                   {"function", {{"name", calls[i].name}, {"arguments", calls[i].arguments_json}}}});
  }
  return out;
}

// The message of a finished choice: content, and tool calls parsed out of it when tools are on.
OJson choice_message(const std::string& text, const ToolSetup& tools, std::string* reason) {
  OJson msg = {{"role", "assistant"}, {"content", text}};
  if (tools.enabled && tools.format != ToolCallFormat::None) {
    const ParsedReply parsed = parse_tool_calls(text, tools.format);
    if (!parsed.tool_calls.empty()) {
      msg["content"] = parsed.content.empty() ? OJson(nullptr) : OJson(parsed.content);
      msg["tool_calls"] = tool_calls_json(parsed.tool_calls);
      *reason = "tool_calls";
    }
  }
  return msg;
}

void chat_completions(ServerState& state, const httplib::Request& req, httplib::Response& res, const Caller& caller) {
  const Json body = json_body(req);
  ChatCompletionRequest r = parse_chat_completion_request(body, state.limits());
  state.check_model(r.model);
  ToolSetup tools;
  std::shared_ptr<const Grammar> grammar = output_grammar(r.settings.format);
  if (!r.tools.is_null() && r.tool_choice != "none") {
    tools.enabled = true;
    tools.format = detect_tool_call_format(state.chat_template_source);
    if (r.tool_choice != "auto") {
      if (tools.format == ToolCallFormat::None) tools.format = ToolCallFormat::Hermes;  // a format the parser reads back
      std::optional<std::string> forced;
      if (r.tool_choice != "required") forced = r.tool_choice;
      try {
        grammar = Grammar::parse(tool_call_gbnf(r.tools, tools.format, forced));
      } catch (const std::exception& e) {
        throw bad_request(std::string("'tools' cannot be enforced: ") + e.what(), "tools");
      }
    }
  }
  const std::string prompt_text = state.render_chat(r.messages, tools.enabled ? r.tools : OJson(nullptr));
  std::vector<int32_t> prompt = state.tokenize_prompt(prompt_text);
  if (r.settings.max_tokens < 0) r.settings.max_tokens = std::max(1, state.n_ctx() - static_cast<int>(prompt.size()));
  if (!state.scheduler) throw ApiError(501, "this server generates through --backend for Kindred sessions only; send raw completions to the backend itself");

  const std::string id = random_id("chatcmpl-");
  const int64_t created = unix_seconds();
  const std::string model = state.options.model_id;
  const int n_prompt = static_cast<int>(prompt.size());
  auto choices = std::make_shared<std::vector<std::unique_ptr<ChoiceState>>>();
  for (int i = 0; i < r.settings.n; ++i) choices->push_back(std::make_unique<ChoiceState>());

  if (!r.stream) {
    for (int i = 0; i < r.settings.n; ++i) {
      GenerationRequest g = make_generation_request(r.settings, prompt, i, grammar);
      g.owner = caller.tenant;
      ChoiceState* c = (*choices)[i].get();
      if (r.settings.logprobs) {
        g.on_token = [c](const TokenEvent& ev) {
          if (ev.id >= 0) c->events.push_back(ev);
          return true;
        };
      }
      c->job = state.scheduler->submit(std::move(g));
    }
    OJson out_choices = OJson::array();
    int completion_tokens = 0, cached = 0;
    for (int i = 0; i < r.settings.n; ++i) {
      ChoiceState& c = *(*choices)[i];
      const GenerationOutcome& o = wait_ok(*c.job);
      record_generation(state, o);
      completion_tokens += static_cast<int>(o.result.tokens.size());
      if (i == 0) cached = o.result.n_reused;
      std::string reason = finish_reason(o.result.reason);
      OJson choice = {{"index", i}, {"message", choice_message(o.result.text, tools, &reason)}};
      if (r.settings.logprobs) {
        OJson content = OJson::array();
        for (const TokenEvent& ev : c.events) content.push_back(chat_logprob_entry(ev));
        choice["logprobs"] = {{"content", content}};
      } else {
        choice["logprobs"] = nullptr;
      }
      choice["finish_reason"] = reason;
      out_choices.push_back(choice);
    }
    send_json(res, OJson{{"id", id},
                         {"object", "chat.completion"},
                         {"created", created},
                         {"model", model},
                         {"system_fingerprint", "kindred"},
                         {"choices", out_choices},
                         {"usage", usage_json(n_prompt, completion_tokens, cached)}});
    return;
  }

  // Streaming: one chunk per token per choice; with tools on, the text is held and sent at the
  // end with the parsed calls (a half-written call must not reach the client as content).
  auto stream = std::make_shared<EventStream>();
  auto chunk = [id, created, model](const OJson& choices_array) {
    return sse_frame(OJson{{"id", id},
                           {"object", "chat.completion.chunk"},
                           {"created", created},
                           {"model", model},
                           {"system_fingerprint", "kindred"},
                           {"choices", choices_array}}
                         .dump(-1, ' ', false, OJson::error_handler_t::replace));
  };
  for (int i = 0; i < r.settings.n; ++i) {
    stream->push(chunk(OJson::array({{{"index", i}, {"delta", {{"role", "assistant"}, {"content", ""}}},
                                      {"logprobs", nullptr}, {"finish_reason", nullptr}}})));
  }
  const bool hold_text = tools.enabled;
  const bool logprobs = r.settings.logprobs;
  for (int i = 0; i < r.settings.n; ++i) {
    GenerationRequest g = make_generation_request(r.settings, prompt, i, grammar);
    g.owner = caller.tenant;
    g.on_token = [stream, chunk, i, hold_text, logprobs](const TokenEvent& ev) {
      if (hold_text || (ev.text.empty() && !logprobs)) return true;
      OJson c = {{"index", i}, {"delta", {{"content", ev.text}}}, {"logprobs", nullptr}, {"finish_reason", nullptr}};
      if (logprobs && ev.id >= 0) c["logprobs"] = {{"content", OJson::array({chat_logprob_entry(ev)})}};
      stream->push(chunk(OJson::array({c})));
      return true;
    };
    (*choices)[i]->job = state.scheduler->submit(std::move(g));
  }
  auto closed = std::make_shared<std::atomic<bool>>(false);
  const bool include_usage = r.include_usage;
  ServerState* s = &state;
  auto poll = [s, choices, stream, chunk, closed, tools, include_usage, n_prompt, id, created, model]() {
    if (closed->load()) return;
    for (const auto& c : *choices) {
      if (!c->job->finished()) return;
    }
    closed->store(true);
    int completion_tokens = 0;
    for (size_t i = 0; i < choices->size(); ++i) {
      const GenerationOutcome& o = (*choices)[i]->job->wait();
      if (o.error) {
        stream->push(sse_frame(error_body(500, *o.error).dump()));
        continue;
      }
      record_generation(*s, o);
      completion_tokens += static_cast<int>(o.result.tokens.size());
      std::string reason = finish_reason(o.result.reason);
      OJson delta = OJson::object();
      if (tools.enabled) {
        OJson msg = choice_message(o.result.text, tools, &reason);
        if (msg.contains("tool_calls")) delta["tool_calls"] = msg["tool_calls"];
        if (!msg["content"].is_null()) delta["content"] = msg["content"];
      }
      stream->push(chunk(OJson::array({{{"index", i}, {"delta", delta}, {"logprobs", nullptr}, {"finish_reason", reason}}})));
    }
    if (include_usage) {
      const int cached = (*choices)[0]->job->wait().result.n_reused;
      stream->push(sse_frame(OJson{{"id", id},
                                   {"object", "chat.completion.chunk"},
                                   {"created", created},
                                   {"model", model},
                                   {"choices", OJson::array()},
                                   {"usage", usage_json(n_prompt, completion_tokens, cached)}}
                                 .dump()));
    }
    stream->push(sse_frame("[DONE]"));
    stream->close();
  };
  serve_event_stream(res, stream, poll, [choices] {
    for (const auto& c : *choices) c->job->cancel();
  });
}

void completions(ServerState& state, const httplib::Request& req, httplib::Response& res, const Caller& caller) {
  const Json body = json_body(req);
  CompletionRequest r = parse_completion_request(body, state.limits());
  state.check_model(r.model);
  if (!state.scheduler) throw ApiError(501, "this server generates through --backend for Kindred sessions only; send raw completions to the backend itself");
  std::shared_ptr<const Grammar> grammar = output_grammar(r.settings.format);
  const std::string id = random_id("cmpl-");
  const int64_t created = unix_seconds();
  const std::string model = state.options.model_id;

  struct Item {
    int index;
    std::string prompt_text;
    std::vector<int32_t> prompt;
    std::shared_ptr<Job> job;
    std::vector<TokenEvent> events;
  };
  auto items = std::make_shared<std::vector<std::unique_ptr<Item>>>();
  int n_prompt_total = 0;
  for (size_t p = 0; p < r.prompts.size(); ++p) {
    std::vector<int32_t> tokens;
    std::string text = r.prompts[p];
    if (!r.token_prompts.empty()) {
      tokens = r.token_prompts[p];
      for (int32_t t : tokens) {
        if (t < 0 || t >= state.tokenizer->n_vocab()) throw bad_request("'prompt' holds token id " + std::to_string(t) + " outside the vocabulary", "prompt");
      }
      text = state.tokenizer->decode(tokens);
    } else {
      tokens = state.tokenize_prompt(text);
    }
    n_prompt_total += static_cast<int>(tokens.size());
    for (int i = 0; i < r.settings.n; ++i) {
      auto item = std::make_unique<Item>();
      item->index = static_cast<int>(p) * r.settings.n + i;
      item->prompt_text = text;
      item->prompt = tokens;
      items->push_back(std::move(item));
    }
  }
  auto legacy_logprobs = [](const std::vector<TokenEvent>& events) {
    OJson tokens = OJson::array(), lps = OJson::array(), tops = OJson::array(), offsets = OJson::array();
    size_t offset = 0;
    for (const TokenEvent& ev : events) {
      tokens.push_back(ev.piece);
      lps.push_back(ev.logprob);
      OJson top = OJson::object();
      for (const TokenAlternative& a : ev.top) top[a.piece] = a.logprob;
      tops.push_back(top);
      offsets.push_back(offset);
      offset += ev.piece.size();
    }
    return OJson{{"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
  };

  if (!r.stream) {
    for (auto& item : *items) {
      GenerationRequest g = make_generation_request(r.settings, item->prompt, item->index, grammar);
      g.owner = caller.tenant;
      Item* it = item.get();
      if (r.settings.logprobs) {
        g.on_token = [it](const TokenEvent& ev) {
          if (ev.id >= 0) it->events.push_back(ev);
          return true;
        };
      }
      item->job = state.scheduler->submit(std::move(g));
    }
    OJson out = OJson::array();
    int completion_tokens = 0;
    for (auto& item : *items) {
      const GenerationOutcome& o = wait_ok(*item->job);
      record_generation(state, o);
      completion_tokens += static_cast<int>(o.result.tokens.size());
      out.push_back({{"index", item->index},
                     {"text", (r.echo ? item->prompt_text : std::string()) + o.result.text},
                     {"logprobs", r.settings.logprobs ? legacy_logprobs(item->events) : OJson(nullptr)},
                     {"finish_reason", finish_reason(o.result.reason)}});
    }
    send_json(res, OJson{{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", model},
                         {"choices", out}, {"usage", usage_json(n_prompt_total, completion_tokens, 0)}});
    return;
  }
  auto stream = std::make_shared<EventStream>();
  auto chunk = [id, created, model](const OJson& choice) {
    return sse_frame(OJson{{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", model},
                           {"choices", OJson::array({choice})}}
                         .dump(-1, ' ', false, OJson::error_handler_t::replace));
  };
  for (auto& item : *items) {
    if (r.echo) stream->push(chunk({{"index", item->index}, {"text", item->prompt_text}, {"logprobs", nullptr}, {"finish_reason", nullptr}}));
    GenerationRequest g = make_generation_request(r.settings, item->prompt, item->index, grammar);
    g.owner = caller.tenant;
    const int index = item->index;
    g.on_token = [stream, chunk, index](const TokenEvent& ev) {
      if (!ev.text.empty()) stream->push(chunk({{"index", index}, {"text", ev.text}, {"logprobs", nullptr}, {"finish_reason", nullptr}}));
      return true;
    };
    item->job = state.scheduler->submit(std::move(g));
  }
  auto closed = std::make_shared<std::atomic<bool>>(false);
  const bool include_usage = r.include_usage;
  ServerState* s = &state;
  auto poll = [s, items, stream, chunk, closed, include_usage, n_prompt_total, id, created, model]() {
    if (closed->load()) return;
    for (const auto& it : *items) {
      if (!it->job->finished()) return;
    }
    closed->store(true);
    int completion_tokens = 0;
    for (const auto& it : *items) {
      const GenerationOutcome& o = it->job->wait();
      if (o.error) {
        stream->push(sse_frame(error_body(500, *o.error).dump()));
        continue;
      }
      record_generation(*s, o);
      completion_tokens += static_cast<int>(o.result.tokens.size());
      stream->push(chunk({{"index", it->index}, {"text", ""}, {"logprobs", nullptr}, {"finish_reason", finish_reason(o.result.reason)}}));
    }
    if (include_usage) {
      stream->push(sse_frame(OJson{{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", model},
                                   {"choices", OJson::array()}, {"usage", usage_json(n_prompt_total, completion_tokens, 0)}}
                                 .dump()));
    }
    stream->push(sse_frame("[DONE]"));
    stream->close();
  };
  serve_event_stream(res, stream, poll, [items] {
    for (const auto& it : *items) it->job->cancel();
  });
}

void embeddings(ServerState& state, const httplib::Request& req, httplib::Response& res) {
  const Json body = json_body(req);
  const std::string model = body.contains("model") && body["model"].is_string() ? body["model"].get<std::string>() : "";
  state.check_model(model);
  if (!body.contains("input")) throw bad_request("'input' is required", "input");
  const Json& input = body["input"];
  std::vector<std::vector<int32_t>> inputs;
  auto add_text = [&](const Json& v) {
    if (!v.is_string()) throw bad_request("'input' must be a string, an array of strings or token arrays", "input");
    std::vector<int32_t> t = state.tokenize_prompt(v.get<std::string>());
    if (t.empty()) throw bad_request("'input' holds an empty string", "input");
    inputs.push_back(std::move(t));
  };
  auto is_tokens = [](const Json& v) {
    return v.is_array() && !v.empty() && std::all_of(v.begin(), v.end(), [](const Json& x) { return x.is_number_integer(); });
  };
  if (input.is_string()) {
    add_text(input);
  } else if (is_tokens(input)) {
    inputs.push_back(input.get<std::vector<int32_t>>());
  } else if (input.is_array() && !input.empty()) {
    for (const Json& v : input) {
      if (is_tokens(v)) {
        inputs.push_back(v.get<std::vector<int32_t>>());
      } else {
        add_text(v);
      }
    }
  } else {
    throw bad_request("'input' must be a non-empty string or array", "input");
  }
  if (inputs.size() > 256) throw bad_request("'input' holds more than 256 items", "input");
  const std::string format = body.value("encoding_format", std::string("float"));
  if (format != "float" && format != "base64") throw bad_request("'encoding_format' must be float or base64", "encoding_format");
  OJson data = OJson::array();
  int total = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    for (int32_t t : inputs[i]) {
      if (t < 0 || t >= state.tokenizer->n_vocab()) throw bad_request("'input' holds token id " + std::to_string(t) + " outside the vocabulary", "input");
    }
    total += static_cast<int>(inputs[i].size());
    const std::vector<float> v = state.embed(inputs[i]);
    OJson embedding = v;
    if (format == "base64") {  // little-endian float32, as OpenAI sends it (and the SDK asks by default)
      embedding = dialogue::png::base64_encode(std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
    }
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", embedding}});
  }
  send_json(res, OJson{{"object", "list"}, {"data", data}, {"model", state.options.model_id},
                       {"usage", {{"prompt_tokens", total}, {"total_tokens", total}}}});
}

}  // namespace

void add_openai_routes(Router& router, ServerState& state) {
  ServerState* s = &state;
  auto model_json = [s] {
    return OJson{{"id", s->options.model_id}, {"object", "model"}, {"created", s->created}, {"owned_by", "kindred"},
                 {"meta", {{"n_ctx", s->n_ctx()}, {"n_vocab", s->tokenizer->n_vocab()}}}};
  };
  router.get("/v1/models", "/v1/models", Access::Tenant, [model_json](const httplib::Request&, httplib::Response& res, const Caller&) {
    send_json(res, OJson{{"object", "list"}, {"data", OJson::array({model_json()})}});
  });
  router.get(R"(/v1/models/([^/]+))", "/v1/models/{id}", Access::Tenant,
             [s, model_json](const httplib::Request& req, httplib::Response& res, const Caller&) {
               s->check_model(req.matches[1].str());
               send_json(res, model_json());
             });
  router.post("/v1/chat/completions", "/v1/chat/completions", Access::Tenant,
              [s](const httplib::Request& req, httplib::Response& res, const Caller& c) { chat_completions(*s, req, res, c); });
  router.post("/v1/completions", "/v1/completions", Access::Tenant,
              [s](const httplib::Request& req, httplib::Response& res, const Caller& c) { completions(*s, req, res, c); });
  router.post("/v1/embeddings", "/v1/embeddings", Access::Tenant,
              [s](const httplib::Request& req, httplib::Response& res, const Caller&) { embeddings(*s, req, res); });
}

}  // namespace kindred::server
