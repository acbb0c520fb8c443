// llama.cpp server's API as SillyTavern's text-completion connection uses it: /completion,
// /props, /tokenize, /detokenize, /slots, and KoboldCpp's /api/extra/abort.
#include <httplib.h>

#include "server/api_error.h"
#include "server/event_stream.h"
#include "server/generation.h"
#include "server/server_state.h"

namespace kindred::server {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;

namespace {

std::string stop_type(StopReason r) {
  switch (r) {
    case StopReason::EndOfGeneration: return "eos";
    case StopReason::StopString: return "word";
    case StopReason::Length:
    case StopReason::ContextFull: return "limit";
    default: return "none";
  }
}

OJson generation_settings(const ServerState& s, const GenerationSettings& g) {
  const SamplerParams& p = g.sampling;
  return {{"n_ctx", s.n_ctx()},       {"n_predict", g.max_tokens},  {"temperature", p.temperature},
          {"top_k", p.top_k},         {"top_p", p.top_p},           {"min_p", p.min_p},
          {"typical_p", p.typical_p}, {"repeat_penalty", p.repeat_penalty}, {"repeat_last_n", p.penalty_last_n},
          {"presence_penalty", p.presence_penalty}, {"frequency_penalty", p.frequency_penalty},
          {"seed", p.seed},           {"stop", g.stop},             {"ignore_eos", g.ignore_eos},
          {"n_probs", g.top_logprobs}};
}

OJson probabilities(const TokenEvent& ev) {
  OJson probs = OJson::array();
  for (const TokenAlternative& a : ev.top) probs.push_back({{"tok_str", a.piece}, {"prob", std::exp(a.logprob)}});
  return {{"content", ev.piece}, {"probs", probs}};
}

OJson final_body(const ServerState& s, const CompletionRequest& r, const GenerationOutcome& o, const std::string& content,
                 const OJson& probs) {
  const GenerateResult& g = o.result;
  const int n_eval = g.n_prompt - g.n_reused;
  OJson body = {{"content", content},
                {"stop", true},
                {"model", s.options.model_id},
                {"tokens_predicted", g.tokens.size()},
                {"tokens_evaluated", g.n_prompt},
                {"tokens_cached", g.n_reused},
                {"generation_settings", generation_settings(s, r.settings)},
                {"prompt", r.prompts[0]},
                {"stop_type", stop_type(g.reason)},
                {"stopped_eos", g.reason == StopReason::EndOfGeneration},
                {"stopped_limit", g.reason == StopReason::Length || g.reason == StopReason::ContextFull},
                {"stopped_word", g.reason == StopReason::StopString},
                {"truncated", false},
                {"timings",
                 {{"prompt_n", n_eval},
                  {"prompt_ms", g.prompt_seconds * 1e3},
                  {"predicted_n", g.tokens.size()},
                  {"predicted_ms", g.decode_seconds * 1e3},
                  {"predicted_per_second", g.decode_seconds > 0 ? g.tokens.size() / g.decode_seconds : 0.0}}}};
  if (!probs.is_null()) body["completion_probabilities"] = probs;
  return body;
}

void completion(ServerState& state, const httplib::Request& req, httplib::Response& res, const Caller& caller) {
  if (!state.scheduler) throw ApiError(501, "this server generates through --backend for Kindred sessions only; send raw completions to the backend itself");
  const Json body = json_body(req);
  CompletionRequest r = parse_llama_completion_request(body, state.limits());
  std::vector<int32_t> prompt = r.token_prompts.empty() ? state.tokenize_prompt(r.prompts[0]) : r.token_prompts[0];
  for (int32_t t : prompt) {
    if (t < 0 || t >= state.tokenizer->n_vocab()) throw bad_request("'prompt' holds token id " + std::to_string(t) + " outside the vocabulary", "prompt");
  }
  if (r.settings.max_tokens < 0) r.settings.max_tokens = std::max(1, state.n_ctx() - static_cast<int>(prompt.size()));
  GenerationRequest g = make_generation_request(r.settings, std::move(prompt), 0, output_grammar(r.settings.format));
  g.owner = caller.tenant;
  const bool want_probs = r.settings.top_logprobs > 0;
  if (!r.stream) {
    auto events = std::make_shared<OJson>(OJson::array());
    if (want_probs) {
      g.on_token = [events](const TokenEvent& ev) {
        if (ev.id >= 0) events->push_back(probabilities(ev));
        return true;
      };
    }
    std::shared_ptr<Job> job = state.scheduler->submit(std::move(g));
    const GenerationOutcome& o = wait_ok(*job);
    record_generation(state, o);
    send_json(res, final_body(state, r, o, o.result.text, want_probs ? *events : OJson(nullptr)));
    return;
  }
  auto stream = std::make_shared<EventStream>();
  g.on_token = [stream, want_probs](const TokenEvent& ev) {
    if (ev.text.empty() && !(want_probs && ev.id >= 0)) return true;
    OJson c = {{"content", ev.text}, {"stop", false}};
    if (want_probs && ev.id >= 0) c["completion_probabilities"] = OJson::array({probabilities(ev)});
    stream->push(sse_frame(c.dump(-1, ' ', false, OJson::error_handler_t::replace)));
    return true;
  };
  std::shared_ptr<Job> job = state.scheduler->submit(std::move(g));
  auto closed = std::make_shared<std::atomic<bool>>(false);
  ServerState* s = &state;
  auto request = std::make_shared<CompletionRequest>(std::move(r));
  serve_event_stream(
      res, stream,
      [s, job, stream, closed, request] {
        if (closed->load() || !job->finished()) return;
        closed->store(true);
        const GenerationOutcome& o = job->wait();
        if (o.error) {
          stream->push(sse_frame(error_body(500, *o.error).dump()));
        } else {
          record_generation(*s, o);
          stream->push(sse_frame(final_body(*s, *request, o, "", nullptr).dump(-1, ' ', false, OJson::error_handler_t::replace)));
        }
        stream->close();
      },
      [job] { job->cancel(); });
}

}  // namespace

void add_llama_routes(Router& router, ServerState& state) {
  ServerState* s = &state;
  router.post("/completion", "/completion", Access::Tenant,
              [s](const httplib::Request& req, httplib::Response& res, const Caller& c) { completion(*s, req, res, c); });
  router.post("/completions", "/completion", Access::Tenant,
              [s](const httplib::Request& req, httplib::Response& res, const Caller& c) { completion(*s, req, res, c); });
  router.get("/props", "/props", Access::Tenant, [s](const httplib::Request&, httplib::Response& res, const Caller&) {
    GenerationSettings defaults;
    defaults.sampling = SamplerParams{};
    send_json(res, OJson{{"default_generation_settings", generation_settings(*s, defaults)},
                         {"total_slots", s->scheduler ? s->scheduler->options().max_active : 0},
                         {"model_path", s->options.model_id},
                         {"model_alias", s->options.model_id},
                         {"chat_template", s->chat_template_source},
                         {"bos_token", s->tokenizer->bos() >= 0 ? s->tokenizer->token_to_piece(s->tokenizer->bos(), true) : ""},
                         {"eos_token", s->tokenizer->eos() >= 0 ? s->tokenizer->token_to_piece(s->tokenizer->eos(), true) : ""},
                         {"build_info", "kindred"},
                         {"modalities", {{"vision", false}, {"audio", false}}}});
  });
  router.post("/tokenize", "/tokenize", Access::Tenant, [s](const httplib::Request& req, httplib::Response& res, const Caller&) {
    const Json body = json_body(req);
    if (!body.contains("content") || !body["content"].is_string()) throw bad_request("'content' must be a string", "content");
    const bool add_special = body.value("add_special", false);
    const bool with_pieces = body.value("with_pieces", false);
    const std::vector<int32_t> tokens = s->tokenizer->encode(body["content"].get<std::string>(), add_special, true);
    OJson out = OJson::array();
    for (int32_t t : tokens) {
      if (with_pieces) {
        out.push_back({{"id", t}, {"piece", s->tokenizer->token_to_piece(t, true)}});
      } else {
        out.push_back(t);
      }
    }
    send_json(res, OJson{{"tokens", out}});
  });
  router.post("/detokenize", "/detokenize", Access::Tenant, [s](const httplib::Request& req, httplib::Response& res, const Caller&) {
    const Json body = json_body(req);
    if (!body.contains("tokens") || !body["tokens"].is_array()) throw bad_request("'tokens' must be an array of token ids", "tokens");
    std::vector<int32_t> tokens;
    for (const Json& t : body["tokens"]) {
      if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= s->tokenizer->n_vocab()) {
        throw bad_request("'tokens' holds " + t.dump() + ", not a token id of this model", "tokens");
      }
      tokens.push_back(t.get<int32_t>());
    }
    send_json(res, OJson{{"content", s->tokenizer->decode(tokens)}});
  });
  // Slots hold every tenant's sequences, so they are an operator's tool (any key with --no-auth).
  router.get("/slots", "/slots", Access::Admin, [s](const httplib::Request&, httplib::Response& res, const Caller&) {
    OJson out = OJson::array();
    if (s->scheduler) {
      for (const SlotInfo& slot : s->scheduler->slots()) {
        out.push_back({{"id", slot.id}, {"n_ctx", s->n_ctx()}, {"is_processing", slot.busy}, {"resident", slot.resident},
                       {"n_past", slot.n_past}, {"session", slot.key}, {"idle_seconds", slot.idle_seconds}});
      }
    }
    send_json(res, out);
  });
  router.post(R"(/slots/(\d+))", "/slots/{id}", Access::Admin, [s](const httplib::Request& req, httplib::Response& res, const Caller&) {
    if (!s->scheduler) throw ApiError(501, "this server generates through --backend for Kindred sessions only; send raw completions to the backend itself");
    const int id = static_cast<int>(std::stol(req.matches[1].str().substr(0, 9)));
    const std::string action = req.get_param_value("action");
    const Json body = req.body.empty() ? Json::object() : json_body(req);
    auto filename = [&] {
      if (!body.contains("filename") || !body["filename"].is_string()) throw bad_request("'filename' must be a string", "filename");
      return body["filename"].get<std::string>();
    };
    const auto start = std::chrono::steady_clock::now();
    auto ms = [&] { return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count(); };
    if (action == "save") {
      const std::string f = filename();
      const size_t n = s->scheduler->save_slot(id, f);
      send_json(res, OJson{{"id_slot", id}, {"filename", f}, {"n_saved", n}, {"timings", {{"save_ms", ms()}}}});
    } else if (action == "restore") {
      const std::string f = filename();
      const size_t n = s->scheduler->restore_slot(id, f);
      send_json(res, OJson{{"id_slot", id}, {"filename", f}, {"n_restored", n}, {"timings", {{"restore_ms", ms()}}}});
    } else if (action == "erase") {
      s->scheduler->erase_slot(id);
      send_json(res, OJson{{"id_slot", id}, {"n_erased", 1}});
    } else {
      throw bad_request("'action' must be save, restore or erase", "action");
    }
  });
  router.post("/api/extra/abort", "/api/extra/abort", Access::Tenant,
              [s](const httplib::Request&, httplib::Response& res, const Caller& caller) {
                int n = 0;
                if (s->scheduler) n = s->scheduler->cancel_all(caller.admin && caller.key_id == 0 ? std::nullopt
                                                                                                   : std::optional(caller.tenant));
                send_json(res, OJson{{"success", true}, {"done", true}, {"cancelled", n}});
              });
}

}  // namespace kindred::server
