// Errors a request handler reports to its client, in OpenAI's error shape:
//   {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
// Handlers throw ApiError; the server turns it (and any other exception, as a 500) into that
// body with the right HTTP status, so no request ends in a dropped connection.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

namespace kindred::server {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string message, std::optional<std::string> param = std::nullopt,
           std::optional<std::string> code = std::nullopt)
      : std::runtime_error(std::move(message)), status_(status), param_(std::move(param)), code_(std::move(code)) {}

  int status() const { return status_; }
  const std::optional<std::string>& param() const { return param_; }
  const std::optional<std::string>& code() const { return code_; }
  // OpenAI's error types by status: invalid_request_error, authentication_error, ...
  std::string type() const;
  nlohmann::json to_json() const;
  int retry_after_seconds = 0;  // > 0: sent as Retry-After (429, 503)

 private:
  int status_;
  std::optional<std::string> param_;
  std::optional<std::string> code_;
};

// Shorthands for the common cases.
inline ApiError bad_request(std::string message, std::optional<std::string> param = std::nullopt) {
  return ApiError(400, std::move(message), std::move(param));
}
inline ApiError not_found(std::string message, std::optional<std::string> code = std::nullopt) {
  return ApiError(404, std::move(message), std::nullopt, std::move(code));
}

nlohmann::json error_body(int status, const std::string& message, const std::optional<std::string>& param = std::nullopt,
                          const std::optional<std::string>& code = std::nullopt);

}  // namespace kindred::server
