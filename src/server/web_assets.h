// The web chat page (web/) that `kindred serve` answers on "/" and "/web/*", and the API's
// OpenAPI document on "/openapi.json". The files are assembled into the binary, so they are
// served with nothing installed beside it.
#pragma once

#include <optional>
#include <string_view>

namespace kindred::server {

struct WebAsset {
  std::string_view content_type;  // with charset, ready for the Content-Type header
  std::string_view body;
};

// The asset served at `path` (the request path without its query), or nullopt for any other
// path. Only exact, known paths match, so no request can reach a file beyond these assets.
std::optional<WebAsset> find_web_asset(std::string_view path);

}  // namespace kindred::server
