#include "server/api_error.h"

namespace kindred::server {

namespace {

std::string type_for(int status) {
  switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 409: return "conflict_error";
    case 413: return "invalid_request_error";
    case 429: return "rate_limit_error";
    case 503: return "server_overloaded";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

}  // namespace

std::string ApiError::type() const { return type_for(status_); }

nlohmann::json ApiError::to_json() const { return error_body(status_, what(), param_, code_); }

nlohmann::json error_body(int status, const std::string& message, const std::optional<std::string>& param,
                          const std::optional<std::string>& code) {
  nlohmann::json e = {{"message", message}, {"type", type_for(status)}, {"param", nullptr}, {"code", nullptr}};
  if (param) e["param"] = *param;
  if (code) e["code"] = *code;
  return {{"error", std::move(e)}};
}

}  // namespace kindred::server
