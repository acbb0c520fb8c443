#include "server/remote_backend.h"

#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "sampling/stop_strings.h"

namespace kindred::server {

using Json = nlohmann::json;

RemoteBackend::RemoteBackend(const std::string& url, std::string api_key, const Tokenizer& tokenizer)
    : api_key_(std::move(api_key)), tokenizer_(tokenizer) {
  std::string rest;
  for (const char* scheme : {"openai://", "http://"}) {
    if (url.rfind(scheme, 0) == 0) rest = url.substr(std::string(scheme).size());
  }
  if (rest.empty()) throw std::runtime_error("--backend '" + url + "' must look like openai://HOST:PORT");
  const size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    prefix_ = rest.substr(slash);
    while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
    rest = rest.substr(0, slash);
  }
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("--backend '" + url + "' has no port");
  host_ = rest.substr(0, colon);
  try {
    port_ = std::stoi(rest.substr(colon + 1));
  } catch (const std::exception&) {
    port_ = 0;
  }
  if (host_.empty() || port_ <= 0 || port_ > 65535) throw std::runtime_error("--backend '" + url + "' has no valid host:port");
  address_ = host_ + ":" + std::to_string(port_);
  httplib::Client client(host_, port_);
  client.set_connection_timeout(5, 0);
  httplib::Headers headers;
  if (!api_key_.empty()) headers.emplace("Authorization", "Bearer " + api_key_);
  auto res = client.Get(prefix_ + "/v1/models", headers);
  if (!res) throw std::runtime_error("the backend " + address_ + " cannot be reached (" + httplib::to_string(res.error()) + ")");
  if (res->status != 200) {
    throw std::runtime_error("the backend " + address_ + " answered /v1/models with HTTP " + std::to_string(res->status));
  }
  const Json models = Json::parse(res->body, nullptr, false);
  if (models.is_discarded() || !models.contains("data") || !models["data"].is_array() || models["data"].empty() ||
      !models["data"][0].contains("id") || !models["data"][0]["id"].is_string()) {
    throw std::runtime_error("the backend " + address_ + " lists no models at /v1/models");
  }
  model_ = models["data"][0]["id"].get<std::string>();
}

GenerateResult RemoteBackend::generate(const dialogue::ReplyRequest& request, const TextCallback& on_text) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  GenerateResult result;
  result.n_prompt = static_cast<int>(request.prompt.size());
  const SamplerParams& p = request.sampling;
  Json body = {{"model", model_},
               {"prompt", tokenizer_.decode(request.prompt, /*render_special=*/true)},
               {"temperature", p.temperature},
               {"top_p", p.top_p},
               {"seed", p.seed},
               {"presence_penalty", p.presence_penalty},
               {"frequency_penalty", p.frequency_penalty},
               {"stream", true}};
  if (request.params.n_predict > 0) body["max_tokens"] = request.params.n_predict;
  if (!request.params.stop.empty()) body["stop"] = request.params.stop;
  httplib::Client client(host_, port_);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(300, 0);
  httplib::Request req;
  req.method = "POST";
  req.path = prefix_ + "/v1/completions";
  req.headers.emplace("Content-Type", "application/json");
  if (!api_key_.empty()) req.headers.emplace("Authorization", "Bearer " + api_key_);
  req.body = body.dump();
  StopMatcher stops(request.params.stop);  // in case the backend ignores stop
  std::string buffer;
  bool cancelled = false, stopped = false, finished_length = false;
  int pieces = 0;
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    buffer.append(data, n);
    size_t end;
    while ((end = buffer.find("\n\n")) != std::string::npos) {
      const std::string frame = buffer.substr(0, end);
      buffer.erase(0, end + 2);
      if (frame.rfind("data: ", 0) != 0) continue;
      const std::string payload = frame.substr(6);
      if (payload == "[DONE]") return true;
      const Json chunk = Json::parse(payload, nullptr, false);
      if (chunk.is_discarded()) continue;
      if (chunk.contains("error")) throw std::runtime_error("the backend failed: " + chunk["error"].value("message", chunk.dump()));
      if (!chunk.contains("choices") || !chunk["choices"].is_array() || chunk["choices"].empty()) continue;
      const Json& choice = chunk["choices"][0];
      if (choice.contains("finish_reason") && choice["finish_reason"] == "length") finished_length = true;
      const std::string text = choice.value("text", std::string());
      if (text.empty() || stopped) continue;
      ++pieces;
      const StopMatcher::Result r = stops.push(text);
      if (!r.emit.empty()) {
        result.text += r.emit;
        if (on_text && !on_text(r.emit)) {
          cancelled = true;
          return false;
        }
      }
      if (r.stopped) {
        stopped = true;
        return false;  // no need to read the rest
      }
    }
    return true;
  };
  auto res = client.send(req);
  if (!cancelled && !stopped) {
    if (!res) throw std::runtime_error("the backend " + address_ + " failed: " + httplib::to_string(res.error()));
    if (res->status != 200) {
      throw std::runtime_error("the backend " + address_ + " answered HTTP " + std::to_string(res->status) + ": " +
                               res->body.substr(0, 300));
    }
    const std::string tail = stops.flush();
    if (!tail.empty()) {
      result.text += tail;
      if (on_text) on_text(tail);
    }
  }
  result.reason = cancelled ? StopReason::Cancelled
                  : stopped ? StopReason::StopString
                  : finished_length ? StopReason::Length
                                    : StopReason::EndOfGeneration;
  // Token ids stay local-vocabulary guesses: the backend's tokenizer may differ.
  result.tokens = tokenizer_.encode(result.text, false, false);
  (void)pieces;
  result.decode_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

}  // namespace kindred::server
